"""What a visit report says, gathered from the visit day, for the preview page and the PDF.

Both draw ``templates/visits/report/_content.html`` from ``report_content``: the preview with
the live data, the PDF from HTML frozen at approval (``report_html``). The facilitator's own
notes (FacilitatorNote) are private to the core team and are never read here.
"""

import datetime
import hashlib
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string

from ilcop.models import Notification

from . import selectors
from .models import (
    Contribution,
    FocusArea,
    TeamFeedback,
    Visit,
    VisitAgendaItem,
    VisitAttendee,
    VisitReport,
)
from .review_report import ReviewContent, review_content
from .services.day import ROLE_ORDER, TEAM_ORDER, who_label

PDF_TEMPLATE = "visits/report/report_pdf.html"
DRAFT_TEMPLATE = "visits/report/_content.html"
# The ledger kind of the report's email (visits.services.report sends it).
NOTIFICATION_KIND = "visit_report"


@dataclass
class AgendaRow:
    """A session as planned and as run. Minutes are whole; None where it was not timed."""

    item: VisitAgendaItem
    planned_start: datetime.datetime | None
    actual_minutes: int | None

    @property
    def difference(self) -> int | None:
        if self.actual_minutes is None:
            return None
        return self.actual_minutes - self.item.planned_minutes

    @property
    def difference_label(self) -> str:
        return difference_label(self.difference)


def difference_label(minutes: int | None) -> str:
    """How far a session ran from its plan: "12 min over", "5 min under" or "On time";
    empty when it was not timed."""
    if minutes is None:
        return ""
    if minutes == 0:
        return "On time"
    return f"{abs(minutes)} min {'over' if minutes > 0 else 'under'}"


@dataclass
class SessionNotes:
    """What was said in one session, strengths first (Box 3: strengths are recorded as well as
    weaknesses, and the safe space starts with them)."""

    title: str
    strengths: list[Contribution]
    opportunities: list[Contribution]
    ideas: list[Contribution]
    actions: list[Contribution]


@dataclass
class ReportContent:
    visit: Visit
    attendees: list[tuple[str, str, list[VisitAttendee]]]  # (team, its label, people by role)
    attendance_marked: bool
    agenda: list[AgendaRow]
    planned_total: int
    actual_total: int | None
    total_difference_label: str
    sessions: list[SessionNotes]
    feedback: list[tuple[str, TeamFeedback | None]]  # visiting team's, then host team's
    focus_areas: list[FocusArea]
    # Neither is part of a one-way review's report, which has ``review`` instead.
    observations: selectors.CombinedObservations | None
    pack: selectors.DataPack | None
    review: ReviewContent | None = None


def _attendees(visit: Visit) -> list[tuple[str, str, list[VisitAttendee]]]:
    people = list(visit.attendees.select_related("user"))

    def rank(attendee: VisitAttendee) -> tuple:
        role = ROLE_ORDER.index(attendee.role) if attendee.role in ROLE_ORDER else len(ROLE_ORDER)
        return role, attendee.role, str(attendee.user)

    labels = dict(VisitAttendee.Team.choices)
    return [(team, labels[team], sorted((a for a in people if a.team == team), key=rank))
            for team in TEAM_ORDER if any(a.team == team for a in people)]


def _agenda(visit: Visit, items: list[VisitAgendaItem]) -> list[AgendaRow]:
    rows = []
    start = (datetime.datetime.combine(visit.date, visit.start_time)
             if visit.date and visit.start_time else None)
    for item in items:
        timed = item.started_at is not None and item.ended_at is not None
        rows.append(AgendaRow(item, start,
                              round(item.elapsed_seconds() / 60) if timed else None))
        if start is not None:
            start += datetime.timedelta(minutes=item.planned_minutes)
    return rows


