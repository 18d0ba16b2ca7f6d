"""The observation form: questions defined per programme as data, and each observer's answers.

The definition is versioned: a change makes a new version, and every response keeps the
version it answered, so old answers keep their meaning.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from programmes.models import Programme

from .core import Visit


class ObservationForm(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="observation_forms")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    # [{"key", "title", "questions": [{"key", "text", "type", "help"}]}]; types are "rating",
    # "yes_no_partly", "number" and "text" (see visits.observation_form for the default).
    definition = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"],
                                    name="one_observation_form_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"


class ObservationResponse(models.Model):
    """One observer's answers for one visit. A draft until submitted."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="observations")
    # RESTRICT, not PROTECT: a form version cannot be deleted while answers use it, but
    # deleting the whole programme (which takes its visits and answers too) still works.
    form = models.ForeignKey(ObservationForm, on_delete=models.RESTRICT,
                             related_name="responses")
    observer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="observations")
    answers = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "observer"],
                                    name="one_observation_per_observer")
        ]

    def __str__(self) -> str:
        return f"{self.observer} on {self.visit}"
