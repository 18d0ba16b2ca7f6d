"""Reminders about improvement plans: writing them after hosting, and the monthly update.

Each service is ``<thing>_reminders_send(now=None) -> Tally``, run by a beat job (qips.tasks)
and sent through ilcop.notifications.notify, whose ledger sends each (kind, object,
recipient, due date) at most once; see visits.reminders for the pattern.

=======================  ================================  ================  ==================
kind                     to                                keyed on          sent
=======================  ================================  ================  ==================
qip_due_soon             the host's clinical leads and     the plans' due    the week before it
                         the visit's focus-area owners     date
qip_overdue              the same                          the same          up to 4 weeks after
progress_update_due      who sends the plan's updates      the 1st of the    the 1st to the 14th
                         (else the site's clinical leads)  month
progress_update_overdue  them and the clinical leads       the same          the 15th onwards
action_due_soon          an action plan's owner (else the  the action's due  the week before it
                         site's clinical leads)            date
action_overdue           the same                          the same          up to 4 weeks after
action_plan_review_due   the programme's core team         the plan's next   the 30 days before
                                                           review date       it (must send)
=======================  ================================  ================  ==================

Plans are due ``Programme.qip_due_weeks`` after hosting a visit: ILCOP asked for plans once
a team had hosted but set no deadline, so the number is each programme's choice. None of
these are must-send, but for ``action_plan_review_due``: anyone may have them in their Monday
digest instead. The core team must hear of a review date in time to arrange it.

An action plan (a one-way review's plan, qips.services.action_plans) is reminded about only
once approved: until then its actions' dates are still being agreed. Its actions are
reminded about one by one, because each has its own due date.
"""

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ilcop.models import Notification, User
from ilcop.notifications import Tally, notify_or_log, register_still_due
from programmes.models import Enrolment, Programme, SiteMembership
from visits.models import FocusArea, Visit
from visits.reminders import Overdue, active, day_text, link, live

from .models import Milestone, ProgressUpdate, QualityImprovementPlan

Status = QualityImprovementPlan.Status

# "Remind a week before and again when overdue"; the overdue reminder is not sent for plans
# long overdue (the core team's digest lists those), so that switching reminders on for a
# programme already under way does not send a flood of stale ones.
QIP_DUE_SOON = datetime.timedelta(days=7)
QIP_OVERDUE_FOR = datetime.timedelta(days=28)
HOSTED = (Visit.Status.HAPPENED, Visit.Status.REPORT_SENT)

# A month's update is due on the 1st of the next month and overdue this long after.
PROGRESS_OVERDUE_AFTER = datetime.timedelta(days=14)
# The month a plan is approved in needs an update only if there were this many days of it
# left: a plan approved on the 25th starts with the next month's.
FIRST_MONTH_MIN_DAYS = datetime.timedelta(days=14)
REPORTING = (Status.APPROVED, Status.IN_PROGRESS)


def _clinical_leads(site_id: int) -> list[User]:
    return [m.user for m in SiteMembership.objects.current().filter(
        site_id=site_id, role=SiteMembership.Role.CLINICAL_LEAD).select_related("user")]


# --- Plans due after hosting a visit ----------------------------------------------------------


def qip_due_on(visit: Visit) -> datetime.date:
    return visit.date + datetime.timedelta(weeks=visit.programme.qip_due_weeks)


def plan_submitted(visit: Visit) -> bool:
    """Whether the host has sent a plan from this visit for review (anything past a draft).

    A plan is from the visit when it grew from one of the visit's focus areas, or when the
    team started it from scratch (no focus area) since the visit."""
    return QualityImprovementPlan.objects.filter(
        Q(focus_area__visit=visit)
        | Q(focus_area__isnull=True, created_at__date__gte=visit.date),
        programme_id=visit.programme_id, site_id=visit.host_id,
    ).exclude(status=Status.DRAFT).exists()


def plan_writers(visit: Visit) -> list[User]:
    """The host's clinical leads and whoever owns a focus area agreed at the visit, if they
    are still on the host's team."""
    on_team = SiteMembership.objects.current().filter(site_id=visit.host_id).values("user")
    owners = [area.owner for area in FocusArea.objects.filter(
        visit=visit, owner__in=on_team).select_related("owner")]
    return active(_clinical_leads(visit.host_id) + owners)


def _hosted_visits(today: datetime.date) -> QuerySet[Visit]:
    earliest = today - datetime.timedelta(weeks=52) - QIP_OVERDUE_FOR  # qip_due_weeks <= 52
    return live(Visit.objects.filter(status__in=HOSTED, date__gte=earliest), ("host",)
                ).select_related(
        "programme", "host__organisation", "visitor__organisation")


