"""Visits between paired sites: who goes, when, where, and the tasks that get them there.

A confirmed pair gets two visits (each hosts the other); a three-site rotation gets three.
Finding a date runs through an availability poll; the core team picks a date (or accepts the
programme-wide scheduler's proposal), confirms the visit, and the attendees get calendar
invitations. State changes go through visits.services, which log each one.
"""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from programmes.models import Pair, Programme, Site

from ..calendar import ROLE_LABELS


def role_label(role: str) -> str:
    label = ROLE_LABELS.get(role, role)
    return label[0].upper() + label[1:]


class Visit(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        POLLING = "polling", "Finding a date"
        DATE_AGREED = "date_agreed", "Date agreed"
        CONFIRMED = "confirmed", "Confirmed"
        HAPPENED = "happened", "Happened"
        REPORT_SENT = "report_sent", "Report sent"
        CANCELLED = "cancelled", "Cancelled"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="visits")
    pair = models.ForeignKey(Pair, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="visits")
    host = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="hosted_visits")
    # The visiting site of a reciprocal pair. A one-way review's visits have none: their
    # visitors are the review team (visits.models.review), attending as the "visiting" team.
    visitor = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="made_visits")
    review = models.ForeignKey("visits.PeerReview", null=True, blank=True,
                               on_delete=models.CASCADE, related_name="visits")
    # The visit that must happen first: a pair's return visit follows its first.
    after = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    facilitator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="facilitated_visits")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    date = models.DateField(null=True, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    venue = models.CharField(max_length=300, blank=True)
    directions = models.TextField("directions or joining details", blank=True)
    virtual = models.BooleanField("held online", default=False)
    # The calendar invitation's identity: the same UID for every update, a higher SEQUENCE
    # for each change (RFC 5546, section 2.1.4).
    uid = models.CharField(max_length=100, unique=True, default=uuid.uuid4)
    sequence = models.PositiveIntegerField(default=0)
    quorum_override_reason = models.TextField(blank=True)
    cancelled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(host=models.F("visitor")),
                                   name="visit_host_is_not_visitor"),
            models.CheckConstraint(condition=Q(visitor__isnull=False) | Q(review__isnull=False),
                                   name="visit_has_a_visiting_site_or_a_review"),
        ]

    def __str__(self) -> str:
        if self.visitor_id is None:
            return f"Peer review of {self.host.name}, {self.host.organisation.name}"
        return f"{self.visitor.organisation.name} visits {self.host.organisation.name}"

    @property
    def is_review(self) -> bool:
        """A one-way review's visit: the visitors are a review team, not a site."""
        return self.review_id is not None

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.HAPPENED, self.Status.REPORT_SENT,
                                   self.Status.CANCELLED)


class VisitAttendee(models.Model):
    """A person on a visit's attendance list, for their team and in their role."""

    class Team(models.TextChoices):
        HOST = "host", "Host team"
        VISITING = "visiting", "Visiting team"
        FACILITATOR = "facilitator", "Facilitator"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="visit_attendances")
    team = models.CharField(max_length=20, choices=Team.choices)
    role = models.CharField(max_length=30)
    # Marked after the visit: True present, False absent, None not yet recorded.
    present = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["team", "role"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "user"], name="one_attendance_per_visit")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_team_display()})"

    @property
    def role_label(self) -> str:
        return role_label(self.role)


class AvailabilityPoll(models.Model):
    """Asks people which candidate dates they can make: for a visit, both teams and the
    facilitator; for a workshop or conference, the people the core team chooses. A poll is
    for exactly one of the two."""

    visit = models.OneToOneField(Visit, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="poll")
    event = models.OneToOneField("visits.Event", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="poll")
    window_start = models.DateField()
    window_end = models.DateField()
    deadline = models.DateTimeField()
    locked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Index for the reminder and locking tasks, which look for open polls by deadline.
        indexes = [models.Index(fields=["locked_at", "deadline"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(visit__isnull=False, event__isnull=True)
                           | Q(visit__isnull=True, event__isnull=False)),
                name="poll_is_for_a_visit_or_an_event"),
        ]

    def __str__(self) -> str:
        return f"Availability for {self.visit or self.event}"

    @property
    def is_open(self) -> bool:
        return self.locked_at is None and timezone.now() < self.deadline


class PollDate(models.Model):
    poll = models.ForeignKey(AvailabilityPoll, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField()

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "date"], name="one_poll_date_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date:%a %d %b %Y}"


class PollInvitee(models.Model):
    """Someone asked to answer a poll. Their emailed link names this row and its nonce."""

    poll = models.ForeignKey(AvailabilityPoll, on_delete=models.CASCADE, related_name="invitees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    # Empty for an event's poll, where there are no teams.
    team = models.CharField(max_length=20, choices=VisitAttendee.Team.choices, blank=True)
    role = models.CharField(max_length=30)
    nonce = models.CharField(max_length=32)
    responded_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team", "role"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "user"], name="one_invitee_per_poll")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.poll}"

    @property
    def role_label(self) -> str:
        return role_label(self.role)


class PollAnswer(models.Model):
    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        IF_NEED_BE = "if_need_be", "If need be"
        NO = "no", "No"

    invitee = models.ForeignKey(PollInvitee, on_delete=models.CASCADE, related_name="answers")
    poll_date = models.ForeignKey(PollDate, on_delete=models.CASCADE, related_name="answers")
    answer = models.CharField(max_length=20, choices=Answer.choices)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitee", "poll_date"], name="one_answer_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.invitee.user}: {self.poll_date} {self.answer}"


class LogisticsTask(models.Model):
    """One thing that must be done before a visit, owned by a named person."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room booked"
        TRAVEL = "travel", "Travel arranged"
        DATA_PACK = "data_pack", "Data pack ready"
        ATTENDEES = "attendees", "Attendees confirmed"
        OBSERVATION_FORMS = "observation_forms", "Observation forms issued"
        AGENDA = "agenda", "Agenda shared"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="logistics_tasks")
    # Due this many days before the visit, so the due date follows the visit if it moves.
    days_before = models.PositiveSmallIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-days_before", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "kind"], name="one_task_of_a_kind")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def due(self) -> datetime.date | None:
        if self.visit.date is None:
            return None
        return self.visit.date - datetime.timedelta(days=self.days_before)