def _sessions(items: list[VisitAgendaItem], captures: list[Contribution]) -> list[SessionNotes]:
    kinds = Contribution.Kind
    by_session: dict[int | None, list[Contribution]] = {}
    for capture in captures:
        capture.who = who_label(capture.team, capture.role)
        by_session.setdefault(capture.session_id, []).append(capture)
    titled = [(item.title, item.pk) for item in items] + [("Not tied to a session", None)]
    notes = []
    for title, key in titled:
        said = by_session.get(key)
        if said:
            notes.append(SessionNotes(
                title, strengths=[c for c in said if c.kind == kinds.STRENGTH],
                opportunities=[c for c in said if c.kind == kinds.OPPORTUNITY],
                ideas=[c for c in said if c.kind == kinds.IDEA],
                actions=[c for c in said if c.kind == kinds.ACTION]))
    return notes


def report_content(visit: Visit, *, redacted: bool = False) -> ReportContent:
    """Everything the report says about ``visit``, read now. A fixed number of queries
    however many people, points and sessions the visit has. For a one-way review's visit,
    its findings, lines of enquiry and team instead of the observations and the data pack;
    ``redacted`` reads them as published (visits.review_report)."""
    review = review_content(visit.review, redacted=redacted) if visit.is_review else None
    items = list(visit.agenda.all())
    agenda = _agenda(visit, items)
    timed = [row for row in agenda if row.actual_minutes is not None]
    actual_total = sum(row.actual_minutes for row in timed) if timed else None
    attendees = _attendees(visit)
    feedback = {f.team: f for f in visit.feedback.all()}
    return ReportContent(
        visit=visit,
        attendees=attendees,
        attendance_marked=any(a.present is not None for *_, group in attendees for a in group),
        agenda=agenda,
        planned_total=sum(item.planned_minutes for item in items),
        actual_total=actual_total,
        # Against what was planned for the sessions that ran, so one skipped session does
        # not read as the whole day finishing early.
        total_difference_label=difference_label(
            actual_total - sum(row.item.planned_minutes for row in timed) if timed else None),
        observations=None if review else selectors.combined_observations(visit),
        sessions=_sessions(items, list(visit.contributions.all())),
        feedback=[(label, feedback.get(team)) for team, label in (
            (TeamFeedback.Team.VISITING,
             "The review team's feedback" if review else "The visiting team's feedback"),
            (TeamFeedback.Team.HOST,
             "The service's reflections" if review else "The host team's reflections"))],
        focus_areas=list(visit.focus_areas.select_related("owner")),
        pack=None if review else selectors.data_pack(visit),
        review=review,
    )


def report_html(visit: Visit, *, report: VisitReport | None,
                content: ReportContent | None = None) -> str:
    """The HTML the PDF is drawn from: a version as it is approved, or (``report`` None) the
    draft as it stands. ``content`` if already read (``report_content``)."""
    return render_to_string(PDF_TEMPLATE, {
        "visit": visit, "programme": visit.programme, "report": report, "pdf": True,
        "content": content or report_content(visit),
    })


def report_versions(visit: Visit) -> list[VisitReport]:
    """The visit's approved versions, newest first, without their HTML and PDF (a version
    has its PDF once ``generated_at`` is set), each with ``sent_count``: how many people the
    ledger says have had it. One query however many versions and people."""
    sent = (Notification.objects.filter(
        kind=NOTIFICATION_KIND, content_type=ContentType.objects.get_for_model(VisitReport),
        object_id=OuterRef("pk"), sent_at__isnull=False)
        .order_by().values("object_id").annotate(n=Count("pk")).values("n"))
    return list(visit.reports.defer("html", "pdf").select_related("approved_by").annotate(
        sent_count=Coalesce(Subquery(sent, output_field=IntegerField()), 0)))


def draft_html(visit: Visit, content: ReportContent) -> str:
    """The draft as the report page shows it."""
    return render_to_string(DRAFT_TEMPLATE, {
        "visit": visit, "programme": visit.programme, "content": content, "report": None,
        "pdf": False,
    })


def draft_fingerprint(html: str) -> str:
    """Names the draft the approver read: approving it compares this with the draft as it
    stands, so notes edited after the page was opened are not approved unread."""
    return hashlib.sha256(html.encode()).hexdigest()
