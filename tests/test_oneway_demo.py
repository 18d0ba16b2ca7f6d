"""The demo's one-way review programme (qips.demo_one_way), as issue 12 asks: self-reports,
a few flagged services with a decision each, and a review with a report and an action plan
in progress."""

from io import StringIO

import pytest
from django.core.management import call_command

from ilcop.models import Notification
from programmes import demo
from programmes.models import Programme, Reviewer
from programmes.selectors.surveillance import cycle_results
from qips import demo_one_way
from qips.models import Milestone, QualityImprovementPlan
from visits.models import PeerReview, VisitReport
from visits.services.report import report_recipients

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme():
    call_command("seed_demo", stdout=StringIO())
    return Programme.objects.get(name=demo_one_way.PROGRAMME_NAME)


def test_self_reports_flag_a_few_services_and_each_has_a_decision(programme):
    assert programme.kind == Programme.Kind.ONE_WAY
    results = cycle_results(programme.self_report_cycles.get())
    assert len(results) == 12
    assert sum(r.submitted for r in results) == 11
    flagged = [r for r in results if r.submitted and r.assessment.flagged]
    assert len(flagged) == 4
    assert all(r.decision is not None for r in flagged)
    # The service exactly on the 75% good practice threshold is not flagged.
    assert any(r.assessment.good_practice_percent == 75 and not r.assessment.flagged
               for r in results)


def test_a_review_has_its_report_and_an_action_plan_in_progress(programme):
    reviewed = PeerReview.objects.get(programme=programme, action_plan__isnull=False)
    visit = reviewed.visits.get()
    report = VisitReport.objects.get(visit=visit)
    # Its distribution list, exactly, is recorded as having had the report.
    recipients = {person.email for person in report_recipients(visit)}
    assert recipients == set(reviewed.distribution.values_list("user__email", flat=True))
    assert set(Notification.objects.filter(kind="visit_report", object_id=report.pk)
               .values_list("recipient__email", flat=True)) == recipients
    assert {"service_team", "chief_executive", "commissioner", "network"} == set(
        reviewed.distribution.values_list("role", flat=True))
    assert reviewed.findings.count() == programme.standards.count()
    assert reviewed.visibility == PeerReview.Visibility.NETWORK
    assert reviewed.redaction_approved_at is not None and reviewed.published_html
    plan = reviewed.action_plan
    assert plan.status == QualityImprovementPlan.Status.IN_PROGRESS
    assert plan.reporting_owner.email == demo.SERVICE_LEAD_EMAIL
    assert plan.support_requested and plan.next_review_on
    statuses = set(plan.milestones.values_list("status", flat=True))
    assert Milestone.Status.DONE in statuses and Milestone.Status.NOT_STARTED in statuses


def test_the_review_to_come_has_a_team_that_passes_the_conflict_check(programme):
    upcoming = PeerReview.objects.get(programme=programme, action_plan__isnull=True)
    team = list(upcoming.team.select_related("reviewer__organisation"))
    assert any(m.reviewer.is_patient_reviewer for m in team)
    assert all(m.reviewer.organisation_id != upcoming.site.organisation_id for m in team)
    assert upcoming.lines_agreed_at is None
    # The pool has someone who declared a conflict with this very service.
    assert Reviewer.objects.filter(
        programme=programme, conflicts__organisation=upcoming.site.organisation).exists()
