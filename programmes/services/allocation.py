"""Randomising eligible sites to the study arms, and pairing the intervention sites."""

import math
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User

from .. import randomisation
from ..models import (
    Enrolment,
    IndicatorValue,
    Pair,
    Pairing,
    PairingConflict,
    Programme,
    Randomisation,
    Site,
)
from ..pairing import complementarity, pair_sites, standardise
from .enrolment import enrolments_move

ALLOCATED = (Enrolment.Status.INTERVENTION, Enrolment.Status.CONTROL)


def allocation_pool(programme: Programme, *, reallocate: bool) -> list[Enrolment]:
    """The sites a draw allocates: the eligible ones, and on an override that re-randomises,
    those already in an arm too."""
    statuses = [Enrolment.Status.ELIGIBLE, *(ALLOCATED if reallocate else ())]
    return list(
        Enrolment.objects.filter(programme=programme, status__in=statuses)
        .select_related("site__organisation").order_by("site_id")
    )


def confirmed_randomisation(programme: Programme) -> Randomisation | None:
    return programme.randomisations.filter(confirmed_at__isnull=False).first()


@transaction.atomic
def randomisation_run(
    *, programme: Programme, user: User, intervention_count: int, stratify_by_region: bool,
    stratify_by_size: bool, size_band_edges: list[int], seed: int | None = None,
    override_reason: str = "",
) -> Randomisation:
    """Draw an allocation of the eligible sites (not yet applied: see randomisation_confirm).

    A confirmed randomisation locks the programme: another run is refused unless an override
    reason is given, and the override is logged.
    """
    Programme.objects.select_for_update().get(pk=programme.pk)
    locked = confirmed_randomisation(programme) is not None
    if locked and not override_reason.strip():
        raise ValidationError(
            "The allocation has been confirmed and is locked. To randomise again, give a "
            "reason for overriding it; the override is recorded."
        )
    eligible = allocation_pool(programme, reallocate=locked)
    if not eligible:
        raise ValidationError("There are no eligible sites to allocate.")
    if intervention_count > len(eligible):
        raise ValidationError(
            f"There are only {len(eligible)} sites to allocate."
        )
    strata = {}
    for enrolment in eligible:
        parts = []
        if stratify_by_region:
            parts.append(enrolment.site.organisation.get_region_display())
        if stratify_by_size:
            parts.append(randomisation.size_band(enrolment.site.annual_new_patients,
                                                 size_band_edges))
        strata[enrolment.site_id] = " / ".join(parts) or "all sites"
    seed = seed if seed is not None else secrets.randbelow(2**31)
    allocation = randomisation.allocate(strata, intervention_count, seed)
    run = Randomisation.objects.create(
        programme=programme, seed=seed, intervention_count=intervention_count,
        stratify_by_region=stratify_by_region, stratify_by_size=stratify_by_size,
        size_band_edges=size_band_edges, allocation={str(k): v for k, v in allocation.items()},
        override_reason=override_reason.strip(), created_by=user,
    )
    parameters = {"seed": seed, "intervention_count": intervention_count,
                  "stratify_by_region": stratify_by_region, "stratify_by_size": stratify_by_size,
                  "size_band_edges": size_band_edges, "sites": len(eligible)}
    summary = (f"Randomised {len(eligible)} eligible sites: {intervention_count} to "
               f"intervention (seed {seed})")
    if run.override_reason:
        summary += f", overriding the confirmed allocation: {run.override_reason}"
        parameters["override_reason"] = run.override_reason
    log_action(run, "randomisation.run", actor=user, summary=summary, data=parameters,
               scopes=[programme])
    return run


