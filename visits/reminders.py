"""Reminders about visits, each a service that beat runs (visits.tasks) and a test can call.

Every service is ``<thing>_reminders_send(now=None) -> Tally`` and sends through
``ilcop.notifications.notify``, whose ledger sends each (kind, object, recipient, due date) at
most once. So a service only decides who is due what, inside a window in which the reminder
still makes sense; running it again, or twice at once, sends nothing new.

==========================  ==========================  ====================  ===============
kind                        to                          keyed on (due date)   sent
==========================  ==========================  ====================  ===============
poll_closing (must send)    invitees who have not       the deadline's day    in the 2 days
                            answered                                          before it
visit_in_14_days            attendees, and owners of    the visit's date      14 to 3 days
                            open checklist tasks                              before
visit_in_2_days (must)      the same                    the visit's date      2 to 1 days
                                                                              before
observation_due             visiting team's attendees   the day after         days 1-14 after
                            without a submitted form                          the visit
report_awaiting_approval    the facilitator (without    each 7th day after    weekly from 7
                            one, the core team)         the visit             days after
==========================  ==========================  ====================  ===============

A moved visit has a new date, so its notices go again for the new date. Nothing is sent for
a cancelled visit, a closed programme, a site that has withdrawn, a person who can no longer
sign in, or one who has left the team they are listed for (and is not in the core team). The
overdue lists at the end are what the core team's Monday digest shows (qips.digest), so the
digest and the reminders agree on what "overdue" means.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from ilcop.models import Notification, User
from ilcop.notifications import SENT, Tally, absolute_url, notify_or_log, register_still_due
from programmes.models import CoreTeamMembership, Enrolment, Programme, SiteMembership

from .models import (
    AvailabilityPoll,
    LogisticsTask,
    ObservationResponse,
    PollInvitee,
    ReviewTeamMember,
    Visit,
    VisitAttendee,
)
from .selectors import undelivered_reports

# Non-responders are reminded once, when the deadline is this close.
POLL_CLOSING = datetime.timedelta(days=2)
# Observers are reminded from the day after the visit; after two weeks the core team's digest
# keeps the form on its list instead.
OBSERVATION_REMINDER_FOR = datetime.timedelta(days=14)
# A report is expected within a week of the visit, then its approver is reminded weekly.
REPORT_DUE_AFTER = datetime.timedelta(days=7)
REPORT_REMINDER_EVERY = datetime.timedelta(days=7)


@dataclass(frozen=True)
class Notice:
    """A notice before a visit: due ``days`` before it, and still worth sending (late, for a
    visit confirmed since) while the visit is more than ``until`` days away."""

    kind: str
    days: int
    until: int
    must_send: bool


VISIT_NOTICES = (
    Notice("visit_in_14_days", days=14, until=2, must_send=False),
    # Two days is too close to wait for someone's Monday digest (User.reminder_emails).
    Notice("visit_in_2_days", days=2, until=0, must_send=True),
)


@dataclass
class Overdue:
    """One line of the core team's digest: what is overdue, and where to deal with it."""

    text: str
    url: str


def link(view: str, *args) -> str:
    return absolute_url(reverse(view, args=args))


