"""Reads for one-way review programmes: each service's self-report scored by the pure rules
in programmes.surveillance, for one service or a whole cycle, in a fixed number of queries."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .. import surveillance as rules
from ..models import (
    IndicatorResponse,
    QualityIndicator,
    SelfReport,
    SelfReportCycle,
    Site,
    SurveillanceDecision,
)
from .participants import participant_sites


def _assess(indicators: list[QualityIndicator], answers: dict[int, bool | None],
            threshold: int) -> rules.Assessment:
    return rules.assess(
        (rules.Answer(kind=indicator.kind, met=answers.get(indicator.pk),
                      scored=indicator.flagged_out_of_date_at is None)
         for indicator in indicators),
        threshold=threshold)


def programme_indicators(programme) -> list[QualityIndicator]:
    return list(QualityIndicator.objects.filter(programme=programme).select_related("standard"))


def report_assessment(report: SelfReport,
                      indicators: list[QualityIndicator] | None = None) -> rules.Assessment:
    """One service's self-report, scored. Every indicator of the programme counts, answered
    or not (an unanswered one is not met)."""
    programme = report.cycle.programme
    indicators = programme_indicators(programme) if indicators is None else indicators
    answers = dict(report.responses.values_list("indicator_id", "met"))
    return _assess(indicators, answers, programme.compliance_threshold)


@dataclass(frozen=True)
class ServiceResult:
    site: Site
    report: SelfReport | None  # None: the service has not started its self-report
    assessment: rules.Assessment
    decision: SurveillanceDecision | None

    @property
    def submitted(self) -> bool:
        return self.report is not None and self.report.status == SelfReport.Status.SUBMITTED

    @property
    def needs_decision(self) -> bool:
        """Flagged on a submitted self-report, and no decision recorded yet."""
        return self.submitted and self.assessment.flagged and self.decision is None


def cycle_results(cycle: SelfReportCycle, *, sites: QuerySet[Site] | None = None
                  ) -> list[ServiceResult]:
    """Every participating service's result for ``cycle`` (or only ``sites``, for a regional
    hub), by organisation and name. A fixed number of queries however many services."""
    programme = cycle.programme
    indicators = programme_indicators(programme)
    services = participant_sites(programme).select_related("organisation")
    if sites is not None:
        services = services.filter(pk__in=sites.values("pk"))
    answers_only = IndicatorResponse.objects.only("report_id", "indicator_id", "met")
    reports = {report.site_id: report for report in SelfReport.objects.filter(cycle=cycle)
               .prefetch_related(Prefetch("responses", queryset=answers_only))
               .select_related("decision")}
    results = []
    for site in services.order_by("organisation__name", "name"):
        report = reports.get(site.pk)
        answers = {r.indicator_id: r.met for r in report.responses.all()} if report else {}
        decision = getattr(report, "decision", None) if report else None
        results.append(ServiceResult(site=site, report=report, decision=decision,
                                     assessment=_assess(indicators, answers,
                                                        programme.compliance_threshold)))
    return results


def current_cycle(programme) -> SelfReportCycle | None:
    """The newest cycle that has opened."""
    return (SelfReportCycle.objects.filter(programme=programme,
                                           opens_on__lte=timezone.localdate())
            .order_by("-opens_on").first())


def next_cycle(programme) -> SelfReportCycle | None:
    """The next cycle to open, to tell services when they can answer."""
    return (SelfReportCycle.objects.filter(programme=programme,
                                           opens_on__gt=timezone.localdate())
            .order_by("opens_on").first())
