"""An event's replies, attendance on the day, and the slides and documents added to it.

Replies are open until the event starts: after that the question is who came, which the core
team records from the day of the event on. Materials may be added at any time (pre-reading
before, slides after); every file goes through ilcop.uploads.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.models import User
from ilcop.uploads import display_name, validate_upload

from ..models import Event, EventInvitation, EventMaterial

REPLIES = (EventInvitation.Response.ATTENDING, EventInvitation.Response.NOT_ATTENDING)


def event_starts_at(event: Event) -> datetime.datetime | None:
    """When the event starts, in London time; midnight of its day when no time is set."""
    if event.date is None:
        return None
    return timezone.make_aware(datetime.datetime.combine(
        event.date, event.start_time or datetime.time(0)))


def event_has_started(event: Event, now: datetime.datetime | None = None) -> bool:
    starts = event_starts_at(event)
    return starts is not None and (now or timezone.now()) >= starts


def reply_refusal(event: Event, now: datetime.datetime | None = None) -> str:
    """Why a reply cannot be made or changed now; empty when it can."""
    if event.status == Event.Status.CANCELLED:
        return "This event has been cancelled, so replies are closed."
    if event.status != Event.Status.ANNOUNCED:
        return "This event has not been announced yet."
    if event_has_started(event, now):
        return "This event has started, so replies are closed."
    return ""


def attendance_refusal(event: Event, today: datetime.date | None = None) -> str:
    """Why attendance cannot be recorded yet; empty when it can."""
    if event.status == Event.Status.CANCELLED:
        return "This event was cancelled, so there is no attendance to record."
    if event.status != Event.Status.ANNOUNCED or event.date is None:
        return "Attendance can be recorded once the event has a date and has been announced."
    if (today or timezone.localdate()) < event.date:
        return (f"Attendance can be recorded from the day of the event, "
                f"{event.date.day} {event.date:%B %Y}.")
    return ""


def _log(event: Event, verb: str, summary: str, *, user: User | None,
         data: dict | None = None) -> None:
    log_action(event, verb, actor=user, summary=summary, data=data,
               scopes=[event.programme])


@transaction.atomic
def event_reply(*, invitation: EventInvitation, user: User, response: str) -> EventInvitation:
    """Someone invited says whether they are coming; they may change it until it starts."""
    if response not in REPLIES:
        raise ValidationError("Choose whether you are coming.")
    invitation = (EventInvitation.objects.select_for_update(of=("self",))
                  .select_related("event__programme").get(pk=invitation.pk))
    event = invitation.event
    refusal = reply_refusal(event)
    if refusal:
        raise ValidationError(refusal)
    if invitation.response == response:
        return invitation
    invitation.response = response
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["response", "responded_at"])
    _log(event, "event.replied",
         f"{user} replied: {invitation.get_response_display().lower()}", user=user,
         data={"invitation": invitation.pk, "response": response})
    return invitation


@transaction.atomic
def event_attendance_record(*, event: Event, user: User, came: Iterable[int],
                            shown: Iterable[int] | None = None) -> tuple[int, int]:
    """Record who came: the invitations in ``came`` attended, the others of ``shown`` (every
    invitation when None) did not. Returns (came, did not come)."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    refusal = attendance_refusal(event)
    if refusal:
        raise ValidationError(refusal)
    rows = EventInvitation.objects.filter(event=event)
    if shown is not None:
        rows = rows.filter(pk__in=list(shown))
    ids = set(rows.values_list("pk", flat=True))
    present = ids & set(came)
    absent = ids - present
    EventInvitation.objects.filter(pk__in=present).update(attended=True)
    EventInvitation.objects.filter(pk__in=absent).update(attended=False)
    _log(event, "event.attendance_recorded",
         f"Attendance recorded: {len(present)} came, {len(absent)} did not", user=user,
         data={"came": len(present), "did_not_come": len(absent)})
    return len(present), len(absent)


@transaction.atomic
def event_material_add(*, event: Event, user: User | None, title: str,
                       file: UploadedFile) -> EventMaterial:
    """Slides or a document for an event, stored under a random name."""
    title = (title or "").strip()
    if not title:
        raise ValidationError("Enter a title for the slides or document.")
    if event.status == Event.Status.CANCELLED:
        raise ValidationError("This event was cancelled; add the document to the library "
                              "instead.")
    validate_upload(file)
    material = EventMaterial(event=event, title=title[:200], filename=display_name(file.name),
                             size=file.size, uploaded_by=user)
    material.file.save(file.name, file, save=False)
    # A file whose row fails to save would be left in storage with nothing pointing at it.
    name = material.file.name
    try:
        material.save()
    except Exception:
        material.file.storage.delete(name)
        raise
    _log(event, "event.material_added", f"Added “{material.title}”", user=user,
         data={"material": material.pk, "size": material.size})
    return material


@transaction.atomic
def event_material_remove(*, material: EventMaterial, user: User) -> None:
    """Take a document off the event; the file goes once the removal has committed, so a
    rolled-back removal never leaves a row pointing at nothing."""
    event = material.event
    storage, name = material.file.storage, material.file.name
    title, pk = material.title, material.pk
    material.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    _log(event, "event.material_removed", f"Removed “{title}”", user=user,
         data={"material": pk})
