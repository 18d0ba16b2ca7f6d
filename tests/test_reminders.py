"""Each reminder service: who it goes to, what it says, when it is sent and when it is not.

The services are called directly with the clock set by time_machine (08:00 London, when
beat runs them). tests/test_reminder_schedule.py walks a whole programme through them.
"""

import datetime
import logging
import smtplib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from ilcop import notifications
from ilcop.activity import log_action
from ilcop.models import Notification, ReminderEmails
from programmes.models import CoreTeamMembership, Enrolment, SiteMembership
from qips import digest as core_digest
from qips import reminders as qip_reminders
from qips.models import ProgressUpdate, QualityImprovementPlan
from visits import reminders
from visits.models import (
    AvailabilityPoll,
    FocusArea,
    LogisticsTask,
    ObservationResponse,
    PollInvitee,
    Visit,
    VisitAttendee,
)
from visits.services.observation import observation_form_current
from visits.services.visits import TASK_DAYS_BEFORE

from .concurrency import twice_at_once
from .factories import CoreTeamMembershipFactory, ProgrammeFactory, SiteMembershipFactory

LONDON = ZoneInfo("Europe/London")
VISIT_DAY = datetime.date(2026, 4, 14)  # a Tuesday, the host's MDT day
SITE = "https://peer.example"
DAY = datetime.timedelta(days=1)


def at(day: datetime.date, hour: int = 8) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def run(service, day: datetime.date, hour: int = 8) -> notifications.Tally:
    """Run a reminder service as beat would, at ``hour`` on ``day``."""
    with time_machine.travel(at(day, hour), tick=False):
        return service()


def assert_email(message, *, programme, link: str) -> None:
    """Every reminder: a text and an HTML part, the programme's name, a direct link."""
    assert isinstance(message, EmailMultiAlternatives)
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert programme.name in message.body and programme.name in html
    assert link in message.body
    assert f'<a href="{link}"' in html


def to(mailoutbox, person):
    [message] = [m for m in mailoutbox if m.to == [person.email]]
    return message


@pytest.fixture(autouse=True)
def _links(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def admin(programme):
    return CoreTeamMembershipFactory(programme=programme,
                                     role=CoreTeamMembership.Role.ADMINISTRATOR,
                                     user__full_name="Ade Admin").user


@pytest.fixture
def observer(other_site):
    return SiteMembershipFactory(site=other_site, role=SiteMembership.Role.CNS,
                                 user__full_name="Olu Observer").user


@pytest.fixture
def visit(programme, site, other_site, facilitator, admin, core, lead, cns, other_lead,
          observer):
    """A confirmed visit on VISIT_DAY: room and travel booked, four checklist tasks open."""
    visit = Visit.objects.create(
        programme=programme, host=site, visitor=other_site, facilitator=facilitator,
        status=Visit.Status.CONFIRMED, date=VISIT_DAY, start_time=datetime.time(9, 30),
        end_time=datetime.time(16), venue="Seminar room 2, Wyvern Valley Hospital")
    for person, team, role in [
        (lead, VisitAttendee.Team.HOST, "clinical_lead"), (cns, VisitAttendee.Team.HOST, "cns"),
        (other_lead, VisitAttendee.Team.VISITING, "clinical_lead"),
        (observer, VisitAttendee.Team.VISITING, "cns"),
        (facilitator, VisitAttendee.Team.FACILITATOR, "facilitator"),
    ]:
        VisitAttendee.objects.create(visit=visit, user=person, team=team, role=role)
    for kind, days in TASK_DAYS_BEFORE.items():
        LogisticsTask.objects.create(visit=visit, kind=kind, days_before=days, owner=admin)
    visit.tasks.filter(kind__in=["room", "travel"]).update(done_at=at(VISIT_DAY - 30 * DAY))
    return visit


def happened(visit: Visit) -> Visit:
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.HAPPENED)
    visit.refresh_from_db()
    return visit


# --- an availability poll about to close ------------------------------------------------------


