"""The visit day: the agenda (Box 1 of Aveling et al. 2012), what was said in each session,
each team's feedback, the focus areas agreed at the summary, and the facilitator's notes."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from programmes.models import Programme

from .core import Visit, VisitAttendee


class SessionKind(models.TextChoices):
    INTRODUCTION = "introduction", "Host's introduction"
    OBSERVATION = "observation", "Observation of the MDT meeting"
    MDT_DISCUSSION = "mdt_discussion", "Discussion: MDT functioning"
    AUDIT_DISCUSSION = "audit_discussion", "Discussion: audit data"
    SURVEY_DISCUSSION = "survey_discussion", "Discussion: patient experience survey"
    SUMMARY = "summary", "Summary and quality improvement plan"
    # A one-way review's day (visits.agenda_default.REVIEW_AGENDA).
    INFORMAL = "informal", "Informal time"
    LINES_OF_ENQUIRY = "lines_of_enquiry", "Discussion: key lines of enquiry"
    STANDARDS = "standards", "Review against the standards"
    REVIEW_FEEDBACK = "review_feedback", "Verbal feedback to the service"
    OTHER = "other", "Other"


class AgendaTemplate(models.Model):
    """A programme's agenda for a visit day. Each visit copies it and may adjust its copy."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="agenda_templates")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class AgendaTemplateItem(models.Model):
    template = models.ForeignKey(AgendaTemplate, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=SessionKind.choices)
    title = models.CharField(max_length=200)
    minutes = models.PositiveSmallIntegerField()
    guidance = models.TextField(blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.title


class VisitAgendaItem(models.Model):
    """One session of a visit's own agenda, with its actual timings on the day."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="agenda")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30, choices=SessionKind.choices)
    title = models.CharField(max_length=200)
    planned_minutes = models.PositiveSmallIntegerField()
    guidance = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Time spent paused so far, and when the current pause began (None when running).
    paused_seconds = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.title

    def elapsed_seconds(self, now=None) -> int:
        """Running time so far, leaving out pauses."""
        if self.started_at is None:
            return 0
        end = self.ended_at or self.paused_at or now or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()) - self.paused_seconds)


class Contribution(models.Model):
    """Something said in a session, captured by the facilitator as it was said."""

    class Kind(models.TextChoices):
        STRENGTH = "strength", "Strength"
        OPPORTUNITY = "opportunity", "Opportunity for improvement"
        IDEA = "idea", "Idea or solution"
        ACTION = "action", "Action"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="contributions")
    session = models.ForeignKey(VisitAgendaItem, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="contributions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    team = models.CharField(max_length=20, choices=VisitAttendee.Team.choices)
    role = models.CharField(max_length=30)
    text = models.TextField()
    # Made in the browser, so a note sent twice (a retry after a dropped connection, or the
    # offline queue replaying) is stored once.
    client_id = models.UUIDField(default=uuid.uuid4)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "client_id"],
                                    name="one_contribution_per_client_id")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:40]}"


class TeamFeedback(models.Model):
    """The visiting team's feedback to the host (strengths first), or the host's reflections."""

    class Team(models.TextChoices):
        VISITING = "visiting", "Visiting team's feedback"
        HOST = "host", "Host team's reflections"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="feedback")
    team = models.CharField(max_length=20, choices=Team.choices)
    strengths = models.TextField(blank=True)
    opportunities = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    # Moves on with each save, so two people editing at once never overwrite each other
    # (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "team"], name="one_feedback_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.get_team_display()} for {self.visit}"


class FocusArea(models.Model):
    """An area for improvement agreed at the summary session: the seed of a host team's QIP."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="focus_areas")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_focus_areas")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.title


class FacilitatorNote(models.Model):
    """The facilitator's own notes on a visit: private to the core team."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE,
                                 related_name="facilitator_note")
    text = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    # Moves on with each save, so two people editing at once never overwrite each other
    # (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Facilitator's notes on {self.visit}"
