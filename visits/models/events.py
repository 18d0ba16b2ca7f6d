"""National workshops and online conferences (PRODUCT.md, 6: learn together).

An event belongs to a programme, has an agenda of sessions (some of them breakouts for one or
more roles, some optional), is announced to an audience chosen by role, by site or the whole
programme, and collects replies and, on the day, attendance. Slides and documents are added
afterwards. Its calendar invitation works like a visit's: one UID, a higher SEQUENCE for each
change (visits.ics).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ilcop.uploads import event_material_path
from programmes.models import Programme, Site


class Event(models.Model):
    class Kind(models.TextChoices):
        WORKSHOP = "workshop", "National workshop (in person)"
        CONFERENCE = "conference", "Online conference"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ANNOUNCED = "announced", "Announced"
        CANCELLED = "cancelled", "Cancelled"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Empty while the date is being found with an availability poll.
    date = models.DateField(null=True, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    # In person.
    venue = models.CharField(max_length=300, blank=True)
    travel_notes = models.TextField(blank=True)
    # Online. ILCOP's online conferences lost people to login failures, so the joining guide
    # and a chance to test the connection beforehand are part of every invitation.
    joining_link = models.URLField(max_length=500, blank=True)
    joining_guide = models.TextField(blank=True)
    connection_test_note = models.TextField("test your connection", blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)
    announced_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # Why it was announced with less than the programme's notice period, when it was.
    short_notice_reason = models.TextField(blank=True)
    cancelled_reason = models.TextField(blank=True)
    uid = models.CharField(max_length=100, unique=True, default=uuid.uuid4)
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "start_time", "pk"]
        indexes = [models.Index(fields=["programme", "date"])]

    def __str__(self) -> str:
        return self.title


class EventSession(models.Model):
    """One item on an event's agenda. A session with roles is a breakout for those roles;
    sessions at the same time for different roles run side by side."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_time = models.TimeField()
    end_time = models.TimeField()
    roles = models.JSONField(default=list, blank=True)  # SiteMembership.Role values; [] = all
    optional = models.BooleanField(default=False)
    # A room at a workshop, or a breakout room's own link at an online conference.
    location = models.CharField("room or breakout link", max_length=300, blank=True)

    class Meta:
        ordering = ["start_time", "end_time", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")),
                                   name="event_session_ends_after_it_starts"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_breakout(self) -> bool:
        return bool(self.roles)


class EventInvitation(models.Model):
    """Someone invited to an event, with their reply and, on the day, whether they came."""

    class Response(models.TextChoices):
        PENDING = "pending", "Not replied"
        ATTENDING = "attending", "Coming"
        NOT_ATTENDING = "not_attending", "Not coming"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="event_invitations")
    # The site and role they were invited through, kept so the counts by site and role stay
    # true after someone moves on. Empty site and role "core_team" for the core team.
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    role = models.CharField(max_length=30)
    response = models.CharField(max_length=20, choices=Response.choices,
                                default=Response.PENDING)
    responded_at = models.DateTimeField(null=True, blank=True)
    # Recorded on the day: None until someone records it.
    attended = models.BooleanField(null=True, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["site__organisation__name", "role", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="one_invitation_per_event"),
        ]
        # Index for the live counts, which group one event's invitations by reply.
        indexes = [models.Index(fields=["event", "response"])]

    def __str__(self) -> str:
        return f"{self.user} invited to {self.event}"


class EventMaterial(models.Model):
    """Slides or a document from an event, added afterwards and listed in the library."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=event_material_path, max_length=200)
    filename = models.CharField(max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title
