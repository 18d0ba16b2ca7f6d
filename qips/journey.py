"""A site's journey through a programme, for its core team: one read behind one page.

Enrolment and its history, the headline audit figures, the partner, the visits hosted and
made, the plans with their charts and latest updates, the support given and the site's
activity. The number of queries is fixed: it does not grow with the programme (a national
one has hundreds of sites) or with how much the site has done (plans, measures, months of
data, updates, log entries), because everything per plan is fetched for all the site's plans
at once and put together here.
"""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import F, Prefetch, Q, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ilcop.activity import timeline_for
from ilcop.cache import code_release
from ilcop.models import ActivityLog
from programmes.models import Enrolment, Indicator, IndicatorValue, Programme, Site
from programmes.periods import age_in_months
from programmes.selectors import confirmed_pair_for
from visits.models import FocusArea, Visit, VisitReport

from .models import (
    Barrier,
    Measure,
    PdsaCycle,
    ProgressUpdate,
    QualityImprovementPlan,
    SupportRecord,
)
from .selectors import measures_for_charts
from .views.charts import charts_for_plans

UPDATES_PER_PLAN = 3
PLANS_TEMPLATE = "dashboard/_journey_plans.html"
PLANS_PARTS = ("summary", "cards", "progress", "support")
CARD_TEMPLATES = ("dashboard/_journey_plan.html", "dashboard/_journey_plan_updates.html")
# A card unchanged for a day is drawn again; one whose plan changes is never served again.
CARD_CACHE_SECONDS = 24 * 60 * 60
TIMELINE_LENGTH = 20


@dataclass
class HeadlineFigure:
    """One headline indicator: the site's latest value beside the national figure and the
    target, and its value in the programme's baseline period (the before of the
    before-and-after comparison, PRODUCT.md "Evaluate")."""

    indicator: Indicator
    latest: IndicatorValue | None
    baseline: IndicatorValue | None
    age_months: int | None
    small_numbers: bool

    @property
    def change(self) -> float | None:
        """Percentage points from the baseline period to the latest one."""
        if self.latest is None or self.baseline is None or self.latest.pk == self.baseline.pk:
            return None
        return (self.latest.proportion - self.baseline.proportion) * 100

    @property
    def change_words(self) -> str:
        """The change in words: up or down says nothing of better or worse, which depends on
        the indicator's direction (shown beside it)."""
        change = self.change
        if change is None:
            return ""
        if round(change, 1) == 0:
            return "No change"
        return f"{'Up' if change > 0 else 'Down'} {abs(change):.1f} percentage points"


@dataclass
class Partner:
    site: Site
    ours: str  # the headline indicators this site is stronger on, in words
    theirs: str


@dataclass
class PlanJourney:
    plan: QualityImprovementPlan
    updates: list[ProgressUpdate]  # the latest few, newest first
    help_barriers: list[Barrier]  # open barriers asking the core team for help
    # The plan's card and its latest updates' table, as HTML (CARD_TEMPLATES).
    card: str = ""
    updates_table: str = ""

    @property
    def latest_update(self) -> ProgressUpdate | None:
        return self.updates[0] if self.updates else None


@dataclass
class PlanCard:
    """What a plan's card shows beyond the plan and its PlanJourney: read only for the cards
    not in the cache."""

    charts: list[dict]
    last_data: datetime.date | None
    cycles: int
    cycles_complete: int


@dataclass
class SitePlans:
    """The site's plans with their latest updates, requests for help and support: what the
    page's plan parts (PLANS_TEMPLATE) are rendered from when they are not in the cache."""

    plans: list[PlanJourney]
    support: list[SupportRecord]

    @property
    def latest_update(self) -> ProgressUpdate | None:
        latest = [row.latest_update for row in self.plans if row.latest_update]
        return max(latest, key=lambda u: (u.month, u.submitted_at), default=None)

    @property
    def asking_for_help(self) -> list[PlanJourney]:
        """Plans with an open barrier, or a latest update, that asks the core team for help."""
        return [row for row in self.plans if row.help_barriers or (
            row.latest_update and row.latest_update.help_needed.strip())]


@dataclass
class PlansPart:
    """The page's parts made from the site's plans alone, as HTML: the plan rows of the
    summary at the top, the plans' cards, their progress updates and the support given."""

    summary: str
    cards: str
    progress: str
    support: str


@dataclass
class SiteJourney:
    programme: Programme
    site: Site
    enrolment: Enrolment
    enrolment_history: list[ActivityLog]
    figures: list[HeadlineFigure]
    partner: Partner | None
    visits: list[Visit]  # hosted and made, by date; each with ``hosted`` set
    plans: list[QualityImprovementPlan]  # only PLAN_KEY_FIELDS read
    plans_part: PlansPart
    timeline: list[ActivityLog]
    activity_page: int = 1
    more_activity: bool = False
    plans_from_focus_areas: dict[int, QualityImprovementPlan] = field(default_factory=dict)


