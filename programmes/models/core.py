"""Programmes, the trusts and MDTs that take part, the people in them, and enrolment.

State changes go through programmes.services, never through save() here, so that each one
writes its activity-log entry.
"""

import datetime
import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Specialty(models.TextChoices):
    LUNG_CANCER = "lung_cancer", "Lung cancer"
    BREAST_CANCER = "breast_cancer", "Breast cancer"
    COLORECTAL_CANCER = "colorectal_cancer", "Colorectal cancer"
    UPPER_GI_CANCER = "upper_gi_cancer", "Upper GI cancer"
    UROLOGICAL_CANCER = "urological_cancer", "Urological cancer"
    HAEMATOLOGICAL_CANCER = "haematological_cancer", "Haematological cancer"
    OTHER = "other", "Other"


def default_minimum_roles() -> list[str]:
    return ["clinical_lead", "cns", "mdt_coordinator"]


class Programme(models.Model):
    class Kind(models.TextChoices):
        RECIPROCAL = "reciprocal", "Reciprocal pairs (sites visit each other)"
        ONE_WAY = "one_way", "One-way review (a reviewer team visits a service)"

    class Status(models.TextChoices):
        SETTING_UP = "setting_up", "Setting up"
        RECRUITING = "recruiting", "Recruiting"
        RUNNING = "running", "Running"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=40, choices=Specialty.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RECIPROCAL)
    description = models.TextField(blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SETTING_UP)
    # The audit period that decides eligibility and pairing, e.g. "2025".
    baseline_period = models.CharField(max_length=20, blank=True)
    # Below this denominator a figure rests on small numbers: it is flagged wherever it is
    # shown, and at baseline it makes a site ineligible (ILCOP required enough baseline data).
    min_denominator = models.PositiveIntegerField(
        "smallest reliable denominator", default=30,
        help_text="Figures with fewer patients than this are flagged as small numbers, and a "
                  "site needs at least this many in each headline indicator at baseline to be "
                  "eligible",
    )
    # Who must be at a visit from each team (ILCOP: clinical lead, CNS and MDT coordinator),
    # plus one facilitator. A visit cannot be confirmed without them unless overridden.
    minimum_roles = models.JSONField(default=default_minimum_roles)
    facilitator_max_visits_per_week = models.PositiveSmallIntegerField(
        "most visits a facilitator does in a week", default=2
    )
    visit_gap_days = models.PositiveSmallIntegerField(
        "fewest days between two visits involving the same site", default=14
    )
    # ILCOP asked each team for its plans once it had hosted (Aveling et al. 2012) but named
    # no deadline, so the number of weeks is the programme's choice; six is ours.
    qip_due_weeks = models.PositiveSmallIntegerField(
        "weeks after hosting a visit that improvement plans are due", default=6,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text="The host team is reminded a week before, and again if no plan has been "
                  "submitted by then",
    )
    # Online conferences announced at short notice clashed with clinics and drew few people
    # (ILCOP's participants); at least four weeks lets people rearrange a clinic. Announcing
    # with less asks the core team for a reason, which is kept.
    event_notice_weeks = models.PositiveSmallIntegerField(
        "weeks of notice for workshops and conferences", default=4,
        validators=[MinValueValidator(1), MaxValueValidator(26)],
        help_text="Announcing an event with less notice than this shows a warning",
    )
    # One-way review programmes (programmes.models.surveillance). A service scoring below
    # this share of its good-practice indicators is flagged, as is one missing any agreed
    # indicator (seed 003, section 1.1.1); the share is the programme's to set.
    compliance_threshold = models.PositiveSmallIntegerField(
        "good practice compliance threshold (%)", default=75,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="One-way reviews: a service meeting fewer of its good practice indicators "
                  "than this is flagged for a surveillance decision",
    )
    # The review team's mix (seed 003: clinical peers and patient reviewers).
    review_team_min_clinical = models.PositiveSmallIntegerField(
        "fewest clinical peers on a review team", default=1,
        validators=[MaxValueValidator(10)])
    review_team_min_patient = models.PositiveSmallIntegerField(
        "fewest patient reviewers on a review team", default=1,
        validators=[MaxValueValidator(10)])
    created_at = models.DateTimeField(auto_now_add=True)
    # Replaced with any of its plans' content_version (qips.signals), so what is worked out
    # from all the programme's plans (the dashboard's plan health) can be cached under it.
    plans_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="programme_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_one_way(self) -> bool:
        return self.kind == self.Kind.ONE_WAY


