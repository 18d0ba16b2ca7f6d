"""Each measure's chart, drawn once and cached by everything drawn (as funnel plots are)."""

import hashlib

from django.core.cache import cache

from ..charts import Annotation, ChartPoint, MeasureChart, measure_chart
from ..models import Measure, QualityImprovementPlan

CHART_CACHE_SECONDS = 24 * 60 * 60


def _draw(measure: Measure, annotations: list[Annotation]):
    points = [ChartPoint(m.period, m.figure) for m in measure.measurements.all()]
    percent = measure.is_percentage
    target = measure.target / 100 if percent and measure.target is not None else measure.target
    options = {
        "kind": measure.chart, "title": measure.name,
        "y_label": "Percentage" if percent else (measure.numerator[:60] or "Value"),
        "percent": percent, "improvement": measure.direction, "target": target,
        "baseline": measure.baseline_points,
        "rebase_at": [r.starts_on for r in measure.rebases.all()],
        "annotations": annotations, "chart_id": f"measure-{measure.pk}",
    }
    key = "measure-chart-" + hashlib.sha256(repr((points, sorted(
        (k, repr(v)) for k, v in options.items()))).encode()).hexdigest()
    chart = cache.get(key)
    if chart is None:
        try:
            chart = measure_chart(points, **options)
        except ValueError as exc:
            # Data the chart cannot draw (limits fixed on too few points, say) must not take
            # the plan page down for everyone: say so where the chart would be.
            return MeasureChart(svg="", description=f"The chart cannot be drawn: {exc}",
                                provisional=False, signals=[], assurance=None)
        cache.set(key, chart, CHART_CACHE_SECONDS)
    return chart


def annotations_for(plan: QualityImprovementPlan) -> list[Annotation]:
    """PDSA cycles on the time axis, where each started (PRODUCT.md: changes annotated)."""
    return [Annotation(cycle.started_on, f"PDSA: {cycle.title}")
            for cycle in plan.pdsa_cycles.all() if cycle.started_on]


def charts_for(measures: list[Measure], plan: QualityImprovementPlan) -> list[dict]:
    annotations = annotations_for(plan)
    return [{"measure": measure, "chart": _draw(measure, annotations),
             "count": len(measure.measurements.all())} for measure in measures]