def test_an_invitee_reminded_before_the_ledger_is_not_reminded_again(
        programme, site, other_site, facilitator, lead, cns, mailoutbox):
    """Before the ledger, PollInvitee.last_reminded_at was the record of a reminder: someone
    it says was reminded in the last POLL_CLOSING is not sent a second one. A deadline moved
    later than that is a new reminder."""
    visit = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                 facilitator=facilitator, status=Visit.Status.POLLING)
    deadline = at(datetime.date(2026, 3, 13), 17)
    poll = AvailabilityPoll.objects.create(visit=visit, window_start=VISIT_DAY - 14 * DAY,
                                           window_end=VISIT_DAY + 14 * DAY, deadline=deadline)
    for person, reminded in ((lead, deadline - 2 * DAY), (cns, None)):
        PollInvitee.objects.create(poll=poll, user=person, team=VisitAttendee.Team.HOST,
                                   role="cns", nonce="n" * 32, last_reminded_at=reminded)
    tally = run(reminders.poll_reminders_send, datetime.date(2026, 3, 12))
    assert (tally.sent, tally.already) == (1, 1)
    assert [m.to for m in mailoutbox] == [[cns.email]]

    AvailabilityPoll.objects.filter(pk=poll.pk).update(deadline=deadline + 7 * DAY)
    assert run(reminders.poll_reminders_send, datetime.date(2026, 3, 18), hour=18).sent == 2


# --- a visit in 14 days and in 2 days ---------------------------------------------------------


def test_a_visit_is_announced_14_and_2_days_before_to_attendees_and_task_owners(
        visit, programme, lead, admin, mailoutbox):
    assert run(reminders.visit_reminders_send, VISIT_DAY - 15 * DAY).new == 0
    assert run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY).sent == 6  # 5 + admin
    names = f"{visit.visitor.organisation.name} visits {visit.host.organisation.name}"
    message = to(mailoutbox, lead)
    assert message.subject == f"Peer review visit in 14 days: {names}"
    assert message.body.startswith("Dear Dr Lena Lead,\n")  # the title keeps the full name
    assert "You are on the attendance list (host team)." in message.body
    assert "When: Tuesday 14 April 2026, 09:30 to 16:00 (UK time)" in message.body
    assert "Where: Seminar room 2, Wyvern Valley Hospital" in message.body
    assert "checklist" not in message.body  # the lead owns no task
    assert_email(message, programme=programme, link=f"{SITE}/visits/{visit.pk}/")
    assert f"{SITE}/accounts/reminders/" in message.body  # may be had in a digest instead

    # The administrator is not going, but owns the open tasks: theirs alone, with due dates.
    message = to(mailoutbox, admin)
    assert message.subject == f"Checklist for the peer review visit in 14 days: {names}"
    assert message.body.startswith("Dear Ade,\n")
    assert "attendance list" not in message.body
    assert "- Data pack ready: due Tuesday 31 March\n" in message.body
    assert "- Observation forms issued: due Saturday 11 April\n" in message.body
    assert "Room booked" not in message.body  # done

    again = run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    assert (again.new, again.already) == (0, 6)
    for days in range(13, 2, -1):
        assert run(reminders.visit_reminders_send, VISIT_DAY - days * DAY).new == 0
    mailoutbox.clear()

    assert run(reminders.visit_reminders_send, VISIT_DAY - 2 * DAY).sent == 6
    message = to(mailoutbox, admin)
    assert message.subject == f"Checklist for the peer review visit in 2 days: {names}"
    assert "- Observation forms issued: was due Saturday 11 April\n" in message.body
    assert "/accounts/reminders/" not in to(mailoutbox, lead).body  # always sent at once
    assert run(reminders.visit_reminders_send, VISIT_DAY - DAY).new == 0
    assert run(reminders.visit_reminders_send, VISIT_DAY).new == 0
    assert len(mailoutbox) == 6


def test_someone_going_who_also_owns_tasks_gets_one_email_with_both(visit, lead, mailoutbox):
    visit.tasks.filter(kind="data_pack").update(owner=lead)
    run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    message = to(mailoutbox, lead)
    assert message.subject.startswith("Peer review visit in 14 days")
    assert "You are on the attendance list" in message.body
    assert "This checklist task is yours and is not done yet:\n\n- Data pack ready" \
        in message.body


def test_a_visit_confirmed_late_gets_the_notice_late_but_never_14_days_the_day_before(
        visit, lead, mailoutbox):
    assert run(reminders.visit_reminders_send, VISIT_DAY - 5 * DAY).sent == 6
    assert to(mailoutbox, lead).subject.startswith("Peer review visit in 5 days")
    mailoutbox.clear()
    Visit.objects.filter(pk=visit.pk).update(date=VISIT_DAY + 7 * DAY)
    assert run(reminders.visit_reminders_send, VISIT_DAY + 6 * DAY).sent == 6
    assert to(mailoutbox, lead).subject.startswith("Peer review visit tomorrow")
    assert set(Notification.objects.filter(due_on=VISIT_DAY + 7 * DAY).values_list(
        "kind", flat=True)) == {"visit_in_2_days"}