class CoreTeamMembership(models.Model):
    """A member of the small central team that runs a programme."""

    class Role(models.TextChoices):
        CLINICAL_LEAD = "clinical_lead", "Clinical lead"
        PROJECT_MANAGER = "project_manager", "Project manager"
        ADMINISTRATOR = "administrator", "Administrator"
        QI_FACILITATOR = "qi_facilitator", "Quality improvement facilitator"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="core_team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="core_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["role", "user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "user"], name="one_core_role_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Region(models.TextChoices):
    """NHS England's seven regions."""

    NORTH_EAST_YORKSHIRE = "north_east_yorkshire", "North East and Yorkshire"
    NORTH_WEST = "north_west", "North West"
    MIDLANDS = "midlands", "Midlands"
    EAST_OF_ENGLAND = "east_of_england", "East of England"
    LONDON = "london", "London"
    SOUTH_EAST = "south_east", "South East"
    SOUTH_WEST = "south_west", "South West"


class Organisation(models.Model):
    """An NHS trust (or other provider) that hosts one or more MDTs."""

    name = models.CharField(max_length=200)
    # The ODS code where the organisation has one; unique so imports can match on it.
    code = models.CharField(max_length=20, unique=True)
    region = models.CharField(max_length=40, choices=Region.choices)
    # The cancer alliance or clinical network the organisation belongs to.
    network = models.CharField(max_length=200, blank=True)
    # Where the main hospital is, for travel distances between partners.
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


# Larger than any MDT's caseload; stops a typo from becoming a number the database refuses.
MAX_ANNUAL_NEW_PATIENTS = 100_000


class Site(models.Model):
    """A multidisciplinary team (MDT) at an organisation: the unit that takes part."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200, help_text="For example, Lung cancer MDT")
    code = models.CharField(max_length=30, unique=True)
    specialty = models.CharField(max_length=40, choices=Specialty.choices)
    # Visits fall on this day because the host's real MDT meeting is observed.
    mdt_day = models.PositiveSmallIntegerField("MDT meeting day", choices=Weekday.choices)
    mdt_time = models.TimeField("MDT meeting start time")
    annual_new_patients = models.PositiveIntegerField(
        "approximate new patients a year", null=True, blank=True,
        validators=[MaxValueValidator(MAX_ANNUAL_NEW_PATIENTS)],
    )
    # The latest entry on the site's timeline made by a member of its team at the time: how
    # the core team tells a team that has gone quiet (qips.digest.quiet_teams). Kept by
    # programmes.services.team_activity from ilcop.activity.activity_logged, never edited.
    team_last_active_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["organisation__name", "name"]

    def __str__(self) -> str:
        return f"{self.organisation.name}: {self.name}"


class SiteMembershipQuerySet(models.QuerySet):
    def current(self):
        return self.filter(ended_at__isnull=True)


class SiteMembership(models.Model):
    """A person in a site's team. Ending a membership keeps it for the record."""

    class Role(models.TextChoices):
        CLINICAL_LEAD = "clinical_lead", "Clinical lead"
        CNS = "cns", "Clinical nurse specialist"
        MDT_COORDINATOR = "mdt_coordinator", "MDT coordinator"
        OTHER_CLINICIAN = "other_clinician", "Other clinician"
        MANAGER = "manager", "Manager"
        EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # For other clinicians: surgeon, oncologist, radiologist, pathologist and so on.
    clinical_specialty = models.CharField(max_length=100, blank=True)
    joined_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = SiteMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["role", "user__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "user"],
                condition=Q(ended_at__isnull=True),
                name="one_current_membership_per_person_per_site",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role_label})"

    @property
    def role_label(self) -> str:
        if self.role == self.Role.OTHER_CLINICIAN and self.clinical_specialty:
            return f"{self.get_role_display()} ({self.clinical_specialty})"
        return self.get_role_display()


