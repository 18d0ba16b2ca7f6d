"""National workshops and online conferences: setting one up, its agenda, inviting people,
changing and cancelling it (PRODUCT.md, 6: learn together).

Emails. The invitation goes once per person through the notifications ledger (kind
``event_invitation``, must send), so inviting again, or a retried task, emails only the
people added. A change of date, time, place or joining link, and a cancellation, go as a
calendar update with the event's UID and a higher SEQUENCE (RFC 5546 2.1.4), one task per
person carrying the sequence, so a task left over from an earlier change sends nothing.
Calendar attachments ask for no reply (``rsvp=False``): people reply on the event's page.
"""

import datetime
from dataclasses import dataclass
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.celery import queue_after_commit
from ilcop.mail import send_templated_email
from ilcop.models import Notification, User
from ilcop.notifications import Tally, notify_or_log
from ilcop.services import changed_summary, model_update
from programmes.models import Programme
from programmes.selectors.participants import (
    CORE_TEAM_ROLE,
    audience_role_label,
    participant_audience,
)

from .. import ics
from ..models import Event, EventInvitation, EventSession

LONDON = ZoneInfo("Europe/London")
KIND_FIELDS = {
    Event.Kind.WORKSHOP: ("venue", "travel_notes"),
    Event.Kind.CONFERENCE: ("joining_link", "joining_guide", "connection_test_note"),
}
# What people need before they can come: a place, or a link.
NEEDED_TO_ANNOUNCE = {Event.Kind.WORKSHOP: "venue", Event.Kind.CONFERENCE: "joining_link"}
# A change to any of these moves the event in people's calendars, so they are sent an update.
CALENDAR_DETAILS = ("date", "start_time", "end_time", "venue", "joining_link")
INVITATION_KIND = "event_invitation"


def is_short_notice(*, date: datetime.date, today: datetime.date, weeks: int) -> bool:
    """Whether an event on ``date`` announced ``today`` gives less than ``weeks`` weeks'
    notice. Clinicians' job plans and clinic templates are usually fixed about six weeks
    ahead, which is why the programme sets a notice period (Programme.event_notice_weeks)."""
    return date < today + datetime.timedelta(weeks=weeks)


def announcing_at_short_notice(event: Event, today: datetime.date | None = None) -> bool:
    """A draft with a date that, announced today, would be short notice."""
    if event.status != Event.Status.DRAFT or event.date is None:
        return False
    return is_short_notice(date=event.date, today=today or timezone.localdate(),
                           weeks=event.programme.event_notice_weeks)


def role_labels(roles: list[str]) -> list[str]:
    return [audience_role_label(role) for role in roles]


def _log(event: Event, verb: str, user: User | None, summary: str, data=None) -> None:
    log_action(event, verb, actor=user, summary=summary, data=data, scopes=[event.programme])


def _without_other_kinds(kind: str, fields: dict) -> dict:
    """Blank the fields that belong to the other kind, so a workshop carries no stray link."""
    other = {name for k, names in KIND_FIELDS.items() if k != kind for name in names}
    return {**fields, **dict.fromkeys(other, "")}


def _check_times(date, start, end) -> None:
    if date is not None and (start is None or end is None):
        raise ValidationError({"start_time": "Enter the start and end times"})
    if start and end and end <= start:
        raise ValidationError({"end_time": "The event must end after it starts"})


# --- setting up ------------------------------------------------------------------------------


@transaction.atomic
def event_create(*, programme: Programme, user: User, kind: str, **fields) -> Event:
    fields = _without_other_kinds(kind, fields)
    _check_times(fields.get("date"), fields.get("start_time"), fields.get("end_time"))
    event = Event(programme=programme, kind=kind, created_by=user, **fields)
    event.full_clean()
    event.save()
    _log(event, "event.created", user, f"Created the {event.get_kind_display().lower()} "
                                       f"{event.title}")
    return event


