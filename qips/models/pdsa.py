"""Plan-Do-Study-Act cycles: small tests of a change idea, each with a prediction made
before it starts (BMJ QI series, PDSA: "the prediction is what turns a trial into a test")."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .plan import Driver, QualityImprovementPlan


class PdsaCycle(models.Model):
    class Decision(models.TextChoices):
        ADOPT = "adopt", "Adopt"
        ADAPT = "adapt", "Adapt"
        ABANDON = "abandon", "Abandon"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="pdsa_cycles")
    # RESTRICT, not PROTECT: a change idea with cycles cannot be removed on its own, but a
    # whole plan (or programme) can still be deleted, taking its cycles with it.
    change_idea = models.ForeignKey(Driver, on_delete=models.RESTRICT, related_name="cycles")
    # Cycles chain: the next test follows from the previous one's Act.
    follows = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="next_cycles")
    title = models.CharField(max_length=200)
    # Plan
    question = models.TextField("what question will this test answer?")
    prediction = models.TextField("what do you predict will happen?")
    who = models.CharField(max_length=300, blank=True)
    what = models.TextField(blank=True)
    when = models.CharField(max_length=200, blank=True)
    where = models.CharField(max_length=200, blank=True)
    data_to_collect = models.TextField("data to collect", blank=True)
    # Do
    what_happened = models.TextField("what happened", blank=True)
    # Study
    results = models.TextField("results, compared with the prediction", blank=True)
    # Act
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.TextField("why", blank=True)

    started_on = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "PDSA cycle"

    def __str__(self) -> str:
        return self.title

    @property
    def is_complete(self) -> bool:
        return self.completed_on is not None

    def missing_stages(self) -> list[str]:
        """The stages not yet written up; a cycle cannot be completed with any missing."""
        missing = []
        if not (self.question.strip() and self.prediction.strip()):
            missing.append("Plan (the question and the prediction)")
        if not self.what_happened.strip():
            missing.append("Do (what happened)")
        if not self.results.strip():
            missing.append("Study (the results compared with the prediction)")
        if not (self.decision and self.decision_reason.strip()):
            missing.append("Act (adopt, adapt or abandon, and why)")
        return missing
