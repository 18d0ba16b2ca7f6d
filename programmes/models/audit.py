"""National audit indicators and each site's values for them."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .core import Programme, Site


class Indicator(models.Model):
    """A measure the programme compares sites on, such as the share of patients with a
    histologically confirmed diagnosis. Headline indicators drive eligibility and pairing."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Values are proportions (numerator / denominator), shown as percentages.
    unit = models.CharField(max_length=20, default="%")
    higher_is_better = models.BooleanField(default=True)
    source = models.CharField(max_length=200, help_text="For example, National Lung Cancer Audit")
    is_headline = models.BooleanField("headline indicator", default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="indicator_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class IndicatorValue(models.Model):
    """One site's result on one indicator for one period, as imported from the audit."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="indicator_values")
    period = models.CharField(max_length=20)
    period_start = models.DateField()
    period_end = models.DateField()
    numerator = models.PositiveIntegerField()
    denominator = models.PositiveIntegerField()
    # The national figure and the target for the same period, as proportions.
    national = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["indicator__order", "-period_end"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "site", "period"], name="one_value_per_site_period"
            ),
            models.CheckConstraint(
                condition=Q(numerator__lte=F("denominator")) & Q(denominator__gt=0),
                name="numerator_within_denominator",
            ),
        ]
        indexes = [models.Index(fields=["site", "period"])]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.period}: {self.numerator}/{self.denominator}"

    @property
    def proportion(self) -> float:
        return self.numerator / self.denominator
