"""The demo's workshops and conferences: a national workshop that has happened, an online
conference about six weeks ahead with a breakout for each role, and a draft workshop still
without a date. Made through the services, except the past workshop's announcement, which
the services rightly refuse for a date gone by."""

import datetime

from django.utils import timezone

from ilcop.models import User
from programmes.models import Programme, SiteMembership
from programmes.selectors.participants import participant_audience

from .models import Event, EventInvitation
from .services import events as services

Role = SiteMembership.Role
BREAKOUTS = [
    ("Clinical leads: leading the MDT through change", [Role.CLINICAL_LEAD]),
    ("CNSs: the key worker and holistic needs assessment", [Role.CNS]),
    ("MDT coordinators: streamlining the meeting list", [Role.MDT_COORDINATOR]),
    ("Managers: releasing time for improvement work", [Role.MANAGER]),
]


def _agenda(event: Event, user: User, start: int) -> None:
    def at(hour: int, minute: int = 0) -> datetime.time:
        return datetime.time(start + hour, minute)

    services.session_add(event=event, user=user, title="Welcome and national picture",
                         start_time=at(0), end_time=at(0, 45))
    for title, roles in BREAKOUTS:
        services.session_add(event=event, user=user, title=title, roles=roles,
                             start_time=at(1), end_time=at(2), location="Breakout room")
    services.session_add(event=event, user=user, title="Teams share their plans",
                         start_time=at(2, 15), end_time=at(3))
    services.session_add(event=event, user=user, title="Networking", optional=True,
                         start_time=at(3), end_time=at(3, 30))


def build_demo_events(programme: Programme, core_user: User) -> list[Event]:
    today = timezone.localdate()
    past = services.event_create(
        programme=programme, user=core_user, kind=Event.Kind.WORKSHOP,
        title="National workshop: learning from the first visits",
        date=today - datetime.timedelta(weeks=8), start_time=datetime.time(10),
        end_time=datetime.time(14), venue="Birmingham Conference Centre, Room 2",
        travel_notes="Ten minutes' walk from Birmingham New Street. Claim travel through "
                     "your trust.")
    _agenda(past, core_user, 10)
    EventInvitation.objects.bulk_create(
        EventInvitation(event=past, user=m.user, site=m.site, role=m.role,
                        invited_by=core_user, invited_at=timezone.now() - datetime.timedelta(
                            weeks=14), response=EventInvitation.Response.ATTENDING)
        for m in participant_audience(programme))
    Event.objects.filter(pk=past.pk).update(
        status=Event.Status.ANNOUNCED, announced_by=core_user,
        announced_at=timezone.now() - datetime.timedelta(weeks=14))

    conference = services.event_create(
        programme=programme, user=core_user, kind=Event.Kind.CONFERENCE,
        title="Online conference: measuring what matters",
        description="Teams present their first PDSA cycles and measures.",
        date=today + datetime.timedelta(weeks=6), start_time=datetime.time(13),
        end_time=datetime.time(17), joining_link="https://meet.example.org/measuring",
        joining_guide="Open the link in Edge or Chrome; no account is needed. If it fails, "
                      "call the programme team.",
        connection_test_note="A test call is open all day on the Friday before.")
    _agenda(conference, core_user, 13)
    services.event_invite(event=conference, user=core_user, audience=services.Audience(
        roles=(Role.CNS, Role.CLINICAL_LEAD)))

    draft = services.event_create(
        programme=programme, user=core_user, kind=Event.Kind.WORKSHOP,
        title="National workshop: sustaining the changes",
        venue="To be confirmed (Manchester)")
    for event in (past, conference, draft):
        event.refresh_from_db()
    return [past, conference, draft]
