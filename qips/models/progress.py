"""Monthly progress updates from the team, and the support the core team gives."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .plan import QualityImprovementPlan


class ProgressUpdate(models.Model):
    class Rag(models.TextChoices):
        GREEN = "green", "Green: on track"
        AMBER = "amber", "Amber: some problems"
        RED = "red", "Red: stuck or off track"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="progress_updates")
    month = models.DateField(help_text="The first day of the month the update is for")
    done = models.TextField("what we did")
    new_data = models.TextField("what the data shows", blank=True)
    barriers = models.TextField(blank=True)
    help_needed = models.TextField("help needed", blank=True)
    rag = models.CharField("our status", max_length=10, choices=Rag.choices)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["plan", "month"],
                                               name="one_update_per_month")]

    def __str__(self) -> str:
        return f"Update for {self.month:%B %Y}"


class SupportRecord(models.Model):
    class Kind(models.TextChoices):
        FOLLOW_UP_VISIT = "follow_up_visit", "Facilitator follow-up visit"
        CALL = "call", "Call or video meeting"
        EMAIL = "email", "Email"
        INTRODUCTION = "introduction", "Introduction to another team"
        OTHER = "other", "Other"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="support")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    given_on = models.DateField(default=timezone.localdate)
    notes = models.TextField()
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-given_on", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()
