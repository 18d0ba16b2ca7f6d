"""National workshops and online conferences: setting up, agenda, invitations, changes."""

import datetime
import email
from email import policy

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from ilcop.models import ActivityLog
from programmes.models import SiteMembership
from visits.demo_events import build_demo_events
from visits.models import Event, EventInvitation, EventSession
from visits.services import events as services

from .factories import SiteMembershipFactory

CNS = SiteMembership.Role.CNS


@pytest.fixture(autouse=True)
def _tasks_run_at_once(monkeypatch):
    """The test's transaction never commits, so queued emails are sent when queued."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def _weeks(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(weeks=n)


@pytest.fixture
def conference(programme, core):
    return services.event_create(
        programme=programme, user=core, kind=Event.Kind.CONFERENCE,
        title="Spring online conference", date=_weeks(6), start_time=datetime.time(13, 0),
        end_time=datetime.time(16, 0), joining_link="https://meet.example.org/spring",
        joining_guide="Open the link in Edge or Chrome.",
        connection_test_note="A test call is open all day the Friday before.")


@pytest.fixture
def breakouts(conference, core):
    services.session_add(event=conference, user=core, title="Welcome",
                         start_time=datetime.time(13, 0), end_time=datetime.time(13, 30))
    services.session_add(event=conference, user=core, title="CNS-led follow-up",
                         start_time=datetime.time(13, 30), end_time=datetime.time(14, 30),
                         roles=[CNS])
    services.session_add(event=conference, user=core, title="Running the MDT",
                         start_time=datetime.time(13, 30), end_time=datetime.time(14, 30),
                         roles=[SiteMembership.Role.CLINICAL_LEAD], optional=True)
    return conference


def _invite(event, user, **audience):
    return services.event_invite(event=event, user=user,
                                 audience=services.Audience(**audience))


def _calendar(message) -> Calendar:
    (name, content, mimetype), = message.attachments
    assert name.endswith(".ics") and mimetype.startswith("text/calendar; method=")
    return Calendar.from_ical(content)


# --- the rule and the acceptance criteria ---------------------------------------------------


@pytest.mark.parametrize(("days", "short"), [(27, True), (28, False), (0, True), (60, False)])
def test_short_notice_rule(days, short):
    today = datetime.date(2026, 3, 2)
    assert services.is_short_notice(date=today + datetime.timedelta(days=days), today=today,
                                    weeks=4) is short


def test_core_team_creates_a_conference_with_breakouts_and_invites_all_cnss(
        client_for, core, cns, lead, other_site, breakouts):
    other_cns = SiteMembershipFactory(site=other_site, role=CNS).user
    client = client_for(core)
    response = client.post(f"/events/{breakouts.pk}/invite/",
                           {"audience": "chosen", "roles": [CNS]})
    assert b"This reaches 2 people" in response.content
    assert not EventInvitation.objects.exists()
    response = client.post(f"/events/{breakouts.pk}/invite/",
                           {"audience": "chosen", "roles": [CNS], "confirmed": "yes"})
    assert response.status_code == 302
    breakouts.refresh_from_db()
    assert breakouts.status == Event.Status.ANNOUNCED and breakouts.announced_by == core
    assert set(breakouts.invitations.values_list("user_id", flat=True)) == {cns.pk,
                                                                          other_cns.pk}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([cns.email, other_cns.email])
    message = next(m for m in mail.outbox if m.to == [cns.email])
    assert "Spring online conference" in message.subject
    assert "https://meet.example.org/spring" in message.body
    assert "Open the link in Edge or Chrome." in message.body
    assert "Test your connection beforehand: A test call" in message.body
    assert "CNS-led follow-up (breakout for Clinical nurse specialist): your breakout" \
           in message.body
    assert "Running the MDT (breakout for Clinical lead) (optional)" in message.body
    assert f"/events/{breakouts.pk}/" in message.body
    assert message.body.rstrip().endswith(breakouts.programme.name)
    calendar = _calendar(message)
    assert calendar["METHOD"] == "REQUEST"
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == "Spring online conference"
    assert vevent["DTSTART"].dt == datetime.datetime.combine(
        breakouts.date, datetime.time(13, 0), tzinfo=services.LONDON)
    attendee = vevent["ATTENDEE"]
    assert str(attendee) == f"mailto:{cns.email}" and attendee.params["RSVP"] == "FALSE"
    assert calendar.walk("VTIMEZONE")
    assert ActivityLog.objects.filter(verb="event.announced").count() == 1


def test_announcing_at_short_notice_warns_and_needs_a_reason(client_for, core, cns, conference):
    conference.date = _weeks(2)
    conference.save()
    client = client_for(core)
    page = client.get(f"/events/{conference.pk}/invite/")
    assert b"less than 4 weeks&#x27; notice" in page.content
    assert b"less than 4 weeks&#x27; notice" in client.get(f"/events/{conference.pk}/").content
    response = client.post(f"/events/{conference.pk}/invite/",
                           {"audience": "everyone", "confirmed": "yes"})
    assert response.status_code == 200
    assert b"Say why the event is announced at short notice" in response.content
    assert not EventInvitation.objects.exists() and not mail.outbox
    response = client.post(f"/events/{conference.pk}/invite/", {
        "audience": "everyone", "confirmed": "yes",
        "short_notice_reason": "The venue became free at short notice"})
    assert response.status_code == 302
    conference.refresh_from_db()
    assert conference.short_notice_reason == "The venue became free at short notice"


def test_saving_a_date_inside_the_notice_period_shows_the_warning(as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/events/new/?kind=workshop", {
        "title": "Summer workshop", "date": _weeks(1).isoformat(), "start_time": "10:00",
        "end_time": "15:00", "venue": "Birmingham"}, follow=True)
    assert b"less than 4 weeks&#x27; notice" in response.content


def test_the_form_asks_only_for_the_kinds_fields(as_core, programme):
    assert b"Online conference" in as_core.get(f"/programmes/{programme.pk}/events/new/").content
    workshop = as_core.get(f"/programmes/{programme.pk}/events/new/?kind=workshop").content
    assert b'name="venue"' in workshop and b'name="joining_link"' not in workshop
    conference = as_core.get(f"/programmes/{programme.pk}/events/new/?kind=conference").content
    assert b'name="joining_link"' in conference and b'name="venue"' not in conference
    as_core.post(f"/programmes/{programme.pk}/events/new/?kind=workshop", {
        "title": "Draft", "venue": "Leeds", "joining_link": "https://x.example.org"})
    event = Event.objects.get()
    assert event.kind == "workshop" and event.joining_link == "" and event.date is None


def test_bad_event_input_is_refused_and_saves_nothing(as_core, programme):
    response = as_core.post(f"/programmes/{programme.pk}/events/new/?kind=workshop", {
        "title": "", "date": _weeks(8).isoformat(), "start_time": "15:00",
        "end_time": "10:00"})
    assert response.status_code == 200
    assert b"must end after it starts" in response.content
    assert not Event.objects.exists()


def test_a_double_submitted_create_saves_once(as_core, programme):
    page = as_core.get(f"/programmes/{programme.pk}/events/new/?kind=workshop")
    token = page.content.decode().split('name="form_token" value="')[1].split('"')[0]
    data = {"title": "Autumn workshop", "form_token": token}
    for _ in range(2):
        as_core.post(f"/programmes/{programme.pk}/events/new/?kind=workshop", data)
    assert Event.objects.count() == 1


def test_sessions_must_fit_inside_the_event(as_core, conference):
    response = as_core.post(f"/events/{conference.pk}/sessions/add/", {
        "title": "Too late", "start_time": "16:00", "end_time": "17:00"})
    assert response.status_code == 200 and b"fit inside" in response.content
    response = as_core.post(f"/events/{conference.pk}/sessions/add/", {
        "title": "Backwards", "start_time": "14:00", "end_time": "13:30"})
    assert b"must end after it starts" in response.content
    assert not EventSession.objects.exists()
    as_core.post(f"/events/{conference.pk}/sessions/add/", {
        "title": "Breakout", "start_time": "14:00", "end_time": "15:00", "roles": [CNS]})
    session = EventSession.objects.get()
    assert session.roles == [CNS]
    as_core.post(f"/events/{conference.pk}/sessions/{session.pk}/edit/", {
        "title": "Breakout for CNSs", "start_time": "14:00", "end_time": "15:30"})
    session.refresh_from_db()
    assert session.title == "Breakout for CNSs" and session.roles == []
    as_core.post(f"/events/{conference.pk}/sessions/{session.pk}/remove/")
    assert not EventSession.objects.exists()


def test_the_agenda_groups_breakouts(client_for, core, cns, breakouts):
    _invite(breakouts, core, roles=(CNS,))
    page = client_for(cns).get(f"/events/{breakouts.pk}/").content.decode()
    assert "2 sessions at the same time" in page
    assert "Breakout for: Clinical nurse specialist" in page
    assert "Your breakout" in page and "Optional" in page


def test_inviting_again_adds_and_emails_only_new_people(core, cns, lead, conference):
    _invite(conference, core, roles=(CNS,))
    mail.outbox.clear()
    new = _invite(conference, core)
    assert [i.user for i in new] == [lead]
    assert [m.to for m in mail.outbox] == [[lead.email]]
    from django.core.exceptions import ValidationError
    with pytest.raises(ValidationError):
        _invite(conference, core)
    assert ActivityLog.objects.filter(verb="event.invited").count() == 1


def test_sites_and_roles_together_narrow_to_both(core, cns, lead, other_lead, site,
                                                 conference):
    reach, _ = services.audience_count(conference, services.Audience(
        roles=(SiteMembership.Role.CLINICAL_LEAD,), site_ids=(site.pk,)))
    assert reach == 1
    reach, _ = services.audience_count(conference, services.Audience(
        site_ids=(site.pk,), include_core_team=True))
    assert reach == 3


def test_changing_an_announced_event_sends_an_update_with_the_same_uid(
        core, cns, lead, conference):
    _invite(conference, core)
    first = {m.to[0]: _calendar(m).walk("VEVENT")[0] for m in mail.outbox}
    EventInvitation.objects.filter(user=lead).update(
        response=EventInvitation.Response.NOT_ATTENDING)
    mail.outbox.clear()
    services.event_update(event=conference, user=core, date=_weeks(7))
    assert [m.to for m in mail.outbox] == [[cns.email]]
    update = _calendar(mail.outbox[0]).walk("VEVENT")[0]
    assert update["UID"] == first[cns.email]["UID"]
    assert update["SEQUENCE"] == first[cns.email]["SEQUENCE"] + 1
    assert "have changed" in mail.outbox[0].body
    mail.outbox.clear()
    services.event_update(event=conference, user=core, title="Spring conference")
    assert not mail.outbox  # the title is not in anyone's calendar slot


def test_cancelling_sends_a_cancel_to_every_invitee(as_core, core, cns, lead, conference):
    _invite(conference, core)
    EventInvitation.objects.filter(user=lead).update(
        response=EventInvitation.Response.NOT_ATTENDING)
    mail.outbox.clear()
    response = as_core.post(f"/events/{conference.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200 and not mail.outbox
    as_core.post(f"/events/{conference.pk}/cancel/", {"reason": "The speakers fell ill"})
    assert sorted(m.to[0] for m in mail.outbox) == sorted([cns.email, lead.email])
    calendar = _calendar(mail.outbox[0])
    assert calendar["METHOD"] == "CANCEL"
    assert "The speakers fell ill" in mail.outbox[0].body


def test_the_calendar_download(client_for, core, cns, lead, other_lead, conference):
    _invite(conference, core, roles=(CNS,))
    response = client_for(cns).get(f"/events/{conference.pk}/calendar.ics")
    assert response.status_code == 200
    assert Calendar.from_ical(response.content)["METHOD"] == "REQUEST"
    assert client_for(lead).get(f"/events/{conference.pk}/calendar.ics").status_code == 403
    assert client_for(core).get(f"/events/{conference.pk}/calendar.ics").status_code == 200


def test_the_email_is_sent_as_mime_with_the_calendar_part(core, cns, conference):
    _invite(conference, core)
    parsed = email.message_from_bytes(mail.outbox[0].message().as_bytes(),
                                      policy=policy.default)
    parts = [p.get_content_type() for p in parsed.walk()]
    assert "text/calendar" in parts


# --- permissions and queries ----------------------------------------------------------------


@pytest.mark.parametrize(("who", "draft", "announced"), [
    ("core", 200, 200), ("cns", 404, 200), ("other_core", 404, 404), ("outsider", 404, 404)])
def test_who_sees_an_event(request, client_for, core, cns, conference, who, draft, announced):
    client = client_for(request.getfixturevalue(who))
    assert client.get(f"/events/{conference.pk}/").status_code == draft
    _invite(conference, core, roles=(CNS,))
    assert client.get(f"/events/{conference.pk}/").status_code == announced


@pytest.mark.parametrize(("who", "expected"), [
    ("core", 200), ("cns", 403), ("other_core", 404), ("outsider", 404)])
def test_who_may_set_up_events(request, client_for, programme, core, cns, conference, who,
                               expected):
    _invite(conference, core)
    client = client_for(request.getfixturevalue(who))
    assert client.get(f"/programmes/{programme.pk}/events/new/").status_code == expected
    assert client.get(f"/events/{conference.pk}/edit/").status_code == expected
    assert client.get(f"/events/{conference.pk}/invite/").status_code == expected
    assert client.get(f"/events/{conference.pk}/cancel/").status_code == expected
    assert client.get(f"/events/{conference.pk}/sessions/add/").status_code == expected
    listing = client.get(f"/programmes/{programme.pk}/events/").status_code
    assert listing == (404 if expected == 404 else 200)


def test_anonymous_visitors_sign_in(client, programme, conference):
    assert client.get(f"/events/{conference.pk}/").status_code == 302
    assert client.get(f"/programmes/{programme.pk}/events/").status_code == 302


def test_participants_do_not_see_drafts_in_the_list(client_for, programme, core, cns,
                                                    conference):
    services.event_create(programme=programme, user=core, kind=Event.Kind.WORKSHOP,
                          title="Secret draft")
    _invite(conference, core)
    page = client_for(cns).get(f"/programmes/{programme.pk}/events/").content
    assert b"Spring online conference" in page and b"Secret draft" not in page
    assert b"Secret draft" in client_for(core).get(f"/programmes/{programme.pk}/events/").content


def test_a_draft_cancelled_before_it_was_announced_stays_the_core_teams(
        client_for, programme, core, cns):
    draft = services.event_create(programme=programme, user=core, kind=Event.Kind.WORKSHOP,
                                  title="Abandoned idea")
    Event.objects.filter(pk=draft.pk).update(status=Event.Status.CANCELLED)
    assert client_for(cns).get(f"/events/{draft.pk}/").status_code == 404
    assert b"Abandoned idea" not in client_for(cns).get(
        f"/programmes/{programme.pk}/events/").content
    assert client_for(core).get(f"/events/{draft.pk}/").status_code == 200


def test_an_announced_event_that_was_cancelled_still_shows_so_people_know(
        as_core, client_for, core, cns, conference):
    _invite(conference, core)
    as_core.post(f"/events/{conference.pk}/cancel/", {"reason": "The speakers fell ill"})
    page = client_for(cns).get(f"/events/{conference.pk}/")
    assert page.status_code == 200 and b"Cancelled" in page.content


def _add_events(programme, core, n):
    for i in range(n):
        event = services.event_create(
            programme=programme, user=core, kind=Event.Kind.WORKSHOP, title=f"Workshop {i}",
            date=_weeks(8 + i), start_time=datetime.time(10), end_time=datetime.time(15),
            venue="Leeds")
        for j in range(3):
            services.session_add(event=event, user=core, title=f"Session {j}",
                                 start_time=datetime.time(10 + j), end_time=datetime.time(11 + j),
                                 roles=[CNS])


def test_query_counts_do_not_grow(client_for, django_assert_max_num_queries, programme, core,
                                  cns, conference):
    _invite(conference, core)
    client = client_for(cns)
    urls = [f"/programmes/{programme.pk}/events/", f"/events/{conference.pk}/"]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(20) as captured:
            client.get(url)
        counts[url] = len(captured)
    _add_events(programme, core, 5)
    for _ in range(5):
        services.session_add(event=conference, user=core, title="More",
                             start_time=datetime.time(14), end_time=datetime.time(15))
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            client.get(url)


def test_demo_events(programme, core, cns, lead):
    built = build_demo_events(programme, core)
    assert {e.status for e in built} == {"announced", "draft"}
    conference = next(e for e in built if e.kind == Event.Kind.CONFERENCE)
    assert conference.sessions.exclude(roles=[]).count() >= 4
    assert set(conference.invitations.values_list("user_id", flat=True)) == {cns.pk, lead.pk}
    assert any(e.date is None for e in built)
    assert any(e.date and e.date < timezone.localdate() for e in built)