def enrolment_for_journey(programme: Programme, site_pk: int) -> Enrolment:
    """The site's enrolment in this programme; 404 for a site the programme has not enrolled,
    so a core team cannot read another programme's site through its own."""
    return get_object_or_404(
        Enrolment.objects.select_related("site__organisation", "status_changed_by"),
        programme=programme, site_id=site_pk)


def _words(codes: list[str], names: dict[str, str]) -> str:
    named = [names.get(code, code).lower() for code in codes]
    if len(named) <= 1:
        return "".join(named)
    return ", ".join(named[:-1]) + " and " + named[-1]


def _partner(site: Site, programme: Programme, names: dict[str, str]) -> Partner | None:
    pair = confirmed_pair_for(site, programme)
    if pair is None:
        return None
    ours, theirs = pair.strengths_of(site)
    return Partner(site=pair.partner_of(site), ours=_words(ours, names),
                   theirs=_words(theirs, names))


def _figures(site: Site, programme: Programme, indicators: list[Indicator]
             ) -> list[HeadlineFigure]:
    headline = [i for i in indicators if i.is_headline]
    latest: dict[int, IndicatorValue] = {}
    baseline: dict[int, IndicatorValue] = {}
    for value in IndicatorValue.objects.filter(site=site, indicator__in=headline).order_by(
            "-period_end"):
        latest.setdefault(value.indicator_id, value)
        if value.period == programme.baseline_period:
            baseline[value.indicator_id] = value
    today = timezone.localdate()
    figures = []
    for indicator in headline:
        value = latest.get(indicator.pk)
        figures.append(HeadlineFigure(
            indicator=indicator, latest=value, baseline=baseline.get(indicator.pk),
            age_months=age_in_months(value.period_end, today) if value else None,
            small_numbers=bool(value and value.denominator < programme.min_denominator)))
    return figures


def _visits(site: Site, programme: Programme) -> list[Visit]:
    # The stored report's HTML and PDF are large; the page lists versions only.
    reports = VisitReport.objects.defer("html", "pdf").order_by("-version")
    return list(
        Visit.objects.filter(Q(host=site) | Q(visitor=site), programme=programme)
        .select_related("host__organisation", "visitor__organisation", "facilitator")
        .prefetch_related(Prefetch("reports", queryset=reports),
                          Prefetch("focus_areas",
                                   queryset=FocusArea.objects.select_related("owner")))
        .order_by("date", "pk"))


def _latest_updates(plan_ids: list[int]) -> dict[int, list[ProgressUpdate]]:
    """The latest few updates of each plan, in one query however many months there are."""
    ranked = (ProgressUpdate.objects.filter(plan_id__in=plan_ids)
              .annotate(rank=Window(RowNumber(), partition_by=[F("plan_id")],
                                    order_by=F("month").desc()))
              .filter(rank__lte=UPDATES_PER_PLAN)
              .select_related("submitted_by").order_by("plan_id", "-month"))
    grouped: dict[int, list[ProgressUpdate]] = {}
    for update in ranked:
        grouped.setdefault(update.plan_id, []).append(update)
    return grouped


# What the page reads of each plan when its plan parts are cached: what card_key and
# plans_key read, and the title and focus area the visits' focus areas link to.
PLAN_KEY_FIELDS = ("title", "content_version", "focus_area__title", "focus_area__visit__date")


def card_key(plan: QualityImprovementPlan) -> str:
    """The cache key of a plan's card: the plan's content_version, which every change to the
    plan or its parts replaces (qips.services.versions), and what the card shows from outside
    the plan (its focus area's title and visit date), with the code that renders it."""
    focus = plan.focus_area
    return "journey-plan-" + hashlib.sha256(repr((
        code_release(), plan.pk, str(plan.content_version),
        focus and (focus.pk, focus.title, focus.visit.date),
    )).encode()).hexdigest()


def _draw_cards(rows: list[PlanJourney]) -> dict[int, tuple[str, str]]:
    """The cards and updates' tables of these plans, rendered from the database: their PDSA
    cycles, measures and charts (from the charts' own cache where they are there) in a fixed
    number of queries."""
    plans = [row.plan for row in rows]
    # Only what the chart annotations and the counts read: cycles carry long write-ups.
    prefetch_related_objects(plans, Prefetch("pdsa_cycles", queryset=PdsaCycle.objects.only(
        "plan_id", "title", "started_on", "completed_on")))
    measures: dict[int, list[Measure]] = {}
    for measure in measures_for_charts(Measure.objects.filter(plan__in=plans)):
        measures.setdefault(measure.plan_id, []).append(measure)
    charts = charts_for_plans([(plan, measures.get(plan.pk, [])) for plan in plans])
    cards = {}
    for row, plan_charts in zip(rows, charts, strict=True):
        all_cycles = row.plan.pdsa_cycles.all()
        card = PlanCard(
            charts=plan_charts,
            last_data=max((m.last_period for m in measures.get(row.plan.pk, [])
                           if m.last_period), default=None),
            cycles=len(all_cycles), cycles_complete=sum(1 for c in all_cycles if c.completed_on))
        context = {"plan": row.plan, "row": row, "card": card}
        cards[row.plan.pk] = tuple(render_to_string(name, context) for name in CARD_TEMPLATES)
    return cards