def test_a_moved_visit_is_announced_again_for_its_new_date(visit, mailoutbox):
    run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    Visit.objects.filter(pk=visit.pk).update(date=VISIT_DAY + 7 * DAY)
    assert run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY).new == 0  # 21 days away
    assert run(reminders.visit_reminders_send, VISIT_DAY - 7 * DAY).sent == 6
    assert "Tuesday 21 April 2026" in mailoutbox[-1].body


def test_no_notices_for_a_cancelled_visit_a_withdrawn_site_or_someone_who_left(
        visit, programme, site, lead, mailoutbox):
    lead.is_active = False
    lead.save()
    assert run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY).sent == 5
    assert lead.email not in {m.to[0] for m in mailoutbox}

    Enrolment.objects.filter(programme=programme, site=site).update(
        status=Enrolment.Status.WITHDRAWN)
    assert run(reminders.visit_reminders_send, VISIT_DAY - 2 * DAY).new == 0
    Enrolment.objects.filter(programme=programme, site=site).update(
        status=Enrolment.Status.INTERVENTION)
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.CANCELLED)
    assert run(reminders.visit_reminders_send, VISIT_DAY - 2 * DAY).new == 0


def test_no_notices_for_attendees_or_task_owners_who_have_left_their_team(
        visit, programme, site, lead, facilitator, mailoutbox):
    """The attendance list and the checklist outlive a person's place on a team: someone who
    has left is not told the venue and times of a visit they are no longer part of."""
    SiteMembership.objects.filter(site=site, user=lead).update(ended_at=at(VISIT_DAY - 20 * DAY))
    CoreTeamMembership.objects.filter(programme=programme, user=facilitator).delete()
    gone = SiteMembershipFactory(site=site, role="mdt_coordinator").user
    SiteMembership.objects.filter(user=gone).update(ended_at=at(VISIT_DAY - 20 * DAY))
    visit.tasks.filter(kind="data_pack").update(owner=gone)
    assert run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY).sent == 4
    assert {lead.email, facilitator.email, gone.email}.isdisjoint(m.to[0] for m in mailoutbox)
    # Someone in the programme's core team is still part of the visit, whichever team's
    # list they are on.
    CoreTeamMembershipFactory(programme=programme, user=lead)
    assert run(reminders.visit_reminders_send, VISIT_DAY - 2 * DAY).sent == 5


def test_a_held_visit_notice_is_dropped_once_its_person_leaves_the_team(
        visit, site, cns, mailoutbox):
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    visit.tasks.filter(kind="data_pack").update(owner=cns)  # going, and owns a task
    assert run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY).held == 1
    SiteMembership.objects.filter(site=site, user=cns).update(ended_at=at(VISIT_DAY - 10 * DAY))
    mailoutbox.clear()
    assert run(notifications.digests_send, VISIT_DAY - 8 * DAY, hour=9).new == 0
    assert mailoutbox == []


def test_must_send_notices_ignore_the_weekly_preference(visit, cns, mailoutbox):
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    tally = run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    assert (tally.sent, tally.held) == (5, 1)
    assert cns.email not in {m.to[0] for m in mailoutbox}
    tally = run(reminders.visit_reminders_send, VISIT_DAY - 2 * DAY)
    assert (tally.sent, tally.held) == (6, 0)
    assert to(mailoutbox, cns).subject.startswith("Peer review visit in 2 days")


# --- the observation form ---------------------------------------------------------------------


def test_observers_without_a_submitted_form_are_reminded_once_the_day_after(
        visit, programme, other_site, other_lead, observer, mailoutbox):
    absent = SiteMembershipFactory(site=other_site, role="mdt_coordinator").user
    VisitAttendee.objects.create(visit=visit, user=absent, team="visiting",
                                 role="mdt_coordinator", present=False)
    form = observation_form_current(programme)
    ObservationResponse.objects.create(visit=visit, form=form, observer=other_lead,
                                       submitted_at=at(VISIT_DAY, 12))
    ObservationResponse.objects.create(visit=visit, form=form, observer=observer)  # a draft

    assert run(reminders.observation_reminders_send, VISIT_DAY, hour=18).new == 0
    assert run(reminders.observation_reminders_send, VISIT_DAY + DAY).sent == 1
    [message] = mailoutbox
    assert message.to == [observer.email]
    assert message.subject == "Reminder: submit your observations of the " \
                              f"{visit.host.organisation.name} MDT meeting"
    assert message.body.startswith("Dear Olu,\n")
    assert "Your answers so far are saved" in message.body
    assert_email(message, programme=programme, link=f"{SITE}/visits/{visit.pk}/observation/")
    assert run(reminders.observation_reminders_send, VISIT_DAY + 2 * DAY).new == 0

    happened(visit)  # still taking observations until the report is sent
    assert run(reminders.observation_reminders_send, VISIT_DAY + 3 * DAY).already == 1