def day_text(day: datetime.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def live(visits: QuerySet[Visit], sites=("host", "visitor")) -> QuerySet[Visit]:
    """Visits of programmes still running whose ``sites`` are still taking part: both before
    a visit, and after it the one a reminder is for (a visitor withdrawing does not stop the
    host's report or plans)."""
    withdrawn = Enrolment.objects.filter(programme=OuterRef("programme"),
                                         status=Enrolment.Status.WITHDRAWN)
    visits = visits.exclude(programme__status=Programme.Status.CLOSED)
    for site in sites:
        visits = visits.exclude(Exists(withdrawn.filter(site=OuterRef(site))))
    return visits


def _visits(sites=("host", "visitor"), **filters) -> QuerySet[Visit]:
    return live(Visit.objects.filter(**filters), sites).select_related(
        "programme", "host__organisation", "visitor__organisation", "facilitator")


def active(people: Iterable[User | None]) -> list[User]:
    """Each person once, in order, leaving out anyone who can no longer sign in."""
    seen: dict[int, User] = {}
    for person in people:
        if person is not None and person.is_active and person.pk not in seen:
            seen[person.pk] = person
    return list(seen.values())


# --- An availability poll about to close ------------------------------------------------------


def poll_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind each invitee who has not answered, once, when the poll's deadline is close.

    Must send: a digest on Monday could arrive after the poll has closed."""
    # Imported here: visits.services pulls in the scheduler and charts, which AppConfig.ready
    # (importing this module) should not load into every process.
    from .models import Event
    from .services.polls import SUBJECT_RELATED, poll_subject, poll_token

    now = now or timezone.now()
    tally = Tally()
    closing = AvailabilityPoll.objects.filter(locked_at__isnull=True, deadline__gt=now,
                                              deadline__lte=now + POLL_CLOSING)
    if not closing.exists():  # the hourly run's usual answer, from the deadline index
        return tally
    # A visit still finding its date, or a draft event (of a programme still running).
    still_asking = (Q(poll__visit__in=live(Visit.objects.filter(status=Visit.Status.POLLING)))
                    | (Q(poll__event__status=Event.Status.DRAFT, poll__event__date__isnull=True)
                       & ~Q(poll__event__programme__status=Programme.Status.CLOSED)))
    invitees = PollInvitee.objects.filter(
        still_asking, poll__in=closing, responded_at__isnull=True, user__is_active=True,
    ).select_related("user", *SUBJECT_RELATED)
    for invitee in invitees:
        subject = poll_subject(invitee.poll)
        if not subject.still_eligible(invitee):
            continue  # has left the team or the programme: their link no longer works
        if invitee.last_reminded_at and invitee.last_reminded_at > now - POLL_CLOSING:
            # Reminded for this deadline already, by the code before the ledger (which has no
            # row for it); a deadline moved later than this window is a new reminder.
            tally.already += 1
            continue
        poll = invitee.poll
        outcome = notify_or_log(
            kind="poll_closing", obj=poll, recipient=invitee.user,
            due_on=timezone.localdate(poll.deadline), template="emails/poll_reminder",
            must_send=True, programme_name=subject.programme.name,
            context={"invitee": invitee, "visit": poll.visit, "event": poll.event, "poll": poll,
                     "link": absolute_url(
                         reverse("visits:poll_answer", args=[poll_token(invitee)]))},
            summary=(f"Say which dates you can make for {subject.title}" if poll.event_id
                     else f"Say which dates you can make for the visit: {subject.title}"),
            # The ledger keeps the subject's page, not the personal link: links that work
            # without signing in are never stored (docs/architecture.md).
            url=absolute_url(subject.page()),
        )
        if outcome == SENT:
            # Kept up to date for the admin and the poll's history.
            PollInvitee.objects.filter(pk=invitee.pk).update(last_reminded_at=now)
        tally.add(outcome)
    return tally


# --- A visit in 14 days and in 2 days ---------------------------------------------------------


def _still_on_the_visit(visit: Visit) -> dict[str, set[int]]:
    """Who may still be told about the visit, by team: the host's and the visitor's current
    members (for a review's visit, the review team), and the programme's core team (who
    facilitate and run the checklist). Attendance lists and task owners are not updated when
    someone leaves a team, so this is checked here.

    The key "any" is either site's team or the core team, for a checklist task's owner."""
    current = list(SiteMembership.objects.current().filter(
        site_id__in=[visit.host_id, visit.visitor_id]).values_list("site_id", "user_id"))
    core = set(CoreTeamMembership.objects.filter(programme_id=visit.programme_id)
               .values_list("user_id", flat=True))
    host = {user for site, user in current if site == visit.host_id} | core
    visiting = {user for site, user in current if site == visit.visitor_id} | core
    if visit.review_id is not None:
        # A review's visiting team is its review team (visits.models.review).
        visiting |= set(ReviewTeamMember.objects.filter(review_id=visit.review_id)
                        .values_list("reviewer__user_id", flat=True))
    return {VisitAttendee.Team.HOST: host, VisitAttendee.Team.VISITING: visiting,
            VisitAttendee.Team.FACILITATOR: core, "any": host | visiting}


def _open_tasks_by_owner(visit: Visit, today: datetime.date) -> dict[int, list[LogisticsTask]]:
    tasks: dict[int, list[LogisticsTask]] = {}
    for task in visit.tasks.filter(done_at__isnull=True, owner__isnull=False
                                   ).select_related("owner"):
        task.overdue = task.due < today
        tasks.setdefault(task.owner_id, []).append(task)
    return tasks


def visit_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Tell everyone going to a confirmed visit that it is coming, and each owner of a
    checklist task that is not done which of theirs are open: one email per person per
    notice, combining both for someone who is both."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    furthest = max(n.days for n in VISIT_NOTICES)
    for visit in _visits(status=Visit.Status.CONFIRMED, date__gt=today,
                         date__lte=today + datetime.timedelta(days=furthest)):
        days = (visit.date - today).days
        notice = next(n for n in VISIT_NOTICES if n.until < days <= n.days)
        on_visit = _still_on_the_visit(visit)
        attendees = {a.user_id: a for a in visit.attendees.select_related("user")
                     if a.user_id in on_visit[a.team]}
        tasks = {owner: mine for owner, mine in _open_tasks_by_owner(visit, today).items()
                 if owner in on_visit["any"]}
        people = active([a.user for a in attendees.values()]
                        + [mine[0].owner for mine in tasks.values()])
        when = "tomorrow" if days == 1 else f"in {days} days"
        for person in people:
            mine = tasks.get(person.pk, [])
            summary = f"Peer review visit on {day_text(visit.date)}: {visit}"
            if mine:
                summary += f" ({len(mine)} checklist task{'s' if len(mine) > 1 else ''} " \
                           "of yours to do)"
            tally.add(notify_or_log(
                kind=notice.kind, obj=visit, recipient=person, due_on=visit.date,
                template="emails/reminder_visit", must_send=notice.must_send,
                programme_name=visit.programme.name, summary=summary,
                url=link("visits:visit_detail", visit.pk),
                context={"visit": visit, "when": when, "attendee": attendees.get(person.pk),
                         "tasks": mine, "digestible": not notice.must_send},
            ))
    return tally


def _visit_notice_still_due(notification: Notification) -> bool:
    """Held for a digest: still worth listing if the visit is still on for that date and the
    person, still on their team, is still going or still has a task open for it."""
    visit = Visit.objects.filter(pk=notification.object_id, status=Visit.Status.CONFIRMED,
                                 date=notification.due_on, date__gte=timezone.localdate()
                                 ).first()
    if visit is None:
        return False
    on_visit = _still_on_the_visit(visit)
    person = notification.recipient_id
    return any(person in on_visit[team] for team in visit.attendees.filter(
        user_id=person).values_list("team", flat=True)) or (
        person in on_visit["any"]
        and visit.tasks.filter(owner_id=person, done_at__isnull=True).exists())


# --- The observation form, after the visit ----------------------------------------------------

OBSERVING = (Visit.Status.CONFIRMED, Visit.Status.HAPPENED)


def observers_outstanding(visit: Visit) -> list[User]:
    """The visiting team's attendees, still on that team and not marked absent, who have not
    submitted their observation form (visits.services.observation.is_observer)."""
    submitted = ObservationResponse.objects.filter(visit=visit, submitted_at__isnull=False)
    on_team = SiteMembership.objects.current().filter(site_id=visit.visitor_id)
    return [a.user for a in visit.attendees.filter(
        team=VisitAttendee.Team.VISITING, user__is_active=True,
        user__in=on_team.values("user"),
    ).exclude(present=False).exclude(user__in=submitted.values("observer"))
        .select_related("user").order_by("user__full_name", "pk")]


def observation_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind each observer who has not submitted their form, once, from the day after the
    visit. A visit whose report has been sent takes no more observations."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    for visit in _visits(("visitor",), status__in=OBSERVING, date__lt=today,
                         date__gte=today - OBSERVATION_REMINDER_FOR):
        drafts = set(ObservationResponse.objects.filter(visit=visit).values_list(
            "observer_id", flat=True))
        for person in observers_outstanding(visit):
            tally.add(notify_or_log(
                kind="observation_due", obj=visit, recipient=person,
                due_on=visit.date + datetime.timedelta(days=1),
                template="emails/reminder_observation", programme_name=visit.programme.name,
                summary=f"Submit your observations of the {visit.host.organisation.name} MDT "
                        f"meeting ({day_text(visit.date)})",
                url=link("visits:observation_form", visit.pk),
                context={"visit": visit, "has_draft": person.pk in drafts},
            ))
    return tally


def _observation_still_due(notification: Notification) -> bool:
    return Visit.objects.filter(pk=notification.object_id, status__in=OBSERVING).exists() \
        and not ObservationResponse.objects.filter(
            visit_id=notification.object_id, observer_id=notification.recipient_id,
            submitted_at__isnull=False).exists()


# --- The visit report, awaiting approval ------------------------------------------------------


def report_due_on(visit: Visit, today: datetime.date) -> datetime.date | None:
    """The latest weekly reminder date that has come (7, 14, 21... days after the visit), so
    each week's reminder has its own key; None before the first."""
    first = visit.date + REPORT_DUE_AFTER
    if today < first:
        return None
    return first + (today - first) // REPORT_REMINDER_EVERY * REPORT_REMINDER_EVERY


def report_approvers(visit: Visit) -> list[User]:
    """The visit's facilitator; without one (or if they have left), the core team."""
    if visit.facilitator is not None and visit.facilitator.is_active:
        return [visit.facilitator]
    return active(m.user for m in visit.programme.core_team.select_related("user"))


def report_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind the report's approver every week from a week after the visit until the report
    is approved and sent (the visit moves from "Happened" to "Report sent")."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    for visit in _visits(("host",), status=Visit.Status.HAPPENED,
                         date__lte=today - REPORT_DUE_AFTER):
        for person in report_approvers(visit):
            tally.add(notify_or_log(
                kind="report_awaiting_approval", obj=visit, recipient=person,
                due_on=report_due_on(visit, today), template="emails/reminder_report",
                programme_name=visit.programme.name,
                summary=f"Approve the report of the visit on {day_text(visit.date)}: {visit}",
                url=link("visits:visit_report", visit.pk),
                context={"visit": visit, "days": (today - visit.date).days,
                         "is_facilitator": person.pk == visit.facilitator_id},
            ))
    return tally


def _report_still_due(notification: Notification) -> bool:
    return Visit.objects.filter(pk=notification.object_id, status=Visit.Status.HAPPENED
                                ).exists()


def register_digest_checks() -> None:
    """Called from VisitsConfig.ready, so the web process, the worker and the tests all know
    how to drop a held reminder that no longer applies from someone's Monday digest."""
    for notice in VISIT_NOTICES:
        register_still_due(notice.kind, _visit_notice_still_due)
    register_still_due("observation_due", _observation_still_due)
    register_still_due("report_awaiting_approval", _report_still_due)


# --- What is overdue, for the core team's digest ----------------------------------------------


def overdue_tasks(programme: Programme, today: datetime.date) -> list[Overdue]:
    tasks = LogisticsTask.objects.filter(
        # A task's due date counts back from the visit's date: without one, nothing is due.
        visit__in=live(programme.visits.filter(status=Visit.Status.CONFIRMED,
                                               date__isnull=False)),
        done_at__isnull=True,
    ).select_related("visit__host__organisation", "visit__visitor__organisation", "owner")
    late = sorted((t for t in tasks if t.due < today), key=lambda t: (t.due, t.pk))
    return [Overdue(f"{task} for {task.visit} on {day_text(task.visit.date)}, due "
                    f"{day_text(task.due)} ({task.owner or 'nobody'}'s task)",
                    link("visits:visit_detail", task.visit_id)) for task in late]


def observations_overdue(programme: Programme, today: datetime.date) -> list[Overdue]:
    rows = []
    for visit in _visits(("visitor",), programme=programme, status__in=OBSERVING,
                         date__lt=today):
        rows += [Overdue(f"{person} ({visit.visitor.organisation.name}), for the visit on "
                         f"{day_text(visit.date)}: {visit}",
                         link("visits:observations", visit.pk))
                 for person in observers_outstanding(visit)]
    return rows


def reports_overdue(programme: Programme, today: datetime.date) -> list[Overdue]:
    return [Overdue(f"{visit}, visited on {day_text(visit.date)} (facilitator: "
                    f"{visit.facilitator or 'none'})", link("visits:visit_report", visit.pk))
            for visit in _visits(("host",), programme=programme, status=Visit.Status.HAPPENED,
                                 date__lte=today - REPORT_DUE_AFTER)]


def reports_undelivered(programme: Programme, today: datetime.date) -> list[Overdue]:
    """Approved reports that failed, or are stuck, and have not reached everyone: the core
    team's digest is where someone notices a report page they were not looking at."""
    return [Overdue(f"{report.visit}: version {report.version} of the report, approved on "
                    f"{day_text(timezone.localdate(report.approved_at))}, "
                    f"{'failed' if report.is_failed else 'not finished'}",
                    link("visits:visit_report", report.visit_id))
            for report in undelivered_reports(programme)]


def visits_not_marked_happened(programme: Programme, today: datetime.date) -> list[Overdue]:
    """Confirmed visits whose day has passed but nobody has marked as happened: until they
    are, no report reminder goes and the host's plans are not yet due."""
    return [Overdue(f"{visit}, on {day_text(visit.date)}", link("visits:visit_detail", visit.pk))
            for visit in _visits(programme=programme, status=Visit.Status.CONFIRMED,
                                 date__lt=today).order_by("date", "pk")]


# --- A national workshop or online conference -------------------------------------------------
#
# event_in_a_week   invitees who have not replied ("please    the event's date   7 to 2 days
#                   reply") and those coming                                     before
# event_tomorrow    those coming, with the joining link and   the event's date   the day before
#   (must send)     the test-your-connection note

EVENT_NOTICES = (
    Notice("event_in_a_week", days=7, until=1, must_send=False),
    # The joining link and the connection test are no use in next Monday's digest.
    Notice("event_tomorrow", days=1, until=0, must_send=True),
)


def _event_invitees(event, notice: Notice):
    from .models import EventInvitation

    replies = [EventInvitation.Response.ATTENDING]
    if notice.kind == "event_in_a_week":
        replies.append(EventInvitation.Response.PENDING)
    return event.invitations.filter(response__in=replies, user__is_active=True).select_related(
        "user")


def event_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind the invitees of an announced event a week before (those who have not replied,
    and those coming) and the day before (those coming)."""
    from .models import Event
    from .services.events import email_context

    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    furthest = max(n.days for n in EVENT_NOTICES)
    events = Event.objects.filter(
        status=Event.Status.ANNOUNCED, date__gt=today,
        date__lte=today + datetime.timedelta(days=furthest),
    ).exclude(programme__status=Programme.Status.CLOSED).select_related("programme")
    for event in events:
        days = (event.date - today).days
        notice = next(n for n in EVENT_NOTICES if n.until < days <= n.days)
        for invitation in _event_invitees(event, notice):
            pending = invitation.response == invitation.Response.PENDING
            tally.add(notify_or_log(
                kind=notice.kind, obj=event, recipient=invitation.user, due_on=event.date,
                template="emails/event_reminder", must_send=notice.must_send,
                programme_name=event.programme.name,
                summary=(f"Reply to the invitation: {event.title}, {day_text(event.date)}"
                         if pending else f"{event.title}, {day_text(event.date)}"),
                url=link("visits:event_detail", event.pk),
                context={**email_context(event, invitation), "pending": pending,
                         "when": "tomorrow" if days == 1 else f"in {days} days",
                         "digestible": not notice.must_send},
            ))
    return tally


def _event_notice_still_due(notification: Notification) -> bool:
    """Held for a digest: the event is still on for that date and the person still invited
    and not declining."""
    from .models import Event, EventInvitation

    return EventInvitation.objects.filter(
        event_id=notification.object_id, event__status=Event.Status.ANNOUNCED,
        event__date=notification.due_on, event__date__gte=timezone.localdate(),
        user_id=notification.recipient_id,
    ).exclude(response=EventInvitation.Response.NOT_ATTENDING).exists()


def register_event_digest_checks() -> None:
    """Called from VisitsConfig.ready, like register_digest_checks."""
    register_still_due("event_in_a_week", _event_notice_still_due)