@transaction.atomic
def randomisation_confirm(*, run: Randomisation, user: User) -> Randomisation:
    """Apply the allocation to the enrolments and lock it."""
    run = Randomisation.objects.select_for_update().get(pk=run.pk)
    if run.confirmed_at:
        return run
    latest = run.programme.randomisations.first()
    if latest != run:
        raise ValidationError("A newer randomisation has been drawn; confirm that one instead.")
    by_site = {int(k): v for k, v in run.allocation.items()}
    pool = allocation_pool(run.programme, reallocate=bool(run.override_reason))
    if {e.site_id for e in pool} != set(by_site):
        raise ValidationError("The sites to allocate have changed since this draw (a site "
                              "became eligible or withdrew). Draw again.")
    for arm in ALLOCATED:
        chosen = [e for e in pool if by_site[e.site_id] == arm]
        if chosen:
            enrolments_move(enrolments=chosen, target=arm, user=user, by_randomisation=True)
    run.confirmed_at, run.confirmed_by = timezone.now(), user
    run.save(update_fields=["confirmed_at", "confirmed_by"])
    log_action(run, "randomisation.confirmed", actor=user,
               summary=f"Confirmed the allocation (seed {run.seed}); it is now locked",
               scopes=[run.programme])
    return run


# --- pairing ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PairingConstraints:
    """What the core team rules out. Never the same organisation is always on."""

    not_same_region: bool = False
    not_same_network: bool = False
    not_previous_partners: bool = True
    max_distance_km: int | None = None

    def as_dict(self) -> dict:
        return {"not_same_region": self.not_same_region,
                "not_same_network": self.not_same_network,
                "not_previous_partners": self.not_previous_partners,
                "max_distance_km": self.max_distance_km}


def distance_km(a: Site, b: Site) -> float | None:
    """Great-circle distance between two sites' hospitals (haversine, Earth radius 6371 km)."""
    oa, ob = a.organisation, b.organisation
    if None in (oa.latitude, oa.longitude, ob.latitude, ob.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (oa.latitude, oa.longitude,
                                                          ob.latitude, ob.longitude)))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371 * math.asin(math.sqrt(h))


def forbidden_pairs(programme: Programme, sites: list[Site],
                    rules: PairingConstraints) -> dict[frozenset, str]:
    """Every pair of these sites the rules rule out, with the reason in words."""
    ids = {s.pk for s in sites}
    reasons: dict[frozenset, str] = {}
    for conflict in PairingConflict.objects.filter(programme=programme, site_a__in=ids,
                                                   site_b__in=ids):
        reasons[frozenset({conflict.site_a_id, conflict.site_b_id})] = (
            f"a declared conflict ({conflict.reason})")
    if rules.not_previous_partners:
        earlier = Pair.objects.filter(
            pairing__status=Pairing.Status.CONFIRMED, site_a__in=ids, site_b__in=ids
        ).exclude(pairing__programme=programme).values_list("site_a_id", "site_b_id")
        for pair in earlier:
            reasons.setdefault(frozenset(pair), "they were partners in an earlier programme")
    for i, a in enumerate(sites):
        for b in sites[i + 1:]:
            key, oa, ob = frozenset({a.pk, b.pk}), a.organisation, b.organisation
            if oa.pk == ob.pk:
                reasons[key] = "they belong to the same organisation"
            elif rules.not_same_region and oa.region == ob.region:
                reasons.setdefault(key, "they are in the same region")
            elif rules.not_same_network and oa.network and oa.network == ob.network:
                reasons.setdefault(key, "they are in the same network")
            elif rules.max_distance_km is not None:
                distance = distance_km(a, b)
                if distance is not None and distance > rules.max_distance_km:
                    reasons.setdefault(key, f"they are {distance:.0f} km apart, more than "
                                            f"{rules.max_distance_km} km")
    return reasons


def _check_allowed(pairing: Pairing, a: Site, b: Site) -> None:
    rules = PairingConstraints(**pairing.constraints)
    reason = forbidden_pairs(pairing.programme, [a, b], rules).get(frozenset({a.pk, b.pk}))
    if reason:
        raise ValidationError(f"{a.organisation.name} and {b.organisation.name} cannot be "
                              f"paired: {reason}.")


