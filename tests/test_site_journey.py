"""A site's journey: the core team's one page about a site, from enrolment to support given."""

import datetime
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ilcop.activity import log_action
from programmes.models import Enrolment, Indicator, IndicatorValue, Pair, Pairing
from qips import journey
from qips.charts import measure_chart
from qips.models import (
    Barrier,
    Driver,
    Measure,
    Measurement,
    MeasureRebase,
    PdsaCycle,
    ProgressUpdate,
    QualityImprovementPlan,
    SupportRecord,
)
from qips.services.measurements import measurements_paste
from visits.models import FocusArea, Visit, VisitReport

from .factories import EnrolmentFactory, ProgrammeFactory

# Charts are cached by what is drawn: a private cache makes "drawn" and "reused" certain.
pytestmark = pytest.mark.usefixtures("private_cache")


def url(programme, site, query="") -> str:
    return f"/programmes/{programme.pk}/sites/{site.pk}/journey/{query}"


def a_plan(programme, site, title, *, months=14, focus_area=None, status="in_progress"):
    plan = QualityImprovementPlan.objects.create(
        programme=programme, site=site, title=title, status=status, focus_area=focus_area,
        aim_what=f"{title} for more patients", approved_at=timezone.now())
    primary = Driver.objects.create(plan=plan, kind="primary", text="Driver")
    idea = Driver.objects.create(plan=plan, kind="change_idea", text="Idea", parent=Driver
                                 .objects.create(plan=plan, kind="secondary", text="S",
                                                 parent=primary))
    PdsaCycle.objects.create(plan=plan, change_idea=idea, title=f"Test of {title}",
                             question="q", prediction="p", started_on=datetime.date(2025, 6, 1),
                             completed_on=datetime.date(2025, 7, 1))
    measure = Measure.objects.create(plan=plan, kind="outcome", name=f"{title} measure",
                                     numerator="n", denominator="d", data_source="log",
                                     direction="increase", chart="xmr", target=80)
    Measurement.objects.bulk_create(
        Measurement(measure=measure, period=datetime.date(2024 + m // 12, m % 12 + 1, 1),
                    numerator=10 + (m * 7) % 9, denominator=40) for m in range(months))
    MeasureRebase.objects.create(measure=measure, starts_on=datetime.date(2024, 9, 1),
                                 reason="New clinic")
    return plan


@pytest.fixture
def world(programme, site, other_site, core, lead, facilitator):
    """A site two-thirds of the way through: paired, visited both ways, two plans with data,
    monthly updates, a barrier asking for help, support given and a busy log."""
    programme.baseline_period = "2025"
    programme.min_denominator = 30
    programme.save()
    enrolment = Enrolment.objects.get(programme=programme, site=site)
    enrolment.approved_by, enrolment.approved_on = "Dr Chief Executive", datetime.date(2026, 2, 3)
    enrolment.save()
    log_action(enrolment, "enrolment.moved", actor=core,
               summary="Moved from Eligible to Intervention arm", scopes=[programme, site])
    histology = Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                                         source="NLCA", is_headline=True, order=1)
    cns = Indicator.objects.create(programme=programme, code="CNS", name="CNS seen",
                                   source="NLCA", is_headline=True, order=2)
    for indicator, period, start, numerator, denominator in (
            (histology, "2025", datetime.date(2025, 1, 1), 50, 100),
            (histology, "2026", datetime.date(2026, 1, 1), 62, 100),
            (cns, "2026", datetime.date(2026, 1, 1), 9, 20)):
        IndicatorValue.objects.create(
            indicator=indicator, site=site, period=period, period_start=start,
            period_end=start.replace(month=12, day=31), numerator=numerator,
            denominator=denominator, national=0.55, target=0.8)
    pairing = Pairing.objects.create(programme=programme, status=Pairing.Status.CONFIRMED)
    Pair.objects.create(pairing=pairing, site_a=site, site_b=other_site,
                        strengths_a=["HISTO"], strengths_b=["CNS"])
    hosted = Visit.objects.create(programme=programme, host=site, visitor=other_site,
                                  facilitator=facilitator, status=Visit.Status.REPORT_SENT,
                                  date=datetime.date(2026, 3, 4))
    made = Visit.objects.create(programme=programme, host=other_site, visitor=site,
                                status=Visit.Status.CONFIRMED, date=datetime.date(2026, 5, 6))
    VisitReport.objects.create(visit=hosted, version=1, html="<p>Report</p>", pdf=b"%PDF-1.7",
                               generated_at=timezone.now(), sent_at=timezone.now())
    area = FocusArea.objects.create(visit=hosted, title="Faster diagnosis", owner=lead)
    FocusArea.objects.create(visit=hosted, title="Chairing the MDT")
    faster = a_plan(programme, site, "Faster diagnosis", focus_area=area)
    a_plan(programme, site, "Chairing")
    for month in range(1, 5):
        ProgressUpdate.objects.create(plan=faster, month=datetime.date(2026, month, 1),
                                      done=f"Did step {month}", rag="amber" if month == 4
                                      else "green", help_needed="A meeting with IT"
                                      if month == 4 else "")
    Barrier.objects.create(plan=faster, kind="data", description="No access to the system",
                           help_needed="An introduction to the trust's CIO")
    Barrier.objects.create(plan=faster, kind="time", description="Resolved",
                           help_needed="Old ask", status=Barrier.Status.RESOLVED)
    SupportRecord.objects.create(plan=faster, kind="call", notes="Called about run charts",
                                 given_by=facilitator, given_on=datetime.date(2026, 4, 2))
    log_action(faster, "qip.approved", actor=core, summary="Approved the plan",
               scopes=[programme, site])
    return {"hosted": hosted, "made": made, "faster": faster, "area": area}


