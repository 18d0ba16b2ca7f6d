"""The demo's quality improvement plans: every state, about three per host, a year or two of
data whose charts show the signals the demo is meant to teach, and the same on every build."""

from collections import Counter
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from programmes import demo
from qips import selectors, spc
from qips.models import (
    Barrier,
    Measure,
    Milestone,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    ReviewComment,
    SupportRecord,
)
from visits.models import Visit

Status = QualityImprovementPlan.Status
APPROVED_OR_LATER = {Status.APPROVED, Status.IN_PROGRESS, Status.COMPLETED, Status.ON_HOLD,
                     Status.STOPPED}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def chart_rules(measure: Measure) -> list[frozenset[str]]:
    values = [m.figure for m in measure.measurements.order_by("period")]
    return [point.rules for point in spc.special_causes(
        values, improvement=measure.direction, baseline=measure.baseline_points)]


def test_the_demo_has_plans_in_every_state_with_data_that_shows_each_signal(db):
    out = seed()
    programme = demo.demo_programmes().get()
    plans = QualityImprovementPlan.objects.filter(programme=programme).select_related(
        "focus_area__visit")
    counts = Counter(plans.values_list("status", flat=True))
    assert set(counts) == set(Status.values)
    assert f"Quality improvement plans: {plans.count()} (" in out

    # About three plans for every intervention site that has hosted a visit, each from a
    # focus area agreed at a visit it hosted.
    hosts = set(programme.visits.filter(
        status__in=[Visit.Status.HAPPENED, Visit.Status.REPORT_SENT]).values_list(
        "host", flat=True))
    intervention = set(programme.enrolments.filter(status="intervention").values_list(
        "site", flat=True))
    per_site = Counter(plans.values_list("site", flat=True))
    assert hosts and hosts <= intervention
    assert set(per_site) == hosts
    assert all(2 <= n <= 4 for n in per_site.values())
    assert all(plan.focus_area.visit.host_id == plan.site_id for plan in plans)

    # Approved plans have 12 to 24 months of monthly data, none of it in the future, with a
    # lung MDT's numbers of patients.
    approved = plans.filter(status__in=APPROVED_OR_LATER)
    assert not approved.filter(approved_at__isnull=True).exists()
    assert not plans.exclude(status__in=APPROVED_OR_LATER).filter(
        approved_at__isnull=False).exists()
    assert not approved.filter(approved_at__gt=timezone.now()).exists()
    today = timezone.localdate()
    measures = list(Measure.objects.filter(plan__in=approved))
    assert {m.kind for m in measures} == set(Measure.Kind.values)
    for measure in measures:
        periods = list(measure.measurements.values_list("period", flat=True))
        assert 12 <= len(periods) <= 24, measure
        assert all(p.day == 1 for p in periods) and max(periods) <= today
        months = [p.year * 12 + p.month for p in sorted(periods)]
        assert months == list(range(months[0], months[0] + len(months)))  # no gaps
        for numerator, denominator in measure.measurements.filter(
                denominator__isnull=False).values_list("numerator", "denominator"):
            assert 0 <= numerator <= denominator <= 45

    # The four signals: a shift, a trend, a single astronomical point, and a chart with
    # nothing but common-cause variation.
    rules = {measure: chart_rules(measure) for measure in measures}
    found = set().union(*(r for series in rules.values() for r in series))
    assert {spc.SHIFT, spc.TREND, spc.OUTSIDE_LIMITS} <= found
    assert any(not any(series) for series in rules.values())
    assert any([r for r in series if r] == [{spc.OUTSIDE_LIMITS}] for series in rules.values())

    # The library and the plans that need help.
    library = list(selectors.library(programme))
    assert library and all(p.results_summary and p.lessons_learned for p in library)
    needing_help = {h.plan.status for h in selectors.programme_plans(programme) if h.reasons}
    assert needing_help and needing_help <= {Status.APPROVED, Status.IN_PROGRESS,
                                             Status.ON_HOLD}
    assert plans.filter(share_with_partner=True).exists()

    # The parts of a plan, filled in as a team would.
    cycles = PdsaCycle.objects.filter(plan__programme=programme)
    assert {c.decision for c in cycles if c.is_complete} == set(PdsaCycle.Decision.values)
    assert cycles.filter(follows__isnull=False).exists()
    assert cycles.filter(completed_on__isnull=True, started_on__isnull=False).exists()
    assert not [c for c in cycles if c.is_complete and c.missing_stages()]
    assert ReviewComment.objects.filter(plan__programme=programme).exclude(response="").exists()
    assert ReviewComment.objects.filter(plan__status=Status.CHANGES_REQUESTED,
                                        response="").exists()
    assert ProgressUpdate.objects.filter(plan__programme=programme).count() >= len(approved)
    assert SupportRecord.objects.filter(plan__programme=programme).exists()
    assert Barrier.objects.filter(plan__programme=programme, status="resolved").exists()
    assert PlanRole.objects.filter(plan__programme=programme, owns_sustainability=True).exists()
    assert Milestone.objects.filter(plan__programme=programme, done_on__isnull=False).exists()
    for plan in approved:
        assert plan.commitment["measures"]
        assert plan.measures.count() == 3


def snapshot() -> dict:
    """Every plan and its parts, by what they say rather than their primary keys."""
    plan = ("plan__site__code", "plan__title")

    def without_ids(commitment):
        if not commitment:
            return commitment
        return {**commitment, "measures": [{k: v for k, v in m.items() if k != "id"}
                                           for m in commitment["measures"]]}

    return {
        "plans": sorted(((*row[:14], without_ids(row[14]), *row[15:])
                         for row in QualityImprovementPlan.objects.values_list(
            "site__code", "title", "status", "focus_area__title", "problem_statement",
            "aim_what", "aim_how_much", "aim_by_when", "category", "created_at", "updated_at",
            "status_changed_at", "approved_at", "approved_by__email", "commitment",
            "share_with_partner", "share_with_programme", "results_summary",
            "lessons_learned", "reporting_owner__email")), key=repr),
        "measures": sorted(Measure.objects.values_list(
            *plan, "kind", "name", "chart", "baseline_points", "direction"), key=repr),
        "measurements": sorted(Measure.objects.values_list(
            *plan, "name", "measurements__period", "measurements__numerator",
            "measurements__denominator", "measurements__value", "measurements__entered_at",
            "measurements__entered_by__email"), key=repr),
        "cycles": sorted(PdsaCycle.objects.values_list(
            *plan, "title", "change_idea__text", "follows__title", "started_on",
            "completed_on", "decision", "created_at"), key=repr),
        "updates": sorted(ProgressUpdate.objects.values_list(
            *plan, "month", "rag", "done", "new_data", "help_needed", "submitted_at"),
            key=repr),
        "comments": sorted(ReviewComment.objects.values_list(
            *plan, "field", "text", "response", "created_at", "responded_at"), key=repr),
        "roles": sorted(PlanRole.objects.values_list(*plan, "person", "job_title", "due_on"),
                        key=repr),
        "milestones": sorted(Milestone.objects.values_list(*plan, "title", "due_on",
                                                           "done_on"), key=repr),
        "barriers": sorted(Barrier.objects.values_list(*plan, "kind", "raised_on", "status",
                                                       "help_needed"), key=repr),
        "support": sorted(SupportRecord.objects.values_list(*plan, "kind", "given_on"),
                          key=repr),
    }


def test_rebuilding_with_reset_gives_the_same_plans(db):
    seed()
    before = snapshot()
    assert before["plans"]
    out = seed("--reset")
    assert "Removed the previous demo data" in out
    assert snapshot() == before
