"""Query budgets for the QIP pages: flat however big a plan or a programme gets."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qips.models import (
    Barrier,
    Driver,
    Measure,
    Measurement,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    ReviewComment,
)

from .factories import EnrolmentFactory


def grow_plan(plan, start, n):
    for i in range(start, start + n):
        primary = Driver.objects.create(plan=plan, kind="primary", text=f"P{i}")
        secondary = Driver.objects.create(plan=plan, kind="secondary", text=f"S{i}",
                                          parent=primary)
        idea = Driver.objects.create(plan=plan, kind="change_idea", text=f"C{i}",
                                     parent=secondary)
        PdsaCycle.objects.create(plan=plan, change_idea=idea, title=f"Cycle {i}",
                                 question="q", prediction="p",
                                 started_on=datetime.date(2025, 1 + i % 12, 1))
        measure = Measure.objects.create(plan=plan, kind="process", name=f"M{i}",
                                         numerator="n", denominator="d", data_source="log",
                                         direction="increase", chart=("xmr", "run")[i % 2])
        Measurement.objects.bulk_create(
            Measurement(measure=measure, period=datetime.date(2024 + m // 12, m % 12 + 1, 1),
                        numerator=10 + (m * 7) % 9 + i, denominator=40) for m in range(14))
        PlanRole.objects.create(plan=plan, person=f"Person {i}", responsibility="Does it")
        Barrier.objects.create(plan=plan, kind="time", description="No time")
        ReviewComment.objects.create(plan=plan, field="aim", text="Sharper")
        ProgressUpdate.objects.create(plan=plan, month=datetime.date(2020 + i // 12, 1 + i % 12, 1),
                                      done="Things", rag="green")


def grow_programme(programme, start, n):
    for i in range(start, start + n):
        site = EnrolmentFactory(programme=programme, status="intervention").site
        QualityImprovementPlan.objects.create(
            programme=programme, site=site, title=f"Plan {i}", status="in_progress",
            share_with_programme=True, approved_at=datetime.datetime(2025, 3, 1,
                                                                     tzinfo=datetime.UTC))


# Counted with the charts cached and without.
pytestmark = pytest.mark.usefixtures("private_cache")


def count(client, url) -> tuple[int, int]:
    """The queries of a request with no chart cached (each chart drawn from its points,
    fetched for all of them at once), then of one with every chart cached."""
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        counts.append(len(captured))
    return counts[0], counts[1]


PAGES = {
    # +1 per resource-library prompt (one query each): the plan page has two (after the
    # visit, sustaining), the edit page one. The plan page's charts: one query for the points
    # when a chart is not cached, none when all are.
    "plan": ("/qips/{plan}/", 21),
    "plan edit": ("/qips/{plan}/edit/", 15),
    "measure data": ("/qips/{plan}/measures/{measure}/data/", 12),
    "site plans": ("/sites/{site}/qips/", 8),
    "programme plans": ("/programmes/{programme}/qips/", 7),
    "library": ("/programmes/{programme}/library/", 7),
}


@pytest.mark.parametrize(("name", "page"), PAGES.items(), ids=list(PAGES))
def test_qip_pages_stay_flat(client_for, lead, core, programme, site, name, page):
    plan = QualityImprovementPlan.objects.create(programme=programme, site=site, title="Ours",
                                                 share_with_programme=True)
    measure = Measure.objects.create(plan=plan, kind="outcome", name="Outcome", numerator="n",
                                     denominator="d", data_source="log", direction="increase")
    url, budget = page
    url = url.format(plan=plan.pk, measure=measure.pk, site=site.pk, programme=programme.pk)
    client = client_for(core if name in ("programme plans",) else lead)
    grow_plan(plan, 0, 2)
    grow_programme(programme, 0, 2)
    client.get(url)  # warm the per-process caches (content types), as in a running server
    cache.clear()
    small = count(client, url)
    grow_plan(plan, 2, 12)
    grow_programme(programme, 2, 12)
    cache.clear()
    large = count(client, url)
    assert small == large, f"{name}: {small} queries when small, {large} when large " \
                           "(each: no chart cached, every chart cached)"
    assert large[0] <= budget, f"{name}: {large[0]} queries, budget {budget}"