@transaction.atomic
def event_update(*, event: Event, user: User, **fields) -> Event:
    """Change an event. Once it is announced, a change of date, time, place or joining link
    sends every invitee who has not declined an updated calendar invitation."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ValidationError("This event has been cancelled; it cannot change.")
    fields = _without_other_kinds(event.kind, fields)
    merged = {n: fields.get(n, getattr(event, n)) for n in ("date", "start_time", "end_time")}
    _check_times(merged["date"], merged["start_time"], merged["end_time"])
    if event.status == Event.Status.ANNOUNCED:
        if merged["date"] is None:
            raise ValidationError({"date": "An announced event needs a date"})
        needed = NEEDED_TO_ANNOUNCE[event.kind]
        if not fields.get(needed, getattr(event, needed)):
            raise ValidationError({needed: "Invitees need this: it cannot be emptied"})
    if merged["start_time"] and merged["end_time"] and event.sessions.exclude(
            start_time__gte=merged["start_time"], end_time__lte=merged["end_time"]).exists():
        raise ValidationError("Some sessions of the agenda fall outside these times: move "
                              "them first.")
    changed = model_update(instance=event, data=fields)
    if not changed:
        return event
    _log(event, "event.updated", user, changed_summary(Event, changed), {"fields": changed})
    if event.status == Event.Status.ANNOUNCED and set(changed) & set(CALENDAR_DETAILS):
        event.sequence += 1
        event.save(update_fields=["sequence"])
        _queue_notices(event, "update")
    return event


def _check_session(event: Event, start: datetime.time, end: datetime.time) -> None:
    if end <= start:
        raise ValidationError({"end_time": "The session must end after it starts"})
    if event.start_time and event.end_time and (start < event.start_time
                                                or end > event.end_time):
        raise ValidationError(
            f"Sessions must fit inside the event's times, {event.start_time:%H:%M} to "
            f"{event.end_time:%H:%M}")


def _check_open(event: Event) -> None:
    if event.status == Event.Status.CANCELLED:
        raise ValidationError("This event has been cancelled; its agenda cannot change.")


@transaction.atomic
def session_add(*, event: Event, user: User, title: str, start_time: datetime.time,
                end_time: datetime.time, **fields) -> EventSession:
    _check_open(event)
    _check_session(event, start_time, end_time)
    session = EventSession(event=event, title=title, start_time=start_time, end_time=end_time,
                           **fields)
    session.full_clean()
    session.save()
    _log(event, "event.session_added", user, f"Added the session {title} to the agenda",
         {"session": session.pk})
    return session


@transaction.atomic
def session_update(*, session: EventSession, user: User, **fields) -> EventSession:
    _check_open(session.event)
    _check_session(session.event, fields.get("start_time", session.start_time),
                   fields.get("end_time", session.end_time))
    changed = model_update(instance=session, data=fields)
    if changed:
        _log(session.event, "event.session_changed", user,
             f"Changed the session {session.title}: " + ", ".join(changed),
             {"session": session.pk, "fields": changed})
    return session


@transaction.atomic
def session_remove(*, session: EventSession, user: User) -> None:
    _check_open(session.event)
    _log(session.event, "event.session_removed", user,
         f"Removed the session {session.title} from the agenda", {"session": session.pk})
    session.delete()


# --- invitations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Whom to invite: roles and sites narrow to both; neither is the whole programme."""

    roles: tuple[str, ...] = ()
    site_ids: tuple[int, ...] = ()
    include_core_team: bool = False


def audience_count(event: Event, audience: Audience) -> tuple[int, int]:
    """How many people the audience reaches, and how many of them are invited already."""
    members = participant_audience(event.programme, roles=audience.roles,
                                   site_ids=audience.site_ids,
                                   include_core_team=audience.include_core_team)
    invited = set(event.invitations.values_list("user_id", flat=True))
    return len(members), sum(1 for m in members if m.user.pk in invited)


