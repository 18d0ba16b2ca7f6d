"""Creating visits for pairs, agreeing a date, confirming, changing and cancelling them."""

import datetime
import itertools

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ilcop.celery import queue_after_commit
from ilcop.models import User
from ilcop.services import model_update
from programmes.models import CoreTeamMembership, Pair, Pairing, Programme, Site

from ..calendar import REVIEW_VISITING_ROLES, candidate_dates, missing_roles
from ..models import AvailabilityPoll, LogisticsTask, PollAnswer, Visit, VisitAttendee
from .common import log_visit, visit_people

# When each logistics task falls due, in days before the visit (ILCOP: the data pack is
# normally ready two weeks before).
TASK_DAYS_BEFORE = {
    LogisticsTask.Kind.ROOM: 28,
    LogisticsTask.Kind.TRAVEL: 21,
    LogisticsTask.Kind.DATA_PACK: 14,
    LogisticsTask.Kind.ATTENDEES: 10,
    LogisticsTask.Kind.AGENDA: 7,
    LogisticsTask.Kind.OBSERVATION_FORMS: 3,
}
DETAILS = ("date", "start_time", "end_time", "venue", "directions")


def _facilitators(programme: Programme) -> list[User]:
    return [m.user for m in programme.core_team.filter(
        role=CoreTeamMembership.Role.QI_FACILITATOR).select_related("user").order_by("pk")]


def visit_create(*, programme: Programme, host: Site, user: User | None,
                 visitor: Site | None = None, review=None, pair: Pair | None = None,
                 after: Visit | None = None, facilitator: User | None = None,
                 virtual: bool = False, summary: str = "Visit proposed") -> Visit:
    """One proposed visit, logged: a reciprocal pair's (with a visiting site) or a one-way
    review's (visitor None, review set; visits.services.review_visits). Callers hold the
    transaction."""
    visit = Visit.objects.create(programme=programme, pair=pair, host=host, visitor=visitor,
                                 review=review, after=after, facilitator=facilitator,
                                 virtual=virtual)
    log_visit(visit, "visit.created", summary, user=user)
    return visit


@transaction.atomic
def visits_create_for_pairing(*, programme: Programme, user: User) -> list[Visit]:
    """Two visits for each confirmed pair that has none yet: each site hosts the other."""
    # Locked, so a double-click cannot make each pair's visits twice.
    pairing = programme.pairings.select_for_update().filter(
        status=Pairing.Status.CONFIRMED).first()
    if pairing is None:
        raise ValidationError("Confirm the pairing before creating visits.")
    facilitators = itertools.cycle(_facilitators(programme) or [None])
    created = []
    for pair in pairing.pairs.select_related("site_a__organisation", "site_b__organisation"):
        live = list(pair.visits.exclude(status=Visit.Status.CANCELLED))
        if len({(v.host_id, v.visitor_id) for v in live}) >= 2 or len(live) >= 3:
            continue  # both directions arranged, or a three-site rotation
        facilitator = next((v.facilitator for v in live if v.facilitator), None) or next(
            facilitators)
        # Each direction without a live visit gets one: a cancelled visit is re-arranged.
        previous = next((v for v in live if v.host_id == pair.site_a_id), None)
        for host, visitor in ((pair.site_a, pair.site_b), (pair.site_b, pair.site_a)):
            if any(v.host_id == host.pk and v.visitor_id == visitor.pk for v in live):
                continue
            visit = visit_create(programme=programme, pair=pair, host=host, visitor=visitor,
                                 facilitator=facilitator, user=user,
                                 after=previous if host == pair.site_b else None)
            created.append(visit)
            if host == pair.site_a:
                previous = visit
    return created


