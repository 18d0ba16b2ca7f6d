"""A plan's measures and their data (Making Data Count; BMJ QI series on measurement)."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .plan import QualityImprovementPlan


class Measure(models.Model):
    class Kind(models.TextChoices):
        OUTCOME = "outcome", "Outcome"
        PROCESS = "process", "Process"
        BALANCING = "balancing", "Balancing"

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    class Direction(models.TextChoices):
        INCREASE = "increase", "Higher is better"
        DECREASE = "decrease", "Lower is better"

    class Chart(models.TextChoices):
        RUN = "run", "Run chart"
        XMR = "xmr", "XmR (SPC) chart"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="measures")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=200)
    # The operational definition: what is counted, out of what, how often, from where.
    numerator = models.CharField(max_length=300, help_text="What is counted")
    denominator = models.CharField(
        max_length=300, blank=True,
        help_text="Out of what. Leave empty for a count or a time, such as days to treatment")
    frequency = models.CharField(max_length=20, choices=Frequency.choices,
                                 default=Frequency.MONTHLY)
    data_source = models.CharField(max_length=200)
    direction = models.CharField("direction of improvement", max_length=20,
                                 choices=Direction.choices)
    baseline = models.FloatField(null=True, blank=True,
                                 help_text="Where it stands now. For a percentage, 0 to 100")
    target = models.FloatField(null=True, blank=True,
                               help_text="Where it should get to. For a percentage, 0 to 100")
    chart = models.CharField(max_length=10, choices=Chart.choices, default=Chart.RUN)
    # Fix the centre line and limits on the first n points (Making Data Count: a baseline
    # period, then judge new points against it).
    baseline_points = models.PositiveSmallIntegerField(
        "fix the limits on the first", null=True, blank=True,
        # An average moving range needs two points; Making Data Count advises 12 or more.
        validators=[MinValueValidator(2)],
        help_text="Number of points. Leave empty to use all the points")
    order = models.PositiveSmallIntegerField(default=0)
    # A new random value whenever the measure's data changes (services.measurements._save,
    # the only writer): the chart's cache key uses it instead of reading every point. Random
    # rather than a counter, so a database rebuilt or restored, or another one sharing the
    # cache, never meets a chart cached for other data under the same measure and number.
    data_version = models.UUIDField(default=uuid.uuid4, editable=False)
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_percentage(self) -> bool:
        return bool(self.denominator)


class MeasureRebase(models.Model):
    """A change after which the chart's centre line and limits are worked out afresh."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="rebases")
    starts_on = models.DateField()
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["starts_on"]
        constraints = [models.UniqueConstraint(fields=["measure", "starts_on"],
                                               name="one_rebase_per_period")]

    def __str__(self) -> str:
        return f"From {self.starts_on:%b %Y}: {self.reason}"


class Measurement(models.Model):
    """One period's data: a numerator and denominator, or a value."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="measurements")
    period = models.DateField(help_text="The first day of the week, month or quarter")
    numerator = models.PositiveIntegerField(null=True, blank=True)
    denominator = models.PositiveIntegerField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "period"], name="one_value_per_period"),
            models.CheckConstraint(
                condition=(Q(value__isnull=True, numerator__isnull=False,
                             denominator__gt=0, numerator__lte=F("denominator"))
                           | Q(value__isnull=False, numerator__isnull=True,
                               denominator__isnull=True)),
                name="a_proportion_or_a_value"),
        ]

    def __str__(self) -> str:
        return f"{self.measure}: {self.period:%b %Y}"

    @property
    def figure(self) -> float:
        """A proportion (0 to 1) or the value."""
        if self.value is not None:
            return self.value
        return self.numerator / self.denominator