def test_no_observation_reminder_after_the_report_or_two_weeks_on(visit, observer):
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.REPORT_SENT)
    assert run(reminders.observation_reminders_send, VISIT_DAY + DAY).new == 0
    happened(visit)
    assert run(reminders.observation_reminders_send, VISIT_DAY + 15 * DAY).new == 0


# --- the report awaiting approval -------------------------------------------------------------


def test_the_facilitator_is_reminded_weekly_until_the_report_is_approved(
        visit, programme, facilitator, mailoutbox):
    happened(visit)
    assert run(reminders.report_reminders_send, VISIT_DAY + 6 * DAY).new == 0
    assert run(reminders.report_reminders_send, VISIT_DAY + 7 * DAY).sent == 1
    [message] = mailoutbox
    assert message.to == [facilitator.email]
    assert message.body.startswith("Dear Fran,\n")
    assert "was 7 days ago, on Tuesday 14 April 2026" in message.body
    assert "no facilitator" not in message.body
    assert_email(message, programme=programme, link=f"{SITE}/visits/{visit.pk}/report/")
    for days in range(8, 14):
        assert run(reminders.report_reminders_send, VISIT_DAY + days * DAY).new == 0
    assert run(reminders.report_reminders_send, VISIT_DAY + 15 * DAY).sent == 1  # week 2
    assert list(Notification.objects.filter(kind="report_awaiting_approval").values_list(
        "due_on", flat=True)) == [VISIT_DAY + 7 * DAY, VISIT_DAY + 14 * DAY]

    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.REPORT_SENT)
    assert run(reminders.report_reminders_send, VISIT_DAY + 21 * DAY).new == 0


def test_without_a_facilitator_the_core_team_is_reminded(visit, core, admin, facilitator,
                                                        mailoutbox):
    Visit.objects.filter(pk=visit.pk).update(facilitator=None)
    happened(visit)
    assert run(reminders.report_reminders_send, VISIT_DAY + 7 * DAY).sent == 3
    assert {m.to[0] for m in mailoutbox} == {core.email, admin.email, facilitator.email}
    assert "because the visit has no facilitator" in mailoutbox[0].body


# --- improvement plans after hosting ----------------------------------------------------------


@pytest.fixture
def hosted(visit, cns):
    """The visit happened; two focus areas were agreed, one owned by the host's CNS."""
    happened(visit)
    FocusArea.objects.create(visit=visit, title="Every patient told of their CNS", owner=cns)
    FocusArea.objects.create(visit=visit, title="Pathology at the MDT meeting")
    return visit


def test_the_host_is_reminded_a_week_before_plans_are_due_and_once_overdue(
        hosted, programme, site, lead, cns, mailoutbox):
    due = VISIT_DAY + 6 * 7 * DAY  # the programme's default: six weeks after hosting
    assert run(qip_reminders.qip_reminders_send, due - 8 * DAY).new == 0
    assert run(qip_reminders.qip_reminders_send, due - 7 * DAY).sent == 2
    assert {m.to[0] for m in mailoutbox} == {lead.email, cns.email}
    message = to(mailoutbox, cns)
    assert message.subject == "Your improvement plans are due on 26 May"
    assert message.body.startswith("Dear Nia,\n")
    assert "are due on Tuesday 26 May, in 7 days." in message.body
    assert "asks for plans 6 weeks after a team has hosted its visit" in message.body
    assert "- Every patient told of their CNS (Nia Nurse)\n" in message.body
    assert "- Pathology at the MDT meeting\n" in message.body
    assert_email(message, programme=programme, link=f"{SITE}/sites/{site.pk}/qips/")
    for day in range(-6, 1):
        assert run(qip_reminders.qip_reminders_send, due + day * DAY).new == 0
    mailoutbox.clear()
    assert run(qip_reminders.qip_reminders_send, due + DAY).sent == 2
    assert to(mailoutbox, lead).subject == "Overdue: your improvement plans from the visit " \
                                           "on 14 April"
    assert run(qip_reminders.qip_reminders_send, due + 2 * DAY).new == 0
    assert run(qip_reminders.qip_reminders_send, due + 40 * DAY).new == 0


