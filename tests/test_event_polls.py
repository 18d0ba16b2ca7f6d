"""Finding a date for a workshop or conference with the visits' availability poll."""

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from ilcop import privacy
from ilcop.models import ActivityLog
from programmes.models import SiteMembership
from visits import reminders
from visits.models import AvailabilityPoll, Event, PollAnswer, PollInvitee
from visits.services import polls

from .factories import SiteMembershipFactory

TODAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)  # a Monday
LINK = re.compile(r"http://testserver(/availability/[^/\s]+/)")
TOKEN = "11111111-1111-4111-8111-111111111111"


@pytest.fixture(autouse=True)
def _frozen_and_linked(settings):
    settings.SITE_URL = "http://testserver"
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def event(programme, core):
    return Event.objects.create(programme=programme, kind=Event.Kind.WORKSHOP,
                                title="Spring national workshop", created_by=core)


@pytest.fixture
def people(core, lead, cns, other_lead):
    return [core, lead, cns, other_lead]


def form_data(**changes) -> dict:
    data = {"window_start": "2026-04-13", "window_end": "2026-04-24",
            "weekdays": ["1", "2", "3"], "deadline_date": "2026-03-27",
            "audience": "everyone", "include_core_team": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def open_poll(event, core, **changes):
    args = {"event": event, "user": core, "window_start": datetime.date(2026, 4, 13),
            "window_end": datetime.date(2026, 4, 24), "weekdays": [1, 2, 3],
            "deadline": datetime.datetime(2026, 3, 27, 17, tzinfo=datetime.UTC)}
    return polls.event_poll_open(**{**args, **changes})


def test_an_event_poll_end_to_end(event, people, core, lead, cns, other_lead, as_core,
                                  mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_core.post(f"/events/{event.pk}/poll/new/", form_data())
    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/poll/"
    poll = AvailabilityPoll.objects.get(event=event)
    # Tuesday to Thursday of two weeks in April, no bank holiday among them.
    assert [d.date.isoformat() for d in poll.dates.all()] == [
        "2026-04-14", "2026-04-15", "2026-04-16", "2026-04-21", "2026-04-22", "2026-04-23"]
    assert {i.user for i in poll.invitees.all()} == set(people)
    assert set(poll.invitees.values_list("team", flat=True)) == {""}

    # The existing poll email, worded for the event, with a working personal link.
    assert len(mailoutbox) == 4
    message = next(m for m in mailoutbox if m.to == [lead.email])
    assert message.subject == "Which dates can you make? Spring national workshop"
    assert ("Which of these dates could you make for Spring national workshop?"
            in message.body)
    assert "national workshop (in person)" in message.body
    assert "- Tuesday 14 April 2026" in message.body
    assert "Lung Cancer Peer Review 2026" in message.body
    assert "MDT" not in message.body and "visit" not in message.body.lower()
    links = {m.to[0]: LINK.search(m.body)[1] for m in mailoutbox}

    page = Client().get(links[lead.email]).content.decode()
    assert "Spring national workshop" in page and "Lung Cancer Peer Review 2026" in page
    assert "national workshop (in person)" in page
    assert "Wednesday 15 April 2026" in page

    answers = {lead: {"2026-04-15": "yes", "2026-04-21": "if_need_be"},
               cns: {"2026-04-15": "yes", "2026-04-21": "yes"},
               other_lead: {"2026-04-15": "no", "2026-04-21": "yes"}}
    for person, given in answers.items():
        data = {f"date-{day}": answer for day, answer in given.items()}
        assert Client().post(links[person.email], data).status_code == 302
    assert ActivityLog.objects.filter(verb="poll.answered", object_id=event.pk).count() == 3

    page = as_core.get(f"/events/{event.pk}/poll/").content.decode()
    assert "3 of 4 have answered" in page
    # 21 April has two yes and one "if need be"; 15 April two yes and a no.
    assert page.index("Tue 21 Apr 2026") < page.index("Wed 15 Apr 2026") < page.index(
        "Tue 14 Apr 2026")
    row = page.split("Tue 21 Apr 2026")[1].split("</tr>")[0]
    assert re.findall(r"numeric\">(\d+)<", row) == ["2", "1", "0", "1"]
    waiting = page.split("Not answered yet")[1]
    assert core.full_name in waiting and lead.full_name not in waiting

    response = as_core.post(f"/events/{event.pk}/date/", {"date": "2026-04-21"})
    assert response.status_code == 302
    event.refresh_from_db()
    poll.refresh_from_db()
    assert event.date == datetime.date(2026, 4, 21)
    assert event.status == Event.Status.DRAFT  # announcing is a step of its own
    assert poll.locked_at is not None
    assert ActivityLog.objects.filter(verb="date.chosen", object_id=event.pk).exists()
    # The poll has closed: a late answer is refused and the page says so.
    page = Client().get(links[core.email]).content.decode()
    assert "This poll has closed" in page
    with pytest.raises(ValidationError, match="closed"):
        polls.poll_answer(invitee=poll.invitees.get(user=core),
                          answers={datetime.date(2026, 4, 21): "yes"})


def test_the_core_team_chooses_the_weekdays_and_bank_holidays_are_left_out(event, people,
                                                                         core):
    # Mondays and Fridays around Easter 2026: Good Friday 3 April, Easter Monday 6 April.
    poll = open_poll(event, core, window_start=datetime.date(2026, 3, 30),
                     window_end=datetime.date(2026, 4, 10), weekdays=[0, 4],
                     deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))
    assert list(poll.dates.values_list("date", flat=True)) == [
        datetime.date(2026, 3, 30), datetime.date(2026, 4, 10)]


def test_the_audience_is_chosen_as_for_invitations(event, people, core, lead, cns, other_site,
                                                   site):
    poll = open_poll(event, core, roles=["cns"], include_core_team=False)
    assert [i.user for i in poll.invitees.all()] == [cns]
    PollInvitee.objects.all().delete()
    AvailabilityPoll.objects.all().delete()
    poll = open_poll(event, core, site_ids=[site.pk], include_core_team=False)
    assert {i.user for i in poll.invitees.all()} == {lead, cns}
    assert set(poll.invitees.values_list("role", flat=True)) == {"clinical_lead", "cns"}


@pytest.mark.parametrize(("changes", "message"), [
    ({"window_start": "2026-02-24"}, "The window must start after today"),
    ({"deadline_date": "2026-04-20"}, "The deadline must be before the first date"),
    ({"window_end": "2026-04-01"}, "The window must end after it starts"),
    ({"window_end": "2026-07-31"}, "offer at most 26"),
    ({"weekdays": None}, "Select the days of the week to offer"),
    ({"weekdays": ["6"]}, "Select a valid choice"),
    ({"audience": "chosen"}, "Tick at least one role or one site"),
    ({"window_start": "not a date"}, "Enter a valid date"),
])
def test_bad_input_is_refused_with_a_message_and_writes_nothing(event, people, as_core,
                                                                mailoutbox, changes, message):
    response = as_core.post(f"/events/{event.pk}/poll/new/", form_data(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AvailabilityPoll.objects.exists() and mailoutbox == []


def test_nobody_to_ask_is_refused(event, core, as_core):
    response = as_core.post(f"/events/{event.pk}/poll/new/",
                            form_data(include_core_team=None))
    assert "Nobody in the programme matches" in response.content.decode()
    assert not AvailabilityPoll.objects.exists()


def test_a_double_submit_opens_one_poll(event, people, as_core, mailoutbox,
                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = as_core.post(f"/events/{event.pk}/poll/new/", form_data(form_token=TOKEN))
        second = as_core.post(f"/events/{event.pk}/poll/new/", form_data(form_token=TOKEN))
    assert first.status_code == second.status_code == 302
    assert AvailabilityPoll.objects.count() == 1
    assert len(mailoutbox) == 4


def test_an_event_with_a_date_or_a_poll_gets_no_new_poll(event, people, core):
    open_poll(event, core)
    with pytest.raises(ValidationError, match="already has an availability poll"):
        open_poll(event, core)
    event.date = datetime.date(2026, 5, 5)
    event.save()
    with pytest.raises(ValidationError, match="already has a date"):
        open_poll(event, core)


def test_a_date_not_in_the_poll_is_refused(event, people, core, as_core):
    open_poll(event, core)
    for bad in ("2026-04-20", "yesterday", ""):  # a Monday, not offered; not dates at all
        response = as_core.post(f"/events/{event.pk}/date/", {"date": bad}, follow=True)
        assert "Choose one of the dates the poll offered." in response.content.decode()
    event.refresh_from_db()
    assert event.date is None
    assert AvailabilityPoll.objects.get(event=event).locked_at is None


def test_the_deadline_locks_an_event_poll_and_non_responders_are_reminded_once(
        event, people, core, lead, cns, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(event, core)
    polls.poll_answer(invitee=poll.invitees.get(user=lead),
                      answers={datetime.date(2026, 4, 14): "yes"})
    SiteMembership.objects.filter(user=cns).update(ended_at=TODAY)  # has left: not reminded
    mailoutbox.clear()
    with time_machine.travel(datetime.datetime(2026, 3, 10, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().new == 0
    with time_machine.travel(datetime.datetime(2026, 3, 26, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().sent == 2  # the core team and other_lead
        assert reminders.poll_reminders_send().new == 0
    assert len(mailoutbox) == 2
    message = mailoutbox[0]
    assert message.subject == "Reminder: which dates can you make? Spring national workshop"
    assert "which dates you could make for Spring national workshop" in message.body
    assert LINK.search(message.body)

    with time_machine.travel(datetime.datetime(2026, 3, 28, tzinfo=datetime.UTC)):
        assert polls.polls_lock() == 1
        with pytest.raises(ValidationError, match="closed"):
            polls.poll_answer(invitee=poll.invitees.get(user=lead),
                              answers={datetime.date(2026, 4, 14): "no"})
    assert PollAnswer.objects.get().answer == "yes"
    assert ActivityLog.objects.filter(verb="poll.closed", object_id=event.pk).exists()


def test_a_cancelled_event_takes_no_answers_and_sends_no_reminders(
        event, people, core, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(event, core)
    link = LINK.search(mailoutbox[0].body)[1]
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    mailoutbox.clear()
    with time_machine.travel(datetime.datetime(2026, 3, 26, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().new == 0
    assert mailoutbox == []
    response = Client().post(link, {"date-2026-04-14": "yes"})
    assert "This poll has closed" in response.content.decode()
    assert not PollAnswer.objects.filter(invitee__poll=poll).exists()


def test_someone_who_left_the_programme_cannot_use_their_link(
        event, people, core, lead, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        open_poll(event, core)
    link = next(LINK.search(m.body)[1] for m in mailoutbox if m.to == [lead.email])
    SiteMembership.objects.filter(user=lead).update(ended_at=TODAY)
    response = Client().get(link)
    assert response.status_code == 410
    assert "no longer taking part in this programme" in response.content.decode()
    assert Client().get("/availability/not-a-token/").status_code == 410


def test_a_persons_data_names_the_event_they_answered_about(event, people, core, lead):
    poll = open_poll(event, core)
    polls.poll_answer(invitee=poll.invitees.get(user=lead),
                      answers={datetime.date(2026, 4, 14): "yes"})
    [row] = privacy.person_data(user=lead)["sections"]["Availability answers"]
    assert row["invitee__poll__event__title"] == "Spring national workshop"
    assert (row["poll_date__date"], row["answer"]) == ("2026-04-14", "yes")


# --- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [
    ("core", 200), ("lead", 403), ("other_core", 404), ("outsider", 404)])
def test_only_the_core_team_opens_reads_and_chooses(event, people, core, request, client_for,
                                                    who, status):
    open_poll(event, core)
    client = client_for(request.getfixturevalue(who))
    sent_on = 302 if status == 200 else status
    # With the poll open, the core team is sent on from the new-poll page to its results.
    assert client.get(f"/events/{event.pk}/poll/new/").status_code == sent_on
    assert client.get(f"/events/{event.pk}/poll/").status_code == status
    chosen = client.post(f"/events/{event.pk}/date/", {"date": "2026-04-14"})
    assert chosen.status_code == sent_on
    event.refresh_from_db()
    assert (event.date is not None) == (who == "core")


def test_the_open_page_for_the_core_team_and_anonymous_visitors(event, as_core):
    assert as_core.get(f"/events/{event.pk}/poll/new/").status_code == 200
    for url in (f"/events/{event.pk}/poll/new/", f"/events/{event.pk}/poll/"):
        response = Client().get(url)
        assert response.status_code == 302 and "login" in response["Location"]
    assert Client().post(f"/events/{event.pk}/date/").status_code == 302


def test_another_programmes_core_team_gets_a_404_for_an_event_of_this_one(
        event, other_core, client_for):
    client = client_for(other_core)
    assert client.get(f"/events/{event.pk}/poll/new/").status_code == 404
    assert client.post(f"/events/{event.pk}/poll/new/", form_data()).status_code == 404


def test_the_results_page_does_not_grow_with_dates_or_people(
        event, people, core, site, as_core, django_assert_max_num_queries):
    poll = open_poll(event, core)
    url = f"/events/{event.pk}/poll/"
    with django_assert_max_num_queries(14) as small:
        as_core.get(url)
    for _ in range(15):
        SiteMembershipFactory(site=site, role="cns")
    AvailabilityPoll.objects.filter(pk=poll.pk).delete()
    poll = open_poll(event, core, window_end=datetime.date(2026, 5, 29))  # 21 dates
    for invitee in poll.invitees.all():
        polls.poll_answer(invitee=invitee, answers={d.date: "yes" for d in poll.dates.all()})
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = as_core.get(url).content.decode()
    assert "19 of 19 have answered" in page


def test_the_open_page_does_not_grow_with_sites(event, programme, as_core,
                                                django_assert_max_num_queries):
    from .factories import EnrolmentFactory

    with django_assert_max_num_queries(14) as small:
        as_core.get(f"/events/{event.pk}/poll/new/")
    for _ in range(10):
        EnrolmentFactory(programme=programme, status="intervention")
    with django_assert_max_num_queries(len(small.captured_queries)):
        as_core.get(f"/events/{event.pk}/poll/new/")
