"""Who may see a plan, and the reads behind the QIP pages.

A plan belongs to its site team. The programme's core team sees every plan in it. The
partner site (the team that visited) sees it if the host team shares it with them; every
team in the programme sees it in the library once it is approved, if the team chooses. Anyone
else gets a 404. Nothing is shared without the team's choice.
"""

import datetime
import hashlib
import math
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ilcop.cache import code_release
from ilcop.models import User
from programmes.models import CoreTeamMembership, Enrolment, Programme, SiteMembership
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


@dataclass(frozen=True)
class Access:
    core: bool  # reviews, approves, records support
    team: bool  # the plan's own site team: writes the plan

    @property
    def reader_only(self) -> bool:
        return not (self.core or self.team)


def plan_with_access(user: User, pk: int) -> tuple[QualityImprovementPlan, Access]:
    """The plan and what the person may do with it, if they may see it; otherwise a 404.

    The core team and the site team, the first two of visible_plans' paths, are what Access
    records, so they are read as two EXISTS beside the plan; only a reader (a partner, or a
    team reading the library) has the other paths tested, in a query of its own. With all
    four OR-ed paths in an EXISTS joined to the plan's related rows, PostgreSQL spent 5 to
    7 ms planning the query on every request, against under 2 ms this way."""
    if not user.is_authenticated:
        raise Http404
    plan = get_object_or_404(
        QualityImprovementPlan.objects.select_related(
            "programme", "site__organisation", "focus_area__visit", "reporting_owner",
            "approved_by").annotate(
            viewer_is_core=Exists(CoreTeamMembership.objects.filter(
                programme=OuterRef("programme_id"), user=user)),
            viewer_is_team=Exists(SiteMembership.objects.current().filter(
                site=OuterRef("site_id"), user=user))),
        pk=pk)
    who = Access(core=plan.viewer_is_core, team=plan.viewer_is_team)
    if who.reader_only and not visible_plans(user).filter(pk=pk).exists():
        raise Http404
    return plan, who


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


# How long each measure's period lasts, in days.
PERIOD_DAYS = {Measure.Frequency.WEEKLY: 7, Measure.Frequency.MONTHLY: 30.44,
               Measure.Frequency.QUARTERLY: 91.3}


def _keeping_up(today: datetime.date) -> QuerySet[Measure]:
    """The measures (of the plan in the outer query) not two periods behind on ``today``:
    two periods are missed once two whole periods have ended after the latest period with
    data (the next is due when it ends), so a monthly measure is behind 92 days after its
    latest period starts. A measure with no data yet is counted from its plan's approval
    day, so a new plan is not flagged before two periods have passed."""
    local = timezone.get_current_timezone()
    behind_from, approved_after = [], []
    for frequency, days in PERIOD_DAYS.items():
        day = today - datetime.timedelta(days=math.ceil(3 * days))
        behind_from.append(When(frequency=frequency, then=Value(day)))
        approved_after.append(When(frequency=frequency, then=Value(datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time.min, tzinfo=local))))
    data = Measurement.objects.filter(measure=OuterRef("pk"))
    return Measure.objects.filter(plan=OuterRef("pk")).annotate(
        behind_from=Case(*behind_from, output_field=DateField()),
        approved_after=Case(*approved_after, output_field=DateTimeField()),
        # The plan's, without joining the plan again.
        plan_approved_at=ExpressionWrapper(OuterRef("approved_at"),
                                           output_field=DateTimeField()),
    ).filter(Exists(data.filter(period__gt=OuterRef("behind_from")))
             | (~Exists(data) & (Q(plan_approved_at__isnull=True)
                                 | Q(plan_approved_at__gte=F("approved_after")))))


def _with_health(plans: QuerySet[QualityImprovementPlan],
                 today: datetime.date) -> QuerySet[QualityImprovementPlan]:
    """The plans, with what _codes works their reasons out from: when they were last updated,
    their latest update's request for help and RAG, whether a barrier asks for help and
    whether an active plan's every measure is two periods behind on ``today`` (``behind``).

    Subqueries, not joins: joining updates and barriers at once multiplies their rows. The
    unique (plan, month) and (measure, period) indexes answer each."""
    updates = ProgressUpdate.objects.filter(plan=OuterRef("pk"))
    latest = updates.order_by("-month")
    measures = Measure.objects.filter(plan=OuterRef("pk"))
    return plans.annotate(
        last_update=Subquery(updates.order_by("-submitted_at").values("submitted_at")[:1]),
        open_help=Exists(Barrier.objects.filter(plan=OuterRef("pk"),
                                                status=Barrier.Status.OPEN)
                         .exclude(help_needed="")),
        latest_help=Subquery(latest.values("help_needed")[:1]),
        latest_rag=Subquery(latest.values("rag")[:1]),
        behind=ExpressionWrapper(
            Q(status__in=ACTIVE) & Exists(measures)
            & ~Exists(_keeping_up(today)),
            output_field=BooleanField()),
    )


