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
    LogisticsTask,
    ObservationResponse,
    PollAnswer,
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


def _events(user: User) -> list[dict]:
    return privacy.rows(EventInvitation.objects.filter(user=user).order_by("pk"),
                        "event__title", "event__date", "site__code", "role", "response",
                        "responded_at", "attended")


def anonymise(user: User, *, old_name: str, old_email: str, placeholder: str,
              email: str) -> Iterable[models.Model]:
    """An approved report's frozen HTML names who attended: the name becomes the placeholder
    there too. The report's PDF, already drawn and sent, is left as it is (see
    docs/privacy.md)."""
    visits = Visit.objects.filter(
        Q(facilitator=user) | Q(attendees__user=user) | Q(host__memberships__user=user)
        | Q(visitor__memberships__user=user)).distinct()
    if old_name:
        for report in VisitReport.objects.filter(
                visit__in=visits.values("pk"), html__icontains=old_name).only("pk", "html"):
            report.html = privacy.replace_text(report.html, [old_name], [placeholder])
            report.save(update_fields=["html"])
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
    privacy.register_anonymiser(anonymise)