def test_the_journey_tells_the_sites_story(as_core, programme, site, other_site, world,
                                           facilitator):
    page = as_core.get(url(programme, site)).content.decode()

    # Enrolment, with its approval and how it got there.
    assert "Intervention arm" in page
    assert "Dr Chief Executive, 3 February 2026" in page
    assert "Moved from Eligible to Intervention arm" in page
    # Audit: the latest figure against national and target, and the baseline before it.
    assert "62.0%</strong> (62 of 100)" in page
    assert "55.0%" in page and "80.0%" in page
    assert "50.0%" in page and "Up 12.0 percentage points since" in page
    assert "Small numbers" in page  # CNS: 20 patients, under the programme's 30
    # The partner, in plain words.
    assert other_site.organisation.name in page
    assert "This team is stronger on histology; its partner on cns seen" in page
    assert url(programme, other_site) in page
    # Both visits, the facilitator, the sent report's PDF and what came of the focus areas.
    assert f"Hosted {other_site.organisation.name}" in page
    assert f"Visited {other_site.organisation.name}" in page
    assert "Fran Facilitator" in page
    assert f'href="/visits/{world["hosted"].pk}/report/v1.pdf"' in page
    assert "Chairing the MDT</li>" not in page and "Chairing the MDT: no plan yet" in page
    assert f'Faster diagnosis (owner: Dr Lena Lead): plan <a href="/qips/{world["faster"].pk}/"' \
        in page
    # Plans, each with its charts drawn.
    assert page.count('<details class="nhsuk-details') == 2
    assert page.count("<svg") >= 2
    assert "Faster diagnosis measure" in page and "Chairing measure" in page
    assert "2, 2 complete" not in page and "1, 1 complete" in page
    # The latest three updates only, with their RAG; the open barrier's ask, not the resolved one.
    assert "Did step 4" in page and "Did step 2" in page and "Did step 1" not in page
    assert "Amber: some problems" in page
    assert "An introduction to the trust&#x27;s CIO" in page and "Old ask" not in page
    # Support given, and the site's activity.
    assert "Called about run charts" in page and "Call or video meeting" in page
    assert "Approved the plan" in page


def test_a_quiet_new_site_reads_plainly(client_for, programme, core):
    site = EnrolmentFactory(programme=programme, status=Enrolment.Status.INVITED).site
    page = client_for(core).get(url(programme, site)).content.decode()
    assert "Not paired in a confirmed pairing: only intervention sites are paired" in page
    assert "No visits yet." in page and "No plans yet." in page
    assert "No support recorded yet." in page
    assert "The programme has no headline indicators yet." in page


def test_the_activity_pages_back_through_the_log(as_core, programme, site, core):
    for i in range(journey.TIMELINE_LENGTH + 5):
        log_action(site, "site.noted", actor=core, summary=f"Entry number {i:02d}",
                   scopes=[programme])
    first = as_core.get(url(programme, site)).content.decode()
    assert "Entry number 24" in first and "Entry number 04" not in first
    assert "?activity_page=2#activity" in first and "Newer activity" not in first
    second = as_core.get(url(programme, site, "?activity_page=2")).content.decode()
    assert "Entry number 04" in second and "Entry number 05" not in second
    assert "?activity_page=1#activity" in second and "Older activity" not in second
    assert as_core.get(url(programme, site, "?activity_page=x")).status_code == 200