HEALTH = ("status", "approved_at", "status_changed_at", "last_update", "open_help",
          "latest_help", "latest_rag", "behind")


def _codes(status: str, approved_at: datetime.datetime | None,
           status_changed_at: datetime.datetime, last_update: datetime.datetime | None,
           open_help: bool, latest_help: str | None, latest_rag: str | None, behind: bool,
           *, now: datetime.datetime) -> list[str]:
    """Why one plan may need help, from its HEALTH: the codes of REASONS, in their order."""
    if status not in ACTIVE:
        return []
    codes = []
    if now - (last_update or approved_at or status_changed_at) > QUIET_AFTER:
        codes.append("quiet")
    if behind:
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

    Two queries whatever the programme's size: the plans with their health (_with_health,
    which the dashboard counts in plan_summary from the same rows with the same _codes), and
    each measure's latest data for the list's "Latest data" column."""
    now = timezone.now()
    plans = _with_health(QualityImprovementPlan.objects.filter(programme=programme),
                         timezone.localdate(now)).select_related("site__organisation").order_by(
        "site__organisation__name", "title")
    measures = Measure.objects.filter(plan__programme=programme)
    if status:
        plans = plans.filter(status=status)
        measures = measures.filter(plan__status=status)
    latest = Measurement.objects.filter(measure=OuterRef("pk")).order_by("-period")
    last_data: dict[int, datetime.date] = {}
    # One probe of the unique (measure, period) index per measure.
    for plan_id, last in measures.annotate(last=Subquery(latest.values("period")[:1])).filter(
            last__isnull=False).values_list("plan_id", "last").order_by():
        last_data[plan_id] = max(last, last_data.get(plan_id, last))
    return [PlanHealth(plan, plan.last_update, last_data.get(plan.pk),
                       _codes(*(getattr(plan, name) for name in HEALTH), now=now))
            for plan in plans]


@dataclass
class PlanSummary:
    """The programme's plans counted as the plans list counts them (programme_plans)."""

    by_status: dict[str, int]
    total: int
    by_reason: dict[str, int]  # plans with each reason
    sites_by_reason: dict[str, int]  # the teams those plans belong to
    needing_help: int  # plans with any reason


# A day at most: the key holds the day, and "behind" changes with it.
HEALTH_CACHE_SECONDS = 24 * 60 * 60


def health_key(programme: Programme, today: datetime.date) -> str:
    """The cache key of the programme's plans' health rows: its plans_version, which every
    change to any of its plans or their parts replaces, and a plan's creation with it
    (qips.services.versions); the day, on which "behind" depends; and the code that works
    the rows out. What depends on the time of day ("quiet") is not in the rows."""
    return "plan-health-" + hashlib.sha256(repr((
        code_release(), programme.pk, str(programme.plans_version), today.isoformat(),
        timezone.get_current_timezone_name(),
    )).encode()).hexdigest()


def plans_health(programme: Programme, today: datetime.date) -> list[tuple]:
    """(site_id, *HEALTH) of every plan in the programme on ``today``: the columns of
    programme_plans' plans that _codes reads, as plain rows. From the cache when the
    programme's plans have not changed today (health_key); otherwise one query, six index
    probes a plan, whatever the programme's size.

    ``programme`` must be read in this request: its plans_version is the key, and a version
    read before the rows can only be older than the rows, never newer."""
    key = health_key(programme, today)
    rows = cache.get(key)
    if rows is None:
        rows = list(_with_health(QualityImprovementPlan.objects.filter(programme=programme),
                                 today).values_list("site_id", *HEALTH).order_by())
        cache.set(key, rows, HEALTH_CACHE_SECONDS)
    return rows