@transaction.atomic
def visits_create_rotation(*, pair: Pair, site: Site, user: User) -> list[Visit]:
    """Turn a pair and a left-over site into a three-site rotation: A→B→C→A.

    Each site visits the next and hosts the one before, so three visits replace the pair's
    two (which must not have been confirmed yet)."""
    existing = pair.visits.exclude(status=Visit.Status.CANCELLED)
    if existing.exclude(status=Visit.Status.PROPOSED).exists():
        raise ValidationError("This pair's visits are already being arranged; cancel them "
                              "first.")
    if site.pk in (pair.site_a_id, pair.site_b_id):
        raise ValidationError("Choose a site that is not already in the pair.")
    pairing = Pairing.objects.select_for_update().get(pk=pair.pairing_id)
    if str(site.pk) not in pairing.unpaired:
        raise ValidationError("That site is not waiting for a partner.")
    programme = pairing.programme
    for visit in existing:
        log_visit(visit, "visit.replaced", "Replaced by a three-site rotation", user=user)
    existing.delete()
    pairing.unpaired.pop(str(site.pk))
    pairing.save(update_fields=["unpaired"])
    a, b, c = pair.site_a, pair.site_b, site
    facilitator = next(iter(_facilitators(programme)), None)
    visits, previous = [], None
    for visitor, host in ((a, b), (b, c), (c, a)):
        previous = visit_create(programme=programme, pair=pair, host=host, visitor=visitor,
                                after=previous, facilitator=facilitator, user=user,
                                summary="Visit proposed (three-site rotation)")
        visits.append(previous)
    return visits


@transaction.atomic
def visit_update(*, visit: Visit, user: User, **fields) -> Visit:
    """Change a visit's facilitator or details. A confirmed visit's attendees get an updated
    invitation (same UID, higher SEQUENCE) when the date, time or place changes."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not visit.is_open:
        raise ValidationError("This visit has happened or been cancelled; it cannot change.")
    previous_facilitator = visit.facilitator
    changed = model_update(instance=visit, data=fields)
    if not changed:
        return visit
    log_visit(visit, "visit.updated", "Changed " + ", ".join(
        str(Visit._meta.get_field(n).verbose_name) for n in changed), user=user,
        data={"fields": changed})
    if "facilitator" in changed:
        _hand_over_facilitation(visit, previous_facilitator)
    if visit.status == Visit.Status.CONFIRMED and set(changed) & set(DETAILS):
        visit.sequence += 1
        visit.save(update_fields=["sequence"])
        _send_invitations(visit, "update")
    return visit


def _hand_over_facilitation(visit: Visit, previous: User | None) -> None:
    """A new facilitator takes the old one's place on the poll and the attendance list; on a
    confirmed visit the old one gets a cancellation and the new one the invitation."""
    from .polls import poll_token_for_new_invitee

    if previous is not None:
        removed = visit.attendees.filter(user=previous,
                                         team=VisitAttendee.Team.FACILITATOR).delete()[0]
        if removed and visit.status == Visit.Status.CONFIRMED:
            _send_invitations(visit, "removed", user_id=previous.pk)
        if hasattr(visit, "poll"):
            visit.poll.invitees.filter(user=previous,
                                       team=VisitAttendee.Team.FACILITATOR).delete()
    new = visit.facilitator
    if new is None:
        return
    if hasattr(visit, "poll") and visit.poll.is_open:
        poll_token_for_new_invitee(visit.poll, new)
    if visit.status in (Visit.Status.DATE_AGREED, Visit.Status.CONFIRMED):
        _attendee, created = VisitAttendee.objects.get_or_create(
            visit=visit, user=new,
            defaults={"team": VisitAttendee.Team.FACILITATOR, "role": "facilitator"})
        if created and visit.status == Visit.Status.CONFIRMED:
            _send_invitations(visit, "request", user_id=new.pk)


def _send_invitations(visit: Visit, kind: str, user_id: int | None = None) -> None:
    """Queue the calendar emails: to every attendee, or to one person. The sequence goes with
    them, so a retry that runs after a later change sends nothing stale."""
    from ..tasks import send_visit_invitation, send_visit_invitations

    if user_id is None:
        queue_after_commit(send_visit_invitations, visit.pk, kind, visit.sequence)
    else:
        queue_after_commit(send_visit_invitation, visit.pk, user_id, kind, visit.sequence)


def _attendees_from_poll(visit: Visit, date: datetime.date) -> list[tuple[User, str, str]]:
    """Those who said they could come that day and are still on a team (see polls)."""
    current = {person.pk for person, _team, _role in visit_people(visit)}
    available = PollAnswer.objects.filter(
        invitee__poll__visit=visit, poll_date__date=date,
        answer__in=[PollAnswer.Answer.YES, PollAnswer.Answer.IF_NEED_BE],
    ).select_related("invitee__user")
    return [(a.invitee.user, a.invitee.team, a.invitee.role) for a in available
            if a.invitee.user_id in current]


def _check_date(visit: Visit, date: datetime.date) -> None:
    """A visit's date is one of its poll's dates, or (without a poll) a candidate date: the
    host's MDT day, not a bank holiday; and a return visit comes after the first."""
    if hasattr(visit, "poll"):
        if not visit.poll.dates.filter(date=date).exists():
            raise ValidationError("Choose one of the dates the poll offered.")
    elif candidate_dates(visit.host.mdt_day, date, date) != [date]:
        raise ValidationError(f"The visit must be on the host's MDT day "
                              f"({visit.host.get_mdt_day_display()}), and not a bank holiday.")
    first = visit.after
    if first and first.status != Visit.Status.CANCELLED and first.date and date <= first.date:
        raise ValidationError(f"The return visit must come after the first one "
                              f"({first.date.day} {first.date:%B %Y}).")


