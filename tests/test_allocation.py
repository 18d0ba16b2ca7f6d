"""Randomisation to the study arms and pairing of intervention sites, through the services
and the pages."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from ilcop.activity import timeline_for
from programmes import services
from programmes.models import (
    Enrolment,
    Indicator,
    IndicatorValue,
    Pair,
    Pairing,
    PairingConflict,
    Randomisation,
    Region,
)

from .factories import EnrolmentFactory, SiteMembershipFactory

REGIONS = [Region.LONDON, Region.NORTH_WEST, Region.MIDLANDS, Region.SOUTH_WEST]


@pytest.fixture
def eligible(programme):
    return [
        EnrolmentFactory(programme=programme, status="eligible",
                         site__organisation__region=REGIONS[i % 4],
                         site__annual_new_patients=150 + 25 * i)
        for i in range(12)
    ]


def draw(programme, core, **overrides):
    options = {"intervention_count": 5, "stratify_by_region": True, "stratify_by_size": False,
               "size_band_edges": [], "seed": 2012, **overrides}
    return services.randomisation_run(programme=programme, user=core, **options)


def test_the_same_seed_gives_the_same_allocation(programme, core, eligible):
    first = draw(programme, core)
    second = draw(programme, core)
    assert first.allocation == second.allocation
    assert list(first.allocation.values()).count("intervention") == 5
    entry = timeline_for(programme).first()
    assert entry.summary == "Randomised 12 eligible sites: 5 to intervention (seed 2012)"
    assert entry.data["stratify_by_region"] is True


def test_confirming_moves_the_sites_and_locks_the_allocation(programme, core, eligible):
    run = draw(programme, core)
    services.randomisation_confirm(run=run, user=core)
    arms = dict(Enrolment.objects.values_list("site_id", "status"))
    assert {str(k): v for k, v in arms.items()} == run.allocation

    with pytest.raises(ValidationError, match="locked"):
        draw(programme, core)
    assert Randomisation.objects.count() == 1


def test_an_override_with_a_reason_is_allowed_and_recorded(programme, core, eligible):
    services.randomisation_confirm(run=draw(programme, core), user=core)
    EnrolmentFactory.create_batch(4, programme=programme, status="eligible")
    run = draw(programme, core, intervention_count=2, override_reason="Late sites joined")
    assert run.override_reason == "Late sites joined"
    assert "overriding the confirmed allocation: Late sites joined" in (
        timeline_for(programme).first().summary)


def test_an_older_draw_cannot_be_confirmed(programme, core, eligible):
    older = draw(programme, core)
    draw(programme, core, seed=7)
    with pytest.raises(ValidationError, match="newer"):
        services.randomisation_confirm(run=older, user=core)


def test_the_randomisation_page_refuses_a_second_run(as_core, programme, core, eligible):
    services.randomisation_confirm(run=draw(programme, core), user=core)
    response = as_core.post(f"/programmes/{programme.pk}/randomisation/",
                            {"intervention_count": "3", "size_band_edges": ""})
    assert response.status_code == 200
    assert "The allocation has been confirmed and is locked" in response.content.decode()


def test_nonsense_in_the_randomisation_form_gets_messages(as_core, programme, eligible):
    response = as_core.post(f"/programmes/{programme.pk}/randomisation/",
                            {"intervention_count": "99", "size_band_edges": "big, small"})
    content = response.content.decode()
    assert "Enter whole numbers separated by commas" in content
    assert not Randomisation.objects.exists()


# --- pairing ----------------------------------------------------------------------------

@pytest.fixture
def cohort(programme):
    """Six intervention sites with complementary strengths on two headline indicators."""
    programme.baseline_period = "2025"
    programme.save()
    histo = Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                                     source="NLCA", is_headline=True)
    nurse = Indicator.objects.create(programme=programme, code="CNS", name="Nurse specialist",
                                     source="NLCA", is_headline=True)
    # (histology, nurse specialist) per site: 0 and 1 complement each other, and so on.
    profile = [(90, 60), (60, 90), (85, 65), (65, 85), (80, 70), (70, 80)]
    sites = []
    for i, (h, c) in enumerate(profile):
        site = EnrolmentFactory(programme=programme, status="intervention",
                                site__organisation__region=REGIONS[i % 4]).site
        for indicator, value in ((histo, h), (nurse, c)):
            IndicatorValue.objects.create(
                indicator=indicator, site=site, period="2025",
                period_start=datetime.date(2025, 1, 1), period_end=datetime.date(2025, 12, 31),
                numerator=value, denominator=100)
        sites.append(site)
    return sites


def pairs_of(pairing) -> set[frozenset]:
    return {frozenset({p.site_a_id, p.site_b_id}) for p in pairing.pairs.all()}


def propose(programme, core, **rules):
    return services.pairing_propose(programme=programme, user=core,
                                    rules=services.PairingConstraints(**rules))


def test_the_engine_pairs_complementary_sites_with_reasons(programme, core, cohort):
    pairing = propose(programme, core)
    s = [site.pk for site in cohort]
    assert pairs_of(pairing) == {frozenset({s[0], s[1]}), frozenset({s[2], s[3]}),
                                 frozenset({s[4], s[5]})}
    pair = pairing.pairs.get(site_a=cohort[0])
    assert pair.strengths_of(cohort[0]) == (["HISTO"], ["CNS"])


def test_constraints_are_respected(programme, core, cohort):
    PairingConflict.objects.create(programme=programme, site_a=cohort[0], site_b=cohort[1],
                                   reason="Shared consultant")
    pairing = propose(programme, core)
    assert frozenset({cohort[0].pk, cohort[1].pk}) not in pairs_of(pairing)


def test_sites_of_one_organisation_are_never_paired(programme, core, cohort):
    cohort[1].organisation = cohort[0].organisation
    cohort[1].save()
    pairing = propose(programme, core)
    assert frozenset({cohort[0].pk, cohort[1].pk}) not in pairs_of(pairing)


def test_same_region_rule(programme, core, cohort):
    pairing = propose(programme, core, not_same_region=True)
    for pair in pairing.pairs.select_related("site_a__organisation", "site_b__organisation"):
        assert pair.site_a.organisation.region != pair.site_b.organisation.region


def test_an_impossible_site_is_left_unpaired_with_a_reason(programme, core, cohort):
    lonely = cohort[0]
    for other in cohort[1:]:
        PairingConflict.objects.create(programme=programme, site_a=lonely, site_b=other,
                                       reason="x")
    pairing = propose(programme, core)
    assert "constraints" in pairing.unpaired[str(lonely.pk)]


def test_locked_pairs_survive_a_new_proposal(programme, core, cohort):
    pairing = propose(programme, core)
    pair = pairing.pairs.get(site_a=cohort[0])
    services.pair_break(pair=pair, user=core)
    made = services.pair_make(pairing=pairing, site_a=cohort[0], site_b=cohort[1], user=core)
    assert made.locked and made.made_by_hand
    again = propose(programme, core, not_same_region=True)
    assert frozenset({cohort[0].pk, cohort[1].pk}) in pairs_of(again)
    assert Pairing.objects.count() == 1


def test_swapping_partners(programme, core, cohort):
    pairing = propose(programme, core)
    first = pairing.pairs.get(site_a=cohort[0])
    second = pairing.pairs.get(site_a=cohort[2])
    services.pairs_swap(first=first, second=second, user=core)
    assert frozenset({cohort[0].pk, cohort[3].pk}) in pairs_of(pairing)
    assert frozenset({cohort[2].pk, cohort[1].pk}) in pairs_of(pairing)
    assert "Swapped partners" in timeline_for(programme).first().summary


def test_a_confirmed_pairing_is_shown_to_each_site_and_frozen(
    programme, core, cohort, client_for
):
    pairing = propose(programme, core)
    services.pairing_confirm(pairing=pairing, user=core)
    member = SiteMembershipFactory(site=cohort[0]).user
    content = " ".join(client_for(member).get(f"/sites/{cohort[0].pk}/").content.decode().split())
    assert "Your partner" in content
    assert cohort[1].organisation.name in content
    assert "Your team is stronger on histology; theirs on nurse specialist" in content
    # Another intervention site's pair is not shown to this team.
    assert cohort[2].organisation.name not in content

    with pytest.raises(ValidationError):
        services.pair_break(pair=pairing.pairs.first(), user=core)
    with pytest.raises(ValidationError):
        propose(programme, core)
    services.pairing_reopen(pairing=pairing, user=core, reason="A site withdrew")
    services.pair_break(pair=pairing.pairs.first(), user=core)


def test_a_pair_across_organisations_only_by_hand(programme, core, cohort):
    pairing = propose(programme, core)
    pair = pairing.pairs.get(site_a=cohort[0])
    services.pair_break(pair=pair, user=core)
    other_org_site = EnrolmentFactory(
        programme=programme, status="intervention",
        site__organisation=cohort[0].organisation).site
    with pytest.raises(ValidationError, match="same organisation"):
        services.pair_make(pairing=pairing, site_a=cohort[0], site_b=other_org_site, user=core)


def test_the_pairing_page_shows_reasons_and_profiles(as_core, programme, core, cohort):
    propose(programme, core)
    content = as_core.get(f"/programmes/{programme.pk}/pairing/").content.decode()
    assert "Proposed pairs (3)" in content
    assert f"{cohort[0].organisation.name} is stronger on Histology" in content
    assert "90.0%" in content and "60.0%" in content


def test_pair_actions_from_the_page(as_core, programme, core, cohort):
    pairing = propose(programme, core)
    pair = pairing.pairs.first()
    as_core.post(f"/programmes/{programme.pk}/pairing/pairs/{pair.pk}/lock/", {"locked": "1"})
    pair.refresh_from_db()
    assert pair.locked
    as_core.post(f"/programmes/{programme.pk}/pairing/pairs/{pair.pk}/break/")
    assert not Pair.objects.filter(pk=pair.pk).exists()
    response = as_core.post(f"/programmes/{programme.pk}/pairing/confirm/", follow=True)
    assert "The pairing is confirmed" in response.content.decode()


def test_no_pairing_pages_for_other_teams(client_for, other_lead, other_core, programme, core,
                                          cohort):
    pairing = propose(programme, core)
    pair = pairing.pairs.first()
    for person in (other_lead, other_core):
        client = client_for(person)
        assert client.get(f"/programmes/{programme.pk}/pairing/").status_code == 404
        assert client.post(f"/programmes/{programme.pk}/pairing/pairs/{pair.pk}/break/"
                           ).status_code == 404
    assert Pair.objects.filter(pk=pair.pk).exists()



def test_declaring_a_conflict_from_the_page_keeps_the_sites_apart(as_core, programme, core,
                                                                  cohort):
    response = as_core.post(f"/programmes/{programme.pk}/pairing/conflicts/add/", {
        "site_a": cohort[0].pk, "site_b": cohort[1].pk, "reason": "Shared consultant"})
    assert response.status_code == 302
    conflict = PairingConflict.objects.get()
    assert conflict.reason == "Shared consultant"
    pairing = propose(programme, core)
    assert frozenset({cohort[0].pk, cohort[1].pk}) not in pairs_of(pairing)
    as_core.post(f"/programmes/{programme.pk}/pairing/conflicts/{conflict.pk}/remove/")
    assert not PairingConflict.objects.exists()


def test_an_override_re_randomises_every_allocated_site(programme, core, eligible):
    first = draw(programme, core)
    services.randomisation_confirm(run=first, user=core)
    second = draw(programme, core, seed=99, override_reason="Stratify by size as well")
    assert set(second.allocation) == set(first.allocation)  # the same 12 sites, drawn again
    services.randomisation_confirm(run=second, user=core)
    arms = {str(k): v for k, v in Enrolment.objects.values_list("site_id", "status")}
    assert arms == second.allocation


def test_a_draw_cannot_be_confirmed_once_the_sites_have_changed(programme, core, eligible):
    run = draw(programme, core)
    EnrolmentFactory(programme=programme, status="eligible")
    with pytest.raises(ValidationError, match="have changed since this draw"):
        services.randomisation_confirm(run=run, user=core)


def test_pairs_made_or_swapped_by_hand_respect_the_constraints(programme, core, cohort):
    pairing = propose(programme, core)
    PairingConflict.objects.create(programme=programme, site_a=cohort[0], site_b=cohort[3],
                                   reason="Shared consultant")
    first = pairing.pairs.get(site_a=cohort[0])
    second = pairing.pairs.get(site_a=cohort[2])
    with pytest.raises(ValidationError, match="a declared conflict"):
        services.pairs_swap(first=first, second=second, user=core)
    services.pair_break(pair=first, user=core)
    services.pair_break(pair=second, user=core)
    with pytest.raises(ValidationError, match="cannot be paired"):
        services.pair_make(pairing=pairing, site_a=cohort[0], site_b=cohort[3], user=core)


def test_a_locked_pair_the_new_rules_forbid_is_undone(programme, core, cohort):
    pairing = propose(programme, core)
    pair = pairing.pairs.get(site_a=cohort[0])
    services.pair_set_locked(pair=pair, locked=True, user=core)
    PairingConflict.objects.create(programme=programme, site_a=cohort[0], site_b=cohort[1],
                                   reason="Merger")
    again = propose(programme, core)
    assert frozenset({cohort[0].pk, cohort[1].pk}) not in pairs_of(again)
    assert "1 locked pair(s) undone" in timeline_for(programme).first().summary


def test_pairing_needs_baseline_data(programme, core, cohort):
    IndicatorValue.objects.filter(site=cohort[0]).delete()
    pairing = propose(programme, core)
    assert "no 2025 audit data" in pairing.unpaired[str(cohort[0].pk)]
    programme.baseline_period = ""
    programme.save()
    Pairing.objects.all().delete()
    with pytest.raises(ValidationError, match="baseline period"):
        propose(programme, core)
