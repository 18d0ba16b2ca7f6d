"""Who may see a plan, and the reads behind the QIP pages.

A plan belongs to its site team. The programme's core team sees every plan in it. The
partner site (the team that visited) sees it if the host team shares it with them; every
team in the programme sees it in the library once it is approved, if the team chooses. Anyone
else gets a 404. Nothing is shared without the team's choice.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ilcop.models import User
from programmes.models import Pair, Pairing, SiteMembership

from .models import Barrier, Driver, Measure, Measurement, QualityImprovementPlan

Status = QualityImprovementPlan.Status
LIBRARY_STATUSES = (Status.APPROVED, Status.IN_PROGRESS, Status.COMPLETED, Status.ON_HOLD,
                    Status.STOPPED)


def _partner_sites(user: User) -> QuerySet:
    """Pairs (confirmed) in which the person's site is one side: the plan's site is the
    other side."""
    mine = SiteMembership.objects.current().filter(user=user).values("site")
    return Pair.objects.filter(pairing__status=Pairing.Status.CONFIRMED).filter(
        Q(site_a__in=mine) | Q(site_b__in=mine))


def visible_plans(user: User) -> QuerySet[QualityImprovementPlan]:
    if not user.is_authenticated:
        return QualityImprovementPlan.objects.none()
    my_sites = SiteMembership.objects.current().filter(user=user).values("site")
    pairs = _partner_sites(user)
    partner_sites = set(pairs.values_list("site_a", flat=True)) | set(
        pairs.values_list("site_b", flat=True))
    my_programmes = SiteMembership.objects.current().filter(user=user).values(
        "site__enrolments__programme")
    return QualityImprovementPlan.objects.filter(
        Q(programme__core_team__user=user)
        | Q(site__in=my_sites)
        | Q(share_with_partner=True, site__in=partner_sites)
        | Q(share_with_programme=True, status__in=LIBRARY_STATUSES,
            programme__in=my_programmes)
    ).distinct()


def plan_for_user(user: User, pk: int) -> QualityImprovementPlan:
    return get_object_or_404(
        visible_plans(user).select_related("programme", "site__organisation",
                                           "focus_area__visit", "reporting_owner",
                                           "approved_by"), pk=pk)


@dataclass(frozen=True)
class Access:
    core: bool  # reviews, approves, records support
    team: bool  # the plan's own site team: writes the plan

    @property
    def reader_only(self) -> bool:
        return not (self.core or self.team)


def access(user: User, plan: QualityImprovementPlan) -> Access:
    return Access(
        core=plan.programme.core_team.filter(user=user).exists(),
        team=SiteMembership.objects.current().filter(site=plan.site, user=user).exists(),
    )


def driver_tree(plan: QualityImprovementPlan) -> list[dict]:
    """Primary drivers, each with its secondary drivers, each with its change ideas."""
    drivers = list(plan.drivers.all())
    children: dict[int | None, list[Driver]] = {}
    for driver in drivers:
        children.setdefault(driver.parent_id, []).append(driver)

    def branch(driver: Driver) -> dict:
        return {"driver": driver, "children": [branch(c) for c in children.get(driver.pk, [])]}

    return [branch(d) for d in children.get(None, [])]


def change_ideas(plan: QualityImprovementPlan) -> QuerySet[Driver]:
    return plan.drivers.filter(kind=Driver.Kind.CHANGE_IDEA)


def site_plans(site) -> QuerySet[QualityImprovementPlan]:
    return QualityImprovementPlan.objects.filter(site=site).select_related(
        "programme", "focus_area__visit").order_by("-created_at")


# --- The core team's view: which plans need help --------------------------------------------

QUIET_AFTER = datetime.timedelta(weeks=6)
ACTIVE = (Status.APPROVED, Status.IN_PROGRESS, Status.ON_HOLD)


@dataclass
class PlanHealth:
    plan: QualityImprovementPlan
    last_update: datetime.datetime | None
    last_data: datetime.date | None
    reasons: list[str]


def _periods_missed(last: datetime.date | None, today: datetime.date, frequency: str) -> int:
    if last is None:
        return 99
    days = (today - last).days
    length = {"weekly": 7, "monthly": 30.44, "quarterly": 91.3}[frequency]
    # The period after `last` is due once it has ended.
    return max(0, int(days / length) - 1)


def programme_plans(programme, *, status: str = "") -> list[PlanHealth]:
    """Every plan in the programme, with why it might need help: no update for six weeks,
    no data for two periods, or a barrier asking for help (PRODUCT.md)."""
    plans = QualityImprovementPlan.objects.filter(programme=programme).select_related(
        "site__organisation").annotate(
        last_update=Max("progress_updates__submitted_at"),
        open_help=Count("barriers", filter=Q(barriers__status=Barrier.Status.OPEN)
                        & ~Q(barriers__help_needed=""), distinct=True),
    ).order_by("site__organisation__name", "title")
    if status:
        plans = plans.filter(status=status)
    plans = list(plans)
    last_data: dict[int, list[tuple[str, datetime.date | None]]] = {}
    for plan_id, frequency, last in Measure.objects.filter(plan__in=plans).values_list(
            "plan_id", "frequency").annotate(last=Max("measurements__period")).order_by():
        last_data.setdefault(plan_id, []).append((frequency, last))
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for plan in plans:
        reasons = []
        if plan.status in ACTIVE:
            since = plan.last_update or plan.approved_at or plan.status_changed_at
            if now - since > QUIET_AFTER:
                reasons.append("No progress update for six weeks")
            measures = last_data.get(plan.pk, [])
            if measures and all(_periods_missed(last, today, f) >= 2 for f, last in measures):
                reasons.append("No data for two periods")
            if plan.open_help:
                reasons.append("A barrier asks for help")
        latest = max((last for _, last in last_data.get(plan.pk, []) if last), default=None)
        rows.append(PlanHealth(plan, plan.last_update, latest, reasons))
    return rows


# --- The library --------------------------------------------------------------------------


def library(programme, *, query: str = "", indicator: str = "", status: str = "",
            category: str = "") -> QuerySet[QualityImprovementPlan]:
    plans = QualityImprovementPlan.objects.filter(
        programme=programme, share_with_programme=True, status__in=LIBRARY_STATUSES,
    ).select_related("site__organisation").prefetch_related("indicators")
    if query:
        plans = plans.filter(
            Q(title__icontains=query) | Q(problem_statement__icontains=query)
            | Q(aim_what__icontains=query) | Q(lessons_learned__icontains=query)
            | Q(results_summary__icontains=query) | Q(drivers__text__icontains=query)
            | Q(focus_area__title__icontains=query)).distinct()
    if indicator:
        plans = plans.filter(indicators__code=indicator)
    if status:
        plans = plans.filter(status=status)
    if category:
        plans = plans.filter(category=category)
    return plans.order_by("-approved_at")


def similar_plans(plan: QualityImprovementPlan, *, limit: int = 5
                  ) -> list[QualityImprovementPlan]:
    """Shared plans elsewhere in the programme on the same indicators or the same category
    of change, most overlap first."""
    indicator_ids = list(plan.indicators.values_list("pk", flat=True))
    candidates = library(plan.programme).exclude(pk=plan.pk).exclude(site=plan.site).annotate(
        shared=Count("indicators", filter=Q(indicators__in=indicator_ids), distinct=True))
    condition = Q(shared__gt=0)
    if plan.category:
        condition |= Q(category=plan.category)
    return list(candidates.filter(condition).order_by("-shared", "-approved_at")[:limit])


def measures_with_data(plan: QualityImprovementPlan) -> list[Measure]:
    return list(plan.measures.prefetch_related(
        Prefetch("measurements", queryset=Measurement.objects.order_by("period")),
        "rebases"))
