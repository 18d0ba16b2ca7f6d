"""The national-scale demo data (``seed_demo --scale national``, qips.demo_national).

Slow: it is built once for the module (TestCase.setUpTestData), on top of the demo, and each
test reads it (or changes it inside its own rolled-back transaction).
"""

import datetime
from io import StringIO

from allauth.account.models import EmailAddress
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.test import TestCase
from django.utils import timezone

from ilcop.models import ActivityLog, ActivityScope
from programmes import demo
from programmes.models import (
    Enrolment,
    Organisation,
    Programme,
    Randomisation,
    Site,
    SiteMembership,
    Specialty,
)
from qips import demo_national, digest, selectors
from qips.models import (
    Measure,
    Measurement,
    PdsaCycle,
    ProgressUpdate,
    QualityImprovementPlan,
)
from qips.services.plans import submit_problems
from visits import observation_form as observation_rules
from visits.calendar import candidate_dates
from visits.models import LogisticsTask, Visit, VisitReport

APPS = ("ilcop", "account", "programmes", "visits", "qips")


def rows() -> dict[str, int]:
    """How many rows each of the project's tables holds."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()
            if model._meta.app_label in APPS}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


class NationalScaleDemo(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed()
        cls.demo_rows = rows()
        cls.output = seed("--scale", "national")
        cls.rows = rows()
        cls.programmes = list(demo_national.national_programmes())
        cls.now, cls.today = timezone.now(), timezone.localdate()

    def test_the_targets_are_reached_and_printed(self):
        counts = demo_national.counts()
        for key in ("programmes", "sites", "people", "plans", "measurements"):
            target = demo_national.TARGETS[key]
            self.assertLessEqual(abs(counts[key] - target), 0.03 * target, (key, counts[key]))
            self.assertIn(f"({target:,})", self.output)
        self.assertIn("Built the national-scale data in", self.output)
        self.assertIn(f"activity log: {counts['activity log entries']:,} entries", self.output)
        self.assertGreater(counts["activity log entries"], 50_000)
        for programme, email in demo_national.national_logins():
            self.assertIn(f"{programme}: sign in as {email}", self.output)

    def test_a_year_of_activity_fills_every_month(self):
        entries = ActivityLog.objects.filter(
            scopes__content_type__model="programme",
            scopes__object_id__in=[p.pk for p in self.programmes])
        oldest = entries.order_by("created_at").first().created_at
        self.assertLessEqual(self.now - oldest, datetime.timedelta(days=365))
        self.assertFalse(ActivityLog.objects.filter(created_at__gt=self.now).exists())
        months = {timezone.localtime(at).strftime("%Y-%m")
                  for at in entries.values_list("created_at", flat=True)}
        self.assertGreaterEqual(len(months), 12)

    def test_each_programme_is_its_own_specialty(self):
        programmes = [demo.demo_programmes().get(), *self.programmes]
        self.assertEqual(len(programmes), 5)
        self.assertEqual(len({p.specialty for p in programmes}), 5)
        self.assertTrue({p.specialty for p in programmes} <= set(Specialty.values))
        for programme in self.programmes:
            self.assertEqual(programme.status, Programme.Status.RUNNING)
            sites = Site.objects.filter(enrolments__programme=programme)
            self.assertEqual(set(sites.values_list("specialty", flat=True)),
                             {programme.specialty})

    def test_trusts_run_mdts_in_several_specialties(self):
        codes = list(Organisation.objects.values_list("code", flat=True))
        self.assertEqual(len(codes), len(set(codes)))
        self.assertTrue(all(code.startswith(("ZR", "ZQ")) for code in codes))
        shared = Organisation.objects.annotate(
            specialties=Count("sites__specialty", distinct=True)).filter(specialties__gte=3)
        self.assertTrue(shared.filter(code__startswith="ZR").exists())
        self.assertFalse(Organisation.objects.filter(sites__isnull=True).exists())
        # A trust's cancer services manager in more than one of its MDTs.
        self.assertTrue(SiteMembership.objects.current().values("user").annotate(
            n=Count("site")).filter(n__gte=2).exists())

    def test_every_row_is_valid(self):
        connection.check_constraints()  # foreign keys: deferred, so not checked before commit
        for model in apps.get_models():
            if model._meta.app_label not in APPS:
                continue
            pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
            # SQLite does not enforce lengths or choices; full_clean does, on a sample.
            for obj in model.objects.filter(pk__in=pks[::max(1, len(pks) // 15)]):
                with self.subTest(model=model._meta.label, pk=obj.pk):
                    obj.full_clean(validate_unique=False)

    def test_people_can_sign_in(self):
        people = SiteMembership.objects.filter(
            site__code__regex=demo_national.SITE_CODE_PATTERN).values("user")
        self.assertFalse(EmailAddress.objects.filter(user__in=people, verified=False).exists())
        self.assertEqual(EmailAddress.objects.filter(user__in=people).count(),
                         people.distinct().count())

    def test_the_funnel_and_the_arms_are_as_the_services_keep_them(self):
        for programme in self.programmes:
            enrolments = programme.enrolments.all()
            allocated = enrolments.filter(status__in=["intervention", "control"])
            run = Randomisation.objects.get(programme=programme, confirmed_at__isnull=False)
            self.assertEqual(run.allocation, {str(e.site_id): e.status for e in allocated})
            reached = enrolments.filter(Q(status__in=["approved", "ineligible", "intervention",
                                                      "control"])
                                        | Q(withdrawn_from="approved"))
            self.assertFalse(reached.filter(Q(approved_by="") | Q(approved_on=None)).exists())
            self.assertFalse(enrolments.filter(status="withdrawn", withdrawn_from="").exists())
            self.assertFalse(enrolments.filter(status="ineligible",
                                               ineligible_reason="").exists())
            pairing = programme.pairings.get(status="confirmed")
            paired = {s for pair in pairing.pairs.all() for s in (pair.site_a_id,
                                                                  pair.site_b_id)}
            self.assertEqual(paired, set(enrolments.filter(status="intervention")
                                         .values_list("site_id", flat=True)))
            for status in Enrolment.Status.values:
                if status != "eligible":
                    self.assertTrue(enrolments.filter(status=status).exists(), status)

    def test_visits_agree_with_their_dates(self):
        visits = Visit.objects.filter(programme__in=self.programmes).select_related(
            "host", "after")
        for programme in self.programmes:
            self.assertEqual(set(programme.visits.values_list("status", flat=True)),
                             set(Visit.Status.values), programme)
        for visit in visits:
            with self.subTest(visit=visit.pk, status=visit.status):
                if visit.status in ("proposed", "polling"):
                    self.assertIsNone(visit.date)
                    continue
                self.assertEqual(candidate_dates(visit.host.mdt_day, visit.date, visit.date),
                                 [visit.date])
                if visit.after_id and visit.after.date:
                    self.assertGreater(visit.date, visit.after.date)
                if visit.status in ("happened", "report_sent"):
                    self.assertLess(visit.date, self.today)
                    self.assertTrue(visit.focus_areas.exists())
                    for response in visit.observations.select_related("form"):
                        self.assertIsNotNone(response.submitted_at)
                        self.assertEqual(observation_rules.missing_answers(
                            response.form.definition, response.answers), [])
                if visit.status == "date_agreed":
                    self.assertGreaterEqual(visit.date, self.today)
                if visit.status in ("confirmed", "happened", "report_sent"):
                    self.assertEqual(visit.tasks.count(), 6)
                    self.assertTrue(visit.attendees.filter(team="facilitator").exists())
        polls = Visit.objects.filter(programme__in=self.programmes, status="polling")
        self.assertFalse(polls.filter(poll__isnull=True).exists())
        self.assertFalse(VisitReport.objects.filter(
            visit__programme__in=self.programmes).exclude(visit__status="report_sent")
            .exists())
        overdue = LogisticsTask.objects.filter(
            visit__programme__in=self.programmes, visit__status="confirmed",
            done_at__isnull=True, visit__date__lt=self.today + datetime.timedelta(days=28))
        self.assertTrue(overdue.exists())

    def test_plans_agree_with_their_states(self):
        plans = QualityImprovementPlan.objects.filter(programme__in=self.programmes)
        for programme in self.programmes:
            self.assertEqual(set(programme.qips.values_list("status", flat=True)),
                             set(QualityImprovementPlan.Status.values), programme)
        approved = ("approved", "in_progress", "completed", "on_hold", "stopped")
        self.assertFalse(plans.filter(status__in=approved, approved_at=None).exists())
        self.assertFalse(plans.exclude(status__in=approved).filter(
            Q(approved_at__isnull=False) | Q(commitment__isnull=False)).exists())
        self.assertFalse(plans.filter(status_changed_at__gt=self.now).exists())
        self.assertFalse(plans.filter(status_changed_at__lt=F("created_at")).exists())
        for plan in plans.exclude(status="draft").prefetch_related("measures")[::25]:
            with self.subTest(plan=plan.pk):
                self.assertEqual(submit_problems(plan), [])
                if plan.commitment:
                    self.assertEqual({m["id"] for m in plan.commitment["measures"]},
                                     {m.pk for m in plan.measures.all()})
        for cycle in PdsaCycle.objects.filter(plan__in=plans, completed_on__isnull=False)[::20]:
            self.assertEqual(cycle.missing_stages(), [])
        # Nothing happens to a plan after it has been completed or stopped.
        ended = plans.filter(status__in=["completed", "stopped"])
        self.assertFalse(ProgressUpdate.objects.filter(
            plan__in=ended, submitted_at__gt=F("plan__status_changed_at")).exists())
        self.assertFalse(Measurement.objects.filter(
            measure__plan__in=ended, entered_at__gt=F("measure__plan__status_changed_at"))
            .exists())
        self.assertFalse(Measurement.objects.filter(entered_at__gt=self.now).exists())
        self.assertTrue(Measure.objects.filter(plan__in=plans, frequency="weekly").exists())
        self.assertTrue(plans.filter(share_with_programme=True, status__in=approved).exists())

    def test_the_core_team_sees_teams_that_need_help(self):
        for programme in self.programmes:
            reasons = {r for row in selectors.programme_plans(programme) for r in row.reasons}
            self.assertTrue({"No progress update for six weeks", "A barrier asks for help",
                             "The latest update asks for help"} <= reasons, programme)
            self.assertTrue(digest.quiet_teams(programme, self.now), programme)

    def test_the_log_is_filed_as_log_action_files_it(self):
        entries = ActivityLog.objects.filter(
            pk__in=ActivityScope.objects.filter(
                content_type__model="programme",
                object_id__in=[p.pk for p in self.programmes]).values("entry"))
        own = ActivityScope.objects.filter(entry=OuterRef("pk"),
                                           content_type=OuterRef("content_type"),
                                           object_id=OuterRef("object_id"))
        self.assertFalse(entries.filter(~Exists(own)).exists())
        site_business = entries.filter(verb__startswith="qip.").exclude(verb="qip.support")
        on_site = ActivityScope.objects.filter(entry=OuterRef("pk"), content_type__model="site")
        self.assertFalse(site_business.filter(~Exists(on_site)).exists())
        self.assertGreater(site_business.values("verb").distinct().count(), 10)
        latest = entries.aggregate(latest=Max("created_at"))["latest"]
        self.assertGreater(latest, self.now - datetime.timedelta(days=3))

    def test_every_scope_carries_its_entrys_moment(self):
        # The timelines are read in the scopes' order; the log went in as plain INSERTs and
        # entries written by services were dated afterwards.
        self.assertGreater(ActivityScope.objects.count(), 100_000)
        self.assertFalse(ActivityScope.objects.exclude(
            created_at=F("entry__created_at")).exists())

    def test_running_it_again_changes_nothing(self):
        out = seed("--scale", "national")
        self.assertIn("The national-scale data already exists; nothing changed", out)
        self.assertEqual(rows(), self.rows)

    def test_removing_it_leaves_the_demo_as_it_was(self):
        demo_national.delete()
        self.assertEqual(rows(), self.demo_rows)
        demo.delete_demo()  # and the demo's own reset still works after it
        self.assertFalse(Programme.objects.exists())
        self.assertFalse(Organisation.objects.exists())
