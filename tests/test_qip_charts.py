"""Run charts and XmR charts of QIP measures: what they say, and that they say it accessibly."""

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from qips import spc
from qips.charts import Annotation, ChartPoint, MeasureChart, measure_chart

SVG = "{http://www.w3.org/2000/svg}"


def months(n, start=(2025, 1)):
    year, month = start
    out = []
    for _ in range(n):
        out.append(datetime.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def series(values, start=(2025, 1)):
    return [ChartPoint(day, value) for day, value in zip(months(len(values), start), values,
                                                         strict=True)]


def chart(values, **kwargs) -> MeasureChart:
    options = {
        "kind": "xmr",
        "title": "Patients told their diagnosis with a CNS present",
        "y_label": "Percentage of patients",
        "percent": False,
        "improvement": "increase",
        "chart_id": "measure-1",
    }
    points = values if values and isinstance(values[0], ChartPoint) else series(values)
    return measure_chart(points, **(options | kwargs))


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


# Common cause only: spc finds no special cause in these 16 points (checked in the test).
COMMON = [10, 12, 9, 11, 10, 13, 9, 12, 11, 10, 12, 9, 11, 13, 10, 12]
# Twelve points round 11, then eight points up at 13: a shift, within the baseline's limits.
SHIFTED = [10, 12, 11, 13, 10, 12, 11, 12, 10, 13, 11, 11] + [13, 14, 13, 13, 14, 13, 14, 13]
# Proportions: a year round 44% then a year round 60% (rebased there).
BEFORE = [0.42, 0.45, 0.40, 0.44, 0.43, 0.47, 0.41, 0.44, 0.46, 0.42, 0.45, 0.43]
AFTER = [0.55, 0.58, 0.56, 0.60, 0.57, 0.59, 0.61, 0.58, 0.62, 0.57, 0.60, 0.59]


# --- the SVG -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["run", "xmr"])
def test_the_svg_is_accessible_self_contained_and_keeps_text_as_text(kind):
    result = chart(BEFORE + AFTER, kind=kind, percent=True, target=0.8,
                   annotations=[Annotation(datetime.date(2025, 12, 1), "PDSA 1: CNS rota")])
    svg = result.svg
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("id") == "measure-1"
    assert root.find(f"{SVG}title").text == "Patients told their diagnosis with a CNS present"
    assert root.find(f"{SVG}desc").text == result.description
    assert 'href="http' not in svg and "url(http" not in svg
    # every id inside is prefixed with the chart's id, and every reference points at one of them
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i == "measure-1" or i.startswith("measure-1-") for i in ids)
    assert set(re.findall(r'href="#([^"]+)"', svg)) <= set(ids)
    # text as text: the y label, ticks and annotation marker can be read (and found) in the SVG
    words = texts(svg)
    assert "Percentage of patients" in words
    assert "Jan 25" in words
    assert "1" in words
    assert "<path" in svg and "glyph" not in svg


def test_percent_axes_have_whole_percentages_and_months_as_jan_26():
    result = chart(BEFORE + AFTER, percent=True)
    words = texts(result.svg)
    percents = [w for w in words if w.endswith("%") and not w.startswith("Target")]
    assert percents and all(re.fullmatch(r"\d+%", w) for w in percents)
    months_shown = [w for w in words if re.fullmatch(r"[A-Z][a-z]{2} \d\d", w)]
    # 24 months: not every month gets a label, and those that do are calendar-aligned
    assert 6 <= len(months_shown) < 24
    assert months_shown[:3] == ["Jan 25", "Mar 25", "May 25"]


def test_numbers_are_not_shown_as_percentages():
    words = texts(chart(COMMON, percent=False).svg)
    assert not any(w.endswith("%") for w in words)
    assert "10" in words or "10.0" in words


def test_a_short_series_labels_every_month():
    words = texts(chart(COMMON[:6]).svg)
    assert [w for w in words if re.fullmatch(r"[A-Z][a-z]{2} \d\d", w)] == [
        "Jan 25", "Feb 25", "Mar 25", "Apr 25", "May 25", "Jun 25"
    ]


def test_the_same_input_gives_the_same_bytes():
    options = {
        "percent": True,
        "target": 0.7,
        "rebase_at": [datetime.date(2026, 1, 1)],
        "annotations": [Annotation(datetime.date(2025, 6, 1), "PDSA 1")],
    }
    first = chart(BEFORE + AFTER, **options)
    second = chart(BEFORE + AFTER, **options)
    assert first.svg == second.svg
    assert first == second
    run = chart(BEFORE + AFTER, kind="run", **options)
    assert run.svg == chart(BEFORE + AFTER, kind="run", **options).svg


