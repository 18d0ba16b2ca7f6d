"""Every page uses the same number of queries for the demo programme and for a national one.

One build for the whole module (TestCase.setUpTestData): the demo seed, and each page's
queries counted for an object in the demo programme; then the national-scale data
(qips.demo_national: five programmes, 600 sites, 3,000 plans, 250,000 measurements), and each
page counted again for the equivalent object in a national programme, one of the same shape
(a site that hosted a visit whose report was sent and has plans; a plan in the same state
with the same parts). A page whose count differs between the two does a query per row: find
the query rather than raise the budget.
"""

import datetime
import re
from collections import Counter
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programmes import demo
from programmes.demo_community import build_demo_community
from programmes.demo_resources import build_demo_resources
from programmes.models import (
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Programme,
    Randomisation,
    Site,
    SiteMembership,
)
from qips import demo_national
from qips.models import QualityImprovementPlan
from visits.demo_event_responses import build_demo_event_responses
from visits.demo_events import build_demo_events
from visits.models import LogisticsTask, Visit

# Budgets include the session, user and header lookups: the count both scales share, and two
# more for a feature's extra lookup. Growth with the data shows as a difference between scales.
PAGES: dict[str, tuple[str, str, int]] = {
    # name: (who asks, url, budget)
    "programme": ("core", "/programmes/{programme}/", 10),
    # Counted with the plans' health rows cached; one more query (the rows) when they are not.
    "dashboard": ("core", "/programmes/{programme}/dashboard/", 16),
    "dashboard: reports awaiting approval":
        ("core", "/programmes/{programme}/visits/?status=happened", 11),
    "dashboard: visits this week":
        ("core", "/programmes/{programme}/visits/?status=live&from={today}&to={week}", 11),
    "dashboard: overdue tasks": ("core", "/programmes/{programme}/logistics/?overdue=1", 7),
    "dashboard: plans submitted": ("core", "/programmes/{programme}/qips/?status=submitted", 8),
    "dashboard: plans needing help": ("core", "/programmes/{programme}/qips/?reason=any", 8),
    "site list": ("core", "/programmes/{programme}/sites/", 8),
    "site list filtered": ("core", "/programmes/{programme}/sites/?reached=approved&q=trust", 8),
    "site (core team)": ("core", "/sites/{site}/", 16),
    "site (its team)": ("member", "/sites/{site}/", 16),
    # Counted with the charts cached; one more query (their points) when some are not.
    "site journey": ("core", "/programmes/{programme}/sites/{site}/journey/", 22),
    "site data": ("core", "/sites/{site}/data/", 12),
    "audit data": ("core", "/programmes/{programme}/indicators/", 9),
    "randomisation": ("core", "/programmes/{programme}/randomisation/", 10),
    "pairing": ("core", "/programmes/{programme}/pairing/", 12),
    "evaluation": ("core", "/programmes/{programme}/evaluation/", 9),
    "exports": ("core", "/programmes/{programme}/exports/", 6),
    "programme visits": ("core", "/programmes/{programme}/visits/", 11),
    "programme events": ("core", "/programmes/{programme}/events/", 8),
    "logistics": ("core", "/programmes/{programme}/logistics/", 7),
    "visit": ("core", "/visits/{visit}/", 12),
    "visit report": ("core", "/visits/{visit}/report/", 29),
    "data pack": ("core", "/visits/{visit}/data-pack/", 19),
    "programme plans": ("core", "/programmes/{programme}/qips/", 8),
    # +2: the resource library's prompts beside the measures and the sustainability section.
    # Counted with the charts cached; one more query (their points) when some are not. The
    # page's parts not yet cached (qips.plan_page) are counted: 9 fewer once they are.
    "plan with charts": ("plan's core team", "/qips/{plan}/", 21),
    "measure data": ("plan's team", "/qips/{plan}/measures/{measure}/data/", 12),
    "library search": ("core", "/programmes/{programme}/library/?query=MDT", 9),
    "library resources": ("core", "/programmes/{programme}/library/resources/?query=MDT", 9),
    "site plans": ("member", "/sites/{site}/qips/", 10),
    # +1: a person's regional hubs and reviewer-pool places (one-way review programmes).
    "home (two places)": ("two places", "/", 8),
    "directory": ("member", "/programmes/{programme}/directory/", 10),
    "directory filtered": ("member", "/programmes/{programme}/directory/?role=cns&q=a", 10),
    # 9 once a message has been sent: the list of past messages is one more query.
    "role groups": ("core", "/programmes/{programme}/groups/", 9),
}