def test_a_held_plans_due_reminder_is_dropped_once_the_plans_are_overdue(
        hosted, cns, mailoutbox):
    """Held in the week before the plans fell due and still held after (here the visit was
    only marked as happened late): Monday's digest says they are overdue, not also that they
    are due."""
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    due = VISIT_DAY + 6 * 7 * DAY  # Tuesday 26 May
    assert run(qip_reminders.qip_reminders_send, due).held == 1
    assert run(qip_reminders.qip_reminders_send, due + DAY).held == 1
    mailoutbox.clear()
    assert run(notifications.digests_send, due + 6 * DAY, hour=9).sent == 1
    [message] = mailoutbox
    assert message.subject == "1 reminder for this week"
    assert "were due on Tuesday 26 May 2026" in message.body
    assert "are due on" not in message.body
    assert not Notification.objects.filter(kind="qip_due_soon", recipient=cns).exists()


def test_one_week_is_one_week(hosted, programme, mailoutbox):
    programme.qip_due_weeks = 1
    programme.save()
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + DAY).sent == 2
    assert "asks for plans 1 week after a team has hosted" in mailoutbox[0].body


def test_the_weeks_are_the_programmes_choice(hosted, programme):
    programme.qip_due_weeks = 8
    programme.save()
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 35 * DAY).new == 0
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 49 * DAY).sent == 2
    assert Notification.objects.filter(due_on=VISIT_DAY + 56 * DAY).count() == 2


def test_a_submitted_plan_stops_the_reminders_but_a_draft_does_not(hosted, programme, site):
    area = hosted.focus_areas.first()
    plan = QualityImprovementPlan.objects.create(programme=programme, site=site,
                                                 focus_area=area, title=area.title)
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 35 * DAY).sent == 2
    plan.status = QualityImprovementPlan.Status.SUBMITTED
    plan.save()
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 43 * DAY).new == 0


def test_the_host_is_still_reminded_after_its_visitor_withdraws_but_not_after_itself(
        hosted, programme, site, other_site):
    Enrolment.objects.filter(site=other_site).update(status=Enrolment.Status.WITHDRAWN)
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 35 * DAY).sent == 2
    assert run(reminders.report_reminders_send, VISIT_DAY + 35 * DAY).sent == 1
    Enrolment.objects.filter(site=site).update(status=Enrolment.Status.WITHDRAWN)
    assert run(qip_reminders.qip_reminders_send, VISIT_DAY + 43 * DAY).new == 0
    assert run(reminders.report_reminders_send, VISIT_DAY + 43 * DAY).new == 0


def test_a_focus_area_owner_who_left_the_team_is_not_reminded(hosted, site, lead, cns):
    SiteMembership.objects.filter(site=site, user=cns).update(ended_at=at(VISIT_DAY))
    run(qip_reminders.qip_reminders_send, VISIT_DAY + 35 * DAY)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [lead.pk]


# --- the monthly progress update --------------------------------------------------------------


def approved_plan(programme, site, owner, *, on: datetime.date,
                  status=QualityImprovementPlan.Status.IN_PROGRESS) -> QualityImprovementPlan:
    return QualityImprovementPlan.objects.create(
        programme=programme, site=site, title="Faster CT-guided biopsy", status=status,
        created_at=at(on - 30 * DAY), approved_at=at(on, 12), reporting_owner=owner)


def test_the_update_is_asked_for_on_the_1st_and_chased_on_the_15th(
        programme, site, lead, cns, mailoutbox):
    plan = approved_plan(programme, site, cns, on=datetime.date(2026, 3, 2))
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 3, 31)).new == 0
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 1)).sent == 1
    [message] = mailoutbox
    assert message.to == [cns.email]  # who sends the updates, not the whole team
    assert message.subject == "Your March progress update on Faster CT-guided biopsy"
    assert message.body.startswith("Dear Nia,\n")
    assert "for March 2026" in message.body
    assert_email(message, programme=programme, link=f"{SITE}/qips/{plan.pk}/progress/")
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 14)).new == 0

    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 15)).sent == 2
    assert {m.to[0] for m in mailoutbox[1:]} == {cns.email, lead.email}  # the lead too now
    assert mailoutbox[1].subject == "Overdue: the March progress update on Faster CT-guided " \
                                    "biopsy"
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 30)).new == 0

    ProgressUpdate.objects.create(plan=plan, month=datetime.date(2026, 4, 1),
                                  done="Audit of waits", rag="green")
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 5, 1)).new == 0
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 6, 1)).sent == 1