def qip_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind the host a week before its plans are due and again once they are overdue,
    unless a plan from the visit has been submitted."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    for visit in _hosted_visits(today):
        due = qip_due_on(visit)
        if due - QIP_DUE_SOON <= today <= due:
            kind, overdue = "qip_due_soon", False
        elif due < today <= due + QIP_OVERDUE_FOR:
            kind, overdue = "qip_overdue", True
        else:
            continue
        if plan_submitted(visit):
            continue
        areas = list(visit.focus_areas.select_related("owner"))
        for person in plan_writers(visit):
            tally.add(notify_or_log(
                kind=kind, obj=visit, recipient=person, due_on=due,
                template="emails/reminder_qip", programme_name=visit.programme.name,
                summary=f"Improvement plans from the visit on {day_text(visit.date)} "
                        f"{'were' if overdue else 'are'} due on {day_text(due)}",
                url=link("qips:site_plans", visit.host_id),
                context={"visit": visit, "due": due, "overdue": overdue, "focus_areas": areas,
                         "days": (due - today).days, "weeks": visit.programme.qip_due_weeks},
            ))
    return tally


def _qip_still_due(notification: Notification) -> bool:
    if notification.kind == "qip_due_soon" and timezone.localdate() > notification.due_on:
        # Past the due date "plans are due on ..." is wrong, and qip_overdue says it now.
        return False
    visit = Visit.objects.select_related("programme").filter(
        pk=notification.object_id, status__in=HOSTED).first()
    return visit is not None and qip_due_on(visit) == notification.due_on \
        and not plan_submitted(visit)


# --- The monthly progress update --------------------------------------------------------------