def test_two_charts_on_one_page_do_not_share_ids():
    one = chart(COMMON, chart_id="one").svg
    two = chart(COMMON, chart_id="two").svg
    assert not set(re.findall(r'\bid="([^"]+)"', one)) & set(re.findall(r'\bid="([^"]+)"', two))


# --- XmR signals ---------------------------------------------------------------------------------


def test_common_cause_data_reports_no_signals():
    assert {p.variation for p in spc.special_causes(COMMON, "increase")} == {"common"}
    result = chart(COMMON)
    assert result.signals == []
    assert "Only common cause variation" in result.description
    words = texts(result.svg)
    assert "Common cause variation" in words
    assert not any(w.startswith("Special cause") for w in words)


def test_an_upward_shift_is_an_improvement_when_increase_is_better():
    result = chart(SHIFTED, baseline=12)
    shifts = [s for s in result.signals if s.startswith("Shift:")]
    assert shifts == ["Shift: 8 points in a row above the mean, from Jan 2026 to Aug 2026 "
                      "(improvement)"]
    assert "Special cause: improvement" in texts(result.svg)
    assert "Special cause: concern" not in texts(result.svg)
    assert shifts[0] in result.description


def test_the_same_shift_is_a_concern_when_decrease_is_better():
    result = chart(SHIFTED, baseline=12, improvement="decrease")
    shifts = [s for s in result.signals if s.startswith("Shift:")]
    assert shifts == ["Shift: 8 points in a row above the mean, from Jan 2026 to Aug 2026 "
                      "(concern)"]
    assert "Special cause: concern" in texts(result.svg)
    assert "Special cause: improvement" not in texts(result.svg)


def test_without_an_improvement_direction_special_causes_are_neither():
    result = chart(SHIFTED, baseline=12, improvement=None)
    assert result.signals and all("neither improvement nor concern" in s for s in result.signals)
    assert "Special cause: neither improvement nor concern" in texts(result.svg)
    assert result.assurance is None


def test_the_colours_and_shapes_follow_the_variation():
    # improvement blue squares, concern orange crosses, common grey circles
    improving = chart(SHIFTED, baseline=12).svg
    worsening = chart(SHIFTED, baseline=12, improvement="decrease").svg
    assert "#005eb8" in improving and "#c65d00" not in improving
    assert "#c65d00" in worsening
    assert "#768692" in improving  # the common cause points


def test_an_astronomical_point_is_outside_the_limits():
    values = list(COMMON)
    values[9] = 40
    limits = spc.xmr(values)
    assert values[9] > limits.upl
    result = chart(values)
    assert result.signals[0] == (
        "Outside the limits: Oct 2025 (40) is above the upper process limit (improvement)"
    )
    low = list(COMMON)
    low[9] = -20
    assert chart(low).signals[0] == (
        "Outside the limits: Oct 2025 (-20) is below the lower process limit (concern)"
    )


def test_a_trend_is_reported_with_its_direction():
    values = [10, 12, 9, 11, 10, 12, 9, 11, 10, 11, 12, 13, 14, 15, 16]
    assert spc.TREND in spc.special_causes(values, "decrease")[-1].rules
    trends = [s for s in chart(values, improvement="decrease").signals if s.startswith("Trend")]
    assert trends == [
        "Trend: 7 points in a row each higher than the one before, from Sep 2025 to Mar 2026 "
        "(concern)"
    ]


def test_two_points_close_to_a_limit_are_reported():
    values = list(COMMON)
    limits = spc.xmr(values, baseline=12)
    values[12] = values[13] = round((limits.near_upl + limits.upl) / 2, 1)
    values[14] = 12
    assert spc.special_causes(values, baseline=12)[12].rules == {spc.TWO_IN_THREE}
    assert chart(values, baseline=12).signals == [
        "Two out of three: 2 points close to the upper process limit, Jan 2026 and Feb 2026 "
        "(improvement)"
    ]


