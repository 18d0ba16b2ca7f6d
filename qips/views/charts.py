"""Each measure's chart, drawn once and cached under a key that changes with anything drawn.

The key is made without reading the points: the measure's ``data_version`` changes whenever
its data does (services.measurements._save), and everything else drawn (the measure's own
fields, its rebases, the plan's PDSA cycles) is already loaded and goes into the key as the
drawing options. A page looks all its charts up at once (one round trip to Redis) and fetches
the points of the missing ones only, in one query.

Measures must come from ``selectors.measures_for_charts``: the key reads their rebases and
the page their number of points.
"""

import hashlib

from django.core.cache import cache

from ..charts import Annotation, ChartPoint, MeasureChart, measure_chart
from ..models import Measure, Measurement, QualityImprovementPlan

CHART_CACHE_SECONDS = 24 * 60 * 60


def annotations_for(plan: QualityImprovementPlan) -> list[Annotation]:
    """PDSA cycles on the time axis, where each started (PRODUCT.md: changes annotated)."""
    return [Annotation(cycle.started_on, f"PDSA: {cycle.title}")
            for cycle in plan.pdsa_cycles.all() if cycle.started_on]


def _options(measure: Measure, annotations: list[Annotation]) -> dict:
    percent = measure.is_percentage
    target = measure.target / 100 if percent and measure.target is not None else measure.target
    return {
        "kind": measure.chart, "title": measure.name,
        "y_label": "Percentage" if percent else (measure.numerator[:60] or "Value"),
        "percent": percent, "improvement": measure.direction, "target": target,
        "baseline": measure.baseline_points,
        "rebase_at": [r.starts_on for r in measure.rebases.all()],
        "annotations": annotations, "chart_id": f"measure-{measure.pk}",
    }


def chart_key(measure: Measure, options: dict) -> str:
    return "measure-chart-" + hashlib.sha256(repr((
        measure.pk, str(measure.data_version), sorted((k, repr(v)) for k, v in options.items()),
    )).encode()).hexdigest()


def _points(measures: list[Measure]) -> dict[int, list[ChartPoint]]:
    """Each measure's points, oldest first: those already loaded (the measure data page shows
    every one) as they are, the rest in one query."""
    points: dict[int, list[ChartPoint]] = {}
    unloaded = []
    for measure in measures:
        if "measurements" in getattr(measure, "_prefetched_objects_cache", {}):
            points[measure.pk] = [ChartPoint(m.period, m.figure)
                                  for m in measure.measurements.all()]
        else:
            unloaded.append(measure.pk)
            points[measure.pk] = []
    if unloaded:
        for m in Measurement.objects.filter(measure_id__in=unloaded).only(
                "measure_id", "period", "numerator", "denominator", "value").order_by(
                "measure_id", "period"):
            points[m.measure_id].append(ChartPoint(m.period, m.figure))
    return points


def charts_for_plans(plans: list[tuple[QualityImprovementPlan, list[Measure]]]
                     ) -> list[list[dict]]:
    """For each (plan, its measures), a {measure, chart, count} per measure, in order."""
    wanted = []
    for plan, measures in plans:
        annotations = annotations_for(plan) if measures else []
        for measure in measures:
            options = _options(measure, annotations)
            wanted.append((measure, options, chart_key(measure, options)))
    cached = cache.get_many([key for _, _, key in wanted]) if wanted else {}
    missing = [measure for measure, _, key in wanted if key not in cached]
    points = _points(missing)
    drawn = {}
    for measure, options, key in wanted:
        if key in cached:
            continue
        try:
            drawn[key] = measure_chart(points[measure.pk], **options)
        except ValueError as exc:
            # Data the chart cannot draw (limits fixed on too few points, say) must not take
            # the plan page down for everyone: say so where the chart would be.
            cached[key] = MeasureChart(svg="", description=f"The chart cannot be drawn: {exc}",
                                       provisional=False, signals=[], assurance=None)
    cached.update(drawn)
    if drawn:
        cache.set_many(drawn, CHART_CACHE_SECONDS)
    charts = iter(cached[key] for _, _, key in wanted)
    return [[{"measure": measure, "chart": next(charts), "count": measure.point_count}
             for measure in measures] for _plan, measures in plans]


def charts_for(measures: list[Measure], plan: QualityImprovementPlan) -> list[dict]:
    """A {measure, chart, count} for each of the plan's measures, in order."""
    return charts_for_plans([(plan, measures)])[0]
