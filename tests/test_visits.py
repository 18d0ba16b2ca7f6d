"""Organising visits: from a confirmed pair to calendar invitations, through the pages."""

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from icalendar import Calendar

from programmes.models import CoreTeamMembership, Pair, Pairing, SiteMembership
from visits import reminders, services
from visits.models import LogisticsTask, PollAnswer, PollInvitee, Visit

from .factories import CoreTeamMembershipFactory, EnrolmentFactory, SiteMembershipFactory

# A Tuesday well ahead of the frozen "today" below; its MDT day is Tuesday (1).
TODAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LINK = re.compile(r"http://testserver(/availability/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _frozen_and_linked(settings):
    settings.SITE_URL = "http://testserver"
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def pair(programme, site, other_site, core, facilitator):
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED)
    return Pair.objects.create(pairing=pairing, site_a=site, site_b=other_site)


@pytest.fixture
def teams(site, other_site):
    people = {}
    for label, s in (("host", site), ("visiting", other_site)):
        for role in ("clinical_lead", "cns", "mdt_coordinator"):
            people[f"{label}_{role}"] = SiteMembershipFactory(site=s, role=role).user
    return people


@pytest.fixture
def visits(pair, programme, core, teams):
    return services.visits_create_for_pairing(programme=programme, user=core)


def open_poll(visit, core):
    return services.poll_open(
        visit=visit, user=core, window_start=datetime.date(2026, 3, 30),
        window_end=datetime.date(2026, 4, 28),
        deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))


def test_each_confirmed_pair_gets_two_visits_hosted_in_turn(visits, pair, facilitator):
    first, second = visits
    assert (first.host, first.visitor) == (pair.site_a, pair.site_b)
    assert (second.host, second.visitor, second.after) == (pair.site_b, pair.site_a, first)
    assert first.facilitator == facilitator


def test_a_three_site_rotation(pair, programme, core, visits):
    third = EnrolmentFactory(programme=programme, status="intervention").site
    pair.pairing.unpaired = {str(third.pk): "left over because the number of sites is odd"}
    pair.pairing.save()
    rotation = services.visits_create_rotation(pair=pair, site=third, user=core)
    assert [(v.visitor, v.host) for v in rotation] == [
        (pair.site_a, pair.site_b), (pair.site_b, third), (third, pair.site_a)]
    assert Visit.objects.filter(pair=pair).count() == 3


def test_the_poll_offers_the_hosts_mdt_day_minus_bank_holidays(visits, core, site):
    site.mdt_day = 0  # Mondays: Easter Monday, 6 April 2026, is a bank holiday
    site.save()
    poll = open_poll(visits[0], core)
    dates = list(poll.dates.values_list("date", flat=True))
    assert dates == [datetime.date(2026, 3, 30), datetime.date(2026, 4, 13),
                     datetime.date(2026, 4, 20), datetime.date(2026, 4, 27)]
    assert poll.visit.status == "polling"
    # Both teams' members and the facilitator are asked.
    assert poll.invitees.count() == 7