def _site_plans(plans: list[QualityImprovementPlan]) -> SitePlans:
    """The plans' latest updates, requests for help, support and cards (each card from the
    cache where it is there; only the missing ones are drawn)."""
    plan_ids = [plan.pk for plan in plans]
    updates = _latest_updates(plan_ids)
    help_barriers: dict[int, list[Barrier]] = {}
    for barrier in Barrier.objects.filter(plan_id__in=plan_ids,
                                          status=Barrier.Status.OPEN).exclude(help_needed=""):
        help_barriers.setdefault(barrier.plan_id, []).append(barrier)
    rows = []
    for plan in plans:
        for update in updates.get(plan.pk, []):
            update.plan = plan
        rows.append(PlanJourney(plan=plan, updates=updates.get(plan.pk, []),
                                help_barriers=help_barriers.get(plan.pk, [])))
    keys = {row.plan.pk: card_key(row.plan) for row in rows}
    cached = cache.get_many(list(keys.values()))
    missing = [row for row in rows if keys[row.plan.pk] not in cached]
    drawn = _draw_cards(missing) if missing else {}
    if drawn:
        cache.set_many({keys[pk]: html for pk, html in drawn.items()}, CARD_CACHE_SECONDS)
    for row in rows:
        card, updates_table = drawn.get(row.plan.pk) or cached[keys[row.plan.pk]]
        row.card, row.updates_table = mark_safe(card), mark_safe(updates_table)
    by_id = {plan.pk: plan for plan in plans}
    support = list(SupportRecord.objects.filter(plan_id__in=plan_ids)
                   .select_related("given_by").order_by("-given_on", "-pk")) if plan_ids else []
    for record in support:
        record.plan = by_id[record.plan_id]
    return SitePlans(plans=rows, support=support)


def plans_key(programme: Programme, site: Site, plans: list[QualityImprovementPlan]) -> str:
    """The cache key of the page's plan parts: every plan's card key (so its content_version)
    in the page's order, which also changes when a plan is added or moved."""
    return "journey-plans-" + hashlib.sha256(repr((
        programme.pk, site.pk, [card_key(plan) for plan in plans],
    )).encode()).hexdigest()


def plans_part(programme: Programme, site: Site,
               plans: list[QualityImprovementPlan]) -> PlansPart:
    """The page's plan parts, from the cache when no plan of the site has changed since they
    were rendered; otherwise rendered (with each unchanged plan's card from the cache)."""
    key = plans_key(programme, site, plans)
    html = cache.get(key)
    if html is None:
        # The page read only what the keys need (PLAN_KEY_FIELDS); drawing needs the plans.
        full = QualityImprovementPlan.objects.select_related("focus_area__visit").in_bulk(
            [plan.pk for plan in plans])
        context = {"journey": _site_plans([full[plan.pk] for plan in plans])}
        html = {name: render_to_string(PLANS_TEMPLATE, {**context, "part": name})
                for name in PLANS_PARTS}
        cache.set(key, html, CARD_CACHE_SECONDS)
    return PlansPart(**{name: mark_safe(html[name]) for name in PLANS_PARTS})


def site_journey(programme: Programme, site: Site, *, enrolment: Enrolment | None = None,
                 activity_page: int = 1) -> SiteJourney:
    """Everything the core team's page about one site shows, in a fixed number of queries.

    ``enrolment`` saves a query when the caller has already looked it up (it must be this
    site's enrolment in this programme). ``activity_page`` counts back through the site's
    activity, TIMELINE_LENGTH entries at a time.
    """
    if enrolment is None:
        enrolment = enrolment_for_journey(programme, site.pk)
    history = list(ActivityLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Enrolment), object_id=enrolment.pk,
    ).select_related("actor").order_by("created_at", "id"))
    indicators = list(programme.indicators.all())
    names = {i.code: i.name for i in indicators}
    visits = _visits(site, programme)
    for visit in visits:
        visit.hosted = visit.host_id == site.pk
    plans = list(QualityImprovementPlan.objects.filter(programme=programme, site=site)
                 .select_related("focus_area__visit").only(*PLAN_KEY_FIELDS)
                 .order_by("-created_at", "-pk"))
    # Only this programme's part of the site's log: a site may be in another programme too,
    # whose approvals and reasons are not this core team's to read (as on the site's page).
    start = (activity_page - 1) * TIMELINE_LENGTH
    timeline = list(timeline_for(site, within=[programme])[start:start + TIMELINE_LENGTH + 1])
    return SiteJourney(
        programme=programme, site=site, enrolment=enrolment, enrolment_history=history,
        figures=_figures(site, programme, indicators),
        partner=_partner(site, programme, names),
        visits=visits,
        plans=plans, plans_part=plans_part(programme, site, plans),
        timeline=timeline[:TIMELINE_LENGTH], activity_page=activity_page,
        more_activity=len(timeline) > TIMELINE_LENGTH,
        plans_from_focus_areas={plan.focus_area_id: plan for plan in plans
                                if plan.focus_area_id},
    )