def test_a_plan_approved_late_in_a_month_starts_with_the_next_one(programme, site, cns):
    approved_plan(programme, site, cns, on=datetime.date(2026, 3, 20))
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 1)).new == 0
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 5, 1)).sent == 1


def test_no_update_reminders_for_plans_not_under_way(programme, site, lead, cns):
    Status = QualityImprovementPlan.Status
    for status in (Status.SUBMITTED, Status.ON_HOLD, Status.COMPLETED, Status.STOPPED):
        approved_plan(programme, site, cns, on=datetime.date(2026, 3, 2), status=status)
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 1)).new == 0


def test_without_a_reporting_owner_on_the_team_the_clinical_lead_is_asked(
        programme, site, lead, outsider):
    approved_plan(programme, site, outsider, on=datetime.date(2026, 3, 2))
    run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 1))
    assert list(Notification.objects.values_list("recipient", flat=True)) == [lead.pk]


# --- people's own Monday digest ---------------------------------------------------------------


def test_held_reminders_reach_the_monday_digest_unless_they_no_longer_apply(
        visit, programme, site, cns, mailoutbox):
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    plan = approved_plan(programme, site, cns, on=datetime.date(2026, 2, 2))
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 4, 1)).held == 1
    assert run(reminders.visit_reminders_send, datetime.date(2026, 4, 1)).held == 1
    assert cns.email not in {m.to[0] for m in mailoutbox}
    mailoutbox.clear()
    # The update is written before Monday: that reminder drops out of the digest.
    ProgressUpdate.objects.create(plan=plan, month=datetime.date(2026, 3, 1), done="Audit",
                                  rag="amber")

    assert run(notifications.digests_send, datetime.date(2026, 4, 6), hour=9).sent == 1
    [message] = mailoutbox
    assert message.to == [cns.email]
    assert message.subject == "1 reminder for this week"
    assert f"- Peer review visit on Tuesday 14 April 2026: {visit}: {SITE}/visits/{visit.pk}/" \
        in message.body
    assert "progress update" not in message.body
    assert_email(message, programme=programme, link=f"{SITE}/accounts/reminders/")
    assert not Notification.objects.filter(kind="progress_update_due").exists()
    assert run(notifications.digests_send, datetime.date(2026, 4, 6), hour=10).new == 0


def test_a_held_update_reminder_is_dropped_once_the_overdue_one_is_due(
        programme, site, lead, cns, mailoutbox):
    """The plan started reporting after the Monday digest of the 8th (so the request is held
    from the 10th); by the next Monday the chaser is due as well: the digest lists only the
    chaser."""
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    approved_plan(programme, site, cns, on=datetime.date(2026, 4, 2))
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 6, 10)).held == 1
    assert run(qip_reminders.progress_reminders_send, datetime.date(2026, 6, 15)).held == 1
    mailoutbox.clear()
    assert run(notifications.digests_send, datetime.date(2026, 6, 15), hour=9).sent == 1
    [message] = [m for m in mailoutbox if m.to == [cns.email]]
    assert message.subject == "1 reminder for this week"
    assert "Overdue: the progress update for May 2026" in message.body
    assert list(Notification.objects.filter(recipient=cns).exclude(kind="digest").values_list(
        "kind", flat=True)) == ["progress_update_overdue"]


def test_a_held_visit_notice_is_dropped_once_the_visit_is_cancelled(visit, cns, mailoutbox):
    cns.reminder_emails = ReminderEmails.WEEKLY
    cns.save()
    run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    mailoutbox.clear()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.CANCELLED)
    assert run(notifications.digests_send, VISIT_DAY - 8 * DAY, hour=9).new == 0
    assert mailoutbox == []


# --- the core team's Monday digest ------------------------------------------------------------


MONDAY = datetime.date(2026, 6, 8)