def test_poll_journey_answers_by_link_quorum_date_and_invitations(
    visits, core, teams, mailoutbox, django_capture_on_commit_callbacks, as_core
):
    visit = visits[0]
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(visit, core)
    assert len(mailoutbox) == 7
    links = {m.to[0]: LINK.search(m.body)[1] for m in mailoutbox}
    first_tuesday = "2026-03-31"

    # Everyone but the visiting CNS says yes to the first Tuesday, without signing in.
    for person in [*teams.values(), visit.facilitator]:
        answer = "no" if person == teams["visiting_cns"] else "yes"
        response = Client().post(links[person.email], {f"date-{first_tuesday}": answer},
                                 HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert "Saved" in response.content.decode()

    grid = as_core.get(f"/visits/{visit.pk}/poll/").content.decode()
    assert "Missing: visiting team: clinical nurse specialist" in grid
    assert ("each team's clinical lead, clinical nurse specialist, MDT coordinator, and a "
            "facilitator") in " ".join(grid.split())

    # The CNS changes their mind: "if need be".
    Client().post(links[teams["visiting_cns"].email], {f"date-{first_tuesday}": "if_need_be"})
    grid = as_core.get(f"/visits/{visit.pk}/poll/").content.decode()
    assert "Missing:" not in grid.split("Tue 31 Mar 2026")[1].split("</tr>")[0]

    as_core.post(f"/visits/{visit.pk}/date/", {"date": first_tuesday})
    visit.refresh_from_db()
    assert (visit.status, visit.date) == ("date_agreed", datetime.date(2026, 3, 31))
    assert visit.attendees.count() == 7

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_core.post(f"/visits/{visit.pk}/confirm/", {
            "start_time": "09:30", "end_time": "16:00", "venue": "Seminar room 2",
            "directions": "Park in car park B"})
    assert response.status_code == 302
    assert len(mailoutbox) == 7
    message = mailoutbox[0]
    assert message.subject.startswith("Visit confirmed:")
    assert "Seminar room 2" in message.body and "Park in car park B" in message.body
    assert "Observation of the host's MDT meeting" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert filename.endswith(".ics") and mimetype.startswith("text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    # 9:30 in London in BST (the clocks went forward on 29 March 2026).
    assert event["DTSTART"].dt.isoformat() == "2026-03-31T09:30:00+01:00"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert int(event["SEQUENCE"]) == 0
    assert LogisticsTask.objects.filter(visit=visit).count() == 6
    assert poll.invitees.filter(responded_at__isnull=False).count() == 7

    # A change of venue sends an update with the same UID and a higher SEQUENCE.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/edit/", {
            "facilitator": visit.facilitator.pk, "date": "2026-03-31", "start_time": "09:30",
            "end_time": "16:00", "venue": "Board room", "directions": ""})
    update = Calendar.from_ical(mailoutbox[0].attachments[0][1]).walk("VEVENT")[0]
    assert str(update["UID"]) == str(event["UID"]) and int(update["SEQUENCE"]) == 1
    assert str(update["LOCATION"]) == "Board room"

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        as_core.post(f"/visits/{visit.pk}/cancel/", {"reason": "Host MDT lead off sick"})
    cancel = Calendar.from_ical(mailoutbox[0].attachments[0][1])
    assert str(cancel["METHOD"]) == "CANCEL"
    assert int(cancel.walk("VEVENT")[0]["SEQUENCE"]) == 2


def test_confirming_without_the_minimum_is_refused_naming_the_roles(visits, core, teams,
                                                                    as_core):
    visit = visits[0]
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 31), user=core)
    visit.attendees.filter(user__in=[teams["host_mdt_coordinator"],
                                     teams["visiting_cns"]]).delete()
    response = as_core.post(f"/visits/{visit.pk}/confirm/", {
        "start_time": "09:30", "end_time": "16:00", "venue": "Room"})
    content = " ".join(response.content.decode().split())
    assert ("Missing: host team: MDT coordinator; visiting team: clinical nurse specialist"
            in content)
    visit.refresh_from_db()
    assert visit.status == "date_agreed"

    as_core.post(f"/visits/{visit.pk}/confirm/", {
        "start_time": "09:30", "end_time": "16:00", "venue": "Room",
        "override_reason": "Their MDT coordinator joins by video"})
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    assert visit.quorum_override_reason == "Their MDT coordinator joins by video"


