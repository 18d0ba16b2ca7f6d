"""A measure's chart is cached without its points being read, and is never served stale.

The cache key holds the measure's ``data_version`` (changed by the one service that writes
data) and everything else drawn. Each write through the real services must give the page a
chart equal to one drawn from scratch, from the points and parts in the database.
"""

import datetime
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from ilcop.imports import ImportFailed
from qips.charts import measure_chart
from qips.models import (
    Driver,
    Measure,
    Measurement,
    MeasureRebase,
    PdsaCycle,
    QualityImprovementPlan,
)
from qips.selectors import measures_for_charts
from qips.services import measurements as measurement_services
from qips.services.parts import part_delete, part_save
from qips.views.charts import charts_for, charts_for_plans

# A private cache makes "drawn" and "reused" certain.
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def plan(programme, site, lead):
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, title="Faster diagnosis", status="in_progress")
    primary = Driver.objects.create(plan=plan, kind="primary", text="Driver")
    idea = Driver.objects.create(plan=plan, kind="change_idea", text="Idea", parent=Driver
                                 .objects.create(plan=plan, kind="secondary", text="S",
                                                 parent=primary))
    PdsaCycle.objects.create(plan=plan, change_idea=idea, title="Test one", question="q",
                             prediction="p", started_on=datetime.date(2025, 3, 1))
    measure = part_save(plan=plan, user=lead, model=Measure, kind="outcome",
                        name="Seen in two weeks", numerator="Seen", denominator="Referred",
                        data_source="Log", direction="increase", frequency="monthly",
                        target=80, chart="xmr")
    rows = "\n".join(f"2024-{month:02d}\t{10 + month % 4}\t20" for month in range(1, 13))
    measurement_services.measurements_paste(measure=measure, user=lead, text=rows)
    return plan


def served(plan) -> list:
    """The plan's charts as its page gets them, from the cache when they are there."""
    plan = QualityImprovementPlan.objects.prefetch_related("pdsa_cycles").get(pk=plan.pk)
    return [item["chart"] for item in charts_for(
        list(measures_for_charts(plan.measures.all())), plan)]


def from_scratch(plan) -> list:
    cache.clear()
    return served(plan)


def draws(plan) -> int:
    """How many charts a look at the plan's charts draws."""
    with mock.patch("qips.views.charts.measure_chart", wraps=measure_chart) as draw:
        served(plan)
    return draw.call_count


def test_a_chart_is_drawn_once_then_served_from_the_cache(plan):
    assert draws(plan) == 1
    assert draws(plan) == 0
    assert served(plan) == from_scratch(plan)


def test_entering_data_gives_the_measure_a_new_data_version(plan, lead):
    measure = plan.measures.get()
    before = measure.data_version
    measurement_services.measurements_paste(measure=measure, user=lead, text="2025-01\t19\t20")
    measure.refresh_from_db()
    assert measure.data_version != before


def test_refused_data_leaves_the_data_version_alone(plan, lead):
    measure = plan.measures.get()
    before = measure.data_version
    with pytest.raises(ImportFailed):
        measurement_services.measurements_paste(measure=measure, user=lead,
                                                text="2025-01\t21\t20")
    measure.refresh_from_db()
    assert measure.data_version == before


@pytest.mark.parametrize("how", ["paste", "import", "replace"])
def test_new_data_is_in_the_chart_served(plan, lead, how):
    served(plan)
    measure = plan.measures.get()
    if how == "paste":
        measurement_services.measurements_paste(measure=measure, user=lead,
                                                text="2025-01\t19\t20")
    elif how == "import":
        upload = SimpleUploadedFile("data.csv", b"period,numerator,denominator\n"
                                                b"2025-01,19,20\n2025-02,3,20\n")
        measurement_services.measurements_import(measure=measure, user=lead, uploaded=upload)
    else:  # a value already held, entered again with another figure
        measurement_services.measurements_paste(measure=measure, user=lead,
                                                text="2024-06\t1\t20")
    assert draws(plan) == 1
    chart = served(plan)
    assert chart == from_scratch(plan)
    if how == "replace":
        assert "Jun 2024 (5.0%)" in " ".join(chart[0].signals)  # 1 of 20, far below
    else:
        assert "to Jan 2025" in chart[0].description or "to Feb 2025" in chart[0].description


@pytest.mark.parametrize("change", [
    {"target": 90}, {"name": "Seen within a fortnight"}, {"chart": "run"},
    {"baseline_points": 6}, {"direction": "decrease"}, {"denominator": ""},
])
def test_changing_the_measure_redraws_its_chart(plan, lead, change):
    served(plan)
    part_save(plan=plan, user=lead, model=Measure, instance=plan.measures.get(), **change)
    assert draws(plan) == 1
    assert served(plan) == from_scratch(plan)


def test_rebasing_and_removing_the_rebase_redraw_the_chart(plan, lead):
    measure = plan.measures.get()
    served(plan)
    rebase = part_save(plan=plan, user=lead, model=MeasureRebase, measure=measure,
                       starts_on=datetime.date(2024, 7, 1), reason="New clinic")
    assert draws(plan) == 1
    assert served(plan) == from_scratch(plan)
    part_delete(plan=plan, user=lead, instance=rebase)
    assert draws(plan) == 1
    assert served(plan) == from_scratch(plan)


@pytest.mark.parametrize("change", [
    {"title": "Test one, again"}, {"started_on": datetime.date(2024, 9, 1)},
    {"started_on": None},
])
def test_changing_a_pdsa_cycle_redraws_the_plans_charts(plan, lead, change):
    served(plan)
    part_save(plan=plan, user=lead, model=PdsaCycle, instance=plan.pdsa_cycles.get(), **change)
    assert draws(plan) == 1
    assert served(plan) == from_scratch(plan)


def test_what_is_not_drawn_keeps_the_cached_chart(plan, lead):
    served(plan)
    part_save(plan=plan, user=lead, model=Measure, instance=plan.measures.get(),
              data_source="The clinic's own log")
    assert draws(plan) == 0


def test_a_page_of_plans_fetches_only_the_missing_points_in_one_query(
        plan, programme, site, lead, django_assert_num_queries):
    second = QualityImprovementPlan.objects.create(programme=programme, site=site,
                                                   title="Second", status="in_progress")
    measure = part_save(plan=second, user=lead, model=Measure, kind="process", name="Other",
                        numerator="Done", data_source="Log", direction="increase")
    Measurement.objects.create(measure=measure, period=datetime.date(2024, 1, 1), value=3)
    served(plan)
    plans = list(QualityImprovementPlan.objects.prefetch_related("pdsa_cycles")
                 .filter(pk__in=[plan.pk, second.pk]).order_by("pk"))
    rows = [(p, list(measures_for_charts(p.measures.all()))) for p in plans]
    with mock.patch("qips.views.charts.measure_chart", wraps=measure_chart) as draw, \
            django_assert_num_queries(1):
        charts = charts_for_plans(rows)
    assert draw.call_count == 1
    assert draw.call_args.args[0][0].value == 3
    assert [[item["count"] for item in row] for row in charts] == [[12], [1]]