def ready_to_invite(event: Event, today: datetime.date | None = None) -> list[str]:
    """What stops the event being announced or invited to, in words for the core team."""
    problems = []
    if event.status == Event.Status.CANCELLED:
        return ["This event has been cancelled."]
    if event.date is None or event.start_time is None or event.end_time is None:
        problems.append("Set the event's date and times before inviting people.")
    elif event.date < (today or timezone.localdate()):
        problems.append("This event has already happened.")
    needed = NEEDED_TO_ANNOUNCE[event.kind]
    if not getattr(event, needed):
        problems.append(f"Add the {Event._meta.get_field(needed).verbose_name} before "
                        "inviting people.")
    return problems


@transaction.atomic
def event_invite(*, event: Event, user: User, audience: Audience,
                 short_notice_reason: str = "") -> list[EventInvitation]:
    """Invite an audience; for a draft this announces the event. People already invited are
    left as they are, so only those added are emailed."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    today = timezone.localdate()
    problems = ready_to_invite(event, today)
    if problems:
        raise ValidationError(problems)
    announcing = event.status == Event.Status.DRAFT
    short_notice = announcing_at_short_notice(event, today)
    short_notice_reason = short_notice_reason.strip()
    if short_notice and not short_notice_reason:
        raise ValidationError({"short_notice_reason": "Say why the event is announced at short "
                                                      "notice"})
    invited = set(event.invitations.values_list("user_id", flat=True))
    new = [EventInvitation(event=event, user=member.user, site=member.site, role=member.role,
                           invited_by=user)
           for member in participant_audience(event.programme, roles=audience.roles,
                                              site_ids=audience.site_ids,
                                              include_core_team=audience.include_core_team)
           if member.user.pk not in invited]
    if not new:
        raise ValidationError("Everyone this reaches has been invited already."
                              if invited else "Nobody in the programme matches this choice.")
    EventInvitation.objects.bulk_create(new)
    data = {"invited": len(new), "roles": list(audience.roles),
            "sites": list(audience.site_ids), "core_team": audience.include_core_team}
    if announcing:
        event.status = Event.Status.ANNOUNCED
        event.announced_at, event.announced_by = timezone.now(), user
        event.short_notice_reason = short_notice_reason if short_notice else ""
        event.save(update_fields=["status", "announced_at", "announced_by",
                                  "short_notice_reason"])
        _log(event, "event.announced", user, f"Announced the event to {len(new)} people",
             {**data, "short_notice": bool(event.short_notice_reason)})
    else:
        _log(event, "event.invited", user, f"Invited {len(new)} more people", data)
    from ..tasks import send_event_invitations

    queue_after_commit(send_event_invitations, event.pk)
    return new


@transaction.atomic
def event_cancel(*, event: Event, user: User, reason: str) -> Event:
    """Cancel an event; everyone invited is sent a cancellation for their calendar."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise ValidationError("This event has already been cancelled.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the event is cancelled"})
    was_announced = event.status == Event.Status.ANNOUNCED
    event.status, event.cancelled_reason = Event.Status.CANCELLED, reason.strip()
    event.sequence += 1
    event.save(update_fields=["status", "cancelled_reason", "sequence"])
    _log(event, "event.cancelled", user, "Cancelled the event", {"reason": reason.strip()})
    if was_announced:
        _queue_notices(event, "cancellation")
    return event


def _queue_notices(event: Event, kind: str) -> None:
    from ..tasks import send_event_notices

    queue_after_commit(send_event_notices, event.pk, kind, event.sequence)


# --- the emails and the calendar file ----------------------------------------------------------


def event_url(event: Event) -> str:
    return settings.SITE_URL + reverse("visits:event_detail", args=[event.pk])


def event_times(event: Event) -> tuple[datetime.datetime, datetime.datetime]:
    return (datetime.datetime.combine(event.date, event.start_time, tzinfo=LONDON),
            datetime.datetime.combine(event.date, event.end_time, tzinfo=LONDON))


def agenda_for(event: Event, role: str | None) -> list[EventSession]:
    """The agenda, each session marked ``yours`` when it is a breakout for ``role``."""
    sessions = list(event.sessions.all())
    for session in sessions:
        session.role_names = role_labels(session.roles)
        session.yours = bool(role) and role in session.roles
    return sessions


