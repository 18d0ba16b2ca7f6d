"""Randomisation to the study arms, and the pairing screen."""

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from ilcop.concurrency import single_submission
from ilcop.views import act_then_redirect

from .. import selectors, services
from ..forms import (
    ConflictForm,
    MakePairForm,
    PairingConstraintsForm,
    RandomisationForm,
    ReasonForm,
    SwapPairsForm,
)
from ..models import Enrolment, Pair, Pairing, PairingConflict, Randomisation, Site
from ..pairing import standardise
from ..services.allocation import allocation_pool, confirmed_randomisation, headline_profiles


@login_required
@require_http_methods(["GET", "POST"])
@single_submission
def randomisation_page(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    locked = confirmed_randomisation(programme) is not None
    form = RandomisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.randomisation_run(programme=programme, user=request.user,
                                       **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "A new allocation has been drawn. Check it, then confirm.")
            return redirect("programmes:randomisation", programme.pk)
    latest = programme.randomisations.select_related("created_by", "confirmed_by").first()
    summary = None
    if latest:
        sites = {s.pk: s for s in Site.objects.filter(
            pk__in=[int(k) for k in latest.allocation]).select_related("organisation")}
        arms = Counter(latest.allocation.values())
        by_region = Counter(
            (sites[int(k)].organisation.get_region_display(), arm)
            for k, arm in latest.allocation.items() if int(k) in sites
        )
        regions = sorted({region for region, _ in by_region})
        summary = {
            "arms": arms,
            "regions": [(r, by_region[(r, "intervention")], by_region[(r, "control")])
                        for r in regions],
            "intervention": sorted((s for k, s in sites.items()
                                    if latest.allocation[str(k)] == "intervention"),
                                   key=lambda s: s.organisation.name),
        }
    return render(request, "programmes/randomisation.html", {
        "programme": programme, "form": form, "latest": latest, "summary": summary,
        "pool_count": len(allocation_pool(programme, reallocate=locked)), "locked": locked,
    })


@login_required
@require_POST
def randomisation_confirm(request: HttpRequest, pk: int, run_pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    run = get_object_or_404(Randomisation, pk=run_pk, programme=programme)
    try:
        services.randomisation_confirm(run=run, user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, "The allocation is confirmed and the sites have been moved "
                                  "to their arms")
    return redirect("programmes:randomisation", programme.pk)


def _current_pairing(programme) -> Pairing | None:
    return (programme.pairings.filter(status=Pairing.Status.CONFIRMED).first()
            or programme.pairings.first())


@login_required
@require_http_methods(["GET", "POST"])
def pairing_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Propose pairs, see each with its reasons and profiles, adjust by hand, confirm."""
    programme = selectors.programme_for_core_team(request.user, pk)
    request.programme = programme
    pairing = _current_pairing(programme)
    initial = pairing.constraints if pairing else None
    form = PairingConstraintsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.pairing_propose(
                programme=programme, user=request.user,
                rules=services.PairingConstraints(**form.cleaned_data),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "A new pairing has been proposed")
            return redirect("programmes:pairing", programme.pk)

    pairs, unpaired, labels, codes = [], [], {}, []
    if pairing:
        pairs = list(pairing.pairs.select_related("site_a__organisation",
                                                  "site_b__organisation"))
        site_ids = [s for p in pairs for s in (p.site_a_id, p.site_b_id)]
        unpaired_sites = {s.pk: s for s in Site.objects.filter(
            pk__in=[int(k) for k in pairing.unpaired]).select_related("organisation")}
        unpaired = [(unpaired_sites[int(k)], why) for k, why in pairing.unpaired.items()
                    if int(k) in unpaired_sites]
        profiles, higher_is_better, labels = headline_profiles(
            programme, site_ids + list(unpaired_sites))
        codes = list(labels)
        z = standardise(profiles, higher_is_better) if profiles else {}
        for pair in pairs:
            pair.rows = [
                {"label": labels[c],
                 "a": profiles.get(pair.site_a_id, {}).get(c),
                 "b": profiles.get(pair.site_b_id, {}).get(c),
                 "a_leads": z.get(pair.site_a_id, {}).get(c, 0)
                 > z.get(pair.site_b_id, {}).get(c, 0)}
                for c in codes
            ]
            pair.strengths_a_labels = [labels.get(c, c) for c in pair.strengths_a]
            pair.strengths_b_labels = [labels.get(c, c) for c in pair.strengths_b]
    editable = pairing is not None and pairing.status == Pairing.Status.PROPOSED
    pair_queryset = pairing.pairs.select_related("site_a__organisation",
                                                 "site_b__organisation") if pairing else None
    return render(request, "programmes/pairing.html", {
        "programme": programme, "form": form, "pairing": pairing, "pairs": pairs,
        "unpaired": unpaired, "editable": editable,
        "intervention_count": Enrolment.objects.filter(
            programme=programme, status=Enrolment.Status.INTERVENTION).count(),
        "make_form": MakePairForm(sites=Site.objects.filter(
            pk__in=[s.pk for s, _ in unpaired]).select_related("organisation"))
        if editable and len(unpaired) > 1 else None,
        "swap_form": SwapPairsForm(pairs=pair_queryset) if editable and len(pairs) > 1 else None,
        "reopen_form": ReasonForm() if pairing and not editable else None,
        "conflicts": PairingConflict.objects.filter(programme=programme).select_related(
            "site_a__organisation", "site_b__organisation"),
        "conflict_form": ConflictForm(sites=_intervention_sites(programme)),
    })


def _intervention_sites(programme):
    return Site.objects.filter(
        enrolments__programme=programme, enrolments__status=Enrolment.Status.INTERVENTION
    ).select_related("organisation")


@login_required
@require_POST
@single_submission
def pairing_conflict_add(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    form = ConflictForm(request.POST, sites=_intervention_sites(programme))
    if not form.is_valid():
        messages.error(request, "Choose two intervention sites and say why they must not be "
                                "paired")
        return redirect("programmes:pairing", programme.pk)
    return _act(request, programme, lambda: services.pairing_conflict_add(
        programme=programme, user=request.user, **form.cleaned_data),
        "Recorded. The next proposal will not pair them.")


@login_required
@require_POST
def pairing_conflict_remove(request: HttpRequest, pk: int, conflict_pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    conflict = get_object_or_404(PairingConflict, pk=conflict_pk, programme=programme)
    return _act(request, programme, lambda: services.pairing_conflict_remove(
        conflict=conflict, user=request.user), "The declared conflict has been removed")


def _pair(request: HttpRequest, pk: int, pair_pk: int) -> tuple:
    programme = selectors.programme_for_core_team(request.user, pk)
    pair = get_object_or_404(Pair.objects.select_related("pairing"), pk=pair_pk,
                             pairing__programme=programme)
    return programme, pair


def _act(request: HttpRequest, programme, action, success: str) -> HttpResponse:
    return act_then_redirect(request, action, success=success,
                             to=reverse("programmes:pairing", args=[programme.pk]))


@login_required
@require_POST
def pair_lock(request: HttpRequest, pk: int, pair_pk: int) -> HttpResponse:
    programme, pair = _pair(request, pk, pair_pk)
    locked = request.POST.get("locked") == "1"
    return _act(request, programme,
                lambda: services.pair_set_locked(pair=pair, locked=locked, user=request.user),
                f"{'Locked' if locked else 'Unlocked'}: {pair}")


@login_required
@require_POST
def pair_break(request: HttpRequest, pk: int, pair_pk: int) -> HttpResponse:
    programme, pair = _pair(request, pk, pair_pk)
    return _act(request, programme, lambda: services.pair_break(pair=pair, user=request.user),
                f"Broke the pair {pair}")


@login_required
@require_POST
@single_submission
def pair_make(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    pairing = get_object_or_404(Pairing, programme=programme, status=Pairing.Status.PROPOSED)
    form = MakePairForm(request.POST, sites=_intervention_sites(programme))
    if not form.is_valid():
        messages.error(request, "Choose two unpaired sites")
        return redirect("programmes:pairing", programme.pk)
    return _act(request, programme, lambda: services.pair_make(
        pairing=pairing, user=request.user, **form.cleaned_data), "The sites have been paired")


@login_required
@require_POST
def pairs_swap(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    pairing = get_object_or_404(Pairing, programme=programme, status=Pairing.Status.PROPOSED)
    form = SwapPairsForm(request.POST, pairs=pairing.pairs.all())
    if not form.is_valid():
        messages.error(request, "Choose two pairs to swap partners between")
        return redirect("programmes:pairing", programme.pk)
    return _act(request, programme, lambda: services.pairs_swap(user=request.user,
                                                                **form.cleaned_data),
                "Partners swapped")


@login_required
@require_POST
def pairing_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    pairing = get_object_or_404(Pairing, programme=programme, status=Pairing.Status.PROPOSED)
    return _act(request, programme,
                lambda: services.pairing_confirm(pairing=pairing, user=request.user),
                "The pairing is confirmed. Each site can now see its partner.")


@login_required
@require_POST
def pairing_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    programme = selectors.programme_for_core_team(request.user, pk)
    pairing = get_object_or_404(Pairing, programme=programme, status=Pairing.Status.CONFIRMED)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter why the confirmed pairing is being reopened")
        return redirect("programmes:pairing", programme.pk)
    return _act(request, programme, lambda: services.pairing_reopen(
        pairing=pairing, user=request.user, reason=form.cleaned_data["reason"]),
        "The pairing is open for changes again")