def queries(user, url: str) -> tuple[int, list[str]]:
    """The queries a signed-in GET of ``url`` makes, after one request to warm the caches."""
    client = Client()
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return len(captured), [q["sql"] for q in captured.captured_queries]


def normalised(sql: str) -> str:
    """The query with its numbers taken out, so the same query for another row matches."""
    return re.sub(r"\d+", "N", re.sub(r"IN \([^)]*\)", "IN (...)", sql))


def plan_shape(plan: QualityImprovementPlan) -> tuple:
    """What could change which queries a plan's pages make."""
    return (plan.status, bool(plan.focus_area_id), plan.n_measures, bool(plan.n_cycles),
            bool(plan.n_updates), bool(plan.n_barriers), bool(plan.n_support),
            bool(plan.n_comments), plan.share_with_partner, plan.share_with_programme,
            bool(plan.n_indicators), bool(plan.n_questions))


def with_parts(plans):
    return plans.annotate(
        n_measures=Count("measures", distinct=True), n_cycles=Count("pdsa_cycles", distinct=True),
        n_updates=Count("progress_updates", distinct=True),
        n_barriers=Count("barriers", distinct=True), n_support=Count("support", distinct=True),
        n_comments=Count("review_comments", distinct=True),
        n_indicators=Count("indicators", distinct=True),
        n_questions=Count("survey_questions", distinct=True))


def site_shape(site: Site, programme: Programme) -> tuple:
    visits = programme.visits.filter(Q(host=site) | Q(visitor=site))
    return (
        site.enrolments.get(programme=programme).status,
        tuple(sorted(visits.filter(host=site).values_list("status", flat=True))),
        tuple(sorted(visits.filter(visitor=site).values_list("status", flat=True))),
        Invitation.objects.filter(site=site, status="pending").exists(),
        QualityImprovementPlan.objects.filter(site=site).exists(),
    )