@transaction.atomic
def visit_choose_date(*, visit: Visit, date: datetime.date, user: User) -> Visit:
    """Agree the date. Those who said they could come that day become the attendance list;
    without a poll, both teams' current members do."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not visit.is_open or visit.status == Visit.Status.CONFIRMED:
        raise ValidationError("Only a visit that is not yet confirmed can have its date chosen."
                              " To move a confirmed visit, change its details.")
    if date < timezone.localdate():
        raise ValidationError("Choose a date in the future.")
    _check_date(visit, date)
    people = (_attendees_from_poll(visit, date) if hasattr(visit, "poll")
              else visit_people(visit))
    visit.attendees.all().delete()
    VisitAttendee.objects.bulk_create(
        VisitAttendee(visit=visit, user=person, team=team, role=role)
        for person, team, role in people
    )
    if visit.facilitator and not any(p == visit.facilitator for p, _t, _r in people):
        VisitAttendee.objects.create(visit=visit, user=visit.facilitator,
                                     team=VisitAttendee.Team.FACILITATOR, role="facilitator")
    visit.date, visit.status = date, Visit.Status.DATE_AGREED
    visit.save(update_fields=["date", "status"])
    if hasattr(visit, "poll") and visit.poll.locked_at is None:
        visit.poll.locked_at = timezone.now()
        visit.poll.save(update_fields=["locked_at"])
    log_visit(visit, "visit.date_agreed", f"Date agreed: {date:%A} {date.day} {date:%B %Y}",
              user=user, data={"date": date.isoformat()})
    return visit


def visit_missing_roles(visit: Visit) -> list[str]:
    return missing_roles(visit.attendees.values_list("team", "role"),
                         visit.programme.minimum_roles, visiting=visiting_roles(visit))


def visiting_roles(visit: Visit) -> tuple[str, ...] | None:
    """What the visiting team must bring: the programme's minimum (None), or for a review's
    visit its lead reviewer."""
    return REVIEW_VISITING_ROLES if visit.review_id is not None else None


@transaction.atomic
def visit_confirm(*, visit: Visit, user: User, start_time: datetime.time,
                  end_time: datetime.time, venue: str, directions: str,
                  override_reason: str = "") -> Visit:
    """Confirm the visit and send every attendee a calendar invitation.

    Refused, naming the missing roles, when the attendance list lacks the programme's
    minimum, unless the core team records why it is going ahead anyway."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != Visit.Status.DATE_AGREED or visit.date is None:
        raise ValidationError("Agree a date before confirming the visit.")
    if end_time <= start_time:
        raise ValidationError({"end_time": "The visit must end after it starts"})
    missing = visit_missing_roles(visit)
    if missing and not override_reason.strip():
        raise ValidationError(
            "The visit cannot be confirmed without the minimum attendance. Missing: "
            + "; ".join(missing) + ". Add them, or give a reason to go ahead without them."
        )
    visit.start_time, visit.end_time = start_time, end_time
    visit.venue, visit.directions = venue.strip(), directions.strip()
    visit.quorum_override_reason = override_reason.strip() if missing else ""
    visit.status = Visit.Status.CONFIRMED
    visit.save(update_fields=["start_time", "end_time", "venue", "directions",
                              "quorum_override_reason", "status"])
    owner = (visit.programme.core_team.filter(role=CoreTeamMembership.Role.ADMINISTRATOR)
             .values_list("user", flat=True).first())
    for kind, days in TASK_DAYS_BEFORE.items():
        if kind == LogisticsTask.Kind.OBSERVATION_FORMS and visit.is_review:
            continue  # the observation form is a reciprocal visit's (views_observation)
        LogisticsTask.objects.get_or_create(visit=visit, kind=kind,
                                            defaults={"days_before": days, "owner_id": owner})
    summary = "Confirmed the visit"
    if visit.quorum_override_reason:
        summary += f" without {'; '.join(missing)}: {visit.quorum_override_reason}"
    log_visit(visit, "visit.confirmed", summary, user=user,
              data={"missing": missing, "override": visit.quorum_override_reason})
    _send_invitations(visit, "request")
    return visit