# --- run charts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        BEFORE + AFTER,  # a long run: signals
        [1, 2] * 10,  # too many crossings is not a signal
        [1, 1, 2, 2] * 6,  # crossings about as expected
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [3, 3, 3, 5, 5, 5, 5, 5, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 3, 3, 3],  # few crossings
        COMMON,
    ],
)
def test_run_chart_signals_match_the_anhoj_rules_of_spc(values):
    analysis = spc.runs_analysis(values)
    result = chart(values, kind="run", percent=False)
    long_run = [s for s in result.signals if "on one side of the median" in s]
    crossings = [s for s in result.signals if "crosses the median" in s]
    assert bool(long_run) == (analysis.longest_run > analysis.longest_run_max)
    assert bool(crossings) == (analysis.crossings < analysis.crossings_min)
    if long_run:
        assert long_run == [
            f"Run chart: a run of {analysis.longest_run} points on one side of the median "
            f"(limit {analysis.longest_run_max}): a signal of non-random variation"
        ]
    if crossings:
        assert re.search(
            rf"only {analysis.crossings} times? \(at least {analysis.crossings_min} expected\)",
            crossings[0],
        )
    assert re.search(
        rf"longest run {analysis.longest_run} points? \(limit {analysis.longest_run_max}\), "
        rf"{analysis.crossings} crossings? of the median",
        result.description,
    )
    assert result.assurance is None


def test_a_long_run_and_too_few_crossings_signal():
    result = chart(BEFORE + AFTER, kind="run", percent=True)
    assert result.signals == [
        "Run chart: a run of 12 points on one side of the median (limit 8): "
        "a signal of non-random variation",
        "Run chart: the line crosses the median only 1 time (at least 8 expected): "
        "a signal of non-random variation",
    ]
    assert "Median 51.0%" in result.description
    assert "Median" in texts(result.svg)


def test_a_run_chart_baseline_fixes_the_median_and_extends_it():
    result = chart(BEFORE + AFTER, kind="run", percent=True, baseline=12)
    median = spc.runs_analysis(BEFORE).centre
    analysis = spc.runs_analysis(BEFORE + AFTER, centre=median)
    assert f"Median {median * 100:.1f}%, calculated from the first 12 points and extended" \
        in result.description
    assert f"a run of {analysis.longest_run} points" in result.signals[0]
    assert "Median extended past the baseline" in texts(result.svg)


def test_run_chart_phases_are_analysed_separately():
    result = chart(BEFORE + AFTER, kind="run", percent=True, rebase_at=[datetime.date(2026, 1, 1)])
    # each year on its own has no long run
    assert result.signals == []
    assert f"median {spc.runs_analysis(BEFORE).centre * 100:.1f}%" in result.description
    assert f"median {spc.runs_analysis(AFTER).centre * 100:.1f}%" in result.description
    assert "Phase 2" in texts(result.svg)


# --- provisional limits, phases, baseline --------------------------------------------------------


@pytest.mark.parametrize("kind", ["run", "xmr"])
def test_limits_on_fewer_than_12_points_are_provisional(kind):
    eleven = chart(COMMON[:11], kind=kind)
    twelve = chart(COMMON[:12], kind=kind)
    assert eleven.provisional is True
    assert "provisional: based on 11 points, fewer than 12" in eleven.description
    assert twelve.provisional is False
    assert "provisional" not in twelve.description


def test_signals_in_a_provisional_phase_say_so():
    result = chart([10, 12, 10, 12, 11, 12, 30], baseline=6)
    assert result.provisional
    assert result.signals == [
        "Outside the limits: Jul 2025 (30) is above the upper process limit "
        "(improvement; limits provisional: based on 6 points)"
    ]


def test_a_baseline_shorter_than_12_points_is_provisional_even_with_more_data():
    assert chart(SHIFTED, baseline=8).provisional
    assert not chart(SHIFTED, baseline=12).provisional


def test_a_baseline_fixes_the_limits_on_the_first_points():
    result = chart(SHIFTED, baseline=12)
    limits = spc.xmr(SHIFTED, baseline=12)
    assert (f"Mean {limits.mean:.3g}, process limits {limits.lpl:.3g} to {limits.upl:.3g}, "
            "calculated from the first 12 points and extended") in result.description
    assert "Mean extended past the baseline" in texts(result.svg)
    # the points the chart colours are spc's, with the baseline
    causes = spc.special_causes(SHIFTED, "increase", baseline=12)
    assert sum(c.variation == "improvement" for c in causes) == 8


