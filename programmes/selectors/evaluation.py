"""The programme evaluation: intervention against control sites, before and after.

For the core team only (the view scopes the programme). Sites are analysed by intention to
treat: in the arm they were allocated to, including any that withdrew afterwards, because
leaving out those that withdrew would compare the sites that stayed keen with all the control
sites, and their national audit data go on being published either way.
"""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache

from .. import evaluation
from ..charts import evaluation_chart_svg
from ..models import Enrolment, Indicator, IndicatorValue, Programme

CHART_CACHE_SECONDS = 24 * 60 * 60

INTERVENTION, CONTROL = Enrolment.Status.INTERVENTION, Enrolment.Status.CONTROL
ARMS = (INTERVENTION, CONTROL)

# Below this many sites in an arm an interval still comes out, but it rests heavily on the
# sites' changes being roughly normally distributed, which so few cannot show.
FEW_SITES = 5


@dataclass(frozen=True)
class PeriodChoice:
    label: str
    start: datetime.date
    end: datetime.date


@dataclass
class ArmRow:
    label: str
    allocated: int  # sites allocated to the arm with any value for the indicator, or not
    n: int  # sites with values in both periods
    excluded: int  # allocated sites missing the baseline or the follow-up value
    baseline_mean: float | None
    follow_up_mean: float | None
    change: evaluation.Estimate | None

    @property
    def few_sites(self) -> bool:
        return self.n < FEW_SITES

    @property
    def change_text(self) -> str:
        return change_text(self.change)


@dataclass
class IndicatorEvaluation:
    indicator: Indicator
    arms: list[ArmRow]
    did: evaluation.Estimate | None
    # Site figures in the comparison resting on fewer patients than the programme's smallest
    # reliable denominator, and how many figures the comparison uses in all.
    small_figures: int
    figures: int
    series: list[tuple[str, datetime.date, datetime.date, float | None, int, float | None, int]]
    chart: str

    @property
    def favours_intervention(self) -> bool | None:
        """True when the estimate points to the intervention sites improving more; None when
        there is no estimate."""
        if self.did is None:
            return None
        return _improvement(self.did.estimate, self.indicator.higher_is_better) > 0

    @property
    def did_text(self) -> str:
        return change_text(self.did)

    @property
    def summary(self) -> str:
        return did_sentence(self.did, higher_is_better=self.indicator.higher_is_better)

    @property
    def interval_meaning(self) -> str:
        return interval_sentence(self.did, higher_is_better=self.indicator.higher_is_better)

    @property
    def few_sites(self) -> bool:
        return any(arm.few_sites for arm in self.arms)


@dataclass
class ProgrammeEvaluation:
    periods: list[PeriodChoice]
    baseline: PeriodChoice | None
    follow_up: PeriodChoice | None
    indicators: list[IndicatorEvaluation]
    allocated: dict[str, int]
    # Plain-words notes about choices that could not be used, shown above the results.
    notices: list[str] = field(default_factory=list)

    @property
    def pre_baseline_periods(self) -> list[PeriodChoice]:
        if self.baseline is None:
            return []
        return [p for p in self.periods if p.end < self.baseline.start]


def _improvement(value: float, higher_is_better: bool) -> float:
    return value if higher_is_better else -value


def _points(proportion: float, *, signed: bool = False) -> str:
    """A proportion difference in percentage points, one decimal place, with a true minus."""
    text = f"{abs(proportion) * 100:.1f}"
    if proportion < 0 and text != "0.0":
        return "−" + text
    if signed and text != "0.0":
        return "+" + text
    return text


def change_text(estimate: evaluation.Estimate | None) -> str:
    """An arm's change, as "+2.3 points (95% CI −0.4 to 5.0)"."""
    if estimate is None:
        return "No sites"
    text = f"{_points(estimate.estimate, signed=True)} points"
    if estimate.has_interval:
        text += f" (95% CI {_points(estimate.low)} to {_points(estimate.high)})"
    return text