def calendar_file(event: Event, person: User, method: str = ics.REQUEST) -> bytes:
    """The event's .ics for one person. Only they are listed as attendee: a programme-wide
    invitation must not hand everyone's email address to everyone else."""
    start, end = event_times(event)
    url = event_url(event)
    if event.kind == Event.Kind.CONFERENCE:
        where, notes = event.joining_link, [event.joining_link, event.joining_guide,
                                            event.connection_test_note]
    else:
        where, notes = event.venue, [event.venue, event.travel_notes]
    description = "\n\n".join(
        [text for text in [event.description, *notes] if text]
        + [f"Please reply on the event's page, not from your calendar: {url}"])
    return ics.calendar_invitation(
        uid=f"{event.uid}@peer-review-event", sequence=event.sequence, start=start, end=end,
        summary=event.title, description=description, location=where,
        organizer=(event.programme.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]),
        attendees=[(person.get_full_name(), person.email)], method=method, url=url,
        rsvp=False)


def calendar_attachment(event: Event, person: User, method: str = ics.REQUEST) -> tuple:
    return (ics.ics_filename(event.title), calendar_file(event, person, method),
            ics.ics_content_type(method))


def email_context(event: Event, invitation: EventInvitation) -> dict:
    start, end = event_times(event)
    return {"event": event, "invitation": invitation, "start": start, "end": end,
            "agenda": agenda_for(event, invitation.role), "event_url": event_url(event),
            "is_conference": event.kind == Event.Kind.CONFERENCE,
            "for_core_team": invitation.role == CORE_TEAM_ROLE}


def event_invitations_send(*, event_id: int) -> Tally:
    """Email each invitee of an announced event their invitation, once (the ledger)."""
    tally = Tally()
    event = Event.objects.select_related("programme").filter(
        pk=event_id, status=Event.Status.ANNOUNCED, date__isnull=False).first()
    if event is None:
        return tally
    already = set(Notification.objects.filter(
        kind=INVITATION_KIND, content_type=ContentType.objects.get_for_model(Event),
        object_id=event.pk).values_list("recipient_id", flat=True))
    for invitation in event.invitations.filter(user__is_active=True).exclude(
            user_id__in=already).select_related("user", "site__organisation"):
        tally.add(notify_or_log(
            kind=INVITATION_KIND, obj=event, recipient=invitation.user,
            due_on=timezone.localdate(invitation.invited_at),
            template="emails/event_invitation", must_send=True,
            programme_name=event.programme.name, context=email_context(event, invitation),
            summary=f"You are invited: {event.title}, {event.date:%-d %B %Y}",
            url=event_url(event),
            attachments=[calendar_attachment(event, invitation.user)]))
    return tally


def notice_recipients(*, event_id: int, kind: str) -> list[int]:
    """An update goes to everyone who has not declined; a cancellation to everyone."""
    invitations = EventInvitation.objects.filter(event_id=event_id, user__is_active=True)
    if kind == "update":
        invitations = invitations.exclude(response=EventInvitation.Response.NOT_ATTENDING)
    return list(invitations.values_list("user_id", flat=True))


def event_notice_send(*, event_id: int, user_id: int, kind: str, sequence: int) -> None:
    """Email one invitee an update or a cancellation with the calendar file. A task queued
    before a later change sends nothing: the later change sent its own."""
    event = Event.objects.select_related("programme").get(pk=event_id)
    invitation = event.invitations.select_related("user").filter(user_id=user_id).first()
    if event.sequence != sequence or event.date is None or invitation is None:
        return
    method = ics.CANCEL if kind == "cancellation" else ics.REQUEST
    send_templated_email(
        template=f"emails/event_{kind}", to=[invitation.user.email],
        programme_name=event.programme.name, context=email_context(event, invitation),
        attachments=[calendar_attachment(event, invitation.user, method)])
