"""The plan page's cached parts (qips.plan_page) are never stale, and never show one viewer
what only another may see.

Each change is made through the real services, as the pages make it. After it, the page
served to the plan's team, its partner and its core team must equal the page rendered with
an empty cache, apart from the per-request tokens in its forms.
"""

import datetime
import pickle
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programmes.models import Organisation
from qips import plan_page
from qips.models import Milestone, PdsaCycle, QualityImprovementPlan
from qips.selectors import Access
from qips.services.parts import part_save, pdsa_complete
from qips.services.plans import plan_transition, plan_update
from visits.models import Visit

from .factories import SiteMembershipFactory
from .test_plan_versions import CHANGES, give_parts, idea

pytestmark = pytest.mark.usefixtures("private_cache")

TOKENS = re.compile(r'name="(csrfmiddlewaretoken|form_token)" value="[^"]*"')


@pytest.fixture
def plan(programme, site, lead):
    """tests.test_plan_versions' plan, shared with the partner."""
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, title="Faster diagnosis", status="in_progress",
        aim_what="Faster diagnosis for more patients", created_by=lead,
        share_with_partner=True)
    return give_parts(plan, lead)


@pytest.fixture
def partner(programme, site, other_site):
    Visit.objects.create(programme=programme, host=site, visitor=other_site,
                         date=datetime.date(2026, 3, 4))
    return SiteMembershipFactory(site=other_site, user__full_name="Pat Partner").user


@pytest.fixture
def viewers(lead, partner, core):
    return {"team": lead, "partner": partner, "core team": core}


def page(client_for, user, plan) -> str:
    response = client_for(user).get(reverse("qips:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    return TOKENS.sub("TOKEN", response.content.decode())


def pages(client_for, viewers, plan) -> dict[str, str]:
    return {name: page(client_for, user, plan) for name, user in viewers.items()}


def pages_from_scratch(client_for, viewers, plan) -> dict[str, str]:
    found = {}
    for name, user in viewers.items():
        cache.clear()
        found[name] = page(client_for, user, plan)
    return found


# More changes the page shows and the site journey's card does not.
PAGE_CHANGES = {
    "milestone added": lambda plan, lead, core: part_save(
        plan=plan, user=lead, model=Milestone, title="Clinic open",
        due_on=datetime.date(2025, 3, 1)),
    "PDSA cycle completed": lambda plan, lead, core: pdsa_complete(
        cycle=part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea(plan),
                        title="Test one", question="q", prediction="p",
                        started_on=datetime.date(2024, 5, 1), what_happened="Ran it",
                        results="As predicted", decision="adopt",
                        decision_reason="It worked"),
        user=lead, completed_on=datetime.date(2024, 6, 1)),
    "results written": lambda plan, lead, core: plan_update(
        plan=plan, user=lead, results_summary="Half the wait", version=plan.version),
    "plan completed": lambda plan, lead, core: plan_transition(
        plan=plan, action="complete", user=lead, as_core=False),
}


@pytest.mark.parametrize("change", [*CHANGES, *PAGE_CHANGES])
def test_after_every_change_each_viewer_gets_the_page_from_scratch(
        change, plan, lead, core, viewers, client_for):
    cached = pages(client_for, viewers, plan)  # rendered now, and cached
    assert pages(client_for, viewers, plan) == cached
    (CHANGES | PAGE_CHANGES)[change](QualityImprovementPlan.objects.get(pk=plan.pk), lead,
                                     core)
    served = pages(client_for, viewers, plan)
    assert served == pages_from_scratch(client_for, viewers, plan)
    assert served != cached


def test_the_team_s_edit_links_are_never_served_to_others(plan, viewers, client_for):
    edit_link = reverse("qips:part_add", args=[plan.pk, "measures"])
    # The team's request fills the cache first; the others' requests then read it.
    assert edit_link in page(client_for, viewers["team"], plan)
    for name in ("partner", "core team"):
        served = page(client_for, viewers[name], plan)
        assert edit_link not in served
        assert "/edit/" not in served.split('id="aim"')[1]
    # And the other way round.
    cache.clear()
    page(client_for, viewers["partner"], plan)
    assert edit_link in page(client_for, viewers["team"], plan)


def test_what_a_partner_may_not_read_stays_off_their_page(plan, lead, viewers, client_for):
    part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea(plan),
              title="Test one", question="q", prediction="p")
    page(client_for, viewers["core team"], plan)
    served = page(client_for, viewers["partner"], plan)
    assert 'id="barriers"' not in served
    assert 'id="review"' not in served
    assert "Test one" in served


def test_no_form_or_token_is_cached(plan, lead, viewers, client_for):
    part_save(plan=plan, user=lead, model=PdsaCycle, change_idea=idea(plan),
              title="Test one", question="q", prediction="p")
    for user in viewers.values():
        page(client_for, user, plan)
    first = client_for(lead).get(reverse("qips:plan_detail", args=[plan.pk])).content.decode()
    assert reverse("qips:pdsa_complete", args=[plan.pk, plan.pdsa_cycles.get().pk]) in first
    stored = [pickle.loads(value) for value in cache._cache.values()]
    parts = [value for value in stored if isinstance(value, str)]
    assert parts, "the parts are cached"
    for part in parts:
        assert "<form" not in part
        assert "csrfmiddlewaretoken" not in part


def test_a_part_cached_today_is_not_served_tomorrow(plan, monkeypatch):
    who = Access(core=False, team=True)
    today = plan_page.part_key(plan, who, "roles_to_sustainability")
    tomorrow = plan_page.timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr(plan_page.timezone, "localdate", lambda: tomorrow)
    assert plan_page.part_key(plan, who, "roles_to_sustainability") != today


def test_similar_plans_follow_the_programme_s_plans_and_their_sites_names(
        plan, programme, other_site, lead, core, client_for):
    other = QualityImprovementPlan.objects.create(
        programme=programme, site=other_site, title="Quicker diagnosis", status="approved",
        category="medium_term", created_by=core,
        approved_at=datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC))
    QualityImprovementPlan.objects.filter(pk=plan.pk).update(category="medium_term")
    plan = QualityImprovementPlan.objects.get(pk=plan.pk)
    assert "Quicker diagnosis" not in page(client_for, core, plan)
    plan_update(plan=other, user=core, share_with_programme=True, version=other.version)
    served = page(client_for, core, plan)
    assert "Quicker diagnosis" in served
    Organisation.objects.filter(pk=other_site.organisation_id).update(name="Renamed Trust")
    served = page(client_for, core, plan)
    assert "Renamed Trust" in served
    assert served == pages_from_scratch(client_for, {"core": core}, plan)["core"]


def test_a_warm_page_skips_the_parts_queries(plan, core, client_for):
    client = client_for(core)
    url = reverse("qips:plan_detail", args=[plan.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        client.get(url)
    assert len(warm) <= len(cold) - 6
