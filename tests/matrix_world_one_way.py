"""The one-way review part of the permission matrix's world (tests/matrix_world.py).

A one-way programme run by the same core team (``core``, ``facilitator``), whose services are
other teams at the same trusts (a service is a site, as an MDT is), in which:

- ``site_member`` also belongs to the service under review, at the site's trust: it
  self-reported, was flagged, the core team decided on a peer review, and the review has
  happened, with a report and an action plan;
- ``partner_member`` is the lead reviewer, a clinical peer from the partner's trust;
- ``unrelated_member`` also belongs to another service in the programme, at the unrelated
  site's trust, not reviewed;
- ``other_core``, ``anonymous``: as everywhere.

The review's report is visible to its organisation only, so the other service's members get
a 404 for it (a test that widens the visibility does so itself).
"""

import datetime

from django.utils import timezone

from programmes.models import (
    ConflictOfInterest,
    CoreTeamMembership,
    Enrolment,
    EvidenceDocument,
    IndicatorResponse,
    Programme,
    QualityIndicator,
    RegionalHub,
    Reviewer,
    SelfReport,
    SelfReportCycle,
    Standard,
    SurveillanceDecision,
)
from qips.models import Milestone, QualityImprovementPlan
from visits.models import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewChecklistItem,
    ReviewDocument,
    ReviewTeamMember,
    StandardFinding,
    Visit,
    VisitAttendee,
)

from .factories import SiteFactory, SiteMembershipFactory, UserFactory