class EnrolmentQuerySet(models.QuerySet):
    def with_arm(self):
        """Annotate `arm`: intervention or control once allocated, empty before. A site that
        withdrew after allocation keeps its arm (intention to treat), which the evaluation,
        the exports and the demo's follow-up data all rely on."""
        arms = ("intervention", "control")
        return self.annotate(arm=models.Case(
            models.When(status__in=arms, then=models.F("status")),
            models.When(status="withdrawn", withdrawn_from__in=arms,
                        then=models.F("withdrawn_from")),
            default=models.Value(""), output_field=models.CharField(),
        ))

    def allocated(self):
        return self.with_arm().exclude(arm="")


class Enrolment(models.Model):
    """A site's place in a programme, moving through the recruitment funnel.

    invited → interested → approved (by the chief executive or their delegate) →
    eligible or ineligible → intervention or control. A site can be withdrawn at any stage.
    Who made each move, and when, is in the activity log.
    """

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        INTERESTED = "interested", "Interested"
        APPROVED = "approved", "Executive approval recorded"
        ELIGIBLE = "eligible", "Eligible"
        INELIGIBLE = "ineligible", "Ineligible"
        INTERVENTION = "intervention", "Intervention arm"
        CONTROL = "control", "Control arm"
        WITHDRAWN = "withdrawn", "Withdrawn"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="enrolments")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INVITED)
    approved_by = models.CharField(
        "approved by", max_length=200, blank=True,
        help_text="Name and job title of the executive who approved taking part",
    )
    approved_on = models.DateField(null=True, blank=True)
    ineligible_reason = models.TextField(blank=True)
    withdrawn_reason = models.TextField(blank=True)
    # The stage a withdrawn site had reached, so funnel counts stay true after withdrawal.
    withdrawn_from = models.CharField(max_length=20, choices=Status.choices, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        ordering = ["site__organisation__name", "site__name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "site"], name="one_enrolment_per_site")
        ]
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return f"{self.site} in {self.programme}"

    @property
    def is_withdrawn(self) -> bool:
        return self.status == self.Status.WITHDRAWN


class Invitation(models.Model):
    """An invitation to join a programme's core team or a site's team.

    The link in the email carries a signed token naming this invitation and its nonce
    (programmes.services.invitations); nothing secret is stored here. Sending again draws a
    new nonce, which retires every earlier link.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a reply"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Withdrawn"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="invitations")
    # Set for an invitation to a site team; empty for one to the core team.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    core_role = models.CharField(max_length=20, choices=CoreTeamMembership.Role.choices, blank=True)
    site_role = models.CharField(max_length=20, choices=SiteMembership.Role.choices, blank=True)
    clinical_specialty = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    nonce = models.CharField(max_length=32, default="")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(site__isnull=True, core_role__gt="", site_role="")
                           | Q(site__isnull=False, core_role="", site_role__gt="")),
                name="invitation_is_for_core_team_or_site",
            ),
            # One live invitation per person per team: inviting again resends it instead.
            models.UniqueConstraint(
                fields=["programme", "email"],
                condition=Q(status="pending", site__isnull=True),
                name="one_pending_core_team_invitation",
            ),
            models.UniqueConstraint(
                fields=["site", "email"],
                condition=Q(status="pending", site__isnull=False),
                name="one_pending_site_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.full_name}"

    @property
    def role_label(self) -> str:
        if self.site_id:
            return SiteMembership.Role(self.site_role).label
        return CoreTeamMembership.Role(self.core_role).label

    @property
    def expires_at(self) -> datetime.datetime | None:
        if self.sent_at is None:
            return None
        return self.sent_at + datetime.timedelta(days=settings.INVITATION_VALID_DAYS)

    def new_nonce(self) -> None:
        self.nonce = secrets.token_hex(16)