def test_another_programmes_part_of_the_log_stays_out(as_core, programme, site, other_core):
    second = other_core.core_memberships.get().programme
    enrolment = Enrolment.objects.create(programme=second, site=site)
    log_action(enrolment, "enrolment.moved", actor=other_core,
               summary="Withdrawn from the second programme", scopes=[second, site])
    page = as_core.get(url(programme, site)).content.decode()
    assert "Withdrawn from the second programme" not in page


def test_a_site_not_enrolled_in_the_programme_is_not_found(client_for, programme, site, core,
                                                            other_core):
    elsewhere = EnrolmentFactory(programme=ProgrammeFactory()).site
    assert client_for(core).get(url(programme, elsewhere)).status_code == 404
    # Another programme's core team cannot read this site through its own programme either.
    theirs = other_core.core_memberships.get().programme
    assert client_for(other_core).get(url(theirs, site)).status_code == 404


def test_the_core_team_is_linked_to_the_journey(client_for, programme, site, core, lead, world):
    link = f'href="{url(programme, site)}"'
    assert link in client_for(core).get(f"/sites/{site.pk}/").content.decode()
    assert link not in client_for(lead).get(f"/sites/{site.pk}/").content.decode()
    assert link in client_for(core).get(f"/programmes/{programme.pk}/qips/").content.decode()


# --- Charts: drawn once, drawn again only when what is drawn changes -------------------------


def test_a_second_visit_reuses_the_charts_and_new_data_redraws_one(as_core, programme, site,
                                                                   lead, world):
    with mock.patch("qips.views.charts.measure_chart", wraps=measure_chart) as draw:
        as_core.get(url(programme, site))
        assert draw.call_count == 2
        draw.reset_mock()
        as_core.get(url(programme, site))
        assert draw.call_count == 0

        measure = world["faster"].measures.get()
        measurements_paste(measure=measure, user=lead, text="2025-03\t30\t40")
        page = as_core.get(url(programme, site)).content.decode()
        assert draw.call_count == 1
        assert draw.call_args.kwargs["title"] == "Faster diagnosis measure"
    assert len(draw.call_args.args[0]) == 15  # the new point is in the chart drawn
    assert page.count("<svg") >= 2


# --- Queries: flat however much the site has done or the programme has grown ----------------

BUDGET = 22
WARM_BUDGET = 14


def grow(programme, site, core, start, n):
    """n more plans (each with data, a rebase, a cycle, updates, a barrier and support),
    n more log entries and report versions, and n more sites with audit data."""
    hosted = Visit.objects.get(programme=programme, host=site)
    histology = Indicator.objects.get(programme=programme, code="HISTO")
    for i in range(start, start + n):
        plan = a_plan(programme, site, f"Plan {i}", months=12 + i % 6)
        for month in range(1, 6):
            ProgressUpdate.objects.create(plan=plan, month=datetime.date(2025, month, 1),
                                          done="Work", rag="green")
        Barrier.objects.create(plan=plan, kind="money", description="Budget",
                               help_needed="Funding advice")
        SupportRecord.objects.create(plan=plan, kind="email", notes="Sent a guide")
        log_action(plan, "qip.created", actor=core, summary=f"Started plan {i}",
                   scopes=[programme, site])
        VisitReport.objects.create(visit=hosted, version=i + 2, html="<p>v</p>",
                                   correction_note="Corrected")
        other = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
        IndicatorValue.objects.create(
            indicator=histology, site=other, period="2026",
            period_start=datetime.date(2026, 1, 1), period_end=datetime.date(2026, 12, 31),
            numerator=40 + i, denominator=100)


def count(client, address) -> tuple[int, int]:
    """The queries of a request with no card or chart cached (all of them drawn at once),
    then of one with every card cached."""
    cache.clear()
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(address)
        assert response.status_code == 200
        counts.append(len(captured))
    return counts[0], counts[1]


def test_the_page_queries_stay_flat(as_core, programme, site, core, world):
    address = url(programme, site)
    as_core.get(address)  # warm the per-process caches (content types), as in a server
    grow(programme, site, core, 0, 2)
    small = count(as_core, address)
    grow(programme, site, core, 2, 10)
    large = count(as_core, address)
    assert small == large, f"{small} queries for a small site, {large} for a busy one " \
                           "(each: nothing cached, every card cached)"
    # With nothing cached, the plans' parts read the plans in full (the page reads only what
    # the cache keys need), their latest updates, barriers and support, and the cards their
    # PDSA cycles, measures (with rebases) and points: eight queries.
    assert large[0] == large[1] + 8, "eight queries for the plans' parts not cached"
    assert large[0] <= BUDGET, f"{large[0]} queries, budget {BUDGET}"
    assert large[1] <= WARM_BUDGET, f"{large[1]} queries with every card cached"
    assert QualityImprovementPlan.objects.filter(site=site).count() == 14
