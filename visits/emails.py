"""The emails about visits: poll invitations and reminders, and calendar invitations."""

import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from ilcop.mail import send_templated_email
from ilcop.models import User

from . import ics
from .agenda_default import REVIEW_AGENDA
from .models import PollInvitee, Visit, VisitAttendee
from .services.polls import SUBJECT_RELATED, poll_subject, poll_token

LONDON = ZoneInfo("Europe/London")

# Box 1 of Aveling et al. 2012: the visit day's agenda, in outline.
AGENDA_OUTLINE = [
    "The host team introduces its MDT and local context",
    "Observation of the host's MDT meeting",
    "Discussion: how the MDT meeting works, using the observations",
    "Discussion: the host's national audit data",
    "Discussion: the host's patient experience survey",
    "Summary, focus areas and the quality improvement plan",
]
PREPARE = {
    "host": ["Hold your usual MDT meeting: the visitors observe it as it is.",
             "Prepare a short introduction to your MDT: its members, how it runs, its setting.",
             "Read your data pack before the day."],
    "visiting": ["Read the host's data pack before the day.",
                 "Bring a phone or tablet to fill in the observation form during the meeting."],
    "facilitator": ["Check the room, the agenda timings and the data pack.",
                    "Share the observation form with the visiting team."],
}


# A one-way review's day (agenda_default.REVIEW_AGENDA) and what each side prepares for it.
REVIEW_PREPARE = {
    "host": ["Share the documents the review team asked for, on the review's page.",
             "Prepare a short introduction to your service: its team, how it runs, its setting.",
             "Make sure the people the reviewers will talk to are free at their times."],
    "visiting": ["Read the service's self-assessment and documents before the day.",
                 "Read the lines of enquiry agreed with the service."],
    "facilitator": ["Check the agenda timings, the room or the video call, and the documents."],
}


def review_agenda_outline() -> list[str]:
    return [session.title for session in REVIEW_AGENDA]


def visit_summary(visit: Visit) -> str:
    """The calendar entry's title."""
    if visit.is_review:
        return f"Peer review visit: {visit.host.name}, {visit.host.organisation.name}"
    return f"Peer review visit: {visit.visitor.organisation.name} visits " \
           f"{visit.host.organisation.name}"


def poll_email_send(*, invitee_id: int, kind: str) -> None:
    """The poll's invitation ("invitation"). Reminders to non-responders are sent once each
    through the ledger, by visits.reminders.poll_reminders_send, with the same link."""
    invitee = (PollInvitee.objects.select_related("user", *SUBJECT_RELATED)
               .filter(pk=invitee_id).first())
    if invitee is None or not invitee.poll.is_open:
        return
    subject = poll_subject(invitee.poll)
    if not subject.is_open:
        return
    link = settings.SITE_URL + reverse("visits:poll_answer", args=[poll_token(invitee)])
    send_templated_email(
        template=f"emails/poll_{kind}", to=[invitee.user.email],
        programme_name=subject.programme.name,
        context={"invitee": invitee, "visit": invitee.poll.visit, "event": invitee.poll.event,
                 "poll": invitee.poll, "link": link, "dates": invitee.poll.dates.all()},
    )


def visit_recipients(*, visit_id: int) -> list[int]:
    return list(Visit.objects.get(pk=visit_id).attendees.values_list("user_id", flat=True))


def _event_times(visit: Visit) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(visit.date, visit.start_time, tzinfo=LONDON)
    end = datetime.datetime.combine(visit.date, visit.end_time, tzinfo=LONDON)
    return start, end


def visit_invitation_send(*, visit_id: int, user_id: int, kind: str, sequence: int) -> None:
    """Email one person the visit's calendar invitation: a request, an update, a
    cancellation, or ("removed") a cancellation for someone taken off the list. The .ics
    keeps the visit's UID; its SEQUENCE rises with each change. A task queued before a later
    change (a retry, say) sends nothing: the later change sent its own."""
    visit = Visit.objects.select_related(
        "programme", "host__organisation", "visitor__organisation", "facilitator").get(
        pk=visit_id)
    if visit.sequence != sequence or visit.date is None or visit.start_time is None:
        return
    attendee = visit.attendees.select_related("user").filter(user_id=user_id).first()
    if kind == "removed":
        if attendee is not None:
            return  # added back since
        attendee = VisitAttendee(visit=visit, user=User.objects.get(pk=user_id),
                                 team="", role="")
    elif attendee is None:
        return
    everyone = [(a.user.get_full_name(), a.user.email)
                for a in visit.attendees.select_related("user")]
    if kind == "removed":
        everyone = [(attendee.user.get_full_name(), attendee.user.email)]
    if visit.facilitator:
        organiser = (visit.facilitator.get_full_name(), visit.facilitator.email)
    else:
        organiser = ("Programme team", parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    start, end = _event_times(visit)
    summary = visit_summary(visit)
    method = "CANCEL" if kind in ("cancel", "removed") else "REQUEST"
    url = settings.SITE_URL + reverse("visits:visit_detail", args=[visit.pk])
    calendar = ics.visit_invitation(
        uid=f"{visit.uid}@peer-review", sequence=visit.sequence, start=start, end=end,
        summary=summary, description=f"{visit.venue}\n{visit.directions}\n\n{url}",
        location=visit.venue, organizer=organiser,
        attendees=everyone, method=method, url=url,
    )
    send_templated_email(
        template=f"emails/visit_{kind}", to=[attendee.user.email],
        programme_name=visit.programme.name,
        context={"visit": visit, "attendee": attendee, "start": start, "end": end,
                 "agenda": review_agenda_outline() if visit.is_review else AGENDA_OUTLINE,
                 "prepare": (REVIEW_PREPARE if visit.is_review else PREPARE).get(
                     attendee.team, []),
                 "url": url},
        attachments=[(ics.ics_filename(summary), calendar, ics.ics_content_type(method))],
    )
