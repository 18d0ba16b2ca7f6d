"""One-way peer reviews (NHS England's quality surveillance model, seed 003): a reviewer team
from the programme's pool visits a service, records findings against each standard, and the
visit's report goes to a distribution list and leads to an action plan.

A review reuses the visit machinery rather than copying it: each of its visits is a
``Visit`` with ``review`` set and no visiting site (one visit for a one-day review, several
for a deep dive), so dates, polls, logistics tasks, the agenda and the visit day, reminders
and the report (``VisitReport``, on the review's last visit) all work as they do for a
reciprocal pair. The reviewers are the visit's "visiting" attendees. What only a review has
lives here: its team, the lines of enquiry agreed beforehand, the pre-visit checklist and
documents, findings against the standards, the report's distribution list, and who may read
the report (its visibility and the approved redaction for anything published).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ilcop.uploads import UploadedDocument, review_document_path
from programmes.models import (
    Programme,
    Resource,
    Reviewer,
    Site,
    Standard,
    SurveillanceDecision,
)


class PeerReview(models.Model):
    class Format(models.TextChoices):
        ONE_DAY = "one_day", "One-day review"
        DEEP_DIVE = "deep_dive", "Deep dive (several visits)"

    class Visibility(models.TextChoices):
        # Widening order: each level adds readers to the one before.
        ORGANISATION = "organisation", "Organisation: the service's own organisation"
        NETWORK = "network", "Network: organisations in the service's network"
        NATIONAL = "national", "National: everyone in the programme"
        PUBLIC = "public", "Public: anyone, without signing in"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="reviews")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="peer_reviews",
                             verbose_name="service")
    decision = models.OneToOneField(SurveillanceDecision, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="peer_review_record")
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.ONE_DAY)
    # A team short of the programme's mix may be kept when the core team says why
    # (programmes.review_team).
    team_mix_reason = models.TextField(blank=True)
    # The evaluation found services unsure what came before the visit; one sought out a
    # service reviewed earlier. The core team may put them in touch, with that service's
    # agreement.
    previous_contact_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="a service reviewed before who has agreed to talk")
    previous_contact_details = models.TextField(
        "how to contact them", blank=True,
        help_text="Only with their agreement: a name, a role and a work email or phone")
    lines_agreed_at = models.DateTimeField(null=True, blank=True)
    lines_agreed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    visibility = models.CharField(max_length=20, choices=Visibility.choices,
                                  default=Visibility.ORGANISATION)
    # Nothing is published beyond the organisation until a redacted version has been
    # approved: the published HTML is frozen at approval, like a report version.
    published_html = models.TextField(blank=True)
    redaction_approved_at = models.DateTimeField(null=True, blank=True)
    redaction_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                              on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A published report has an approved redaction behind it.
            models.CheckConstraint(
                condition=Q(visibility="organisation") | Q(redaction_approved_at__isnull=False),
                name="review_published_only_when_redacted"),
        ]

    def __str__(self) -> str:
        return f"Peer review of {self.site}"


class ReviewTeamMember(models.Model):
    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="team")
    # RESTRICT, not PROTECT: a reviewer who served cannot be deleted on their own, but the
    # programme's deletion takes both the pool and its reviews.
    reviewer = models.ForeignKey(Reviewer, on_delete=models.RESTRICT, related_name="assignments")
    is_lead = models.BooleanField("lead reviewer", default=False)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_lead", "reviewer__user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "reviewer"], name="one_place_per_reviewer"),
            models.UniqueConstraint(fields=["review"], condition=Q(is_lead=True),
                                    name="one_lead_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.review}"

    @property
    def role(self) -> str:
        """The role the reviewer has on the review's visits (VisitAttendee.role)."""
        if self.is_lead:
            return "lead_reviewer"
        return "patient_reviewer" if self.reviewer.is_patient_reviewer else "clinical_peer"


class LineOfEnquiry(models.Model):
    """A key question the review will explore, agreed with the service in advance so the
    visit helps on *how* to improve rather than checking boxes (seed 003)."""

    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE,
                               related_name="lines_of_enquiry")
    standard = models.ForeignKey(Standard, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    text = models.TextField("line of enquiry")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class ReviewChecklistItem(models.Model):
    """One step of the pre-visit checklist (seed 003: pre-visit processes were unclear)."""

    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="checklist")
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.text


class ReviewDocument(UploadedDocument):
    """A document the service shares with its reviewers before the visit (ilcop.uploads)."""

    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(upload_to=review_document_path, max_length=200)


class StandardFinding(models.Model):
    """The review team's finding against one standard."""

    class Rating(models.TextChoices):
        MET = "met", "Met"
        PARTLY_MET = "partly_met", "Partly met"
        NOT_MET = "not_met", "Not met"

    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="findings")
    standard = models.ForeignKey(Standard, on_delete=models.RESTRICT, related_name="findings")
    rating = models.CharField(max_length=20, choices=Rating.choices)
    evidence = models.TextField("evidence seen")
    # How, not just what (seed 003: the visit gave little help on how to improve).
    recommendation = models.TextField("how the service could improve", blank=True)
    good_practice = models.TextField("good practice others could learn from", blank=True)
    # What a published (redacted) report says instead of ``evidence``: written by the core
    # team, leaving out anything that identifies a person.
    published_evidence = models.TextField("evidence, as published", blank=True)
    # The good practice as shared in the programme's library (qips shared learning), once the
    # core team has added it there.
    library_resource = models.OneToOneField(Resource, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="finding")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["standard__order", "standard__code"]
        constraints = [
            models.UniqueConstraint(fields=["review", "standard"],
                                    name="one_finding_per_standard"),
        ]

    def __str__(self) -> str:
        return f"{self.standard.code}: {self.get_rating_display()}"


class ReportRecipient(models.Model):
    """One person on a review report's distribution list, by role. The report goes to
    exactly these people (visits.services.report), each recorded in the notification
    ledger, which is how delivery is tracked. People outside the service (its chief
    executive, the commissioner, the network) have an account made for them, without a
    password: they receive the PDF and need never sign in."""

    class Role(models.TextChoices):
        SERVICE_TEAM = "service_team", "The service team"
        CHIEF_EXECUTIVE = "chief_executive", "Chief executive"
        COMMISSIONER = "commissioner", "Commissioner"
        NETWORK = "network", "Network"
        OTHER = "other", "Other"

    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE,
                               related_name="distribution")
    role = models.CharField(max_length=20, choices=Role.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="report_distributions")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                 on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["role", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "user"], name="one_distribution_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