@transaction.atomic
def visit_cancel(*, visit: Visit, user: User, reason: str) -> Visit:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not visit.is_open:
        raise ValidationError("This visit has already happened or been cancelled.")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the visit is cancelled"})
    was_confirmed = visit.status == Visit.Status.CONFIRMED
    visit.status, visit.cancelled_reason = Visit.Status.CANCELLED, reason.strip()
    AvailabilityPoll.objects.filter(visit=visit, locked_at__isnull=True).update(
        locked_at=timezone.now())
    if was_confirmed:
        visit.sequence += 1
    visit.save(update_fields=["status", "cancelled_reason", "sequence"])
    log_visit(visit, "visit.cancelled", f"Cancelled: {visit.cancelled_reason}", user=user)
    if was_confirmed:
        _send_invitations(visit, "cancel")
    return visit


@transaction.atomic
def visit_mark_happened(*, visit: Visit, user: User) -> Visit:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != Visit.Status.CONFIRMED:
        raise ValidationError("Only a confirmed visit can be marked as happened.")
    if visit.date and visit.date > timezone.localdate():
        raise ValidationError("The visit's date has not come yet.")
    visit.status = Visit.Status.HAPPENED
    visit.save(update_fields=["status"])
    log_visit(visit, "visit.happened", "The visit happened", user=user)
    return visit


@transaction.atomic
def attendee_add(*, visit: Visit, person: User, team: str, role: str,
                 user: User) -> VisitAttendee:
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    attendee, created = VisitAttendee.objects.get_or_create(
        visit=visit, user=person, defaults={"team": team, "role": role})
    if created:
        log_visit(visit, "visit.attendee_added", f"Added {person} to the attendance list",
                  user=user)
        if visit.status == Visit.Status.CONFIRMED:
            _send_invitations(visit, "request", user_id=person.pk)
    return attendee


@transaction.atomic
def attendee_remove(*, attendee: VisitAttendee, user: User) -> None:
    visit = Visit.objects.select_for_update().get(pk=attendee.visit_id)
    log_visit(visit, "visit.attendee_removed",
              f"Removed {attendee.user} from the attendance list", user=user)
    if visit.status == Visit.Status.CONFIRMED:
        # They had the invitation: a cancellation takes it out of their calendar.
        _send_invitations(visit, "removed", user_id=attendee.user_id)
    attendee.delete()


@transaction.atomic
def task_complete(*, task: LogisticsTask, user: User, done: bool = True) -> LogisticsTask:
    task = LogisticsTask.objects.select_for_update().select_related("visit").get(pk=task.pk)
    if done == (task.done_at is not None):
        return task
    task.done_at, task.done_by = (timezone.now(), user) if done else (None, None)
    task.save(update_fields=["done_at", "done_by"])
    log_visit(task.visit, "task.done" if done else "task.reopened",
              f"{task.get_kind_display()}: {'done' if done else 'not done after all'}",
              user=user)
    return task


@transaction.atomic
def task_assign(*, task: LogisticsTask, owner: User | None, user: User) -> LogisticsTask:
    task.owner = owner
    task.save(update_fields=["owner"])
    log_visit(task.visit, "task.assigned",
              f"{task.get_kind_display()}: now {owner or 'nobody'}'s task", user=user)
    return task