def test_the_core_team_digest_lists_everything_overdue_with_links(
        visit, programme, site, other_site, core, admin, facilitator, cns, observer,
        mailoutbox):
    """On Monday 8 June: the visit of 14 April happened; its report, observations and plans
    are overdue; a plan's May update is missing; the visiting team has gone quiet."""
    happened(visit)
    Enrolment.objects.update(status_changed_at=at(datetime.date(2026, 1, 5)))
    approved_plan(programme, site, cns, on=datetime.date(2026, 3, 2))
    upcoming = Visit.objects.create(programme=programme, host=other_site, visitor=site,
                                    status=Visit.Status.CONFIRMED, date=MONDAY + 8 * DAY)
    LogisticsTask.objects.create(visit=upcoming, kind="room", days_before=28, owner=admin)
    with time_machine.travel(at(MONDAY - 7 * DAY), tick=False):
        log_action(site, "site.updated", actor=cns, summary="Changed the MDT day",
                   scopes=[site])  # the host team is not quiet
    admin.reminder_emails = ReminderEmails.WEEKLY  # the digest must be sent all the same
    admin.save()

    assert run(core_digest.core_team_digests_send, MONDAY, hour=7).sent == 3
    assert {m.to[0] for m in mailoutbox} == {core.email, admin.email, facilitator.email}
    message = to(mailoutbox, core)
    assert message.subject == f"What is overdue in {programme.name}: week of 8 June"
    body = message.body
    assert body.startswith("Dear Priya,\n")
    assert "Checklist tasks overdue (1):\n\n- Room booked for " \
           f"{upcoming} on Tuesday 16 June 2026, due Tuesday 19 May 2026 (Ade Admin's task): " \
           f"{SITE}/visits/{upcoming.pk}/\n" in body
    assert "Visits whose day has passed, not yet marked as happened" not in body
    assert "Observation forms not submitted (2):" in body
    assert f"- Olu Observer ({other_site.organisation.name}), for the visit on Tuesday 14 " \
           f"April 2026: {visit}: {SITE}/visits/{visit.pk}/observations/" in body
    assert "Visit reports awaiting approval for more than a week (1):\n\n" \
           f"- {visit}, visited on Tuesday 14 April 2026 (facilitator: Fran Facilitator): " \
           f"{SITE}/visits/{visit.pk}/report/" in body
    assert "Improvement plans overdue (1):\n\n" \
           f"- {site} hosted on Tuesday 14 April 2026; plans were due on Tuesday 26 May " \
           f"2026: {SITE}/sites/{site.pk}/qips/" in body
    assert "Progress updates overdue (1):\n\n" \
           f"- {site}: “Faster CT-guided biopsy”, no update for April 2026:" in body
    assert "Teams gone quiet (nothing from the team for 6 weeks) (1):\n\n" \
           f"- {other_site}: last heard from on" in body
    assert f"{SITE}/sites/{other_site.pk}/\n" in body
    assert_email(message, programme=programme, link=f"{SITE}/programmes/{programme.pk}/dashboard/")

    assert run(core_digest.core_team_digests_send, MONDAY + DAY, hour=7).new == 0
    assert run(core_digest.core_team_digests_send, MONDAY + 7 * DAY, hour=7).sent == 3


def test_a_quiet_week_says_nothing_is_overdue(programme, site, core, lead, mailoutbox):
    Enrolment.objects.update(status_changed_at=at(datetime.date(2026, 1, 5)))
    with time_machine.travel(at(MONDAY - 7 * DAY), tick=False):
        log_action(site, "site.updated", actor=lead, summary="Changed", scopes=[site])
    assert run(core_digest.core_team_digests_send, MONDAY, hour=7).sent == 1
    [message] = mailoutbox
    assert message.subject == f"Nothing is overdue in {programme.name}: week of 8 June"
    assert "Nothing is overdue in" in message.body
    assert "no team has gone quiet" in message.body


def test_a_digest_sent_later_in_the_week_names_the_weeks_monday(programme, core, mailoutbox):
    """Monday's run failed; Tuesday's sends it, for the week of Monday 8 June."""
    assert run(core_digest.core_team_digests_send, MONDAY + DAY, hour=7).sent == 1
    [message] = mailoutbox
    assert message.subject.endswith(f"{programme.name}: week of 8 June")


def test_one_programmes_failure_does_not_stop_the_others_digests(
        programme, core, monkeypatch, caplog, mailoutbox):
    other = ProgrammeFactory(name="Bowel Cancer Peer Review 2026")
    other_core = CoreTeamMembershipFactory(programme=other,
                                           role=CoreTeamMembership.Role.PROJECT_MANAGER).user
    build, failed = core_digest.digest_sections, []

    def fail_the_first(programme, now):
        if not failed:
            failed.append(programme)
            raise ValueError("unexpected")
        return build(programme, now)

    monkeypatch.setattr(core_digest, "digest_sections", fail_the_first)
    with caplog.at_level(logging.ERROR, logger="qips.digest"):
        tally = run(core_digest.core_team_digests_send, MONDAY, hour=7)
    assert (tally.sent, tally.failed) == (1, 1)
    [record] = caplog.records
    assert record.getMessage() == f"core team digest programme={failed[0].pk} failed; the " \
                                  "next run tries again"
    [message] = mailoutbox
    assert message.to == [(other_core if failed[0] == programme else core).email]
    monkeypatch.undo()
    assert run(core_digest.core_team_digests_send, MONDAY, hour=8).sent == 1
    assert {m.to[0] for m in mailoutbox} == {core.email, other_core.email}


