"""This app's part of a person's data (ilcop.privacy): visits they facilitated or attended,
availability answers, tasks, what they wrote on the day and their observations. Registered
from VisitsConfig.ready."""

from collections.abc import Iterable

from django.db import models
from django.db.models import Q

from ilcop import privacy
from ilcop.models import User

from .models import (
    Contribution,
    EventInvitation,
    FacilitatorNote,
    FocusArea,
    LineOfEnquiry,
    LogisticsTask,
    ObservationResponse,
    PeerReview,
    PollAnswer,
    ReportRecipient,
    ReviewChecklistItem,
    ReviewDocument,
    StandardFinding,
    TeamFeedback,
    Visit,
    VisitAttendee,
    VisitReport,
)

VISIT = ("visit__host__code", "visit__visitor__code", "visit__date")


def _facilitated(user: User) -> list[dict]:
    return privacy.rows(Visit.objects.filter(facilitator=user).order_by("pk"),
                        "host__code", "visitor__code", "date", "status")


def _attendance(user: User) -> list[dict]:
    return privacy.rows(VisitAttendee.objects.filter(user=user).order_by("pk"),
                        *VISIT, "team", "role", "present")


def _availability(user: User) -> list[dict]:
    return privacy.rows(PollAnswer.objects.filter(invitee__user=user).order_by("pk"),
                        "invitee__poll__visit__host__code", "invitee__poll__event__title",
                        "poll_date__date", "answer", "answered_at")


def _tasks(user: User) -> list[dict]:
    return privacy.rows(LogisticsTask.objects.filter(Q(owner=user) | Q(done_by=user))
                        .order_by("pk"), *VISIT, "kind", "done_at")


def _written(user: User) -> list[dict]:
    notes = privacy.rows(Contribution.objects.filter(created_by=user).order_by("pk"),
                         *VISIT, "kind", "team", "text", "created_at")
    feedback = privacy.rows(TeamFeedback.objects.filter(updated_by=user).order_by("pk"),
                            *VISIT, "team", "strengths", "opportunities", "updated_at")
    focus = privacy.rows(FocusArea.objects.filter(Q(created_by=user) | Q(owner=user))
                         .order_by("pk"), *VISIT, "title", "description", "created_at")
    facilitator = privacy.rows(FacilitatorNote.objects.filter(updated_by=user).order_by("pk"),
                               *VISIT, "text", "updated_at")
    return ([{"what": "note", **row} for row in notes]
            + [{"what": "feedback", **row} for row in feedback]
            + [{"what": "focus area", **row} for row in focus]
            + [{"what": "facilitator's notes", **row} for row in facilitator])


def _observations(user: User) -> list[dict]:
    return privacy.rows(ObservationResponse.objects.filter(observer=user).order_by("pk"),
                        *VISIT, "answers", "submitted_at")


def _reports(user: User) -> list[dict]:
    return privacy.rows(VisitReport.objects.filter(approved_by=user).order_by("pk"),
                        *VISIT, "version", "approved_at")


REVIEW = ("review__programme__name", "review__site__code")


def _peer_reviews(user: User) -> list[dict]:
    """What they did in one-way peer reviews, and the reports sent to them."""
    rows = []
    for what, queryset, fields in (
        ("set up a review", PeerReview.objects.filter(created_by=user),
         ("programme__name", "site__code", "created_at")),
        ("agreed the lines of enquiry", PeerReview.objects.filter(lines_agreed_by=user),
         ("programme__name", "site__code", "lines_agreed_at")),
        ("approved a redaction", PeerReview.objects.filter(redaction_approved_by=user),
         ("programme__name", "site__code", "redaction_approved_at")),
        ("proposed a line of enquiry", LineOfEnquiry.objects.filter(proposed_by=user),
         (*REVIEW, "text")),
        ("ticked a checklist step", ReviewChecklistItem.objects.filter(done_by=user),
         (*REVIEW, "text", "done_at")),
        ("uploaded a document", ReviewDocument.objects.filter(uploaded_by=user),
         (*REVIEW, "title", "filename", "uploaded_at")),
        ("recorded a finding", StandardFinding.objects.filter(recorded_by=user),
         (*REVIEW, "standard__code", "rating", "evidence", "recommendation",
          "good_practice", "recorded_at")),
        ("on a report's distribution list", ReportRecipient.objects.filter(user=user),
         (*REVIEW, "role", "added_at")),
        ("added someone to a distribution list", ReportRecipient.objects.filter(
            added_by=user), (*REVIEW, "role", "added_at")),
    ):
        rows += [{"what": what, **row}
                 for row in privacy.rows(queryset.order_by("pk"), *fields)]
    return rows


def _events(user: User) -> list[dict]:
    return privacy.rows(EventInvitation.objects.filter(user=user).order_by("pk"),
                        "event__title", "event__date", "site__code", "role", "response",
                        "responded_at", "attended")


def anonymise(user: User, *, old_name: str, old_email: str, placeholder: str,
              email: str) -> Iterable[models.Model]:
    """An approved report's frozen HTML names who attended, facilitated, approved it or sat
    on the review team: the name becomes the placeholder there too, and each corrected
    version's PDF is drawn again from it once the anonymising commits
    (``visits.tasks.redraw_visit_report``), replacing the stored PDF that names them. Emails
    already sent with the old PDF are beyond reach (docs/privacy.md)."""
    from ilcop.celery import queue_after_commit

    from .tasks import redraw_visit_report

    visits = Visit.objects.filter(
        Q(facilitator=user) | Q(attendees__user=user) | Q(host__memberships__user=user)
        | Q(visitor__memberships__user=user) | Q(reports__approved_by=user)
        | Q(review__team__reviewer__user=user)).distinct()
    if old_name:
        for report in VisitReport.objects.filter(
                visit__in=visits.values("pk"), html__icontains=old_name).only("pk", "html"):
            report.html = privacy.replace_text(report.html, [old_name], [placeholder])
            report.save(update_fields=["html"])
            # After the commit, so a rolled-back anonymising redraws nothing, and a worker
            # reads the corrected HTML. A version not yet drawn is drawn from it anyway.
            queue_after_commit(redraw_visit_report, report.pk)
    return list(Visit.objects.filter(Q(facilitator=user) | Q(attendees__user=user)).distinct())


def register() -> None:
    privacy.register_section("Visits you facilitated", _facilitated)
    privacy.register_section("Visit attendance", _attendance)
    privacy.register_section("Availability answers", _availability)
    privacy.register_section("Visit tasks", _tasks)
    privacy.register_section("What you wrote at visits", _written)
    privacy.register_section("Observations", _observations)
    privacy.register_section("Visit reports you approved", _reports)
    privacy.register_section("Workshops and conferences", _events)
    privacy.register_section("Peer reviews", _peer_reviews)
    privacy.register_anonymiser(anonymise)
