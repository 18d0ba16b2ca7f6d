"""Event reminders: a week before (those who have not replied, and those coming) and the day
before (those coming), each once."""

import datetime

import time_machine
from django.core import mail
from django.utils import timezone

from ilcop.models import ReminderEmails
from programmes.models import SiteMembership
from visits.models import Event, EventInvitation
from visits.reminders import event_reminders_send
from visits.services import events as services

from .factories import SiteMembershipFactory

START = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)


def _conference(programme, core):
    event = services.event_create(
        programme=programme, user=core, kind=Event.Kind.CONFERENCE, title="May conference",
        date=datetime.date(2026, 6, 5), start_time=datetime.time(13),
        end_time=datetime.time(16), joining_link="https://meet.example.org/may",
        connection_test_note="Test call open on Thursday.")
    return event


def test_each_reminder_fires_once_on_its_day(programme, core, cns, lead, site,
                                             django_capture_on_commit_callbacks):
    declined = SiteMembershipFactory(site=site, role=SiteMembership.Role.MANAGER).user
    with (time_machine.travel(START, tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        event = _conference(programme, core)
        services.event_invite(event=event, user=core, audience=services.Audience())
    EventInvitation.objects.filter(user=lead).update(
        response=EventInvitation.Response.ATTENDING)
    EventInvitation.objects.filter(user=declined).update(
        response=EventInvitation.Response.NOT_ATTENDING)
    mail.outbox.clear()
    sent: dict[str, list] = {}
    day = START
    while day.date() <= datetime.date(2026, 6, 6):
        with time_machine.travel(day.replace(hour=7, minute=25), tick=False):
            event_reminders_send()
            event_reminders_send()  # a second beat scheduler sends nothing
            for message in mail.outbox:
                sent.setdefault(str(timezone.localdate()), []).append(
                    (message.to[0], message.subject))
            mail.outbox.clear()
        day += datetime.timedelta(days=1)
    assert set(sent) == {"2026-05-29", "2026-06-04"}
    assert sorted(sent["2026-05-29"]) == sorted([
        (cns.email, "Please reply: May conference is in 7 days"),
        (lead.email, "May conference is in 7 days")])
    assert sent["2026-06-04"] == [(lead.email, "May conference is tomorrow")]


def test_the_day_before_email_has_the_joining_details(programme, core, lead,
                                                      django_capture_on_commit_callbacks):
    with (time_machine.travel(START, tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        event = _conference(programme, core)
        services.event_invite(event=event, user=core, audience=services.Audience())
    EventInvitation.objects.update(response=EventInvitation.Response.ATTENDING)
    lead.reminder_emails = ReminderEmails.WEEKLY
    lead.save()
    mail.outbox.clear()
    with time_machine.travel(datetime.datetime(2026, 6, 4, 7, tzinfo=datetime.UTC)):
        tally = event_reminders_send()
    assert tally.sent == 1  # must send: not held for the digest
    body = mail.outbox[0].body
    assert "https://meet.example.org/may" in body and "Test call open on Thursday." in body
    assert f"/events/{event.pk}/" in body and programme.name in body


def test_nothing_for_a_cancelled_or_draft_event(programme, core, lead):
    with time_machine.travel(START, tick=False):
        _conference(programme, core)
        cancelled = _conference(programme, core)
        services.event_invite(event=cancelled, user=core, audience=services.Audience())
        services.event_cancel(event=cancelled, user=core, reason="Speakers unwell")
    with time_machine.travel(datetime.datetime(2026, 5, 29, 7, tzinfo=datetime.UTC)):
        assert event_reminders_send().new == 0
