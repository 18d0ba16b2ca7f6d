"""programmes.selectors.surveillance: self-reports scored by the pure rules, for one service
or a whole cycle, in a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programmes.models import (
    Enrolment,
    IndicatorResponse,
    Programme,
    QualityIndicator,
    SelfReport,
    SelfReportCycle,
    SurveillanceDecision,
)
from programmes.selectors.surveillance import current_cycle, cycle_results, report_assessment

from .factories import EnrolmentFactory, ProgrammeFactory

AGREED, GOOD = QualityIndicator.Kind.AGREED, QualityIndicator.Kind.GOOD_PRACTICE


@pytest.fixture
def programme(db):
    programme = ProgrammeFactory(kind=Programme.Kind.ONE_WAY, compliance_threshold=75)
    for code, kind in (("A1", AGREED), ("A2", AGREED), ("G1", GOOD), ("G2", GOOD),
                       ("G3", GOOD), ("G4", GOOD)):
        QualityIndicator.objects.create(programme=programme, code=code, title=code, kind=kind)
    return programme


@pytest.fixture
def cycle(programme):
    today = timezone.localdate()
    return SelfReportCycle.objects.create(programme=programme, name="2026/27",
                                          opens_on=today - datetime.timedelta(days=1),
                                          closes_on=today + datetime.timedelta(days=30))


def _service(programme, status=Enrolment.Status.APPROVED):
    return EnrolmentFactory(programme=programme, status=status).site


def _report(cycle, site, met: dict, submitted=True) -> SelfReport:
    report = SelfReport.objects.create(
        cycle=cycle, site=site,
        status=SelfReport.Status.SUBMITTED if submitted else SelfReport.Status.DRAFT)
    for indicator in QualityIndicator.objects.filter(programme=cycle.programme):
        if indicator.code in met:
            IndicatorResponse.objects.create(report=report, indicator=indicator,
                                             met=met[indicator.code])
    return report


ALL = {"A1": True, "A2": True, "G1": True, "G2": True, "G3": True, "G4": False}


def test_report_assessment_scores_every_indicator_answered_or_not(cycle, programme):
    report = _report(cycle, _service(programme), {"A1": True, "G1": True, "G2": True,
                                                  "G3": True})
    result = report_assessment(report)
    # A2 unanswered (not met), G4 unanswered (not met): 1/2 agreed, 3/4 = 75% good practice.
    assert (result.agreed_met, result.agreed_total, result.unanswered) == (1, 2, 2)
    assert result.good_practice_percent == 75 and not result.below_threshold
    assert result.flagged


def test_a_flagged_out_of_date_indicator_is_not_scored(cycle, programme):
    report = _report(cycle, _service(programme), {**ALL, "A2": False})
    QualityIndicator.objects.filter(code="A2").update(flagged_out_of_date_at=timezone.now())
    result = report_assessment(report)
    assert result.not_scored == 1 and not result.flagged


def test_cycle_results_cover_every_participating_service(cycle, programme):
    met, missed = _service(programme), _service(programme)
    _service(programme)  # not started
    _service(programme, status=Enrolment.Status.WITHDRAWN)  # not a participant
    _report(cycle, met, ALL)
    flagged = _report(cycle, missed, {**ALL, "G3": False})
    results = {r.site.pk: r for r in cycle_results(cycle)}
    assert len(results) == 3
    assert not results[met.pk].assessment.flagged and results[met.pk].submitted
    assert results[missed.pk].assessment.flagged and results[missed.pk].needs_decision
    SurveillanceDecision.objects.create(report=flagged, routine=True, risk_level="low",
                                        rationale="x")
    results = {r.site.pk: r for r in cycle_results(cycle)}
    assert results[missed.pk].decision is not None
    assert not results[missed.pk].needs_decision
    assert [r.report for r in results.values()].count(None) == 1


def test_cycle_results_for_a_hub_are_only_its_sites(cycle, programme):
    a, b = _service(programme), _service(programme)
    results = cycle_results(cycle, sites=type(a).objects.filter(pk=a.pk))
    assert [r.site for r in results] == [a] and b not in [r.site for r in results]


def test_cycle_results_take_the_same_queries_for_three_services_or_thirty(cycle, programme):
    def count() -> int:
        fresh = SelfReportCycle.objects.get(pk=cycle.pk)
        with CaptureQueriesContext(connection) as queries:
            results = cycle_results(fresh)
            for result in results:
                _ = result.site.organisation.name, result.decision, result.assessment.flagged
        return len(queries.captured_queries)

    for _ in range(3):
        _report(cycle, _service(programme), ALL)
    small = count()
    for i in range(27):
        report = _report(cycle, _service(programme), {**ALL, "A1": i % 2 == 0},
                         submitted=i % 3 != 0)
        if i % 4 == 0:
            SurveillanceDecision.objects.create(report=report, peer_review=True,
                                                risk_level="high", rationale="x")
    assert count() == small
    assert small <= 6


def test_current_cycle_is_the_newest_that_has_opened(programme, cycle):
    today = timezone.localdate()
    SelfReportCycle.objects.create(programme=programme, name="next",
                                   opens_on=today + datetime.timedelta(days=5),
                                   closes_on=today + datetime.timedelta(days=60))
    assert current_cycle(programme) == cycle
    older = SelfReportCycle.objects.create(programme=programme, name="old",
                                           opens_on=today - datetime.timedelta(days=400),
                                           closes_on=today - datetime.timedelta(days=300))
    assert current_cycle(programme) != older
    assert current_cycle(ProgrammeFactory(kind=Programme.Kind.ONE_WAY)) is None