def test_the_poll_locks_at_its_deadline_and_reminders_go_once_to_non_responders(
    visits, core, teams, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(visits[0], core)
    answered = poll.invitees.get(user=teams["host_cns"])
    services.poll_answer(invitee=answered, answers={datetime.date(2026, 3, 31): "yes"})
    mailoutbox.clear()

    with time_machine.travel(datetime.datetime(2026, 3, 10, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().new == 0  # not yet: ten days before the deadline
    with time_machine.travel(datetime.datetime(2026, 3, 19, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().sent == 6
        again = reminders.poll_reminders_send()  # a second run sends nothing new
        assert (again.new, again.already) == (0, 6)
    assert len(mailoutbox) == 6
    assert teams["host_cns"].email not in {m.to[0] for m in mailoutbox}
    assert all(m.subject.startswith("Reminder:") for m in mailoutbox)
    assert LINK.search(mailoutbox[0].body)  # the personal link, to answer without signing in

    with time_machine.travel(datetime.datetime(2026, 3, 21, tzinfo=datetime.UTC)):
        assert services.polls_lock() == 1
        with pytest.raises(ValidationError, match="closed"):
            services.poll_answer(invitee=answered, answers={datetime.date(2026, 3, 31): "no"})
    assert PollAnswer.objects.get(invitee=answered).answer == "yes"


def test_a_poll_link_works_only_for_its_person(visits, core, teams, mailoutbox,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        open_poll(visits[0], core)
    link = LINK.search(mailoutbox[0].body)[1]
    assert Client().get(link).status_code == 200
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA/") else "BBB") + "/"
    assert Client().get(tampered).status_code == 410
    # Unknown dates and answers are ignored rather than stored.
    Client().post(link, {"date-2031-01-01": "yes", "date-2026-03-31": "maybe"})
    assert not PollAnswer.objects.exists()


def test_visit_pages_are_for_the_two_teams_and_the_core_team(visits, client_for, lead,
                                                             other_lead, core, outsider,
                                                             other_core):
    visit = visits[0]
    assert client_for(lead).get(f"/visits/{visit.pk}/").status_code == 200
    assert client_for(other_lead).get(f"/visits/{visit.pk}/").status_code == 200
    assert client_for(core).get(f"/visits/{visit.pk}/").status_code == 200
    for person in (outsider, other_core):
        assert client_for(person).get(f"/visits/{visit.pk}/").status_code == 404
    # Site members see the visit but do not run it.
    assert client_for(lead).get(f"/visits/{visit.pk}/edit/").status_code == 404
    assert client_for(lead).post(f"/visits/{visit.pk}/cancel/", {"reason": "x"}
                                 ).status_code == 404
    # A site that is not part of the visit sees nothing of it.
    stranger = SiteMembershipFactory(role=SiteMembership.Role.CLINICAL_LEAD).user
    assert client_for(stranger).get(f"/visits/{visit.pk}/").status_code == 404


def test_the_logistics_view_lists_outstanding_tasks_with_overdue_flags(visits, core, as_core,
                                                                       programme):
    visit = visits[0]
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 17), user=core)
    services.visit_confirm(visit=visit, user=core, start_time=datetime.time(9),
                           end_time=datetime.time(16), venue="Room", directions="",
                           override_reason="Test")
    content = as_core.get(f"/programmes/{programme.pk}/logistics/").content.decode()
    # Room booking was due 28 days before 17 March: overdue on 2 March.
    assert "Room booked" in content and "Overdue" in content
    task = LogisticsTask.objects.get(visit=visit, kind="room")
    as_core.post(f"/visits/{visit.pk}/tasks/{task.pk}/", {"done": "1", "next": "logistics"})
    task.refresh_from_db()
    assert task.done_at is not None


def test_the_scheduler_proposes_and_accepting_agrees_the_dates(
    visits, core, teams, as_core, programme, django_capture_on_commit_callbacks
):
    first, second = visits
    for visit in visits:
        poll = open_poll(visit, core)
        for invitee in PollInvitee.objects.filter(poll=poll):
            services.poll_answer(invitee=invitee, answers={
                d.date: "yes" for d in poll.dates.all()})
    page = as_core.get(f"/programmes/{programme.pk}/visits/schedule/").content.decode()
    assert "2 visits can be dated" in page
    response = as_core.post(f"/programmes/{programme.pk}/visits/schedule/", {
        f"visit-{first.pk}": "2026-03-31", f"accept-{first.pk}": "1",
        f"visit-{second.pk}": "2026-04-14", f"accept-{second.pk}": "1"})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.date < second.date
    assert first.status == second.status == "date_agreed"


def test_accepting_dates_that_break_a_rule_is_refused(visits, core, as_core, programme):
    first, second = visits
    for visit in visits:
        poll = open_poll(visit, core)
        for invitee in PollInvitee.objects.filter(poll=poll):
            services.poll_answer(invitee=invitee, answers={
                d.date: "yes" for d in poll.dates.all()})
    # The return visit before the first one, and within the 14-day gap.
    response = as_core.post(f"/programmes/{programme.pk}/visits/schedule/", {
        f"visit-{first.pk}": "2026-04-07", f"accept-{first.pk}": "1",
        f"visit-{second.pk}": "2026-03-31", f"accept-{second.pk}": "1"}, follow=True)
    assert "no longer fit" in response.content.decode()
    first.refresh_from_db()
    assert first.date is None


# --- hardening found by review -------------------------------------------------------------

def test_someone_who_left_the_team_cannot_use_their_poll_link(visits, core, teams, mailoutbox,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(visits[0], core)
    leaver = teams["host_cns"]
    link = next(LINK.search(m.body)[1] for m in mailoutbox if m.to == [leaver.email])
    SiteMembership.objects.filter(user=leaver).update(ended_at=TODAY)
    response = Client().get(link)
    assert response.status_code == 410
    assert "not on either team" in response.content.decode()
    invitee = poll.invitees.get(user=leaver)
    PollAnswer.objects.create(invitee=invitee, poll_date=poll.dates.first(), answer="yes")
    services.visit_choose_date(visit=visits[0], date=poll.dates.first().date, user=core)
    assert not visits[0].attendees.filter(user=leaver).exists()


def test_cancelling_a_visit_closes_its_poll_and_stops_reminders(visits, core, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        poll = open_poll(visits[0], core)
    services.visit_cancel(visit=visits[0], user=core, reason="Host lead on leave")
    poll.refresh_from_db()
    assert poll.locked_at is not None
    mailoutbox.clear()
    with time_machine.travel(datetime.datetime(2026, 3, 19, tzinfo=datetime.UTC)):
        assert reminders.poll_reminders_send().new == 0
    assert mailoutbox == []


def test_a_poll_window_is_at_most_half_a_year(visits, core):
    with pytest.raises(ValidationError, match="at most 26 weeks"):
        services.poll_open(visit=visits[0], user=core, window_start=datetime.date(2026, 4, 1),
                           window_end=datetime.date(9999, 12, 31),
                           deadline=datetime.datetime(2026, 3, 20, 17, tzinfo=datetime.UTC))


def test_a_facilitator_who_is_also_on_a_team_is_asked_once(visits, core, site, facilitator):
    SiteMembershipFactory(site=site, user=facilitator, role="manager")
    poll = open_poll(visits[0], core)
    assert poll.invitees.filter(user=facilitator).count() == 1


def test_the_chosen_date_must_be_one_the_poll_offered_and_after_the_first_visit(visits, core):
    first, second = visits
    open_poll(first, core)
    with pytest.raises(ValidationError, match="dates the poll offered"):
        services.visit_choose_date(visit=first, date=datetime.date(2026, 4, 2), user=core)
    services.visit_choose_date(visit=first, date=datetime.date(2026, 4, 14), user=core)
    with pytest.raises(ValidationError, match="after the first one"):
        services.visit_choose_date(visit=second, date=datetime.date(2026, 4, 7), user=core)
    with pytest.raises(ValidationError, match="MDT day"):
        services.visit_choose_date(visit=second, date=datetime.date(2026, 4, 22), user=core)


def confirm(visit, core):
    services.visit_confirm(visit=visit, user=core, start_time=datetime.time(9),
                           end_time=datetime.time(16), venue="Room", directions="",
                           override_reason="test")


def test_changes_to_a_confirmed_visits_list_send_invitations_and_cancellations(
    visits, core, teams, mailoutbox, django_capture_on_commit_callbacks
):
    visit = visits[0]
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 31), user=core)
    confirm(visit, core)
    mailoutbox.clear()
    removed = visit.attendees.get(user=teams["host_cns"])
    with django_capture_on_commit_callbacks(execute=True):
        services.attendee_remove(attendee=removed, user=core)
    [message] = mailoutbox
    assert message.to == [teams["host_cns"].email]
    assert str(Calendar.from_ical(message.attachments[0][1])["METHOD"]) == "CANCEL"
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.attendee_add(visit=visit, person=teams["host_cns"], team="host", role="cns",
                              user=core)
    assert [m.to for m in mailoutbox] == [[teams["host_cns"].email]]
    assert mailoutbox[0].subject.startswith("Visit confirmed")


def test_an_invitation_queued_before_a_later_change_sends_nothing(visits, core, teams,
                                                                 mailoutbox):
    from visits.emails import visit_invitation_send

    visit = visits[0]
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 31), user=core)
    confirm(visit, core)
    services.visit_cancel(visit=visit, user=core, reason="Snow")
    mailoutbox.clear()
    # The confirmation's task, retried after the cancellation: stale, so nothing is sent.
    visit_invitation_send(visit_id=visit.pk, user_id=teams["host_cns"].pk, kind="request",
                          sequence=0)
    assert mailoutbox == []


def test_email_subjects_are_not_html_escaped(visits, core, site, mailoutbox,
                                             django_capture_on_commit_callbacks):
    site.organisation.name = "St Mary's & King's Hospitals NHS Trust"
    site.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        open_poll(visits[0], core)
    assert "St Mary's & King's" in mailoutbox[0].subject


def test_the_scheduler_keeps_dated_visits_and_fits_new_ones_around_them(
    visits, core, pair, programme
):
    """A visit already on a date stays there; the proposal respects the site gap around it."""
    from visits.scheduler import Rules, check_schedule
    from visits.services.schedule import schedule_requests

    first, second = visits
    open_poll(second, core)
    for invitee in PollInvitee.objects.filter(poll=second.poll):
        services.poll_answer(invitee=invitee, answers={d.date: "yes"
                                                       for d in second.poll.dates.all()})
    services.visit_choose_date(visit=first, date=datetime.date(2026, 3, 31), user=core)
    proposal = services.schedule_propose(programme)
    assert proposal.dates[first.pk] == datetime.date(2026, 3, 31)
    assert (proposal.dates[second.pk] - datetime.date(2026, 3, 31)).days >= 14
    rules = Rules(site_min_gap_days=14)
    assert check_schedule(schedule_requests(programme), rules, proposal.dates) == []
    # Leaving the dated visit out of a schedule is reported.
    problems = check_schedule(schedule_requests(programme), rules,
                              {second.pk: proposal.dates[second.pk]})
    assert any("must keep it" in p for p in problems)


def test_absurd_visit_ids_in_the_scheduler_form_are_ignored(as_core, programme, visits):
    response = as_core.post(f"/programmes/{programme.pk}/visits/schedule/", {
        "visit-99999999999999999999999": "2026-03-31", "accept-99999999999999999999999": "1"},
        follow=True)
    assert response.status_code == 200
    assert "Select at least one proposed date" in response.content.decode()


def test_a_rotation_needs_a_site_waiting_for_a_partner(pair, core):
    stranger = EnrolmentFactory(programme=pair.pairing.programme, status="intervention").site
    with pytest.raises(ValidationError, match="not waiting for a partner"):
        services.visits_create_rotation(pair=pair, site=stranger, user=core)


def test_a_cancelled_visit_can_be_arranged_again(visits, core, programme):
    services.visit_cancel(visit=visits[0], user=core, reason="Strike")
    [again] = services.visits_create_for_pairing(programme=programme, user=core)
    assert (again.host, again.visitor) == (visits[0].host, visits[0].visitor)
    assert services.visits_create_for_pairing(programme=programme, user=core) == []


def test_a_new_facilitator_takes_the_old_ones_place(visits, core, programme, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    visit = visits[0]
    old = visit.facilitator
    new = CoreTeamMembershipFactory(programme=programme,
                                    role=CoreTeamMembership.Role.QI_FACILITATOR).user
    services.visit_choose_date(visit=visit, date=datetime.date(2026, 3, 31), user=core)
    confirm(visit, core)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_update(visit=visit, user=core, facilitator=new)
    assert set(visit.attendees.filter(team="facilitator").values_list("user", flat=True)) == {
        new.pk}
    sent = {m.to[0]: str(Calendar.from_ical(m.attachments[0][1])["METHOD"])
            for m in mailoutbox}
    assert sent == {old.email: "CANCEL", new.email: "REQUEST"}


def test_a_new_facilitator_is_asked_on_an_open_poll(visits, core, programme, mailoutbox,
                                                    django_capture_on_commit_callbacks):
    visit = visits[0]
    poll = open_poll(visit, core)
    old = visit.facilitator
    new = CoreTeamMembershipFactory(programme=programme,
                                    role=CoreTeamMembership.Role.QI_FACILITATOR).user
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_update(visit=visit, user=core, facilitator=new)
    assert not poll.invitees.filter(user=old).exists()
    assert poll.invitees.filter(user=new, team="facilitator").exists()
    assert [m.to for m in mailoutbox] == [[new.email]]