def did_sentence(did: evaluation.Estimate | None, *, higher_is_better: bool) -> str:
    """The difference in differences in words a clinician would use: who improved more, by how
    many percentage points, with the 95% confidence interval on the same scale."""
    if did is None:
        return "There is no comparison: an arm has no site with figures in both periods."
    gain = _improvement(did.estimate, higher_is_better)
    ends = ()
    if did.has_interval:
        ends = sorted(_improvement(end, higher_is_better) for end in (did.low, did.high))
    if _points(gain) == "0.0":
        sentence = ("The intervention and control sites changed by the same amount, to the "
                    "nearest tenth of a percentage point")
        if ends:
            sentence += f" (95% CI {_points(ends[0])} to {_points(ends[1])})"
    elif gain > 0:
        sentence = (f"The intervention sites improved by {_points(gain)} percentage points "
                    "more than the control sites")
        if ends:
            sentence += f" (95% CI {_points(ends[0])} to {_points(ends[1])})"
    else:
        sentence = (f"The control sites improved by {_points(-gain)} percentage points more "
                    "than the intervention sites")
        if ends:
            sentence += f" (95% CI {_points(-ends[1])} to {_points(-ends[0])})"
    sentence += "."
    if not higher_is_better:
        sentence += " Lower is better for this indicator, so improving means a fall."
    return sentence