def test_rebasing_splits_the_chart_into_phases_with_their_own_mean():
    result = chart(BEFORE + AFTER, percent=True, rebase_at=[datetime.date(2026, 1, 1)])
    first, second = spc.xmr(BEFORE), spc.xmr(AFTER)
    assert first.mean != second.mean
    assert (f"Phase 1, Jan 2025 to Dec 2025 (12 points): mean {first.mean * 100:.1f}%"
            in result.description)
    assert (f"Phase 2, Jan 2026 to Dec 2026 (12 points): mean {second.mean * 100:.1f}%"
            in result.description)
    assert "Phase 2" in texts(result.svg)
    # without the rebase, the second year is one long special cause against the first
    assert any(s.startswith("Shift") for s in chart(BEFORE + AFTER, percent=True).signals)


def test_signals_name_the_phase_they_are_in():
    after = [0.55, 0.58, 0.56, 0.60, 0.57, 0.59, 0.61, 0.58] + [0.66, 0.68, 0.67] * 3
    result = chart(BEFORE + after, percent=True, rebase_at=[datetime.date(2026, 1, 1)])
    assert any(s.startswith("Shift: 9 points in a row above the phase 2 mean, from Sep 2026")
               for s in result.signals)
    run = chart(BEFORE + after, kind="run", percent=True, rebase_at=[datetime.date(2026, 1, 1)])
    assert run.signals and all(
        s.startswith("Run chart, phase 2 (from Jan 2026): ") for s in run.signals
    )


def test_a_rebase_date_between_points_starts_at_the_next_point():
    result = chart(BEFORE + AFTER, percent=True, rebase_at=[datetime.date(2025, 12, 15)])
    assert "Phase 2, Jan 2026 to Dec 2026 (12 points)" in result.description
    # dates before the second point or after the last start nothing
    same = chart(BEFORE + AFTER, percent=True,
                 rebase_at=[datetime.date(2024, 1, 1), datetime.date(2030, 1, 1)])
    assert "Phase" not in same.description


def test_the_baseline_applies_to_the_first_phase_only():
    result = chart(BEFORE + AFTER, percent=True, baseline=6, rebase_at=[datetime.date(2026, 1, 1)])
    assert "calculated from the first 6 points and extended" in result.description
    assert result.description.count("calculated from the first") == 1
    assert result.provisional  # the first phase's limits rest on 6 points


# --- assurance -----------------------------------------------------------------------------------


@pytest.mark.parametrize("improvement", ["increase", "decrease"])
@pytest.mark.parametrize("target", [5, 11, 20])
def test_assurance_matches_spc(improvement, target):
    result = chart(COMMON, improvement=improvement, target=target)
    expected = spc.assurance(COMMON, target, improvement)
    assert result.assurance == expected
    assert f"The target is {target}." in result.description
    assert f"Target ({target})" in texts(result.svg)


def test_assurance_uses_the_baseline_and_the_latest_phase():
    assert chart(SHIFTED, baseline=12, target=13).assurance == spc.assurance(
        SHIFTED, 13, "increase", baseline=12
    )
    rebased = chart(BEFORE + AFTER, percent=True, target=0.5,
                    rebase_at=[datetime.date(2026, 1, 1)])
    assert rebased.assurance == spc.assurance(AFTER, 0.5, "increase") == "pass"
    assert "expected to meet the target consistently" in rebased.description


def test_no_assurance_without_a_target_or_a_direction_or_on_a_run_chart():
    assert chart(COMMON).assurance is None
    assert chart(COMMON, improvement=None, target=11).assurance is None
    assert chart(COMMON, kind="run", target=11).assurance is None


# --- annotations ---------------------------------------------------------------------------------


def test_annotations_are_numbered_with_the_full_text_in_the_description():
    long_text = "PDSA 2: a new referral form agreed with every GP practice in the network, " \
                "piloted for four weeks in two practices first"
    notes = [
        Annotation(datetime.date(2025, 3, 1), "PDSA 1: CNS at clinic"),
        Annotation(datetime.date(2025, 3, 1), long_text),  # same period: stacked, not overlapping
        Annotation(datetime.date(2025, 4, 10), "Huddles"),
        Annotation(datetime.date(2025, 9, 1), "New CNS"),
    ]
    result = chart(COMMON, annotations=notes)
    words = texts(result.svg)
    assert {"1", "2", "3", "4"} <= set(words)
    assert "1. Mar 2025: PDSA 1: CNS at clinic" in words
    key = [w for w in words if w.startswith("2. Mar 2025: ")]
    assert len(key) == 1 and key[0].endswith("…") and len(key[0]) < len(long_text)
    assert f"2, Mar 2025: {long_text}" in result.description
    assert "4, Sep 2025: New CNS" in result.description