def plan_summary(programme: Programme, *, now: datetime.datetime | None = None
                 ) -> PlanSummary:
    """programme_plans(programme), counted: the same _with_health and _codes, read as plain
    rows (plans_health) rather than plans with their sites. The rows may come from the
    cache; the codes are worked out from them at ``now``, so "quiet" is exact to the second."""
    now = now or timezone.now()
    rows = plans_health(programme, timezone.localdate(now))
    by_status = Counter(status for _, status, *_ in rows)
    by_reason = dict.fromkeys(REASONS, 0)
    sites: dict[str, set[int]] = {code: set() for code in REASONS}
    needing_help = 0
    for site_id, *health in rows:
        if codes := _codes(*health, now=now):
            needing_help += 1
            for code in codes:
                by_reason[code] += 1
                sites[code].add(site_id)
    return PlanSummary(by_status=dict(by_status), total=len(rows), by_reason=by_reason,
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


# What a library card shows (the title, the site, the aim and the lessons): a plan's other
# long texts and its commitment (JSON) are read only on its own page.
LIBRARY_CARD_DEFERRED = ("support_requested", "problem_statement", "evidence_notes",
                         "sustainability_plan", "commitment", "results_summary")


def library(programme, *, query: str = "", indicator: str = "", status: str = "",
            category: str = "") -> QuerySet[QualityImprovementPlan]:
    """The plans shared with the programme, newest approval first, matching the filters.

    Drivers and indicators are tested by subqueries rather than joined: a join gives a row
    per matching driver, which then needs DISTINCT over whole plan rows, a sort of every match.
    """
    plans = QualityImprovementPlan.objects.filter(
        programme=programme, share_with_programme=True, status__in=LIBRARY_STATUSES,
    ).select_related("site__organisation").prefetch_related("indicators")
    if query:
        plans = plans.alias(driver_match=Subquery(Driver.objects.filter(
            plan=OuterRef("pk"), text__icontains=query).order_by().values("pk")[:1])).filter(
            Q(title__icontains=query) | Q(problem_statement__icontains=query)
            | Q(aim_what__icontains=query) | Q(lessons_learned__icontains=query)
            | Q(results_summary__icontains=query) | Q(focus_area__title__icontains=query)
            # A probe per plan with LIMIT 1, which PostgreSQL cannot turn into a scan of
            # every programme's drivers as it does an EXISTS or IN here.
            | Q(driver_match__isnull=False))
    if indicator:
        plans = plans.filter(Exists(QualityImprovementPlan.indicators.through.objects.filter(
            qualityimprovementplan=OuterRef("pk"), indicator__code=indicator)))
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
    # The library's indicators are for its cards; this list shows none.
    candidates = library(plan.programme).prefetch_related(None).exclude(
        pk=plan.pk).exclude(site=plan.site).annotate(
        shared=Count("indicators", filter=Q(indicators__in=indicator_ids), distinct=True))
    condition = Q(shared__gt=0)
    if plan.category:
        condition |= Q(category=plan.category)
    return list(candidates.filter(condition).order_by("-shared", "-approved_at")[:limit])


def measures_for_charts(measures: QuerySet[Measure]) -> QuerySet[Measure]:
    """Measures with what their charts' cache keys and captions read, without their points
    (views.charts fetches those only for a chart not yet cached): the number of points, the
    latest period and the rebases."""
    # An aggregate drops Meta.ordering (Django 3.1), so the measures' order is given again.
    return measures.annotate(
        point_count=Count("measurements"), last_period=Max("measurements__period"),
    ).order_by("order", "pk").prefetch_related("rebases")


def measures_with_data(plan: QualityImprovementPlan) -> list[Measure]:
    """The plan's measures for its page: ready for their charts, each with its latest
    figure (``latest``: a Measurement, or None) for the planned-and-achieved table."""
    latest = Measurement.objects.filter(measure=OuterRef("pk")).order_by("-period")
    measures = list(measures_for_charts(plan.measures.all()).annotate(**{
        f"latest_{name}": Subquery(latest.values(name)[:1])
        for name in ("numerator", "denominator", "value")}))
    for measure in measures:
        measure.latest = None if measure.last_period is None else Measurement(
            measure=measure, period=measure.last_period, numerator=measure.latest_numerator,
            denominator=measure.latest_denominator, value=measure.latest_value)
    return measures


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
    is judged against what was promised, not redefined after the fact (PRODUCT.md).
    ``measures`` come from measures_with_data."""
    if not plan.commitment:
        return []
    by_id = {m.pk: m for m in measures}
    by_name = {m.name: m for m in measures}
    rows = []
    for committed in plan.commitment.get("measures", []):
        measure = by_id.get(committed.get("id")) or by_name.get(committed["name"])
        percent = bool(committed.get("denominator"))
        latest = latest_period = met = None
        if measure is not None and measure.latest is not None:
            last = measure.latest
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
