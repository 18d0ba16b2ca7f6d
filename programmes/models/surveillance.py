"""One-way review programmes (NHS England's quality surveillance model, seed 003): standards,
quality indicators, the annual self-report, the surveillance decision it leads to, regional
hubs and the reviewer pool.

A programme of kind ``one_way`` has standards, and quality indicators under them. Each year
services (sites) self-report whether they meet each indicator, with evidence. The pure rules in
``programmes.surveillance`` flag a service below threshold (under 100% of its agreed
indicators, or below the programme's good-practice compliance threshold), and the core team
records a decision for it: routine surveillance, enhanced surveillance, peer review, or a
combination, with a risk level agreed with the provider and the commissioner. A peer review
(visits.models.PeerReview) is carried out by a team drawn from the reviewer pool.

State changes go through programmes.services, never through save() here.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ilcop.uploads import UploadedDocument, evidence_path

from .core import Organisation, Programme, Region, Site


class Standard(models.Model):
    """A standard a service is reviewed against, such as "The MDT meets weekly and every
    patient is discussed". Findings at a review are recorded against each one."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="standards")
    code = models.CharField(max_length=20, help_text="For example, S1")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="standard_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class QualityIndicator(models.Model):
    """One indicator a service self-reports against each year.

    The QNT framework triggers further surveillance when a service meets less than 100% of its
    *agreed* quality indicators, or fails its *good practice* compliance threshold (seed 003,
    section 1.1.1); the two kinds are scored separately. The evaluation heard that indicators
    were out of date and the system could not cope with that, so each has a version and a
    review date, and anyone on the core team can flag one as out of date, with a reason.
    """

    class Kind(models.TextChoices):
        AGREED = "agreed", "Agreed quality indicator"
        GOOD_PRACTICE = "good_practice", "Good practice"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="quality_indicators")
    standard = models.ForeignKey(Standard, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="indicators")
    code = models.CharField(max_length=30, help_text="For example, QI-01")
    title = models.CharField(max_length=300)
    guidance = models.TextField("what counts as evidence", blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.AGREED)
    version = models.CharField(max_length=20, default="1")
    review_date = models.DateField("due for review by", null=True, blank=True)
    flagged_out_of_date_at = models.DateTimeField(null=True, blank=True)
    flagged_out_of_date_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                               on_delete=models.SET_NULL, related_name="+")
    out_of_date_reason = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"],
                                    name="quality_indicator_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def is_out_of_date(self, today=None) -> bool:
        """Flagged by someone, or past its review date."""
        today = today or timezone.localdate()
        return bool(self.flagged_out_of_date_at
                    or (self.review_date is not None and self.review_date < today))


class SelfReportCycle(models.Model):
    """One year's self-report: services submit between the opening and closing dates."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE,
                                  related_name="self_report_cycles")
    name = models.CharField(max_length=50, help_text="For example, 2026/27")
    opens_on = models.DateField()
    closes_on = models.DateField()

    class Meta:
        ordering = ["-opens_on"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="cycle_name_unique"),
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")),
                                   name="cycle_closes_after_it_opens"),
        ]

    def __str__(self) -> str:
        return f"Self-report {self.name}"

    @property
    def window(self) -> str:
        """"not_open", "open" or "closed" today (London). ``closes_on`` is the last day a
        service may submit. Who may still change a report after closing is
        ``programmes.services.self_report.self_report_closed_reason``."""
        today = timezone.localdate()
        if today < self.opens_on:
            return "not_open"
        return "closed" if today > self.closes_on else "open"


class SelfReport(models.Model):
    """A service's answers for one cycle. Editable until submitted, within the cycle's dates;
    the core team may reopen it. Answers imported by the core team are submitted on the
    service's behalf."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Not submitted"
        SUBMITTED = "submitted", "Submitted"

    cycle = models.ForeignKey(SelfReportCycle, on_delete=models.CASCADE, related_name="reports")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="self_reports")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # Set when the core team reopens a submitted report, cleared when it is submitted again:
    # a reopened report stays open to its service after the cycle closes.
    reopened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # ilcop.concurrency: two people answering at once never overwrite each other.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["site__organisation__name", "site__name"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "site"], name="one_self_report_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.cycle}"


class IndicatorResponse(models.Model):
    """A service's answer for one indicator: met, not met, or not yet answered (None)."""

    report = models.ForeignKey(SelfReport, on_delete=models.CASCADE, related_name="responses")
    indicator = models.ForeignKey(QualityIndicator, on_delete=models.CASCADE,
                                  related_name="responses")
    met = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "indicator"],
                                    name="one_response_per_indicator"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code}: {self.met}"