def test_annotations_are_numbered_in_time_order():
    notes = [Annotation(datetime.date(2025, 9, 1), "Later"),
             Annotation(datetime.date(2025, 2, 1), "Earlier")]
    result = chart(COMMON, annotations=notes)
    assert "Annotations: 1, Feb 2025: Earlier; 2, Sep 2025: Later." in result.description
    assert "1. Feb 2025: Earlier" in texts(result.svg)


def test_the_visible_title_can_be_left_out():
    result = chart(COMMON, show_title=False)
    assert "Patients told their diagnosis with a CNS present" not in texts(result.svg)
    assert ET.fromstring(result.svg).find(f"{SVG}title").text == (
        "Patients told their diagnosis with a CNS present"
    )
    assert "Patients told their diagnosis with a CNS present" in texts(chart(COMMON).svg)


def test_an_annotation_outside_the_data_is_still_drawn():
    result = chart(COMMON, annotations=[Annotation(datetime.date(2024, 10, 1), "Before")])
    assert "1. Oct 2024: Before" in texts(result.svg)


# --- weekly data ---------------------------------------------------------------------------------


def test_weekly_data_names_days_in_text_and_months_on_the_axis():
    start = datetime.date(2025, 1, 6)
    points = [ChartPoint(start + datetime.timedelta(weeks=i), v) for i, v in enumerate(COMMON)]
    result = chart(points)
    assert result.description.startswith(
        "XmR (individuals) chart of 16 weekly values, from 6 Jan 2025 to 21 Apr 2025."
    )
    labels = [w for w in texts(result.svg) if re.fullmatch(r"[A-Z][a-z]{2} \d\d", w)]
    assert labels == ["Jan 25", "Feb 25", "Mar 25", "Apr 25"]


# --- edge cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["run", "xmr"])
def test_no_data_gives_no_svg_and_says_so(kind):
    result = chart([], kind=kind)
    assert result.svg == ""
    assert "no data" in result.description
    assert result.signals == [] and result.assurance is None


@pytest.mark.parametrize("kind", ["run", "xmr"])
def test_one_point(kind):
    result = chart([0.5], kind=kind, percent=True, target=0.6, annotations=[
        Annotation(datetime.date(2025, 1, 1), "Start")])
    assert result.provisional
    assert result.signals == []
    assert result.assurance is None
    assert "The latest value is 50.0% (Jan 2025)." in result.description
    ET.fromstring(result.svg)
    if kind == "xmr":
        assert "too few points for a mean and process limits" in result.description.lower()


@pytest.mark.parametrize("kind", ["run", "xmr"])
@pytest.mark.parametrize("value", [0.0, 1.0, 0.37])
def test_all_equal_values(kind, value):
    result = chart([value] * 14, kind=kind, percent=True, target=0.9)
    assert result.signals == []
    assert not result.provisional
    assert any(w.endswith("%") for w in texts(result.svg))
    if kind == "run":
        assert "Every point is on the median" in result.description
    else:
        assert result.assurance == spc.assurance([value] * 14, 0.9, "increase")


def test_a_phase_of_one_point_has_no_limits():
    result = chart(COMMON, rebase_at=[datetime.date(2026, 4, 1)])
    assert "Phase 2, Apr 2026 (1 point): too few points" in result.description
    assert result.provisional
    assert result.assurance is None
    run = chart(COMMON, kind="run", rebase_at=[datetime.date(2026, 4, 1)])
    assert "Phase 2, Apr 2026 (1 point): median 12" in run.description


def test_two_points_and_unsorted_input():
    points = series([3, 5])
    result = chart(points[::-1])
    assert result.description == chart(points).description
    assert "Mean 4, process limits" in result.description


def test_limits_past_0_and_100_percent_are_described_as_such():
    result = chart([0.02, 0.4, 0.05, 0.9, 0.1, 0.95, 0.03, 0.5], percent=True)
    assert "process limits below 0% to above 100%" in result.description


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "pie"},
        {"improvement": "up"},
        {"baseline": 1},
        {"baseline": True},
        {"chart_id": "1 bad id"},
    ],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        chart(COMMON, **kwargs)


def test_missing_values_raise():
    with pytest.raises(ValueError):
        chart([ChartPoint(datetime.date(2025, 1, 1), None)])
    with pytest.raises(ValueError):
        chart([1.0, float("nan"), 2.0])
