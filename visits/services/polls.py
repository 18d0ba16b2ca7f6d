"""Availability polls: candidate dates answered from an emailed link, for a visit or an event.

The link carries a token signed with the secret key naming the invitee and a nonce, so it
works without signing in, only for that person and that poll, and expires with the poll.

One poll, two subjects. A visit's poll offers the host's MDT day and asks both teams and the
facilitator; an event's poll (a national workshop or online conference) offers the weekdays
the core team picks and asks the audience it chooses. Everything after opening is shared:
the answering page, the emails, the reminder, the deadline lock. That shared code asks the
poll's subject (`poll_subject`) the few things that differ: what to call it, its programme,
whether it still takes answers, who may still answer, where to log and which page to link.
"""

import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ilcop.activity import log_action
from ilcop.celery import queue_after_commit
from ilcop.models import User
from programmes.models import SiteMembership
from programmes.selectors import is_participant, participant_audience

from ..calendar import candidate_dates
from ..models import (
    AvailabilityPoll,
    Event,
    PollAnswer,
    PollDate,
    PollInvitee,
    ReviewTeamMember,
    Visit,
    VisitAttendee,
)
from .common import log_visit, visit_people

_SALT = "visits.poll"
# A poll link outlives its deadline by a little, so a late click explains that it closed.
_LINK_GRACE = datetime.timedelta(days=30)
# Half a year of weekly MDT days: more dates than anyone can answer usefully.
MAX_WINDOW_DAYS = 26 * 7
# The same limit on the number of dates, for an event's poll that offers several weekdays.
MAX_DATES = 26
# Everything the shared poll code reads about either subject, in one query with the invitee.
SUBJECT_RELATED = ("poll__visit__host__organisation", "poll__visit__visitor__organisation",
                   "poll__visit__programme", "poll__event__programme")


class PollLinkError(Exception):
    """Why a poll link cannot be used, in words for the person who clicked it."""


class _VisitSubject:
    def __init__(self, visit: Visit):
        self.visit, self.obj, self.programme = visit, visit, visit.programme

    @property
    def title(self) -> str:
        return str(self.visit)

    @property
    def is_open(self) -> bool:
        return self.visit.is_open

    left_message = "you are not on either team for this visit now."

    def still_eligible(self, invitee: PollInvitee) -> bool:
        """Only while still on one of the visit's teams (or its facilitator)."""
        visit = self.visit
        if invitee.team == VisitAttendee.Team.FACILITATOR:
            return invitee.user_id == visit.facilitator_id
        if invitee.team == VisitAttendee.Team.VISITING and visit.review_id is not None:
            return ReviewTeamMember.objects.filter(review_id=visit.review_id,
                                                   reviewer__user_id=invitee.user_id).exists()
        site = visit.host_id if invitee.team == VisitAttendee.Team.HOST else visit.visitor_id
        return SiteMembership.objects.current().filter(site_id=site, user_id=invitee.user_id
                                                       ).exists()

    def log(self, verb: str, summary: str, *, user: User | None) -> None:
        log_visit(self.visit, verb, summary, user=user)

    def page(self) -> str:
        return reverse("visits:visit_detail", args=[self.visit.pk])


class _EventSubject:
    def __init__(self, event: Event):
        self.event, self.obj, self.programme = event, event, event.programme
        self.title = event.title

    @property
    def is_open(self) -> bool:
        # Announced (with its date) or cancelled: the poll's question has been answered.
        return self.event.status == Event.Status.DRAFT

    left_message = "you are no longer taking part in this programme."

    def still_eligible(self, invitee: PollInvitee) -> bool:
        return is_participant(invitee.user, self.programme)

    def log(self, verb: str, summary: str, *, user: User | None) -> None:
        log_action(self.event, verb, actor=user, summary=summary, scopes=[self.programme])

    def page(self) -> str:
        # The draft event's own page is the core team's; the invitee's is the events list.
        return reverse("visits:programme_events", args=[self.programme.pk])


def poll_subject(poll: AvailabilityPoll) -> _VisitSubject | _EventSubject:
    """What the poll is for. The model's check constraint makes it exactly one of the two."""
    return _VisitSubject(poll.visit) if poll.visit_id else _EventSubject(poll.event)


def poll_token(invitee: PollInvitee) -> str:
    return signing.dumps({"i": invitee.pk, "n": invitee.nonce}, salt=_SALT)