class EvidenceDocument(UploadedDocument):
    """A document a service uploads to support its self-report (ilcop.uploads)."""

    report = models.ForeignKey(SelfReport, on_delete=models.CASCADE, related_name="evidence")
    indicator = models.ForeignKey(QualityIndicator, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to=evidence_path, max_length=200)


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class SurveillanceDecision(models.Model):
    """What happens to a flagged service this cycle (seed 003, section 1.1.1): routine
    surveillance, enhanced surveillance (provider or commissioner action, or both), peer
    review, or a combination, "depending on the level of risk assessed by QNT in consensus
    with the provider and commissioner"."""

    class EnhancedBy(models.TextChoices):
        PROVIDER = "provider", "The provider"
        COMMISSIONER = "commissioner", "The commissioner"
        BOTH = "both", "Both"

    report = models.OneToOneField(SelfReport, on_delete=models.CASCADE, related_name="decision")
    routine = models.BooleanField("routine surveillance", default=False)
    enhanced = models.BooleanField("enhanced surveillance", default=False)
    enhanced_by = models.CharField("enhanced surveillance action by", max_length=20,
                                   choices=EnhancedBy.choices, blank=True)
    enhanced_action = models.TextField("what the enhanced surveillance involves", blank=True)
    peer_review = models.BooleanField("peer review", default=False)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    agreed_with_provider = models.BooleanField("risk level agreed with the provider",
                                               default=False)
    agreed_with_commissioner = models.BooleanField("risk level agreed with the commissioner",
                                                   default=False)
    rationale = models.TextField("reasons for the decision")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(routine=True) | Q(enhanced=True)
                                   | Q(peer_review=True),
                                   name="decision_chooses_an_action"),
            models.CheckConstraint(condition=Q(enhanced=False) | ~Q(enhanced_by=""),
                                   name="enhanced_surveillance_says_by_whom"),
        ]

    def __str__(self) -> str:
        return f"Decision for {self.report}"

    @property
    def actions(self) -> list[str]:
        names = []
        if self.routine:
            names.append("Routine surveillance")
        if self.enhanced:
            names.append("Enhanced surveillance")
        if self.peer_review:
            names.append("Peer review")
        return names


class RegionalHub(models.Model):
    """A regional hub that analyses its services' self-reports (seed 003: responses "collated
    centrally and analysed by regional hubs"): a named group of sites, and the people in it,
    who see those sites' results and nothing else."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="hubs")
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=40, choices=Region.choices, blank=True)
    sites = models.ManyToManyField(Site, blank=True, related_name="hubs")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="hub_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class RegionalHubMembership(models.Model):
    hub = models.ForeignKey(RegionalHub, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="hub_memberships")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hub", "user"], name="one_hub_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.hub}"


class Reviewer(models.Model):
    """A person in the programme's reviewer pool: a clinical peer, or a patient reviewer."""

    class Profession(models.TextChoices):
        DOCTOR = "doctor", "Doctor"
        NURSE = "nurse", "Nurse"
        AHP = "ahp", "Allied health professional"
        PHARMACIST = "pharmacist", "Pharmacist"
        MANAGER = "manager", "Service manager"
        OTHER = "other", "Other"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="reviewer_roles")
    is_patient_reviewer = models.BooleanField("patient reviewer", default=False)
    # Blank for a patient reviewer.
    profession = models.CharField(max_length=20, choices=Profession.choices, blank=True)
    expertise = models.CharField(max_length=300, blank=True,
                                 help_text="For example, thoracic surgery, MDT coordination")
    region = models.CharField(max_length=40, choices=Region.choices)
    # Where they work: a reviewer never reviews their own organisation, nor one in its
    # network (programmes.review_team). Patient reviewers usually have none.
    organisation = models.ForeignKey(Organisation, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    training_completed_on = models.DateField("reviewer training completed on", null=True,
                                             blank=True)
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "user"], name="one_reviewer_per_person"),
            models.CheckConstraint(condition=Q(is_patient_reviewer=True) | ~Q(profession=""),
                                   name="clinical_reviewer_has_a_profession"),
        ]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def kind_label(self) -> str:
        return "Patient reviewer" if self.is_patient_reviewer else "Clinical peer"


class ConflictOfInterest(models.Model):
    """An organisation a reviewer has declared a conflict with (a former employer, a family
    member's service, a research collaboration): they are never assigned to review it."""

    reviewer = models.ForeignKey(Reviewer, on_delete=models.CASCADE, related_name="conflicts")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    description = models.CharField(max_length=300)
    declared_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "organisation"],
                                    name="one_conflict_per_organisation"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer}: {self.organisation}"