def strengths(z: dict, site, other) -> list[str]:
    """The indicators ``site`` is stronger on than ``other``, biggest difference first."""
    ahead = [(z[site].get(code, 0) - z[other].get(code, 0), code) for code in z[site]]
    return [code for gap, code in sorted(ahead, key=lambda g: (-g[0], g[1])) if gap > 0]


def headline_profiles(programme: Programme, site_ids) -> tuple[dict, dict, dict]:
    """({site id: {code: proportion}}, {code: higher is better}, {code: name}) at baseline."""
    indicators = list(programme.indicators.filter(is_headline=True))
    profiles: dict[int, dict[str, float]] = {s: {} for s in site_ids}
    for value in IndicatorValue.objects.filter(
        indicator__in=indicators, period=programme.baseline_period, site__in=site_ids
    ).select_related("indicator"):
        profiles[value.site_id][value.indicator.code] = value.proportion
    return (profiles, {i.code: i.higher_is_better for i in indicators},
            {i.code: i.name for i in indicators})


def _cohort(programme: Programme) -> list[Site]:
    return [e.site for e in Enrolment.objects.filter(
        programme=programme, status=Enrolment.Status.INTERVENTION,
    ).select_related("site__organisation").order_by("site_id")]


@transaction.atomic
def pairing_propose(*, programme: Programme, user: User,
                    rules: PairingConstraints) -> Pairing:
    """Propose pairs for the intervention sites, keeping the pairs locked by hand that the
    rules still allow.

    z-scores are taken over the whole cohort, locked pairs included, so every pair's score
    and strengths are on one scale. Replaces the previous proposal; a confirmed pairing must
    be reopened first.
    """
    Programme.objects.select_for_update().get(pk=programme.pk)
    if programme.pairings.filter(status=Pairing.Status.CONFIRMED).exists():
        raise ValidationError("The pairing is confirmed. Reopen it before proposing again.")
    if not programme.baseline_period or not programme.indicators.filter(
            is_headline=True).exists():
        raise ValidationError("Pairing uses the headline indicators at the baseline period. "
                              "Set the baseline period and the headline indicators first.")
    previous = programme.pairings.filter(status=Pairing.Status.PROPOSED).first()
    cohort = _cohort(programme)
    profiles, higher_is_better, labels = headline_profiles(programme, [s.pk for s in cohort])
    unpaired: dict[int, str] = {}
    for site in cohort:
        if not profiles[site.pk]:
            unpaired[site.pk] = (f"no {programme.baseline_period} audit data on the headline "
                                 "indicators")
            del profiles[site.pk]
    with_data = [s for s in cohort if s.pk in profiles]
    forbidden = forbidden_pairs(programme, with_data, rules)

    kept, undone = [], []
    for pair in (previous.pairs.filter(locked=True) if previous else []):
        key = frozenset({pair.site_a_id, pair.site_b_id})
        if key <= profiles.keys() and key not in forbidden:
            kept.append(pair)
        else:
            undone.append(pair)
    locked_ids = {s for p in kept for s in (p.site_a_id, p.site_b_id)}
    # Locked sites stay in the standardisation but may not be paired again.
    for site_id in locked_ids:
        for other in profiles:
            if other != site_id:
                forbidden.setdefault(frozenset({site_id, other}), "locked")
    result = pair_sites(
        profiles, higher_is_better, forbidden=set(forbidden), labels=labels,
        names={s.pk: s.organisation.name for s in with_data},
    )
    # Sites of an undone locked pair went back to the engine with everyone else.
    unpaired.update({k: v for k, v in result.unpaired_reasons.items() if k not in locked_ids})
    pairing = Pairing.objects.create(
        programme=programme, constraints=rules.as_dict(), created_by=user,
        unpaired={str(k): v for k, v in unpaired.items()},
    )
    for pair in kept:
        pair.pk, pair.pairing = None, pairing
        a, b = pair.site_a_id, pair.site_b_id
        pair.score = complementarity(result.z[a], result.z[b])
        pair.strengths_a, pair.strengths_b = strengths(result.z, a, b), strengths(result.z, b, a)
        pair.save()
    Pair.objects.bulk_create(
        Pair(pairing=pairing, site_a_id=a, site_b_id=b, score=result.weights[frozenset({a, b})],
             strengths_a=strengths(result.z, a, b), strengths_b=strengths(result.z, b, a))
        for a, b in result.pairs
    )
    if previous:
        previous.delete()
    summary = (f"Proposed {len(result.pairs) + len(kept)} pairs ({len(kept)} kept as locked); "
               f"{len(unpaired)} site(s) unpaired")
    if undone:
        summary += f"; {len(undone)} locked pair(s) undone by the constraints"
    log_action(pairing, "pairing.proposed", actor=user, summary=summary,
               data={"constraints": rules.as_dict(), "total": result.total}, scopes=[programme])
    return pairing


