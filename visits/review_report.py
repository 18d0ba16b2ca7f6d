"""What a one-way review's report says beyond the visit day: its findings by standard, the
lines of enquiry agreed beforehand and the review team.

``visits.report.report_content`` adds this (``ReportContent.review``) for a review's visit,
so the review report is a visit report version like any other (approved, frozen, drawn and
emailed by visits.services.report). The redacted version published beyond the service's
organisation is the same content read with ``redacted=True``: the evidence as the core team
rewrote it for publication (StandardFinding.published_evidence), and the team by role only.
"""

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType

from ilcop.models import Notification

from .calendar import ROLE_LABELS
from .models import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewTeamMember,
    StandardFinding,
    Visit,
    VisitReport,
)
from .selectors_reviews import report_visit

# The ledger kind of the report's email (visits.report.NOTIFICATION_KIND, which imports this
# module).
NOTIFICATION_KIND = "visit_report"


@dataclass
class FindingRow:
    finding: StandardFinding
    evidence: str  # as seen (the full report) or as published (the redacted one)


@dataclass
class TeamRow:
    name: str  # empty in the redacted report: nobody is named there
    role: str


@dataclass
class ReviewContent:
    review: PeerReview
    redacted: bool
    findings: list[FindingRow]
    lines_of_enquiry: list[LineOfEnquiry]
    team: list[TeamRow]

    @property
    def ratings(self) -> list[tuple[str, int]]:
        """(rating label, how many standards) in the order met, partly met, not met."""
        counts = {value: 0 for value, _ in StandardFinding.Rating.choices}
        for row in self.findings:
            counts[row.finding.rating] = counts.get(row.finding.rating, 0) + 1
        return [(label, counts[value]) for value, label in StandardFinding.Rating.choices]


def team_rows(members: list[ReviewTeamMember], *, redacted: bool) -> list[TeamRow]:
    return [TeamRow(name="" if redacted else str(member.reviewer.user),
                    role=ROLE_LABELS[member.role].capitalize()) for member in members]


def review_content(review: PeerReview, *, redacted: bool = False) -> ReviewContent:
    """Three queries however many findings, lines of enquiry and reviewers the review has."""
    findings = list(review.findings.select_related("standard"))
    return ReviewContent(
        review=review,
        redacted=redacted,
        findings=[FindingRow(f, f.published_evidence if redacted else f.evidence)
                  for f in findings],
        lines_of_enquiry=list(review.lines_of_enquiry.select_related("standard")),
        team=team_rows(list(review.team.select_related("reviewer__user")), redacted=redacted),
    )


# --- the distribution list and delivery ------------------------------------------------------


@dataclass
class Delivery:
    """Where the latest version stands for one person on the list, from the ledger."""

    recipient: ReportRecipient
    sent_at: datetime.datetime | None
    status: str  # "sent", "failed", "added_after", "not_yet" or "no_version"

    @property
    def label(self) -> str:
        return DELIVERY_LABELS[self.status]


DELIVERY_LABELS = {
    "sent": "Sent",
    "failed": "Not sent: sending failed",
    "added_after": "Not sent: added after this version went out",
    "not_yet": "Not sent yet",
    "no_version": "No version approved yet",
}


@dataclass
class Distribution:
    review: PeerReview
    visit: Visit | None  # the report's visit (selectors_reviews.report_visit)
    latest: VisitReport | None  # the latest approved version, without its HTML and PDF
    groups: list[tuple[str, str, list[Delivery]]]  # (role, its label, people)
    sent_count: int
    total: int


def latest_report(visit: Visit | None) -> VisitReport | None:
    if visit is None:
        return None
    return visit.reports.defer("html", "pdf").select_related("approved_by").first()


def distribution(review: PeerReview) -> Distribution:
    """The review's distribution list by role, each person with the latest version's delivery
    by the ledger. Five queries however long the list."""
    visit = report_visit(review)
    latest = latest_report(visit)
    entries = list(review.distribution.select_related("user", "added_by"))
    sent: dict[int, datetime.datetime] = {}
    if latest is not None:
        sent = dict(Notification.objects.filter(
            kind=NOTIFICATION_KIND, content_type=ContentType.objects.get_for_model(VisitReport),
            object_id=latest.pk, sent_at__isnull=False).values_list("recipient_id", "sent_at"))
    deliveries = [_delivery(entry, latest, sent.get(entry.user_id)) for entry in entries]
    roles = ReportRecipient.Role
    groups = [(role, label, [d for d in deliveries if d.recipient.role == role])
              for role, label in roles.choices]
    return Distribution(review=review, visit=visit, latest=latest,
                        groups=[group for group in groups if group[2]],
                        sent_count=sum(1 for d in deliveries if d.sent_at),
                        total=len(deliveries))


def _delivery(entry: ReportRecipient, latest: VisitReport | None,
              sent_at: datetime.datetime | None) -> Delivery:
    if latest is None:
        status = "no_version"
    elif sent_at is not None:
        status = "sent"
    elif latest.send_failed_at or latest.generation_failed_at:
        status = "failed"
    elif latest.sent_at is not None and entry.added_at > latest.sent_at:
        status = "added_after"
    else:
        status = "not_yet"
    return Delivery(recipient=entry, sent_at=sent_at, status=status)


@dataclass
class ReportSlot:
    """What the review page says about the report (templates/visits/reviews/_report.html)."""

    visit: Visit | None
    latest: VisitReport | None
    sent_count: int
    total: int


def report_slot(review: PeerReview) -> ReportSlot:
    """Four queries."""
    visit = report_visit(review)
    latest = latest_report(visit)
    sent = 0
    if latest is not None:
        sent = Notification.objects.filter(
            kind=NOTIFICATION_KIND, content_type=ContentType.objects.get_for_model(VisitReport),
            object_id=latest.pk, sent_at__isnull=False,
            recipient__report_distributions__review=review).count()
    return ReportSlot(visit=visit, latest=latest, sent_count=sent,
                      total=review.distribution.count())
