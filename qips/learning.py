"""Reads for following up a one-way programme's action plans, and for what its reviews teach.

- ``action_plan_rows``: the core team's follow-up list, every action plan with its owner,
  actions done and overdue, the support asked for and the next review, in two queries
  whatever the programme's size.
- ``review_themes``: across every review of the programme, per standard, how many services
  met, partly met or did not meet it. The core team also reads each service's
  recommendation and good practice; participants read only the counts and the good practice
  already shared in the library, with no service named (docs/architecture.md, "Safe space").
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from programmes.models import Programme, Standard
from visits.models import StandardFinding

from .models import ProgressUpdate, QualityImprovementPlan

# An action plan counts as "review due" from a month before its next review date, the same
# notice the core team's reminder gives (qips.reminders.NEXT_REVIEW_NOTICE).
REVIEW_DUE_WITHIN = datetime.timedelta(days=30)
FILTERS = ("overdue", "support", "review_due")


@dataclass
class ActionPlanRow:
    plan: QualityImprovementPlan
    actions: int
    done: int
    overdue: int
    last_update: datetime.datetime | None
    review_due: bool

    @property
    def support(self) -> bool:
        return bool(self.plan.support_requested.strip())


def action_plan_rows(programme: Programme, *, filters: dict[str, bool] | None = None,
                     today: datetime.date | None = None) -> list[ActionPlanRow]:
    today = today or timezone.localdate()
    filters = filters or {}
    not_done = Q(milestones__done_on__isnull=True)
    plans = QualityImprovementPlan.objects.filter(
        programme=programme, review__isnull=False,
    ).select_related("site__organisation", "reporting_owner").annotate(
        action_count=Count("milestones"),
        done_count=Count("milestones", filter=~not_done),
        overdue_count=Count("milestones", filter=not_done & Q(milestones__due_on__lt=today)),
        last_update=Subquery(ProgressUpdate.objects.filter(plan=OuterRef("pk"))
                             .order_by("-submitted_at").values("submitted_at")[:1]),
    ).order_by("site__organisation__name", "site__name", "pk")
    if filters.get("overdue"):
        plans = plans.filter(overdue_count__gt=0)
    if filters.get("support"):
        plans = plans.exclude(support_requested="")
    if filters.get("review_due"):
        plans = plans.filter(next_review_on__lte=today + REVIEW_DUE_WITHIN).exclude(
            status__in=(QualityImprovementPlan.Status.COMPLETED,
                        QualityImprovementPlan.Status.STOPPED))
    return [ActionPlanRow(plan=p, actions=p.action_count, done=p.done_count,
                          overdue=p.overdue_count, last_update=p.last_update,
                          review_due=p.next_review_on is not None
                          and p.next_review_on <= today + REVIEW_DUE_WITHIN)
            for p in plans]


def overdue_actions(plan: QualityImprovementPlan, today: datetime.date | None = None):
    today = today or timezone.localdate()
    return plan.milestones.filter(done_on__isnull=True, due_on__lt=today)


@dataclass
class StandardTheme:
    standard: Standard
    met: int = 0
    partly_met: int = 0
    not_met: int = 0
    # For the core team: every finding, with its service. For participants: empty.
    findings: list[StandardFinding] = field(default_factory=list)
    # Good practice already shared in the library (programmes.Resource), named by nobody.
    shared: list = field(default_factory=list)

    @property
    def reviewed(self) -> int:
        return self.met + self.partly_met + self.not_met


def review_themes(programme: Programme, *, named: bool) -> list[StandardTheme]:
    """Each standard of the programme with its findings across every review, in two queries.
    ``named``: the core team's view, with each service's finding; otherwise only counts and
    the good practice the core team has shared in the library."""
    themes = {s.pk: StandardTheme(s) for s in Standard.objects.filter(programme=programme)}
    findings = StandardFinding.objects.filter(review__programme=programme).select_related(
        "library_resource").order_by("standard__order", "standard__code", "pk")
    if named:
        findings = findings.select_related("review__site__organisation")
    for finding in findings:
        theme = themes.get(finding.standard_id)
        if theme is None:
            continue
        setattr(theme, finding.rating, getattr(theme, finding.rating) + 1)
        if named:
            theme.findings.append(finding)
        if finding.library_resource is not None:
            theme.shared.append(finding.library_resource)
    return list(themes.values())