def _editable(pairing: Pairing) -> Pairing:
    pairing = Pairing.objects.select_for_update().get(pk=pairing.pk)
    if pairing.status != Pairing.Status.PROPOSED:
        raise ValidationError("The pairing is confirmed. Reopen it to change it.")
    return pairing


def _log_pair(pairing: Pairing, verb: str, summary: str, user: User, pair_sites_=()) -> None:
    log_action(pairing, verb, actor=user, summary=summary,
               scopes=[pairing.programme, *pair_sites_])


@transaction.atomic
def pair_set_locked(*, pair: Pair, locked: bool, user: User) -> Pair:
    _editable(pair.pairing)
    pair.locked = locked
    pair.save(update_fields=["locked"])
    verb = "Locked" if locked else "Unlocked"
    _log_pair(pair.pairing, "pair.locked" if locked else "pair.unlocked",
              f"{verb} the pair {pair}", user)
    return pair


@transaction.atomic
def pair_break(*, pair: Pair, user: User) -> None:
    pairing = _editable(pair.pairing)
    for site_id in (pair.site_a_id, pair.site_b_id):
        pairing.unpaired[str(site_id)] = "the pair was broken by hand"
    pairing.save(update_fields=["unpaired"])
    _log_pair(pairing, "pair.broken", f"Broke the pair {pair}", user)
    pair.delete()


def _strengths(programme: Programme, a: Site, b: Site) -> tuple[float, list[str], list[str]]:
    """A pair made by hand, scored against the whole cohort of intervention sites (z-scores
    depend on who else is being paired, so score it as the engine would)."""
    cohort = [s.pk for s in _cohort(programme)]
    profiles, higher_is_better, _ = headline_profiles(programme, {*cohort, a.pk, b.pk})
    z = standardise({k: v for k, v in profiles.items() if v}, higher_is_better)
    if a.pk not in z or b.pk not in z:
        return 0.0, [], []
    return (complementarity(z[a.pk], z[b.pk]), strengths(z, a.pk, b.pk),
            strengths(z, b.pk, a.pk))


@transaction.atomic
def pair_make(*, pairing: Pairing, site_a: Site, site_b: Site, user: User) -> Pair:
    """Pair two unpaired sites by hand."""
    pairing = _editable(pairing)
    if site_a.pk == site_b.pk:
        raise ValidationError("Choose two different sites.")
    taken = pairing.pairs.filter(Q(site_a__in=[site_a, site_b]) | Q(site_b__in=[site_a, site_b]))
    if taken.exists():
        raise ValidationError("One of those sites is already in a pair. Break that pair first.")
    _check_allowed(pairing, site_a, site_b)
    score, strengths_a, strengths_b = _strengths(pairing.programme, site_a, site_b)
    pair = Pair.objects.create(pairing=pairing, site_a=site_a, site_b=site_b, score=score,
                               strengths_a=strengths_a, strengths_b=strengths_b,
                               made_by_hand=True, locked=True)
    for site in (site_a, site_b):
        pairing.unpaired.pop(str(site.pk), None)
    pairing.save(update_fields=["unpaired"])
    _log_pair(pairing, "pair.made", f"Paired {pair} by hand", user)
    return pair


