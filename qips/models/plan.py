"""A quality improvement plan (QIP): what a site team will change after its visit, how it
will know, and who does what. The structure follows the ILCOP template and the BMJ quality
improvement series (PRODUCT.md): a SMART aim, a driver diagram down to change ideas, a
small family of measures, named roles, a timeline, and sustainability from the start.
State changes go through qips.services, which log each one.
"""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from programmes.models import Indicator, Programme, Site, SurveyQuestion
from visits.models import FocusArea

# ILCOP followed plans up for 16 months after the visit.
DEFAULT_PLAN_MONTHS = 16


class QualityImprovementPlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        RESUBMITTED = "resubmitted", "Resubmitted"
        APPROVED = "approved", "Approved"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        ON_HOLD = "on_hold", "On hold"
        STOPPED = "stopped", "Stopped"

    class Category(models.TextChoices):
        QUICK_FIX = "quick_fix", "Quick fix"
        MEDIUM_TERM = "medium_term", "Medium-term"
        BEYOND_LOCAL = "beyond_local", "Beyond local resources"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="qips")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="qips")
    focus_area = models.ForeignKey(FocusArea, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="qips")
    # A one-way review's action plan is a plan like any other (its owner is
    # ``reporting_owner``, its actions the milestones), so monthly updates, reminders and the
    # core team's follow-up lists serve it unchanged (seed 003: nobody owned the action plan,
    # and there was no follow-up or next review date).
    review = models.OneToOneField("visits.PeerReview", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="action_plan")
    support_requested = models.TextField(
        "support the service asks for", blank=True,
        help_text="How you need help, not only what must change: expertise, a visit to a "
                  "service that does this well, time, money or a decision by someone else")
    next_review_on = models.DateField("next review date", null=True, blank=True)
    title = models.CharField(max_length=200)
    problem_statement = models.TextField(
        blank=True,
        help_text="What is wrong now, for whom, and how you know. Point to the evidence below.")
    indicators = models.ManyToManyField(Indicator, blank=True, related_name="qips",
                                        verbose_name="audit indicators behind the problem")
    survey_questions = models.ManyToManyField(SurveyQuestion, blank=True, related_name="qips",
                                              verbose_name="survey results behind the problem")
    evidence_notes = models.TextField("other evidence", blank=True)

    # The aim, in its SMART parts.
    aim_what = models.CharField("what will improve", max_length=300, blank=True)
    aim_how_much = models.CharField("by how much", max_length=200, blank=True)
    aim_by_when = models.DateField("by when", null=True, blank=True)
    aim_for_whom = models.CharField("for whom", max_length=200, blank=True)

    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    sustainability_plan = models.TextField(
        blank=True,
        help_text="How the change will last when the programme ends and people move on.")
    reporting_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="reported_qips", verbose_name="who sends the monthly update")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    status_changed_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    # The aim and measures as approved: the original commitment, so success cannot be
    # redefined after the fact (PRODUCT.md). Set once, at approval.
    commitment = models.JSONField(null=True, blank=True)

    share_with_partner = models.BooleanField(
        "share with our partner site", default=False,
        help_text="The team that visited you can follow this plan")
    share_with_programme = models.BooleanField(
        "share in the programme's library", default=False,
        help_text="Every team in the programme can read this plan once it is approved")
    results_summary = models.TextField("results", blank=True)
    lessons_learned = models.TextField("lessons learned", blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Moves on with each edit of the plan's form, so two people editing at once never
    # overwrite each other (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)
    # Replaced whenever an activity-log entry is filed under the plan (qips.signals), in the
    # writer's transaction. Every change to a plan or its parts is logged there, so a page
    # fragment cached under this key is never stale (qips.fragments). Random, not a counter,
    # for the reason Measure.data_version is.
    content_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "quality improvement plan"
        indexes = [models.Index(fields=["programme", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def aim_statement(self) -> str:
        parts = [self.aim_what.strip()]
        if self.aim_how_much:
            parts.append(self.aim_how_much.strip())
        if self.aim_for_whom:
            parts.append(f"for {self.aim_for_whom.strip()}")
        if self.aim_by_when:
            parts.append(f"by {self.aim_by_when:%-d %B %Y}")
        statement = " ".join(p for p in parts if p)
        return statement[:1].upper() + statement[1:]

    @property
    def is_editable(self) -> bool:
        """The team edits freely until approval; afterwards changes are allowed but shown
        against the commitment."""
        return self.status not in (self.Status.COMPLETED, self.Status.STOPPED)

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def ends_on(self) -> datetime.date | None:
        if self.approved_at is None:
            return None
        start = timezone.localdate(self.approved_at)
        month = start.month - 1 + DEFAULT_PLAN_MONTHS
        year, month = start.year + month // 12, month % 12 + 1
        return datetime.date(year, month, min(start.day, 28))


class Driver(models.Model):
    """A node of the driver diagram: aim → primary drivers → secondary drivers → change
    ideas (Institute for Healthcare Improvement; BMJ QI series)."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", "Primary driver"
        SECONDARY = "secondary", "Secondary driver"
        CHANGE_IDEA = "change_idea", "Change idea"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="drivers")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind="primary", parent__isnull=True)
                                   | Q(~Q(kind="primary"), parent__isnull=False),
                                   name="only_primary_drivers_have_no_parent"),
        ]

    def __str__(self) -> str:
        return self.text


class PlanRole(models.Model):
    """Who does what, by when: named people, including managers and other departments the
    plan depends on, who need not have an account."""

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="roles")
    person = models.CharField("name", max_length=150)
    job_title = models.CharField("job title or department", max_length=150, blank=True)
    responsibility = models.CharField("what they do", max_length=300)
    due_on = models.DateField("by when", null=True, blank=True)
    permanent_staff = models.BooleanField(
        "permanent member of staff", default=True,
        help_text="Sustainability owners should be permanent staff, not trainees or "
                  "fixed-term posts")
    owns_sustainability = models.BooleanField("owns sustaining the change", default=False)
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.person}: {self.responsibility}"


class Milestone(models.Model):
    """A step on the plan's timeline; on a review's action plan, an action."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        BLOCKED = "blocked", "Blocked"
        DONE = "done", "Done"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="milestones")
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    done_on = models.DateField(null=True, blank=True)
    owner = models.CharField("who", max_length=150, blank=True)
    # Kept in step with done_on by qips.services.parts: done exactly when done_on is set.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    finding = models.ForeignKey("visits.StandardFinding", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="actions")
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.title


class Barrier(models.Model):
    class Kind(models.TextChoices):
        STAFFING = "staffing", "Staffing"
        TIME = "time", "Time"
        DATA = "data", "Data and IT"
        MONEY = "money", "Money"
        ENGAGEMENT = "engagement", "Engagement"
        OTHER_DEPARTMENT = "other_department", "Another department"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="barriers")
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    description = models.TextField()
    raised_on = models.DateField(default=timezone.localdate)
    owner = models.CharField(max_length=150, blank=True)
    help_needed = models.TextField("help needed from the core team", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Moves on with each edit through the part's form (ilcop.concurrency).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["status", "-raised_on", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class ReviewComment(models.Model):
    """A core-team comment on one part of a submitted plan, and the team's answer."""

    class Field(models.TextChoices):
        GENERAL = "general", "The plan as a whole"
        PROBLEM = "problem", "Problem statement and evidence"
        AIM = "aim", "Aim"
        DRIVERS = "drivers", "Driver diagram"
        MEASURES = "measures", "Measures"
        ROLES = "roles", "Roles"
        TIMELINE = "timeline", "Timeline"
        SUSTAINABILITY = "sustainability", "Sustainability"

    plan = models.ForeignKey(QualityImprovementPlan, on_delete=models.CASCADE,
                             related_name="review_comments")
    field = models.CharField("about", max_length=20, choices=Field.choices)
    text = models.TextField("comment")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    response = models.TextField(blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment on {self.get_field_display()}"