def test_activity_by_the_core_team_does_not_make_a_team_active(programme, site, core, lead):
    with time_machine.travel(at(MONDAY - 60 * DAY), tick=False):
        Enrolment.objects.filter(site=site).update(status_changed_at=timezone.now())
    with time_machine.travel(at(MONDAY - 7 * DAY), tick=False):
        log_action(site, "site.updated", actor=core, summary="Changed", scopes=[site])
    [row] = core_digest.quiet_teams(programme, at(MONDAY))
    assert row.text == f"{site}: last heard from on Thursday 9 April 2026"


# --- at most once, whatever happens -----------------------------------------------------------


def test_the_ledger_row_is_written_before_the_email_goes(visit, monkeypatch, mailoutbox):
    """The order inside notify: the ledger row exists before the email is sent, so a run that
    looks while an email is going finds the row and does not send it again.

    The second run here is on the same database connection, inside the first run's open
    transaction, so it sees the first's uncommitted row. It does not show that a second
    scheduler on another connection waits on that row's lock and then sends nothing: that is
    the real race, tested on PostgreSQL by
    tests/test_notifications.py::test_two_schedulers_at_once_send_one_email (and
    test_two_schedulers_at_once_send_each_reminder_once below)."""
    send = notifications.send_templated_email
    overlapping = []

    def send_and_overlap(**kwargs):
        if not overlapping:
            overlapping.append(None)  # only the first send starts a second run
            overlapping[0] = reminders.visit_reminders_send()
        send(**kwargs)

    monkeypatch.setattr(notifications, "send_templated_email", send_and_overlap)
    tally = run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    # The second run sent to everyone but the person the first was sending to; the first
    # then found the rest in the ledger.
    assert (overlapping[0].sent, overlapping[0].already) == (5, 1)
    assert (tally.sent, tally.already) == (1, 5)
    assert len(mailoutbox) == 6
    assert len({m.to[0] for m in mailoutbox}) == 6


def test_a_failed_send_is_tried_again_by_the_next_run_and_others_still_go(
        visit, lead, monkeypatch, mailoutbox):
    send = notifications.send_templated_email

    def refuse_the_lead(**kwargs):
        if kwargs["to"] == [lead.email]:
            raise smtplib.SMTPServerDisconnected("gone")
        send(**kwargs)

    monkeypatch.setattr(notifications, "send_templated_email", refuse_the_lead)
    tally = run(reminders.visit_reminders_send, VISIT_DAY - 14 * DAY)
    assert (tally.sent, tally.failed) == (5, 1)
    monkeypatch.undo()
    tally = run(reminders.visit_reminders_send, VISIT_DAY - 13 * DAY)
    assert (tally.sent, tally.already) == (1, 5)
    # The 14-day notice, a day late, says how far away the visit is now.
    assert to(mailoutbox, lead).subject.startswith("Peer review visit in 13 days")


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_send_each_reminder_once(visit, mailoutbox):
    tallies = twice_at_once(lambda: reminders.visit_reminders_send(at(VISIT_DAY - 14 * DAY)))
    assert sum(t.sent for t in tallies) == 6
    assert len(mailoutbox) == 6


def test_the_overdue_tasks_leave_out_a_confirmed_visit_with_no_date(
        visit, programme, site, other_site, admin):
    dateless = Visit.objects.create(programme=programme, host=other_site, visitor=site,
                                    status=Visit.Status.CONFIRMED, date=None)
    LogisticsTask.objects.create(visit=dateless, kind="room", days_before=28, owner=admin)
    rows = reminders.overdue_tasks(programme, VISIT_DAY)
    assert [row.url for row in rows] == [f"{SITE}/visits/{visit.pk}/"] * 4  # its open tasks


def test_the_digest_lists_a_visit_nobody_marked_as_happened(visit, programme, core, mailoutbox):
    """Confirmed for 14 April and never marked as happened: no report reminder can go, so the
    core team hears of it in the digest instead."""
    assert visit.status == Visit.Status.CONFIRMED
    assert run(core_digest.core_team_digests_send, MONDAY, hour=7).sent >= 1
    body = to(mailoutbox, core).body
    assert "Visits whose day has passed, not yet marked as happened (1):\n\n" \
           f"- {visit}, on Tuesday 14 April 2026: {SITE}/visits/{visit.pk}/" in body