class PagesAtTwoScales(TestCase):
    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        call_command("seed_demo", stdout=StringIO())
        programme = demo.demo_programmes().get()
        core = User.objects.get(email=demo.CORE_LEAD_EMAIL)
        member = User.objects.get(email=demo.SITE_LEAD_EMAIL)
        site = SiteMembership.objects.get(user=member).site
        # The demo records its allocation as enrolment moves alone; a real programme (and
        # every national one) has the confirmed randomisation that made them.
        allocated = programme.enrolments.filter(status__in=["intervention", "control"])
        Randomisation.objects.create(
            programme=programme, seed=1, intervention_count=30, created_by=core,
            allocation={str(e.site_id): e.status for e in allocated},
            confirmed_by=core, confirmed_at=timezone.now())
        # Someone in two places sees the home page rather than a redirect.
        two_places = User.objects.get(email=demo.CORE_PROJECT_MANAGER_EMAIL)
        SiteMembership.objects.create(site=site, user=two_places, role="manager")
        visit = programme.visits.filter(status=Visit.Status.REPORT_SENT, host=site).get()
        plan = with_parts(QualityImprovementPlan.objects.filter(
            site=site, status=QualityImprovementPlan.Status.IN_PROGRESS)).get()
        cls.demo = cls.count_pages(programme, site, visit, plan, core, member, two_places)
        cls.demo_shapes = (site_shape(site, programme), plan_shape(plan))

        call_command("seed_demo", "--scale", "national", stdout=StringIO())
        site, programme = cls.national_site(cls.demo_shapes[0])
        core = CoreTeamMembership.objects.get(programme=programme, role="clinical_lead").user
        member = SiteMembership.objects.current().filter(site=site, role="clinical_lead").get().user
        two_places = User.objects.annotate(places=Count(
            "site_memberships", filter=Q(site_memberships__ended_at__isnull=True))).filter(
            places__gte=2, email__endswith=demo_national.EMAIL_DOMAIN).order_by("pk").first()
        visit = programme.visits.filter(status=Visit.Status.REPORT_SENT, host=site).get()
        plan = cls.national_plan(cls.demo_shapes[1])
        # The demo has events, resources, directory listings and a role-group email; the
        # national data has none of them. An empty list skips its prefetch queries, so give
        # the national programme the same kinds of rows (at its own, larger scale).
        build_demo_events(programme, core)
        build_demo_event_responses(programme, core)
        build_demo_resources(programme, core)
        build_demo_community(programme)
        cls.national = cls.count_pages(programme, site, visit, plan, core, member, two_places)
        cls.national_shapes = (site_shape(site, programme), plan_shape(plan))

    @staticmethod
    def national_site(shape: tuple) -> tuple[Site, Programme]:
        """A site shaped like the demo site (the same arm, visits in the same states, plans),
        in whichever national programme has one first, with the demo site's pending
        invitation if it lacks one."""
        enrolments = Enrolment.objects.filter(
            programme__in=demo_national.national_programmes(),
            status=Enrolment.Status.INTERVENTION).filter(Exists(Visit.objects.filter(
                host=OuterRef("site"), status=Visit.Status.REPORT_SENT))).select_related(
            "site", "programme").order_by("programme__name", "site_id")
        matches = [e for e in enrolments
                   if site_shape(e.site, e.programme)[:3] == shape[:3]
                   and site_shape(e.site, e.programme)[4] == shape[4]]
        chosen = (matches or list(enrolments))[0]
        if shape[3] and not site_shape(chosen.site, chosen.programme)[3]:
            Invitation.objects.create(
                programme=chosen.programme, site=chosen.site, email="new.member@example.org",
                full_name="New Member", site_role="other_clinician", sent_at=timezone.now())
        return chosen.site, chosen.programme

    @staticmethod
    def national_plan(shape: tuple) -> QualityImprovementPlan:
        """A plan with the same parts as the demo plan, in any national programme (a plan's
        pages do not read its programme's other plans)."""
        plans = list(with_parts(QualityImprovementPlan.objects.filter(
            programme__in=demo_national.national_programmes(), status=shape[0])).order_by("pk"))

        def score(plan: QualityImprovementPlan) -> int:
            return sum(a == b for a, b in zip(plan_shape(plan), shape, strict=True))

        return max(plans, key=score)

    @classmethod
    def count_pages(cls, programme, site, visit, plan, core, member, two_places) -> dict:
        today = timezone.localdate()
        # The plan may be in another national programme than the one whose pages are counted.
        plan_core = CoreTeamMembership.objects.get(programme=plan.programme_id,
                                                   role="clinical_lead").user
        plan_team = SiteMembership.objects.current().filter(site=plan.site).first().user
        people = {"core": core, "member": member, "two places": two_places,
                  "plan's core team": plan_core, "plan's team": plan_team}
        ids = {"programme": programme.pk, "site": site.pk, "visit": visit.pk, "plan": plan.pk,
               "measure": plan.measures.order_by("pk").first().pk, "today": today.isoformat(),
               "week": (today + datetime.timedelta(days=6)).isoformat()}
        counts = {}
        for name, (who, url, _budget) in PAGES.items():
            counts[name] = queries(people[who], url.format(**ids))
        return counts

    def check(self, name: str) -> None:
        budget = PAGES[name][2]
        (small, small_sql), (large, large_sql) = self.demo[name], self.national[name]
        if small != large:
            extra = (Counter(map(normalised, large_sql))
                     - Counter(map(normalised, small_sql))).most_common(3)
            self.fail(f"{name}: {small} queries for the demo programme, {large} for a national "
                      f"one. Shapes: demo {self.demo_shapes}, national {self.national_shapes}. "
                      f"Run more often at national scale (times, SQL): {extra}")
        self.assertLessEqual(large, budget, f"{name}: {large} queries, budget {budget}")

    def test_the_national_objects_have_the_demo_objects_shapes(self):
        self.assertEqual(self.demo_shapes, self.national_shapes)

    def test_the_national_programmes_are_many_times_the_demo(self):
        lung = demo.demo_programmes().get()
        for national in demo_national.national_programmes():
            for count in (lambda p: p.qips.count(), lambda p: p.visits.count(),
                          lambda p: LogisticsTask.objects.filter(visit__programme=p).count(),
                          lambda p: p.enrolments.filter(status="intervention").count()):
                self.assertGreater(count(national), 2 * count(lung))
        self.assertGreater(demo_national.counts()["measurements"], 200_000)


def _page_test(name: str):
    def test(self):
        self.check(name)
    test.__doc__ = f"{name}: the same number of queries at both scales, within its budget."
    return test


for _name in PAGES:
    _slug = "".join(c if c.isalnum() else "_" for c in _name.lower()).strip("_")
    setattr(PagesAtTwoScales, f"test_{_slug}", _page_test(_name))