def build_one_way_world(world, *, site, partner, unrelated) -> None:
    people = world.people
    site = SiteFactory(organisation=site.organisation, name="Specialised lung service")
    unrelated = SiteFactory(organisation=unrelated.organisation,
                            name="Specialised lung service")
    SiteMembershipFactory(site=site, user=people["site_member"], role="clinical_lead")
    SiteMembershipFactory(site=unrelated, user=people["unrelated_member"],
                          role="clinical_lead")
    core, facilitator = people["core"], people["facilitator"]
    programme = Programme.objects.create(
        name="Specialised Services Quality Review 2026", specialty="lung_cancer",
        kind=Programme.Kind.ONE_WAY, start_date=datetime.date(2026, 4, 1),
        end_date=datetime.date(2027, 3, 31), status=Programme.Status.RUNNING)
    CoreTeamMembership.objects.create(programme=programme, user=core,
                                      role=CoreTeamMembership.Role.PROJECT_MANAGER)
    CoreTeamMembership.objects.create(programme=programme, user=facilitator,
                                      role=CoreTeamMembership.Role.QI_FACILITATOR)
    for service in (site, unrelated):
        Enrolment.objects.create(programme=programme, site=service,
                                 status=Enrolment.Status.APPROVED)
    today = timezone.localdate()

    standard = Standard.objects.create(programme=programme, code="S1", order=1,
                                       title="Every new patient is discussed at the MDT")
    indicator = QualityIndicator.objects.create(
        programme=programme, standard=standard, code="QI-01", title="Weekly MDT meeting",
        kind=QualityIndicator.Kind.AGREED, review_date=today + datetime.timedelta(days=200))
    cycle = SelfReportCycle.objects.create(programme=programme, name="2026/27",
                                           opens_on=today - datetime.timedelta(days=60),
                                           closes_on=today + datetime.timedelta(days=30))
    self_report = SelfReport.objects.create(cycle=cycle, site=site,
                                            status=SelfReport.Status.SUBMITTED,
                                            submitted_at=timezone.now(),
                                            submitted_by=people["site_member"])
    IndicatorResponse.objects.create(report=self_report, indicator=indicator, met=False)
    other_report = SelfReport.objects.create(cycle=cycle, site=unrelated)
    evidence = EvidenceDocument.objects.create(
        report=self_report, indicator=indicator, title="MDT terms of reference",
        file="evidence/matrix.pdf", filename="terms.pdf", size=9,
        uploaded_by=people["site_member"])
    decision = SurveillanceDecision.objects.create(
        report=self_report, peer_review=True, risk_level="medium",
        agreed_with_provider=True, agreed_with_commissioner=True,
        rationale="Missed an agreed indicator two years running", decided_by=core)
    hub = RegionalHub.objects.create(programme=programme, name="London hub", region="london")
    hub.sites.add(site)

    reviewer = Reviewer.objects.create(
        programme=programme, user=people["partner_member"], profession="doctor",
        region="london", organisation=partner.organisation,
        training_completed_on=today - datetime.timedelta(days=100))
    patient = Reviewer.objects.create(
        programme=programme, user=UserFactory(full_name="Pat Reviewer"),
        is_patient_reviewer=True, region="london",
        training_completed_on=today - datetime.timedelta(days=100))
    conflict = ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=unrelated.organisation,
        description="Worked there until 2024")

    review = PeerReview.objects.create(programme=programme, site=site, decision=decision,
                                       created_by=core)
    ReviewTeamMember.objects.create(review=review, reviewer=reviewer, is_lead=True)
    ReviewTeamMember.objects.create(review=review, reviewer=patient)
    visit = Visit.objects.create(
        programme=programme, host=site, review=review, status=Visit.Status.HAPPENED,
        date=today - datetime.timedelta(days=2), start_time=datetime.time(9),
        end_time=datetime.time(16), facilitator=facilitator)
    VisitAttendee.objects.create(visit=visit, user=people["site_member"], team="host",
                                 role="clinical_lead")
    VisitAttendee.objects.create(visit=visit, user=people["partner_member"], team="visiting",
                                 role="lead_reviewer")
    line = LineOfEnquiry.objects.create(review=review, standard=standard, order=1,
                                        text="How are late referrals discussed?",
                                        proposed_by=core)
    checklist_item = ReviewChecklistItem.objects.create(review=review, order=1,
                                                        text="Upload the MDT's operational policy")
    document = ReviewDocument.objects.create(
        review=review, title="Operational policy", file="reviews/matrix.pdf",
        filename="policy.pdf", size=9, uploaded_by=people["site_member"])
    finding = StandardFinding.objects.create(
        review=review, standard=standard, rating=StandardFinding.Rating.PARTLY_MET,
        evidence="Meetings are weekly; two in ten patients were not discussed",
        recommendation="Add a pre-MDT triage list", good_practice="A clear chair's checklist",
        recorded_by=people["partner_member"])
    recipient = ReportRecipient.objects.create(review=review, role="service_team",
                                               user=people["site_member"], added_by=core)
    action_plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, review=review, title="Action plan after peer review",
        reporting_owner=people["site_member"], created_by=core,
        next_review_on=today + datetime.timedelta(days=365))
    action = Milestone.objects.create(plan=action_plan, title="Start a pre-MDT triage list",
                                      due_on=today + datetime.timedelta(days=60),
                                      owner="MDT coordinator", finding=finding)
    world.ids.update({
        "one_way": programme.pk, "service": site.pk, "other_service": unrelated.pk,
        "standard": standard.pk, "quality_indicator": indicator.pk,
        "self_report_cycle": cycle.pk, "self_report": self_report.pk,
        "other_self_report": other_report.pk, "evidence": evidence.pk,
        "decision": decision.pk, "hub": hub.pk, "reviewer": reviewer.pk,
        "patient_reviewer": patient.pk, "reviewer_conflict": conflict.pk,
        "review": review.pk, "review_visit": visit.pk, "line_of_enquiry": line.pk,
        "checklist_item": checklist_item.pk, "review_document": document.pk,
        "finding": finding.pk, "recipient": recipient.pk, "action_plan": action_plan.pk,
        "action": action.pk,
    })


def put_review_files(world) -> None:
    """The evidence and review documents' files, in this test's media folder."""
    from django.core.files.base import ContentFile

    evidence = EvidenceDocument.objects.get(pk=world.ids["evidence"])
    evidence.file.save("terms.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    document = ReviewDocument.objects.get(pk=world.ids["review_document"])
    document.file.save("policy.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