def invitee_from_token(token: str) -> PollInvitee:
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise PollLinkError("This link is not valid. Check you copied all of it.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("i"), int):
        raise PollLinkError("This link is not valid. Check you copied all of it.")
    invitee = (PollInvitee.objects.select_related(*SUBJECT_RELATED, "user")
               .filter(pk=payload["i"]).first())
    if invitee is None or invitee.nonce != payload.get("n"):
        raise PollLinkError("This link is no longer valid. Use the link in your latest email.")
    if timezone.now() > invitee.poll.deadline + _LINK_GRACE:
        raise PollLinkError("This link has expired.")
    subject = poll_subject(invitee.poll)
    if not subject.still_eligible(invitee):
        raise PollLinkError(f"This link is no longer yours to use: {subject.left_message}")
    return invitee


def invitee_still_eligible(invitee: PollInvitee) -> bool:
    """Someone asked about a visit may answer only while they are still on one of its teams
    (or are its facilitator), and about an event only while they still take part in its
    programme: a person who has left loses the link's access."""
    return poll_subject(invitee.poll).still_eligible(invitee)


def _check_window(window_start: datetime.date, window_end: datetime.date,
                  deadline: datetime.datetime) -> None:
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


def _invite(poll: AvailabilityPoll, people: Iterable[tuple[User, str, str]]
            ) -> list[PollInvitee]:
    """(person, team, role) become invitees, each emailed their link once the poll is saved."""
    from ..tasks import send_poll_email

    invitees = PollInvitee.objects.bulk_create(
        PollInvitee(poll=poll, user=person, team=team, role=role,
                    nonce=secrets.token_hex(16))
        for person, team, role in people
    )
    for invitee in invitees:
        queue_after_commit(send_poll_email, invitee.pk, "invitation")
    return invitees


def _opened_summary(invitees: list, dates: list, deadline: datetime.datetime) -> str:
    local = timezone.localtime(deadline)
    return (f"Asked {len(invitees)} people about {len(dates)} dates, closing "
            f"{local.day} {local:%B %Y}")


@transaction.atomic
def poll_open(*, visit: Visit, user: User, window_start: datetime.date,
              window_end: datetime.date, deadline: datetime.datetime) -> AvailabilityPoll:
    """Ask both teams and the facilitator about every candidate date in the window."""
    # of=("self",): the visitor is an outer join (none on a review's visit), which
    # PostgreSQL cannot lock.
    visit = Visit.objects.select_for_update(of=("self",)).select_related(
        "host", "visitor").get(pk=visit.pk)
    if visit.status not in (Visit.Status.PROPOSED, Visit.Status.POLLING):
        raise ValidationError("This visit already has a date.")
    if hasattr(visit, "poll"):
        raise ValidationError("This visit already has an availability poll.")
    if visit.facilitator is None:
        raise ValidationError("Assign a facilitator before asking for availability.")
    _check_window(window_start, window_end, deadline)
    dates = candidate_dates(visit.host.mdt_day, window_start, window_end)
    if not dates:
        raise ValidationError(
            f"There is no {visit.host.get_mdt_day_display()} in that window that is not a "
            "bank holiday. Choose a longer window.")
    poll = AvailabilityPoll.objects.create(visit=visit, window_start=window_start,
                                           window_end=window_end, deadline=deadline,
                                           created_by=user)
    PollDate.objects.bulk_create(PollDate(poll=poll, date=d) for d in dates)
    invitees = _invite(poll, visit_people(visit))
    visit.status = Visit.Status.POLLING
    visit.save(update_fields=["status"])
    log_visit(visit, "poll.opened", _opened_summary(invitees, dates, deadline), user=user)
    return poll


@transaction.atomic
def poll_answer(*, invitee: PollInvitee, answers: dict[datetime.date, str]) -> PollInvitee:
    """Save someone's answers as they give them. Dates not in the poll are ignored."""
    poll = AvailabilityPoll.objects.select_for_update(of=("self",)).select_related(
        "visit__programme", "event__programme").get(pk=invitee.poll_id)
    subject = poll_subject(poll)
    if not poll.is_open or not subject.is_open:
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
        subject.log("poll.answered", f"{invitee.user} answered the poll", user=invitee.user)
    return invitee


def polls_lock(now: datetime.datetime | None = None) -> int:
    """Close every poll whose deadline has passed, and log it."""
    now = now or timezone.now()
    closed = 0
    for poll in AvailabilityPoll.objects.filter(locked_at__isnull=True, deadline__lte=now
                                                ).select_related("visit__programme",
                                                                 "event__programme"):
        with transaction.atomic():
            if AvailabilityPoll.objects.filter(pk=poll.pk, locked_at__isnull=True).update(
                    locked_at=now):
                poll_subject(poll).log("poll.closed", "The availability poll closed at its "
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


# --- An event's poll: a workshop or conference without a date yet ----------------------------

# Tuesday to Thursday: the days a national workshop least often clashes with clinics and
# travel (the default; the core team may choose others).
DEFAULT_EVENT_WEEKDAYS = (1, 2, 3)


def event_candidate_dates(weekdays: Iterable[int], window_start: datetime.date,
                          window_end: datetime.date) -> list[datetime.date]:
    """Each chosen weekday in the window, less bank holidays in England and Wales."""
    return sorted({day for weekday in set(weekdays)
                   for day in candidate_dates(weekday, window_start, window_end)})


@transaction.atomic
def event_poll_open(*, event: Event, user: User, window_start: datetime.date,
                    window_end: datetime.date, weekdays: Iterable[int],
                    deadline: datetime.datetime, roles: Iterable[str] = (),
                    site_ids: Iterable[int] = (), include_core_team: bool = True
                    ) -> AvailabilityPoll:
    """Ask the chosen audience which of the candidate dates they could make for the event.
    The audience is chosen as for the event's invitations (participant_audience)."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    if event.status != Event.Status.DRAFT or event.date is not None:
        raise ValidationError("This event already has a date.")
    if AvailabilityPoll.objects.filter(event=event).exists():
        raise ValidationError("This event already has an availability poll.")
    _check_window(window_start, window_end, deadline)
    weekdays = sorted(set(weekdays))
    if not weekdays:
        raise ValidationError({"weekdays": "Choose at least one day of the week"})
    dates = event_candidate_dates(weekdays, window_start, window_end)
    if not dates:
        raise ValidationError("There is no date on those days in that window that is not a "
                              "bank holiday. Choose a longer window or more days.")
    if len(dates) > MAX_DATES:
        raise ValidationError({"window_end": f"That offers {len(dates)} dates: offer at most "
                                             f"{MAX_DATES}, so people can answer for every one. "
                                             "Choose a shorter window or fewer days"})
    audience = participant_audience(event.programme, roles=roles, site_ids=site_ids,
                                    include_core_team=include_core_team)
    if not audience:
        raise ValidationError("Nobody in the programme matches those roles and sites.")
    poll = AvailabilityPoll.objects.create(event=event, window_start=window_start,
                                           window_end=window_end, deadline=deadline,
                                           created_by=user)
    PollDate.objects.bulk_create(PollDate(poll=poll, date=d) for d in dates)
    # Events have no teams: an invitee's role is the one participant_audience reached them by.
    invitees = _invite(poll, ((member.user, "", member.role) for member in audience))
    _EventSubject(event).log("poll.opened", _opened_summary(invitees, dates, deadline),
                             user=user)
    return poll


@transaction.atomic
def event_choose_date(*, event: Event, date: datetime.date, user: User) -> Event:
    """Give a draft event one of its poll's dates and close the poll. The event stays a draft
    until it is announced."""
    event = Event.objects.select_for_update().select_related("programme").get(pk=event.pk)
    if event.status != Event.Status.DRAFT:
        raise ValidationError("Only a draft event's date can be chosen here.")
    poll = AvailabilityPoll.objects.filter(event=event).first()
    if poll is None or not poll.dates.filter(date=date).exists():
        raise ValidationError("Choose one of the dates the poll offered.")
    event.date = date
    event.save(update_fields=["date"])
    if poll.locked_at is None:
        poll.locked_at = timezone.now()
        poll.save(update_fields=["locked_at"])
    _EventSubject(event).log("date.chosen", f"Date chosen from the poll: {date:%A} {date.day} "
                             f"{date:%B %Y}", user=user)
    return event


@dataclass(frozen=True)
class DateTally:
    date: datetime.date
    yes: int
    if_need_be: int
    no: int
    not_answered: int


@dataclass(frozen=True)
class PollTally:
    dates: list[DateTally]  # best first
    waiting: list[PollInvitee]  # who has not answered at all
    asked: int

    @property
    def answered(self) -> int:
        return self.asked - len(self.waiting)


def poll_tally(poll: AvailabilityPoll) -> PollTally:
    """Each date's counts, best first (most yes, then most yes or if need be, then earliest),
    and who has not answered: three queries, however many dates and people."""
    invitees = list(poll.invitees.select_related("user").order_by("user__full_name", "pk"))
    counts: dict[int, dict[str, int]] = {}
    for date_id, answer in PollAnswer.objects.filter(poll_date__poll=poll).values_list(
            "poll_date_id", "answer"):
        given = counts.setdefault(date_id, {})
        given[answer] = given.get(answer, 0) + 1
    rows = []
    for poll_date in poll.dates.all():
        given = counts.get(poll_date.pk, {})
        yes, maybe, no = (given.get(a, 0) for a in PollAnswer.Answer.values)
        rows.append(DateTally(poll_date.date, yes, maybe, no, len(invitees) - yes - maybe - no))
    rows.sort(key=lambda r: (-r.yes, -(r.yes + r.if_need_be), r.date))
    return PollTally(rows, [i for i in invitees if i.responded_at is None], len(invitees))
