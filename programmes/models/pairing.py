"""Allocation to the study arms, and pairing intervention sites with each other."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .core import Programme, Site


class Randomisation(models.Model):
    """One run of the allocation of eligible sites to the intervention and control arms.

    Reproducible from its seed and parameters (programmes.randomisation). Once confirmed it
    is applied to the enrolments and locked; another run needs an override with a reason.
    """

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="randomisations"
    )
    seed = models.BigIntegerField()
    intervention_count = models.PositiveIntegerField()
    stratify_by_region = models.BooleanField(default=False)
    stratify_by_size = models.BooleanField(default=False)
    # Upper bounds of the size bands in new patients a year, e.g. [200, 400].
    size_band_edges = models.JSONField(default=list, blank=True)
    # {site id: "intervention" | "control"}, keys as strings (JSON).
    allocation = models.JSONField(default=dict)
    override_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Randomisation of {self.programme} (seed {self.seed})"


class PairingConflict(models.Model):
    """Two sites that must not be paired, declared by the core team (e.g. a shared
    consultant, or a recent merger)."""

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="pairing_conflicts"
    )
    site_a = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    site_b = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)

    def __str__(self) -> str:
        return f"{self.site_a} / {self.site_b}"


class Pairing(models.Model):
    """A proposal for pairing a programme's intervention sites, or the confirmed pairing."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        CONFIRMED = "confirmed", "Confirmed"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="pairings")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    # The constraints it was made under (see programmes.services.pairings).
    constraints = models.JSONField(default=dict)
    # {site id: why it was left unpaired}
    unpaired = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme"], condition=models.Q(status="confirmed"),
                name="one_confirmed_pairing_per_programme",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} pairing for {self.programme}"


class Pair(models.Model):
    """Two sites that visit each other. Strengths say which indicators each leads on."""

    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="pairs")
    site_a = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    site_b = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    # The complementarity score less any penalty (programmes.pairing).
    score = models.FloatField(default=0)
    # Indicator codes each site is stronger on, strongest difference first.
    strengths_a = models.JSONField(default=list)
    strengths_b = models.JSONField(default=list)
    locked = models.BooleanField(default=False)
    made_by_hand = models.BooleanField(default=False)

    class Meta:
        ordering = ["site_a__organisation__name"]

    def __str__(self) -> str:
        return f"{self.site_a} and {self.site_b}"

    def partner_of(self, site: Site) -> Site:
        return self.site_b if site.pk == self.site_a_id else self.site_a

    def strengths_of(self, site: Site) -> tuple[list[str], list[str]]:
        """(this site's strengths, its partner's strengths)."""
        if site.pk == self.site_a_id:
            return self.strengths_a, self.strengths_b
        return self.strengths_b, self.strengths_a