@transaction.atomic
def pairs_swap(*, first: Pair, second: Pair, user: User) -> tuple[Pair, Pair]:
    """Swap partners: A–B and C–D become A–D and C–B."""
    pairing = _editable(first.pairing)
    if first.pairing_id != second.pairing_id or first.pk == second.pk:
        raise ValidationError("Choose two different pairs from this proposal.")
    a, b, c, d = first.site_a, first.site_b, second.site_a, second.site_b
    _check_allowed(pairing, a, d)
    _check_allowed(pairing, c, b)
    first.delete()
    second.delete()
    made = []
    for x, y in ((a, d), (c, b)):
        score, sx, sy = _strengths(pairing.programme, x, y)
        made.append(Pair.objects.create(pairing=pairing, site_a=x, site_b=y, score=score,
                                        strengths_a=sx, strengths_b=sy, made_by_hand=True,
                                        locked=True))
    _log_pair(pairing, "pairs.swapped", f"Swapped partners: {made[0]}; {made[1]}", user)
    return made[0], made[1]


@transaction.atomic
def pairing_confirm(*, pairing: Pairing, user: User) -> Pairing:
    pairing = _editable(pairing)
    pairing.status = Pairing.Status.CONFIRMED
    pairing.confirmed_at, pairing.confirmed_by = timezone.now(), user
    pairing.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    pairs = list(pairing.pairs.select_related("site_a__organisation", "site_b__organisation"))
    log_action(pairing, "pairing.confirmed", actor=user,
               summary=f"Confirmed {len(pairs)} pairs", scopes=[pairing.programme])
    for pair in pairs:
        for site in (pair.site_a, pair.site_b):
            log_action(pair, "pair.confirmed", actor=user,
                       summary=f"Paired with {pair.partner_of(site).organisation.name}",
                       scopes=[site, pairing.programme])
    return pairing


@transaction.atomic
def pairing_reopen(*, pairing: Pairing, user: User, reason: str) -> Pairing:
    pairing = Pairing.objects.select_for_update().get(pk=pairing.pk)
    if pairing.status != Pairing.Status.CONFIRMED:
        return pairing
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the confirmed pairing is being reopened"})
    pairing.programme.pairings.filter(status=Pairing.Status.PROPOSED).delete()
    pairing.status = Pairing.Status.PROPOSED
    pairing.save(update_fields=["status"])
    log_action(pairing, "pairing.reopened", actor=user,
               summary=f"Reopened the confirmed pairing: {reason.strip()}",
               scopes=[pairing.programme])
    return pairing


@transaction.atomic
def pairing_conflict_add(*, programme: Programme, site_a: Site, site_b: Site, reason: str,
                         user: User) -> PairingConflict:
    """Declare that two sites must never be paired (a shared consultant, a merger...)."""
    if site_a.pk == site_b.pk:
        raise ValidationError("Choose two different sites.")
    existing = PairingConflict.objects.filter(
        Q(site_a=site_a, site_b=site_b) | Q(site_a=site_b, site_b=site_a), programme=programme
    ).first()
    if existing:
        return existing
    conflict = PairingConflict.objects.create(programme=programme, site_a=site_a, site_b=site_b,
                                              reason=reason.strip())
    log_action(conflict, "pairing.conflict_declared", actor=user,
               summary=f"Declared that {site_a.organisation.name} and "
                       f"{site_b.organisation.name} must not be paired",
               data={"reason": conflict.reason}, scopes=[programme])
    return conflict


@transaction.atomic
def pairing_conflict_remove(*, conflict: PairingConflict, user: User) -> None:
    log_action(conflict, "pairing.conflict_removed", actor=user,
               summary=f"Removed the declared conflict between {conflict}",
               scopes=[conflict.programme])
    conflict.delete()