def month_before(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def plans_owing_update(due_on: datetime.date) -> QuerySet[QualityImprovementPlan]:
    """Plans being carried out that have no update for the month before ``due_on`` (the 1st
    of a month), in programmes still running and sites still taking part."""
    withdrawn = Enrolment.objects.filter(programme=OuterRef("programme"),
                                         site=OuterRef("site"),
                                         status=Enrolment.Status.WITHDRAWN)
    return QualityImprovementPlan.objects.filter(
        status__in=REPORTING, approved_at__date__lte=due_on - FIRST_MONTH_MIN_DAYS,
    ).exclude(programme__status=Programme.Status.CLOSED).exclude(Exists(withdrawn)).exclude(
        progress_updates__month=month_before(due_on),
    ).select_related("programme", "site__organisation", "reporting_owner")


def update_senders(plan: QualityImprovementPlan, *, overdue: bool) -> list[User]:
    """Who sends the plan's updates (its reporting owner, while on the site's team), else
    the site's clinical leads; once overdue, the clinical leads as well."""
    owner = plan.reporting_owner
    if owner is not None and not SiteMembership.objects.current().filter(
            site_id=plan.site_id, user=owner).exists():
        owner = None
    leads = _clinical_leads(plan.site_id)
    return active([owner, *leads] if overdue or owner is None else [owner])


def latest_update_due(today: datetime.date) -> tuple[datetime.date, bool]:
    """The 1st of this month (when last month's update fell due), and whether it is overdue."""
    due_on = today.replace(day=1)
    return due_on, today >= due_on + PROGRESS_OVERDUE_AFTER


def progress_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """On the 1st, ask for last month's update; on the 15th, if it has not come, again."""
    today = timezone.localdate(now or timezone.now())
    due_on, overdue = latest_update_due(today)
    month = month_before(due_on)
    tally = Tally()
    for plan in plans_owing_update(due_on):
        for person in update_senders(plan, overdue=overdue):
            tally.add(notify_or_log(
                kind="progress_update_overdue" if overdue else "progress_update_due",
                obj=plan, recipient=person, due_on=due_on,
                template="emails/reminder_progress", programme_name=plan.programme.name,
                summary=f"{'Overdue: the' if overdue else 'The'} progress update for "
                        f"{month:%B %Y} on “{plan.title}”",
                url=link("qips:progress_update", plan.pk),
                context={"plan": plan, "month": month, "overdue": overdue,
                         "overdue_on": due_on + PROGRESS_OVERDUE_AFTER},
            ))
    return tally


def _progress_still_due(notification: Notification) -> bool:
    if notification.kind == "progress_update_due" and Notification.objects.filter(
            kind="progress_update_overdue", content_type_id=notification.content_type_id,
            object_id=notification.object_id, recipient_id=notification.recipient_id,
            due_on=notification.due_on).exists():
        # The chaser for the same month has gone (or is held) to the same person: listing the
        # first request beside it says the same thing twice.
        return False
    return QualityImprovementPlan.objects.filter(
        pk=notification.object_id, status__in=REPORTING).exists() \
        and not ProgressUpdate.objects.filter(
            plan_id=notification.object_id, month=month_before(notification.due_on)).exists()


# --- A review's action plan: its actions, and its next review ---------------------------------

ACTION_DUE_SOON = datetime.timedelta(days=7)
ACTION_OVERDUE_FOR = datetime.timedelta(days=28)
NEXT_REVIEW_NOTICE = datetime.timedelta(days=30)
FOLLOWED_UP = (Status.APPROVED, Status.IN_PROGRESS, Status.ON_HOLD)


def _live_action_plans() -> QuerySet[QualityImprovementPlan]:
    withdrawn = Enrolment.objects.filter(programme=OuterRef("programme"),
                                         site=OuterRef("site"),
                                         status=Enrolment.Status.WITHDRAWN)
    return QualityImprovementPlan.objects.filter(review__isnull=False).exclude(
        programme__status=Programme.Status.CLOSED).exclude(Exists(withdrawn))


def open_actions(today: datetime.date) -> QuerySet[Milestone]:
    """Actions not done, of approved action plans, due within the week or overdue by up to
    four weeks: the only ones a reminder is sent about."""
    return Milestone.objects.filter(
        plan__in=_live_action_plans().filter(status__in=REPORTING), done_on__isnull=True,
        due_on__gte=today - ACTION_OVERDUE_FOR, due_on__lte=today + ACTION_DUE_SOON,
    ).select_related("plan__programme", "plan__site__organisation", "plan__reporting_owner",
                     "finding__standard").order_by("due_on", "pk")


def action_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Remind an action plan's owner of each action a week before it is due, and once it is
    overdue."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    for action in open_actions(today):
        overdue = action.due_on < today
        plan = action.plan
        for person in update_senders(plan, overdue=False):
            tally.add(notify_or_log(
                kind="action_overdue" if overdue else "action_due_soon", obj=action,
                recipient=person, due_on=action.due_on,
                template="emails/reminder_action", programme_name=plan.programme.name,
                summary=f"{'Overdue: the' if overdue else 'The'} action “{action.title}” on "
                        f"“{plan.title}” {'was' if overdue else 'is'} due on "
                        f"{day_text(action.due_on)}",
                url=link("qips:plan_detail", plan.pk) + "#actions",
                context={"plan": plan, "action": action, "overdue": overdue,
                         "days": (action.due_on - today).days,
                         "edit_url": link("qips:part_edit", plan.pk, "milestones", action.pk)},
            ))
    return tally


def _action_still_due(notification: Notification) -> bool:
    if notification.kind == "action_due_soon" and timezone.localdate() > notification.due_on:
        return False  # action_overdue says it now
    return Milestone.objects.filter(
        pk=notification.object_id, due_on=notification.due_on, done_on__isnull=True,
        plan__status__in=REPORTING).exists()


def plans_due_review(today: datetime.date) -> QuerySet[QualityImprovementPlan]:
    return _live_action_plans().filter(
        status__in=FOLLOWED_UP, next_review_on__gte=today,
        next_review_on__lte=today + NEXT_REVIEW_NOTICE,
    ).select_related("programme", "site__organisation", "reporting_owner")


def action_plan_review_reminders_send(now: datetime.datetime | None = None) -> Tally:
    """Tell the core team, 30 days ahead, that an action plan's next review is coming, so
    there is time to arrange it with the service."""
    today = timezone.localdate(now or timezone.now())
    tally = Tally()
    for plan in plans_due_review(today):
        core_team = active(m.user for m in plan.programme.core_team.select_related("user"))
        for person in core_team:
            tally.add(notify_or_log(
                kind="action_plan_review_due", obj=plan, recipient=person,
                due_on=plan.next_review_on, must_send=True,
                template="emails/reminder_action_plan_review",
                programme_name=plan.programme.name,
                summary=f"{plan.site}: the action plan “{plan.title}” is due for review on "
                        f"{day_text(plan.next_review_on)}",
                url=link("qips:plan_detail", plan.pk),
                context={"plan": plan, "days": (plan.next_review_on - today).days,
                         "list_url": link("qips:action_plans", plan.programme_id)},
            ))
    return tally


def register_digest_checks() -> None:
    """Called from QipsConfig.ready: see visits.reminders.register_digest_checks."""
    for kind in ("qip_due_soon", "qip_overdue"):
        register_still_due(kind, _qip_still_due)
    for kind in ("progress_update_due", "progress_update_overdue"):
        register_still_due(kind, _progress_still_due)
    for kind in ("action_due_soon", "action_overdue"):
        register_still_due(kind, _action_still_due)


# --- What is overdue, for the core team's digest ----------------------------------------------


def plans_overdue(programme: Programme, today: datetime.date) -> list[Overdue]:
    rows = []
    for visit in live(programme.visits.filter(status__in=HOSTED), ("host",)).select_related(
            "programme", "host__organisation", "visitor__organisation").order_by("date"):
        due = qip_due_on(visit)
        if due < today and not plan_submitted(visit):
            rows.append(Overdue(f"{visit.host} hosted on {day_text(visit.date)}; plans were "
                                f"due on {day_text(due)}", link("qips:site_plans",
                                                                 visit.host_id)))
    return rows


def updates_overdue(programme: Programme, today: datetime.date) -> list[Overdue]:
    due_on, overdue = latest_update_due(today)
    if not overdue:
        due_on = month_before(due_on)  # last month's is the latest that is overdue yet
    return [Overdue(f"{plan.site}: “{plan.title}”, no update for {month_before(due_on):%B %Y}",
                    link("qips:plan_detail", plan.pk))
            for plan in plans_owing_update(due_on).filter(programme=programme).order_by(
                "site__organisation__name", "title")]
