"""Reads of audit data: a site's profile, funnel plots, pairs.

Safe space (PRODUCT.md, Box 3): a site team sees its own figures and the national figure,
and its own position among anonymous points on a funnel plot; never other sites' names.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from .. import funnelplot
from ..charts import funnel_plot_svg
from ..models import Indicator, IndicatorValue, Pair, Pairing, Programme, Site
from ..periods import age_in_months

CHART_CACHE_SECONDS = 24 * 60 * 60

# What a site's place on a funnel plot means, in words (Spiegelhalter 2005: points inside the
# 95% limits are consistent with chance variation around the mean).
POSITION_WORDS = {
    "within": "Within the limits: no different from the programme mean beyond what chance "
              "explains",
    "above 95%": "Above the 95% limit: higher than the programme mean by more than chance "
                 "would usually explain",
    "above 99.8%": "Above the 99.8% limit: higher than the programme mean, very unlikely to "
                   "be chance",
    "below 95%": "Below the 95% limit: lower than the programme mean by more than chance "
                 "would usually explain",
    "below 99.8%": "Below the 99.8% limit: lower than the programme mean, very unlikely to "
                   "be chance",
}


@dataclass
class IndicatorFigure:
    indicator: Indicator
    value: IndicatorValue | None
    age_months: int | None
    small_numbers: bool
    position: str | None
    chart: str


def latest_period(indicator: Indicator) -> str | None:
    return (IndicatorValue.objects.filter(indicator=indicator).order_by("-period_end")
            .values_list("period", flat=True).first())


def _funnel_values(programme: Programme, periods: dict[int, str]) -> dict[int, list]:
    """Every site's value for each indicator's chosen period, in one query."""
    condition = Q()
    for indicator_id, period in periods.items():
        condition |= Q(indicator_id=indicator_id, period=period)
    grouped: dict[int, list] = {indicator_id: [] for indicator_id in periods}
    if not periods:
        return grouped
    for value in IndicatorValue.objects.filter(condition).select_related("site__organisation"):
        grouped[value.indicator_id].append(value)
    return grouped


def funnel_chart(indicator: Indicator, values: list[IndicatorValue], *,
                 highlight_site: Site | None, show_labels: bool,
                 national: float | None, target: float | None,
                 highlight_label: str = "Your team") -> tuple[str, str | None]:
    """(SVG, the highlighted site's position) for one indicator's values."""
    highlight = "Your team" if highlight_site else None
    points = []
    for value in values:
        if highlight_site and value.site_id == highlight_site.pk:
            label = highlight
        elif show_labels:
            label = value.site.organisation.name
        else:
            label = None
        points.append((label, value.numerator, value.denominator))
    data = funnelplot.funnel(points)
    position = None
    if highlight:
        position = next((p.classification for p in data.points if p.label == highlight), None)
    period = values[0].period if values else ""
    options = {
        "title": f"{indicator.name}, {period}", "indicator_label": indicator.name,
        "highlight": highlight, "show_labels": show_labels, "national": national,
        "target": target, "highlight_text": highlight_label,
        "chart_id": f"funnel-{indicator.pk}-{highlight_site.pk if highlight_site else 'all'}",
    }
    # Drawing takes a fifth of a second; the key is everything drawn, so a cached chart is
    # reused only while its data and options are unchanged and nothing stale can be shown.
    key = "funnel-svg-" + hashlib.sha256(
        repr((sorted(points, key=repr), sorted(options.items()))).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = funnel_plot_svg(data, **options)
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return svg, position


def site_profile(site: Site, programme: Programme, *,
                 team_label: str = "Your team") -> list[IndicatorFigure]:
    """Each headline indicator for the site: its latest value against the national figure
    and the target, with source, period, age and denominator, and its funnel position."""
    indicators = list(programme.indicators.filter(is_headline=True))
    latest: dict[int, IndicatorValue] = {}
    for value in IndicatorValue.objects.filter(site=site, indicator__in=indicators
                                               ).order_by("-period_end"):
        latest.setdefault(value.indicator_id, value)
    periods = {i: v.period for i, v in latest.items()}
    everyone = _funnel_values(programme, periods)
    today = timezone.localdate()
    figures = []
    for indicator in indicators:
        value = latest.get(indicator.pk)
        chart, position = "", None
        if value:
            chart, position = funnel_chart(
                indicator, everyone[indicator.pk], highlight_site=site, show_labels=False,
                national=value.national, target=value.target, highlight_label=team_label,
            )
        figures.append(IndicatorFigure(
            indicator=indicator, value=value,
            age_months=age_in_months(value.period_end, today) if value else None,
            small_numbers=bool(value and value.denominator < programme.min_denominator),
            position=POSITION_WORDS.get(position, position), chart=chart,
        ))
    return figures


def programme_funnels(programme: Programme) -> list[dict]:
    """The core team's funnel plot for each indicator at the baseline period (or, without
    one, its latest), with every site named."""
    indicators = list(programme.indicators.all())
    periods = {}
    for indicator in indicators:
        period = programme.baseline_period or latest_period(indicator)
        if period:
            periods[indicator.pk] = period
    everyone = _funnel_values(programme, periods)
    funnels = []
    for indicator in indicators:
        values = everyone.get(indicator.pk, [])
        national = next((v.national for v in values if v.national is not None), None)
        target = next((v.target for v in values if v.target is not None), None)
        chart = ""
        if values:
            chart, _ = funnel_chart(indicator, values, highlight_site=None, show_labels=True,
                                    national=national, target=target)
        funnels.append({"indicator": indicator, "period": periods.get(indicator.pk),
                        "sites": len(values), "chart": chart})
    return funnels


def confirmed_pair_for(site: Site, programme: Programme) -> Pair | None:
    return (
        Pair.objects.filter(pairing__programme=programme,
                            pairing__status=Pairing.Status.CONFIRMED)
        .filter(Q(site_a=site) | Q(site_b=site))
        .select_related("site_a__organisation", "site_b__organisation").first()
    )
