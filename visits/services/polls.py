"""Availability polls: candidate dates on the host's MDT day, answered from an emailed link.

The link carries a token signed with the secret key naming the invitee and a nonce, so it
works without signing in, only for that person and that poll, and expires with the poll.
"""

import datetime
import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ilcop.celery import queue_after_commit
from ilcop.models import User
from programmes.models import SiteMembership

from ..calendar import candidate_dates
from ..models import AvailabilityPoll, PollAnswer, PollDate, PollInvitee, Visit, VisitAttendee
from .common import log_visit, visit_people

_SALT = "visits.poll"
# A poll link outlives its deadline by a little, so a late click explains that it closed.
_LINK_GRACE = datetime.timedelta(days=30)
# Half a year of weekly MDT days: more dates than anyone can answer usefully.
MAX_WINDOW_DAYS = 26 * 7


class PollLinkError(Exception):
    """Why a poll link cannot be used, in words for the person who clicked it."""


def poll_token(invitee: PollInvitee) -> str:
    return signing.dumps({"i": invitee.pk, "n": invitee.nonce}, salt=_SALT)


def invitee_from_token(token: str) -> PollInvitee:
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise PollLinkError("This link is not valid. Check you copied all of it.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("i"), int):
        raise PollLinkError("This link is not valid. Check you copied all of it.")
    invitee = (PollInvitee.objects.select_related(
        "poll__visit__host__organisation", "poll__visit__visitor__organisation", "user")
        .filter(pk=payload["i"]).first())
    if invitee is None or invitee.nonce != payload.get("n"):
        raise PollLinkError("This link is no longer valid. Use the link in your latest email.")
    if timezone.now() > invitee.poll.deadline + _LINK_GRACE:
        raise PollLinkError("This link has expired.")
    if not invitee_still_eligible(invitee):
        raise PollLinkError("This link is no longer yours to use: you are not on either team "
                            "for this visit now.")
    return invitee


def invitee_still_eligible(invitee: PollInvitee) -> bool:
    """Someone asked about a visit may answer only while they are still on one of its teams
    (or are its facilitator): a person who has left a team loses the link's access."""
    visit = invitee.poll.visit
    if invitee.team == VisitAttendee.Team.FACILITATOR:
        return invitee.user_id == visit.facilitator_id
    site = visit.host_id if invitee.team == VisitAttendee.Team.HOST else visit.visitor_id
    return SiteMembership.objects.current().filter(site_id=site, user_id=invitee.user_id
                                                   ).exists()


@transaction.atomic
def poll_open(*, visit: Visit, user: User, window_start: datetime.date,
              window_end: datetime.date, deadline: datetime.datetime) -> AvailabilityPoll:
    """Ask both teams and the facilitator about every candidate date in the window."""
    visit = Visit.objects.select_for_update().select_related("host", "visitor").get(pk=visit.pk)
    if visit.status not in (Visit.Status.PROPOSED, Visit.Status.POLLING):
        raise ValidationError("This visit already has a date.")
    if hasattr(visit, "poll"):
        raise ValidationError("This visit already has an availability poll.")
    if visit.facilitator is None:
        raise ValidationError("Assign a facilitator before asking for availability.")
    if window_end < window_start:
        raise ValidationError({"window_end": "The window must end after it starts"})
    if window_start <= timezone.localdate():
        raise ValidationError({"window_start": "The window must start after today"})
    if (window_end - window_start).days > MAX_WINDOW_DAYS:
        raise ValidationError({"window_end": f"Offer dates over at most {MAX_WINDOW_DAYS // 7} "
                                             "weeks, so people can answer for every one"})
    if deadline >= datetime.datetime.combine(window_start, datetime.time(),
                                             tzinfo=deadline.tzinfo):
        raise ValidationError({"deadline": "The deadline must be before the first date"})
    if deadline <= timezone.now():
        raise ValidationError({"deadline": "The deadline must be in the future"})
    dates = candidate_dates(visit.host.mdt_day, window_start, window_end)
    if not dates:
        raise ValidationError(
            f"There is no {visit.host.get_mdt_day_display()} in that window that is not a "
            "bank holiday. Choose a longer window.")
    poll = AvailabilityPoll.objects.create(visit=visit, window_start=window_start,
                                           window_end=window_end, deadline=deadline,
                                           created_by=user)
    PollDate.objects.bulk_create(PollDate(poll=poll, date=d) for d in dates)
    invitees = PollInvitee.objects.bulk_create(
        PollInvitee(poll=poll, user=person, team=team, role=role,
                    nonce=secrets.token_hex(16))
        for person, team, role in visit_people(visit)
    )
    visit.status = Visit.Status.POLLING
    visit.save(update_fields=["status"])
    log_visit(visit, "poll.opened",
              f"Asked {len(invitees)} people about {len(dates)} dates, closing "
              f"{timezone.localtime(deadline).day} {timezone.localtime(deadline):%B %Y}",
              user=user)
    from ..tasks import send_poll_email

    for invitee in invitees:
        queue_after_commit(send_poll_email, invitee.pk, "invitation")
    return poll


@transaction.atomic
def poll_answer(*, invitee: PollInvitee, answers: dict[datetime.date, str]) -> PollInvitee:
    """Save someone's answers as they give them. Dates not in the poll are ignored."""
    poll = AvailabilityPoll.objects.select_for_update().select_related("visit").get(
        pk=invitee.poll_id)
    if not poll.is_open or not poll.visit.is_open:
        raise ValidationError("This poll has closed. The programme team will be in touch.")
    dates = {d.date: d for d in poll.dates.all()}
    for date, answer in answers.items():
        if date not in dates or answer not in PollAnswer.Answer.values:
            continue
        PollAnswer.objects.update_or_create(
            invitee=invitee, poll_date=dates[date],
            defaults={"answer": answer, "answered_at": timezone.now()})
    if invitee.responded_at is None:
        invitee.responded_at = timezone.now()
        invitee.save(update_fields=["responded_at"])
        log_visit(poll.visit, "poll.answered", f"{invitee.user} answered the poll",
                  user=invitee.user)
    return invitee


def polls_lock(now: datetime.datetime | None = None) -> int:
    """Close every poll whose deadline has passed, and log it."""
    now = now or timezone.now()
    closed = 0
    for poll in AvailabilityPoll.objects.filter(locked_at__isnull=True, deadline__lte=now
                                                ).select_related("visit__programme"):
        with transaction.atomic():
            if AvailabilityPoll.objects.filter(pk=poll.pk, locked_at__isnull=True).update(
                    locked_at=now):
                log_visit(poll.visit, "poll.closed", "The availability poll closed at its "
                          "deadline", user=None)
                closed += 1
    return closed


def poll_token_for_new_invitee(poll: AvailabilityPoll, person: User) -> PollInvitee:
    """Ask one more person (a new facilitator) on an open poll, and email them their link."""
    from ..tasks import send_poll_email

    invitee, created = PollInvitee.objects.get_or_create(
        poll=poll, user=person,
        defaults={"team": VisitAttendee.Team.FACILITATOR, "role": "facilitator",
                  "nonce": secrets.token_hex(16)})
    if created:
        queue_after_commit(send_poll_email, invitee.pk, "invitation")
    return invitee
