"""Who may see a plan, and the reads behind the QIP pages.

A plan belongs to its site team. The programme's core team sees every plan in it. The
partner site (the team that visited) sees it if the host team shares it with them; every
team in the programme sees it in the library once it is approved, if the team chooses. Anyone
else gets a 404. Nothing is shared without the team's choice.
"""

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ilcop.models import User
from programmes.models import Enrolment, Programme, SiteMembership
from programmes.selectors import participant_programmes

from .models import (
    Barrier,
    Driver,
    Measure,
    Measurement,
    ProgressUpdate,
    QualityImprovementPlan,
)

Status = QualityImprovementPlan.Status
LIBRARY_STATUSES = (Status.APPROVED, Status.IN_PROGRESS, Status.COMPLETED, Status.ON_HOLD,
                    Status.STOPPED)


def library_programmes(user: User) -> QuerySet[Programme]:
    """Programmes whose library the person may read: those in which they take part
    (`programmes.selectors.participant_programmes`: the core team and the intervention arm's
    sites, never the control arm, whose reading intervention plans would contaminate the
    comparison)."""
    return participant_programmes(user)


def visible_plans(user: User) -> QuerySet[QualityImprovementPlan]:
    if not user.is_authenticated:
        return QualityImprovementPlan.objects.none()
    my_sites = SiteMembership.objects.current().filter(user=user).values("site")
    intervention_programmes = Enrolment.objects.filter(
        status=Enrolment.Status.INTERVENTION, site__in=my_sites).values("programme")
    return QualityImprovementPlan.objects.filter(
        Q(programme__core_team__user=user)
        | Q(site__in=my_sites)
        # The partner: a team that visited the plan's site in the same programme, i.e. that
        # helped shape the plan.
        | Q(share_with_partner=True, site__hosted_visits__visitor__in=my_sites,
            site__hosted_visits__programme=F("programme"))
        | Q(share_with_programme=True, status__in=LIBRARY_STATUSES,
            programme__in=intervention_programmes)
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


# Why a plan may need help: the code kept in the list's URL, and what the page says.
REASONS = {
    "quiet": "No progress update for six weeks",
    "no_data": "No data for two periods",
    "barrier": "A barrier asks for help",
    "update_help": "The latest update asks for help",
    "update_red": "The latest update is red",
}


@dataclass
class PlanHealth:
    plan: QualityImprovementPlan
    last_update: datetime.datetime | None
    last_data: datetime.date | None
    codes: list[str]

    @property
    def reasons(self) -> list[str]:
        return [REASONS[code] for code in self.codes]


def _periods_missed(last: datetime.date | None, today: datetime.date, frequency: str) -> int:
    if last is None:
        return 99
    days = (today - last).days
    length = {"weekly": 7, "monthly": 30.44, "quarterly": 91.3}[frequency]
    # The period after `last` is due once it has ended.
    return max(0, int(days / length) - 1)


def _with_health(plans: QuerySet[QualityImprovementPlan]) -> QuerySet[QualityImprovementPlan]:
    """The plans, with what their reasons are worked out from: their latest update's request
    for help and RAG, when they were last updated, and whether a barrier asks for help.
    Subqueries, not joins: joining updates and barriers at once multiplies their rows; the
    unique (plan, month) index answers each."""
    updates = ProgressUpdate.objects.filter(plan=OuterRef("pk"))
    latest = updates.order_by("-month")
    return plans.annotate(
        last_update=Subquery(updates.order_by("-submitted_at").values("submitted_at")[:1]),
        open_help=Exists(Barrier.objects.filter(plan=OuterRef("pk"),
                                                status=Barrier.Status.OPEN)
                         .exclude(help_needed="")),
        latest_help=Subquery(latest.values("help_needed")[:1]),
        latest_rag=Subquery(latest.values("rag")[:1]),
    )


def _last_data(measures: QuerySet[Measure]) -> dict[int, list[tuple[str, datetime.date | None]]]:
    """Each plan's measures: (frequency, latest period with data). The latest period is one
    probe of the unique (measure, period) index per measure, not a MAX over every
    measurement of the programme."""
    latest = Measurement.objects.filter(measure=OuterRef("pk")).order_by("-period")
    last_data: dict[int, list[tuple[str, datetime.date | None]]] = {}
    for plan_id, frequency, last in measures.annotate(
            last=Subquery(latest.values("period")[:1])).values_list(
            "plan_id", "frequency", "last").order_by():
        last_data.setdefault(plan_id, []).append((frequency, last))
    return last_data


def _codes(*, status: str, approved_at: datetime.datetime | None,
           status_changed_at: datetime.datetime, last_update: datetime.datetime | None,
           open_help: bool, latest_help: str | None, latest_rag: str | None,
           measures: list[tuple[str, datetime.date | None]], now: datetime.datetime,
           today: datetime.date) -> list[str]:
    """Why one plan may need help: the codes of REASONS, in their order."""
    codes = []
    if status not in ACTIVE:
        return codes
    since = last_update or approved_at or status_changed_at
    if now - since > QUIET_AFTER:
        codes.append("quiet")
    # Counted from approval for a measure with no data yet, so a new plan is not flagged
    # before two periods have passed.
    started = today
    if approved_at and any(last is None for _, last in measures):
        started = timezone.localdate(approved_at)
    if measures and all(_periods_missed(last or started, today, f) >= 2 for f, last in measures):
        codes.append("no_data")
    if open_help:
        codes.append("barrier")
    if latest_help is not None:
        if latest_help.strip():
            codes.append("update_help")
        elif latest_rag == ProgressUpdate.Rag.RED:
            codes.append("update_red")
    return codes


def programme_plans(programme, *, status: str = "") -> list[PlanHealth]:
    """Every plan in the programme, with why it might need help: no update for six weeks,
    no data for two periods, or a barrier asking for help (PRODUCT.md).

    Two queries whatever the programme's size: the plans with what their reasons need
    (_with_health), and each measure's latest data. The dashboard counts the same rows with
    the same _codes (plan_summary)."""
    plans = _with_health(QualityImprovementPlan.objects.filter(programme=programme)
                         ).select_related("site__organisation").order_by(
        "site__organisation__name", "title")
    measures = Measure.objects.filter(plan__programme=programme)
    if status:
        plans = plans.filter(status=status)
        measures = measures.filter(plan__status=status)
    plans = list(plans)
    last_data = _last_data(measures)
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for plan in plans:
        data = last_data.get(plan.pk, [])
        codes = _codes(status=plan.status, approved_at=plan.approved_at,
                       status_changed_at=plan.status_changed_at, last_update=plan.last_update,
                       open_help=plan.open_help, latest_help=plan.latest_help,
                       latest_rag=plan.latest_rag, measures=data, now=now, today=today)
        latest_data = max((last for _, last in data if last), default=None)
        rows.append(PlanHealth(plan, plan.last_update, latest_data, codes))
    return rows


@dataclass
class PlanSummary:
    """The programme's plans counted as the plans list counts them (programme_plans)."""

    by_status: dict[str, int]
    total: int
    by_reason: dict[str, int]  # plans with each reason
    sites_by_reason: dict[str, int]  # the teams those plans belong to
    needing_help: int  # plans with any reason


def plan_summary(programme) -> PlanSummary:
    """programme_plans(programme), counted: the same plans and the same _codes, read as
    tuples rather than plans with their sites. Reasons apply to active plans only, so only
    their health and measures are read. Three queries whatever the programme's size."""
    plans = QualityImprovementPlan.objects.filter(programme=programme)
    by_status = dict(plans.values_list("status").annotate(n=Count("pk")).order_by())
    active = _with_health(plans.filter(status__in=ACTIVE)).values_list(
        "pk", "site_id", "status", "approved_at", "status_changed_at", "last_update",
        "open_help", "latest_help", "latest_rag").order_by()
    last_data = _last_data(Measure.objects.filter(plan__programme=programme,
                                                  plan__status__in=ACTIVE))
    now = timezone.now()
    today = timezone.localdate()
    by_reason = dict.fromkeys(REASONS, 0)
    sites: dict[str, set[int]] = {code: set() for code in REASONS}
    needing_help = 0
    for (pk, site_id, status, approved_at, status_changed_at, last_update, open_help,
         latest_help, latest_rag) in active:
        codes = _codes(status=status, approved_at=approved_at,
                       status_changed_at=status_changed_at, last_update=last_update,
                       open_help=open_help, latest_help=latest_help, latest_rag=latest_rag,
                       measures=last_data.get(pk, []), now=now, today=today)
        needing_help += bool(codes)
        for code in codes:
            by_reason[code] += 1
            sites[code].add(site_id)
    return PlanSummary(by_status=by_status, total=sum(by_status.values()), by_reason=by_reason,
                       sites_by_reason={code: len(ids) for code, ids in sites.items()},
                       needing_help=needing_help)


PLAN_SORTS = {
    "site": lambda row: (row.plan.site.organisation.name, row.plan.title),
    "title": lambda row: row.plan.title.lower(),
    "status": lambda row: row.plan.status,
    "update": lambda row: row.last_update,
    "data": lambda row: row.last_data,
}


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


@dataclass
class Achievement:
    """One measure as committed at approval beside where it stands now."""

    name: str
    kind: str
    baseline: float | None
    target: float | None
    direction: str
    percent: bool
    latest: float | None  # on the same scale as baseline and target (0-100 for percentages)
    latest_period: datetime.date | None
    met: bool | None
    changed: bool  # renamed, or its baseline, target or direction changed since approval
    removed: bool


def planned_vs_achieved(plan: QualityImprovementPlan,
                        measures: list[Measure]) -> list[Achievement]:
    """The original commitment (frozen at approval) beside the latest figures, so success
    is judged against what was promised, not redefined after the fact (PRODUCT.md)."""
    if not plan.commitment:
        return []
    by_id = {m.pk: m for m in measures}
    by_name = {m.name: m for m in measures}
    rows = []
    for committed in plan.commitment.get("measures", []):
        measure = by_id.get(committed.get("id")) or by_name.get(committed["name"])
        percent = bool(committed.get("denominator"))
        latest = latest_period = met = None
        if measure is not None:
            data = list(measure.measurements.all())
            if data:
                last = data[-1]
                latest = last.figure * 100 if percent and last.value is None else last.figure
                latest_period = last.period
        target = committed.get("target")
        if latest is not None and target is not None:
            met = latest >= target if committed["direction"] == "increase" else latest <= target
        changed = measure is not None and (
            measure.name != committed["name"] or measure.target != target
            or measure.baseline != committed.get("baseline")
            or measure.direction != committed["direction"])
        rows.append(Achievement(
            name=committed["name"], kind=committed["kind"], baseline=committed.get("baseline"),
            target=target, direction=committed["direction"], percent=percent, latest=latest,
            latest_period=latest_period, met=met, changed=changed, removed=measure is None))
    return rows
