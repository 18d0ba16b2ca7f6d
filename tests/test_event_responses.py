"""Replies to an event, the live counts by role and by site, and attendance on the day."""

import datetime
import uuid

import pytest
import time_machine
from django.utils import timezone

from ilcop.models import ActivityLog
from programmes.models import Enrolment, SiteMembership
from visits.models import Event, EventInvitation
from visits.selectors_events import low_turnout, reply_counts
from visits.services import event_responses as services

from .factories import CoreTeamMembershipFactory, EnrolmentFactory, SiteMembershipFactory

TODAY = datetime.date(2026, 5, 11)
NOW = datetime.datetime(2026, 5, 11, 9, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def make_event(programme, *, days: int = 21, **fields) -> Event:
    defaults = {"kind": Event.Kind.WORKSHOP, "title": "Spring national workshop",
                "status": Event.Status.ANNOUNCED, "date": TODAY + datetime.timedelta(days=days),
                "start_time": datetime.time(10), "end_time": datetime.time(15),
                "uid": uuid.uuid4().hex}
    return Event.objects.create(programme=programme, **{**defaults, **fields})


def invite(event, user, *, site=None, role="core_team", response="pending") -> EventInvitation:
    return EventInvitation.objects.create(event=event, user=user, site=site, role=role,
                                          response=response)


@pytest.fixture
def event(programme, core, lead, cns, site):
    event = make_event(programme)
    invite(event, core)
    invite(event, lead, site=site, role="clinical_lead")
    invite(event, cns, site=site, role="cns")
    return event


def reply_url(event):
    return f"/events/{event.pk}/reply/"


# --- the low-turnout rule ----------------------------------------------------------------


@pytest.mark.parametrize(("invited", "coming", "days", "warn"), [
    (30, 9, 14, True),     # fewer than a third, two weeks before
    (30, 10, 14, False),   # exactly a third is enough
    (30, 9, 15, False),    # too early to tell
    (30, 9, 1, True),      # the day before
    (30, 9, 0, False),     # on the day: attendance, not replies, matters
    (30, 0, -3, False),    # afterwards
    (0, 0, 7, False),      # nobody invited
    (3, 0, 7, True),
])
def test_low_turnout_is_fewer_than_a_third_coming_within_two_weeks(invited, coming, days, warn):
    assert low_turnout(invited=invited, coming=coming, today=TODAY,
                       event_date=TODAY + datetime.timedelta(days=days)) is warn


def test_no_date_is_no_warning():
    assert not low_turnout(invited=10, coming=0, event_date=None, today=TODAY)


# --- replying ------------------------------------------------------------------------------


def test_an_invitee_replies_and_changes_their_mind(event, lead, client_for):
    client = client_for(lead)
    response = client.post(reply_url(event), {"response": "attending"})
    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/#reply"
    invitation = EventInvitation.objects.get(event=event, user=lead)
    assert invitation.response == "attending" and invitation.responded_at == NOW
    client.post(reply_url(event), {"response": "not_attending"})
    invitation.refresh_from_db()
    assert invitation.response == "not_attending"
    entries = ActivityLog.objects.filter(verb="event.replied")
    assert entries.count() == 2
    assert entries.order_by("pk").last().summary == "Dr Lena Lead replied: not coming"


def test_the_same_reply_twice_is_logged_once(event, lead, client_for):
    client = client_for(lead)
    for _ in range(2):
        client.post(reply_url(event), {"response": "attending"})
    assert ActivityLog.objects.filter(verb="event.replied").count() == 1


def test_the_reply_box_is_swapped_in_place_with_htmx(event, lead, client_for):
    response = client_for(lead).post(reply_url(event), {"response": "attending"},
                                     headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="event-reply"' in page and "Saved." in page
    assert "Your reply: <strong>coming</strong>" in page
    assert "Change to: not coming" in page


@pytest.mark.parametrize("data", [{}, {"response": "maybe"}, {"response": "pending"}])
def test_a_reply_that_is_not_coming_or_not_coming_is_refused(event, lead, client_for, data):
    client = client_for(lead)
    page = client.post(reply_url(event), data, follow=True).content.decode()
    assert "Choose whether you are coming" in page
    assert EventInvitation.objects.get(event=event, user=lead).response == "pending"
    swapped = client.post(reply_url(event), data, headers={"HX-Request": "true"})
    assert "Choose whether you are coming" in swapped.content.decode()


def test_replies_close_when_the_event_starts(programme, lead, site, client_for):
    event = make_event(programme, days=0, start_time=datetime.time(8))
    invite(event, lead, site=site, role="clinical_lead")
    page = client_for(lead).post(reply_url(event), {"response": "attending"},
                                 follow=True).content.decode()
    assert "This event has started, so replies are closed." in page
    assert EventInvitation.objects.get(event=event).response == "pending"


def test_a_cancelled_event_takes_no_replies(programme, lead, site, client_for):
    event = make_event(programme, status=Event.Status.CANCELLED, announced_at=timezone.now())
    invite(event, lead, site=site, role="clinical_lead")
    page = client_for(lead).post(reply_url(event), {"response": "attending"},
                                 follow=True).content.decode()
    assert "This event has been cancelled, so replies are closed." in page
    assert EventInvitation.objects.get(event=event).response == "pending"


def test_who_may_reply(event, programme, other_lead, other_core, outsider, client_for,
                       facilitator, client):
    data = {"response": "attending"}
    # A participant who was not invited may see the event but not reply to it.
    assert client_for(other_lead).post(reply_url(event), data).status_code == 403
    assert client_for(facilitator).post(reply_url(event), data).status_code == 403
    assert client_for(other_core).post(reply_url(event), data).status_code == 404
    assert client_for(outsider).post(reply_url(event), data).status_code == 404
    assert client.post(reply_url(event), data)["Location"].startswith("/accounts/login/")
    assert client_for(other_lead).get(reply_url(event)).status_code == 405


def test_a_draft_event_is_hidden_from_its_invitees(programme, lead, site, client_for):
    event = make_event(programme, status=Event.Status.DRAFT)
    invite(event, lead, site=site, role="clinical_lead")
    assert client_for(lead).post(reply_url(event), {"response": "attending"}).status_code == 404


def test_a_control_site_member_is_not_a_participant(event, programme, client_for):
    control = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    member = SiteMembershipFactory(site=control, role=SiteMembership.Role.CNS).user
    invite(event, member, site=control, role="cns")
    assert client_for(member).post(reply_url(event), {"response": "attending"}
                                   ).status_code == 404


# --- the counts ------------------------------------------------------------------------------


def test_counts_by_role_and_by_site(event, programme, site, other_site, other_lead, core):
    EventInvitation.objects.filter(event=event, role="clinical_lead").update(
        response="attending")
    EventInvitation.objects.filter(event=event, role="cns").update(response="not_attending")
    invite(event, other_lead, site=other_site, role="clinical_lead", response="attending")
    counts = reply_counts(event)
    by_role = {row.label: (row.coming, row.not_coming, row.not_replied)
               for row in counts.by_role}
    assert by_role == {"Core team": (0, 0, 1), "Clinical lead": (2, 0, 0),
                       "Clinical nurse specialist": (0, 1, 0)}
    assert [row.label for row in counts.by_role][0] == "Core team"
    by_site = {row.label: (row.coming, row.not_coming, row.not_replied)
               for row in counts.by_site}
    assert by_site == {
        "Core team": (0, 0, 1),
        f"{site.organisation.name}: {site.name}": (1, 1, 0),
        f"{other_site.organisation.name}: {other_site.name}": (1, 0, 0)}
    assert counts.by_site[0].label == "Core team"
    assert (counts.total.coming, counts.total.not_coming, counts.total.not_replied,
            counts.total.invited) == (2, 1, 1, 4)
    assert counts.summary == "2 coming, 1 not coming, 1 not replied (4 invited)"


def test_the_core_team_sees_the_replies_page(event, as_core, lead, client_for):
    client_for(lead).post(reply_url(event), {"response": "attending"})
    page = as_core.get(f"/events/{event.pk}/replies/").content.decode()
    assert "1 coming, 0 not coming, 2 not replied (3 invited)" in page
    assert 'aria-live="polite"' in page and page.count("aria-live") == 1
    assert 'hx-trigger="every 30s"' in page
    assert f'hx-get="/events/{event.pk}/replies/counts/"' in page
    assert "Dr Lena Lead" in page and "Clinical nurse specialist" in page
    assert "Low turnout" not in page  # three weeks to go


def test_a_low_turnout_is_flagged_two_weeks_before(programme, core, site, as_core):
    event = make_event(programme, days=10)
    for _ in range(4):
        invite(event, SiteMembershipFactory(site=site, role="cns").user, site=site, role="cns")
    page = as_core.get(f"/events/{event.pk}/replies/").content.decode()
    assert "Low turnout" in page and "Fewer than a third of those invited are coming" in page


def test_the_counts_partial_updates_the_total_line_out_of_band(event, as_core):
    response = as_core.get(f"/events/{event.pk}/replies/counts/", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<span id="reply-total" hx-swap-oob="innerHTML">0 coming' in page
    assert "By role" in page and "By site" in page and "<html" not in page
    compact = as_core.get(f"/events/{event.pk}/replies/counts/?compact=1").content.decode()
    assert "Not replied</dt><dd class=\"nhsuk-summary-list__value\">3</dd>" in compact


@pytest.mark.parametrize("path", ["replies/", "replies/counts/", "attendance/"])
def test_the_core_teams_pages_are_refused_to_others(event, path, client_for, lead, other_core,
                                                    outsider, facilitator, client):
    url = f"/events/{event.pk}/{path}"
    assert client_for(facilitator).get(url).status_code == 200
    assert client_for(lead).get(url).status_code == 403
    assert client_for(other_core).get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404
    assert client.get(url)["Location"].startswith("/accounts/login/")


def test_the_replies_page_queries_do_not_grow_with_invitees(programme, core, site, other_site,
                                                            as_core,
                                                            django_assert_max_num_queries):
    event = make_event(programme)
    url = f"/events/{event.pk}/replies/"
    as_core.get(url)

    def add(n):
        for i in range(n):
            where = site if i % 2 else other_site
            invite(event, SiteMembershipFactory(site=where, role="cns").user, site=where,
                   role="cns", response=["attending", "not_attending", "pending"][i % 3])
        invite(event, CoreTeamMembershipFactory(programme=programme).user)

    add(2)
    with django_assert_max_num_queries(12) as small:
        as_core.get(url)
    add(20)
    with django_assert_max_num_queries(12) as large:
        assert as_core.get(url).status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries)


# --- attendance ------------------------------------------------------------------------------


def test_attendance_waits_for_the_day(event, as_core):
    page = as_core.get(f"/events/{event.pk}/attendance/").content.decode()
    assert "Attendance can be recorded from the day of the event" in page
    assert "Save who came" not in page
    response = as_core.post(f"/events/{event.pk}/attendance/", {"shown": ""}, follow=True)
    assert "Attendance can be recorded from the day of the event" in response.content.decode()
    assert not EventInvitation.objects.filter(attended__isnull=False).exists()


def test_attendance_is_recorded_for_every_row_shown(event, as_core, lead, cns, core):
    Event.objects.filter(pk=event.pk).update(date=TODAY)
    rows = {i.user_id: i for i in event.invitations.all()}
    page = as_core.get(f"/events/{event.pk}/attendance/").content.decode()
    assert "Save who came" in page and "Dr Lena Lead" in page
    shown = " ".join(str(i.pk) for i in rows.values())
    response = as_core.post(f"/events/{event.pk}/attendance/",
                            {"shown": shown, f"came-{rows[lead.pk].pk}": "on"})
    assert response.status_code == 302
    assert dict(event.invitations.values_list("user_id", "attended")) == {
        lead.pk: True, cns.pk: False, core.pk: False}
    assert ActivityLog.objects.filter(verb="event.attendance_recorded").exists()
    replies = as_core.get(f"/events/{event.pk}/replies/").content.decode()
    assert "Attendance recorded: <strong>1</strong> came" in replies


def test_someone_invited_after_the_page_opened_is_not_marked_absent(event, as_core, lead,
                                                                   other_lead, other_site):
    Event.objects.filter(pk=event.pk).update(date=TODAY)
    lead_row = event.invitations.get(user=lead)
    later = invite(event, other_lead, site=other_site, role="clinical_lead")
    as_core.post(f"/events/{event.pk}/attendance/",
                 {"shown": str(lead_row.pk), f"came-{lead_row.pk}": "on"})
    later.refresh_from_db()
    assert later.attended is None


def test_attendance_page_queries_do_not_grow(programme, site, as_core,
                                             django_assert_max_num_queries):
    event = make_event(programme, days=0)
    url = f"/events/{event.pk}/attendance/"
    counts = []
    for n in (2, 20):
        for _ in range(n):
            invite(event, SiteMembershipFactory(site=site).user, site=site, role="cns")
        with django_assert_max_num_queries(10) as captured:
            as_core.get(url)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_the_service_refuses_attendance_for_a_cancelled_event(programme, core):
    event = make_event(programme, days=-1, status=Event.Status.CANCELLED)
    with pytest.raises(Exception, match="cancelled"):
        services.event_attendance_record(event=event, user=core, came=[])


def test_event_start_is_london_time(programme):
    event = make_event(programme, days=0, start_time=datetime.time(10))
    assert services.event_starts_at(event) == datetime.datetime(2026, 5, 11, 9,
                                                                tzinfo=datetime.UTC)
    assert services.event_has_started(event, timezone.now())  # 09:00 UTC is 10:00 BST
    assert not services.event_has_started(event, NOW - datetime.timedelta(minutes=1))


def test_the_event_page_shows_the_reply_box_and_the_core_teams_count(event, lead, as_core,
                                                                     client_for):
    page = client_for(lead).get(f"/events/{event.pk}/").content.decode()
    assert 'id="event-reply"' in page and f'hx-post="/events/{event.pk}/reply/"' in page
    assert "Replies by role and by site" not in page
    core_page = as_core.get(f"/events/{event.pk}/").content.decode()
    assert "Replies by role and by site" in core_page
    assert "Add slides or a document" in core_page