def interval_sentence(did: evaluation.Estimate | None, *, higher_is_better: bool) -> str:
    if did is None:
        return ""
    if not did.has_interval:
        return f"There is no confidence interval. {did.no_interval_reason}"
    if not did.excludes_zero:
        return ("The interval includes zero, so these figures are consistent with the "
                "programme having made no difference, as well as with the differences at "
                "either end of the interval.")
    better = _improvement(did.estimate, higher_is_better) > 0
    arm = "intervention" if better else "control"
    return (f"The whole interval favours the {arm} sites, so chance alone is an unlikely "
            "explanation. It does not rule out the other explanations below.")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _chart(indicator: Indicator, rows: list, baseline: str | None, follow_up: str | None) -> str:
    options = {"title": f"{indicator.name}: intervention and control sites over time",
               "chart_id": f"evaluation-{indicator.pk}", "indicator_label": indicator.name,
               "baseline": baseline, "follow_up": follow_up}
    # Drawing takes a fifth of a second a chart; the key is everything drawn, so a cached chart
    # is reused only while its data and options are unchanged.
    key = "evaluation-svg-" + hashlib.sha256(
        repr((rows, sorted(options.items()))).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = evaluation_chart_svg(rows, **options)
        cache.set(key, svg, CHART_CACHE_SECONDS)
    return svg


def _resolve_periods(programme: Programme, periods: dict[str, PeriodChoice],
                     both_arms: set[str], baseline: str | None, follow_up: str | None
                     ) -> tuple[PeriodChoice | None, PeriodChoice | None, list[str]]:
    notices = []
    chosen_baseline = None
    if baseline:
        chosen_baseline = periods.get(baseline)
        if chosen_baseline is None:
            notices.append("The baseline period chosen has no audit data for the allocated "
                           "sites, so the programme's baseline period is used instead.")
    if chosen_baseline is None:
        chosen_baseline = periods.get(programme.baseline_period)
        if chosen_baseline is None:
            earliest = next((p for p in periods.values() if p.label in both_arms), None)
            if earliest is not None:
                notices.append(
                    f"The programme's baseline period ({programme.baseline_period or 'not set'}"
                    f") has no audit data for the allocated sites, so {earliest.label}, the "
                    "earliest period with figures from both arms, is used instead.")
            chosen_baseline = earliest
    if chosen_baseline is None:
        return None, None, notices

    later = [p for p in periods.values()
             if p.label in both_arms and p.start > chosen_baseline.end]
    chosen_follow_up = None
    if follow_up:
        requested = periods.get(follow_up)
        if requested is None:
            notices.append("The follow-up period chosen has no audit data for the allocated "
                           "sites, so the latest period is used instead.")
        elif requested not in later:
            notices.append(f"The follow-up period must start after the baseline period "
                           f"({chosen_baseline.label}) ends and have figures from both arms, "
                           f"so {requested.label} cannot be used; the latest period is used "
                           "instead.")
        else:
            chosen_follow_up = requested
    if chosen_follow_up is None and later:
        chosen_follow_up = later[-1]
    return chosen_baseline, chosen_follow_up, notices


def programme_evaluation(programme: Programme, *, baseline: str | None = None,
                         follow_up: str | None = None) -> ProgrammeEvaluation:
    """Each headline indicator compared between the arms, before and after, in three queries
    however large the programme.

    ``baseline`` defaults to the programme's baseline period; ``follow_up`` to the latest
    period after it with figures from both arms. A choice that is not a period with data, or a
    follow-up that does not come after the baseline, falls back to the default with a notice.
    """
    indicators = list(programme.indicators.filter(is_headline=True))
    allocated = Enrolment.objects.filter(programme=programme).allocated()
    arm_of = dict(allocated.values_list("site_id", "arm"))
    counts = {arm: sum(1 for a in arm_of.values() if a == arm) for arm in ARMS}

    # (indicator, site, period) → (proportion, denominator)
    values: dict[tuple[int, int, str], tuple[float, int]] = {}
    periods: dict[str, PeriodChoice] = {}
    arms_with_data: dict[str, set[str]] = {}
    rows = IndicatorValue.objects.filter(
        indicator__in=[i.pk for i in indicators], site_id__in=allocated.values("site_id"),
    ).values_list("indicator_id", "site_id", "period", "period_start", "period_end",
                  "numerator", "denominator")
    for indicator_id, site_id, period, start, end, numerator, denominator in rows:
        values[indicator_id, site_id, period] = (numerator / denominator, denominator)
        periods.setdefault(period, PeriodChoice(period, start, end))
        arms_with_data.setdefault(period, set()).add(arm_of[site_id])
    ordered = dict(sorted(periods.items(), key=lambda item: (item[1].end, item[1].start)))
    both_arms = {p for p, arms in arms_with_data.items() if len(arms) == 2}
    chosen_baseline, chosen_follow_up, notices = _resolve_periods(
        programme, ordered, both_arms, baseline, follow_up)

    results = []
    for indicator in indicators:
        results.append(_indicator_evaluation(
            programme, indicator, values, arm_of, ordered, chosen_baseline, chosen_follow_up))
    return ProgrammeEvaluation(
        periods=list(ordered.values()), baseline=chosen_baseline, follow_up=chosen_follow_up,
        indicators=results, allocated={str(arm): n for arm, n in counts.items()},
        notices=notices)


def _indicator_evaluation(programme: Programme, indicator: Indicator, values: dict,
                          arm_of: dict[int, str], periods: dict[str, PeriodChoice],
                          baseline: PeriodChoice | None, follow_up: PeriodChoice | None
                          ) -> IndicatorEvaluation:
    sites_in = {arm: sorted(s for s, a in arm_of.items() if a == arm) for arm in ARMS}
    series = []
    for period in periods.values():
        means = []
        for arm in ARMS:
            found = [values[indicator.pk, s, period.label][0] for s in sites_in[arm]
                     if (indicator.pk, s, period.label) in values]
            means += [_mean(found), len(found)]
        if means[1] or means[3]:
            series.append((period.label, period.start, period.end, *means))

    panel: dict[str, list[tuple[float, float]]] = {arm: [] for arm in ARMS}
    small = 0
    if baseline and follow_up:
        for arm in ARMS:
            for site_id in sites_in[arm]:
                before = values.get((indicator.pk, site_id, baseline.label))
                after = values.get((indicator.pk, site_id, follow_up.label))
                if before and after:
                    panel[arm].append((before[0], after[0]))
                    small += sum(1 for v in (before, after) if v[1] < programme.min_denominator)
    result = evaluation.difference_in_differences(panel[INTERVENTION], panel[CONTROL])
    arms = []
    for arm, change in ((INTERVENTION, result.intervention), (CONTROL, result.control)):
        arms.append(ArmRow(
            label="Intervention" if arm == INTERVENTION else "Control",
            allocated=len(sites_in[arm]), n=change.n, excluded=len(sites_in[arm]) - change.n,
            baseline_mean=change.mean_before, follow_up_mean=change.mean_after,
            change=change.change,
        ))
    chart = ""
    if series:
        chart = _chart(indicator, series, baseline.label if baseline else None,
                       follow_up.label if follow_up else None)
    return IndicatorEvaluation(
        indicator=indicator, arms=arms, did=result.did,
        small_figures=small, figures=2 * (result.intervention.n + result.control.n),
        series=series, chart=chart,
    )
