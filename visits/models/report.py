"""The visit report: each approved version, frozen as it was approved.

Approving a report stores the HTML the PDF is drawn from, so what the facilitator approved is
exactly what is generated, emailed and later downloaded, even if the visit's notes change
afterwards. A correction is a new version; earlier versions stay as they were.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from .core import Visit

STUCK_AFTER = datetime.timedelta(hours=1)


class VisitReport(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="reports")
    version = models.PositiveIntegerField()
    # The PDF's HTML as approved. Large (the data pack's charts are inline SVG): defer it, and
    # ``pdf``, in any query that lists versions.
    html = models.TextField()
    pdf = models.BinaryField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)
    correction_note = models.TextField(blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    # Failures are shown to the core team next to a "Try again" button, so the text says what
    # went wrong in general terms only: never an address, a name or an exception's message.
    generation_failed_at = models.DateTimeField(null=True, blank=True)
    generation_failure = models.CharField(max_length=200, blank=True)
    # How many people the last sending run was for; the ledger (ilcop.models.Notification)
    # records who has had it.
    recipient_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)  # when everyone had it
    # When "Try again" was last pressed: a version is stuck an hour after this, or after
    # approval if nobody has tried again.
    retried_at = models.DateTimeField(null=True, blank=True)
    send_failed_at = models.DateTimeField(null=True, blank=True)
    send_failure = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "version"],
                                    name="one_report_per_visit_version"),
            models.CheckConstraint(condition=Q(version=1) | ~Q(correction_note=""),
                                   name="report_correction_says_what_changed"),
        ]

    def __str__(self) -> str:
        return f"Visit report version {self.version}"

    @property
    def is_failed(self) -> bool:
        return bool(self.generation_failed_at or self.send_failed_at)

    @property
    def is_stuck(self) -> bool:
        """Not sent long after approval, with no failure recorded: a worker lost mid-task, a
        broker that refused the task, a hard time limit. Longer than every retry's backoff
        together (visits.tasks), so a version still being retried is not called stuck."""
        started = self.retried_at or self.approved_at
        return (self.sent_at is None and not self.is_failed
                and started < timezone.now() - STUCK_AFTER)

    @property
    def filename(self) -> str:
        visit = self.visit
        stem = slugify(f"visit report {visit.host.code} {visit.date or ''} v{self.version}")
        return f"{stem}.pdf"
