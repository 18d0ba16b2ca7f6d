"""The programme evaluation: difference in differences between the arms, with Welch's interval.

Every expected number here is typed in from a hand calculation, a published table or a
published paper, never recomputed with the code under test.
"""

import datetime
import math
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes import demo
from programmes.charts import evaluation_chart_svg
from programmes.evaluation import (
    Estimate,
    difference_in_differences,
    difference_of_summaries,
    mean_with_interval,
    regularised_incomplete_beta,
    t_cdf,
    t_quantile,
    welch_df,
)
from programmes.models import Enrolment, Indicator, IndicatorValue
from programmes.selectors.evaluation import did_sentence, programme_evaluation

from .factories import EnrolmentFactory

# --- Student's t ---------------------------------------------------------------------------

# Two-sided 95% critical values, t(0.975; df), from the NIST/SEMATECH e-Handbook of
# Statistical Methods, §1.3.6.7.2 "Critical values of the Student's t distribution"; NIST
# stops at 100 df, so 120 df is from Fisher RA, Yates F, Statistical Tables, Table III.
T_TABLE = [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (10, 2.228),
           (30, 2.042), (60, 2.000), (100, 1.984), (120, 1.980)]


@pytest.mark.parametrize(("df", "critical"), T_TABLE)
def test_t_quantiles_match_the_published_table(df, critical):
    assert t_quantile(0.975, df) == pytest.approx(critical, abs=0.0005)


def test_other_published_t_quantiles():
    # NIST §1.3.6.7.2, 10 df: one-sided 0.95 → 1.812, 0.995 → 3.169.
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=0.0005)
    assert t_quantile(0.995, 10) == pytest.approx(3.169, abs=0.0005)
    assert t_quantile(0.025, 5) == pytest.approx(-2.571, abs=0.0005)
    assert t_quantile(0.5, 7) == 0.0


@pytest.mark.parametrize("df", [1e4, 1e6, 1e8])
def test_t_quantiles_approach_the_normal_as_df_grows(df):
    # The table's last row (infinite df) is the normal's 1.960.
    assert t_quantile(0.975, df) == pytest.approx(1.960, abs=0.0005)
    assert t_quantile(0.975, None) == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize("t", [-30.0, -2.5, -0.3, 0.0, 0.7, 1.0, 4.2, 250.0])
def test_t_cdf_matches_the_closed_forms_for_one_and_two_df(t):
    # 1 df is the Cauchy distribution: F(t) = 1/2 + arctan(t)/π.
    assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    # 2 df: F(t) = 1/2 + t / (2 √(2 + t²)).
    assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


@pytest.mark.parametrize("x", [0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0])
def test_the_incomplete_beta_matches_its_closed_forms(x):
    # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b (DLMF 8.17.1 with B(a, 1) = 1/a).
    assert regularised_incomplete_beta(1, 1, x) == pytest.approx(x, abs=1e-12)
    assert regularised_incomplete_beta(3.5, 1, x) == pytest.approx(x ** 3.5, abs=1e-12)
    assert regularised_incomplete_beta(1, 4, x) == pytest.approx(1 - (1 - x) ** 4, abs=1e-12)


def test_the_incomplete_beta_refuses_impossible_arguments():
    with pytest.raises(ValueError):
        regularised_incomplete_beta(0, 1, 0.5)
    with pytest.raises(ValueError):
        regularised_incomplete_beta(1, 1, 1.5)
    with pytest.raises(ValueError):
        t_quantile(1.0, 5)


# --- A small example worked by hand ---------------------------------------------------------

# Each site's (before, after) proportion. Denominators differ on purpose: the unit is the
# site's proportion, unweighted, so a site of 50 patients counts as much as one of 200.
INTERVENTION = [(60, 100, 70, 100), (25, 50, 27, 50), (160, 200, 174, 200)]
CONTROL = [(70, 100, 72, 100), (22, 40, 22, 40), (130, 200, 138, 200)]


def proportions(sites):
    return [(a / b, c / d) for a, b, c, d in sites]


def test_the_worked_example_by_hand():
    """
    Intervention sites: 0.60 → 0.70, 0.50 → 0.54, 0.80 → 0.87.
      changes +0.10, +0.04, +0.07; mean 0.21 / 3 = 0.07
      deviations +0.03, −0.03, 0; sum of squares 0.0018; variance 0.0018 / 2 = 0.0009
      SE of the mean √(0.0009 / 3) = √0.0003 = 0.017321
      95% CI with t(0.975; 2) = 4.303: 0.07 ± 4.303 × 0.017321 = 0.07 ± 0.07453
        → −0.00452 to 0.14452
      arm means 1.90 / 3 = 0.63333 before, 2.11 / 3 = 0.70333 after
      (weighting by patients would give 245/350 = 0.700 before: the unit is the site)
    Control sites: 0.70 → 0.72, 0.55 → 0.55, 0.65 → 0.69.
      changes +0.02, 0, +0.04; mean 0.06 / 3 = 0.02
      deviations 0, −0.02, +0.02; sum of squares 0.0008; variance 0.0004
      SE √(0.0004 / 3) = √0.00013333 = 0.011547
      95% CI: 0.02 ± 4.303 × 0.011547 = 0.02 ± 0.04968 → −0.02968 to 0.06968
      arm means 1.90 / 3 = 0.63333 before, 1.96 / 3 = 0.65333 after
    Difference in differences: 0.07 − 0.02 = 0.05
      (the same as (0.70333 − 0.63333) − (0.65333 − 0.63333) = 0.07 − 0.02)
      SE √(0.0003 + 0.00013333) = √0.00043333 = 0.020817
      Welch–Satterthwaite df = (0.0003 + 0.00013333)² / (0.0003² / 2 + 0.00013333² / 2)
        = (169 / 9×10⁸) / (97 / 18×10⁸) = 338 / 97 = 3.4845
      t(0.975; 3.4845) = 2.9462 (between the table's 3.182 for 3 df and 2.776 for 4 df;
        scipy.stats.t.ppf(0.975, 338/97) gives 2.946173, and scipy's Welch test,
        ttest_ind(equal_var=False).confidence_interval(), gives −0.011329 to 0.111329)
      95% CI: 0.05 ± 2.946173 × 0.020817 = 0.05 ± 0.061329 → −0.011329 to 0.111329
    """
    result = difference_in_differences(proportions(INTERVENTION), proportions(CONTROL))

    intervention, control = result.intervention, result.control
    assert intervention.n == 3 and control.n == 3
    assert intervention.mean_before == pytest.approx(0.633333, abs=1e-6)
    assert intervention.mean_after == pytest.approx(0.703333, abs=1e-6)
    assert intervention.change.estimate == pytest.approx(0.07)
    assert intervention.change.standard_error == pytest.approx(0.017321, abs=1e-6)
    assert intervention.change.df == 2
    assert intervention.change.low == pytest.approx(-0.00452, abs=1e-5)
    assert intervention.change.high == pytest.approx(0.14452, abs=1e-5)
    assert control.mean_before == pytest.approx(0.633333, abs=1e-6)
    assert control.mean_after == pytest.approx(0.653333, abs=1e-6)
    assert control.change.estimate == pytest.approx(0.02)
    assert control.change.standard_error == pytest.approx(0.011547, abs=1e-6)
    assert control.change.low == pytest.approx(-0.02968, abs=1e-5)
    assert control.change.high == pytest.approx(0.06968, abs=1e-5)

    did = result.did
    assert did.estimate == pytest.approx(0.05)
    assert did.standard_error == pytest.approx(0.020817, abs=1e-6)
    assert did.df == pytest.approx(338 / 97)
    assert did.low == pytest.approx(-0.011329, abs=1e-6)
    assert did.high == pytest.approx(0.111329, abs=1e-6)
    assert not did.excludes_zero


def test_welch_df_formula_by_hand():
    # SEs √0.0003 and √0.00013333 with 3 sites each: 338/97, as worked above.
    assert welch_df(math.sqrt(0.0003), 3, math.sqrt(0.0004 / 3), 3) == pytest.approx(338 / 97)
    # Equal SEs and sizes: the Welch df is n1 + n2 − 2 (here 4).
    assert welch_df(0.1, 3, 0.1, 3) == pytest.approx(4)


# --- A published example -------------------------------------------------------------------


def test_card_and_krueger_table_3_row_3():
    """Card DE, Krueger AB. Minimum wages and employment: a case study of the fast-food
    industry in New Jersey and Pennsylvania. Am Econ Rev 1994;84:772–93, Table 3, row 3,
    "Change in mean FTE employment": New Jersey 0.59 (SE 0.54), Pennsylvania −2.16 (SE 1.25),
    difference NJ − PA 2.76 (SE 1.36).

    From the rounded published figures: 0.59 − (−2.16) = 2.75 (the paper's 2.76 subtracts
    the unrounded means); SE √(0.54² + 1.25²) = √(0.2916 + 1.5625) = √1.8541 = 1.3617, which
    the paper prints as 1.36. Normal 95% interval: 2.75 ± 1.959964 × 1.361653 = 2.75 ± 2.66879
    → 0.0812 to 5.4188.
    """
    result = difference_of_summaries(0.59, 0.54, -2.16, 1.25)
    assert result.estimate == pytest.approx(2.75)
    assert abs(result.estimate - 2.76) <= 0.01 + 1e-9
    assert round(result.standard_error, 2) == 1.36
    assert result.df is None
    assert result.low == pytest.approx(0.0812, abs=1e-4)
    assert result.high == pytest.approx(5.4188, abs=1e-4)


# --- Degenerate cases ----------------------------------------------------------------------


def test_one_site_in_an_arm_gives_an_estimate_but_no_interval():
    result = difference_in_differences([(0.5, 0.6)], proportions(CONTROL))
    assert result.did.estimate == pytest.approx(0.1 - 0.02)
    assert not result.did.has_interval
    assert "fewer than two sites" in result.did.no_interval_reason
    assert not result.intervention.change.has_interval
    assert "Only one site" in result.intervention.change.no_interval_reason


def test_no_spread_anywhere_gives_no_interval():
    result = difference_in_differences([(0.5, 0.6), (0.4, 0.5)], [(0.5, 0.5), (0.3, 0.3)])
    assert result.did.estimate == pytest.approx(0.1)
    assert result.did.standard_error == 0
    assert not result.did.has_interval
    assert "exactly the same amount" in result.did.no_interval_reason
    assert "exactly the same amount" in result.control.change.no_interval_reason


def test_no_spread_in_one_arm_leaves_the_other_arms_df():
    # Control changes 0.02, 0, 0.04 (SE 0.011547); intervention all +0.1. Welch's df
    # collapses to the control arm's n − 1 = 2, so t = 4.303: 0.08 ± 4.303 × 0.011547
    # = 0.08 ± 0.04968.
    result = difference_in_differences([(0.5, 0.6), (0.4, 0.5), (0.7, 0.8)],
                                       proportions(CONTROL))
    assert result.did.df == pytest.approx(2)
    assert result.did.low == pytest.approx(0.08 - 0.04968, abs=1e-5)
    assert result.did.high == pytest.approx(0.08 + 0.04968, abs=1e-5)


def test_an_empty_arm_gives_no_comparison():
    result = difference_in_differences([], proportions(CONTROL))
    assert result.did is None
    assert result.intervention.n == 0 and result.intervention.change is None
    with pytest.raises(ValueError):
        mean_with_interval([])


# --- Words ---------------------------------------------------------------------------------


def estimate(value, low, high):
    return Estimate(value, 0.01, 10, low, high)


def test_the_sentence_says_who_improved_more_with_the_interval():
    text = did_sentence(estimate(0.05, -0.011329, 0.111329), higher_is_better=True)
    assert text == ("The intervention sites improved by 5.0 percentage points more than the "
                    "control sites (95% CI −1.1 to 11.1).")
    text = did_sentence(estimate(-0.032, -0.06, -0.004), higher_is_better=True)
    assert text == ("The control sites improved by 3.2 percentage points more than the "
                    "intervention sites (95% CI 0.4 to 6.0).")


def test_when_lower_is_better_a_fall_is_an_improvement():
    # Intervention fell 4 points more than control: for a lower-is-better indicator that is
    # the intervention sites improving by 4 points more; the interval flips with it.
    text = did_sentence(estimate(-0.04, -0.07, -0.01), higher_is_better=False)
    assert text.startswith("The intervention sites improved by 4.0 percentage points more "
                           "than the control sites (95% CI 1.0 to 7.0).")
    assert "Lower is better" in text


def test_the_sentence_without_an_interval_has_no_brackets():
    text = did_sentence(Estimate(0.03, None, None, None, None, "why"), higher_is_better=True)
    assert text == ("The intervention sites improved by 3.0 percentage points more than the "
                    "control sites.")


# --- The chart -----------------------------------------------------------------------------

ROWS = [
    ("2024", datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), 0.70, 3, 0.71, 3),
    ("2025", datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), 0.633, 3, 0.633, 3),
    ("2026 Q1", datetime.date(2026, 1, 1), datetime.date(2026, 3, 31), 0.703, 3, None, 0),
]


def chart(**overrides):
    options = {"title": "Histology: intervention and control sites over time",
               "chart_id": "evaluation-1", "indicator_label": "Histology",
               "baseline": "2025", "follow_up": "2026 Q1"}
    return evaluation_chart_svg(ROWS, **(options | overrides))


def test_the_chart_is_accessible_deterministic_svg():
    svg = chart()
    assert svg.startswith("<svg") and svg == chart()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.find(f"{ns}title").text == "Histology: intervention and control sites over time"
    description = root.find(f"{ns}desc").text
    assert "2024: intervention 70.0% (3 sites), control 71.0% (3 sites)." in description
    assert "2026 Q1: intervention 70.3% (3 sites)." in description
    assert ("The baseline period (2025) and the follow-up period (2026 Q1) are shaded."
            in description)
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    assert {"Baseline", "Follow-up", "Intervention sites", "Control sites"} <= set(texts)
    assert "<script" not in svg


# --- The page ------------------------------------------------------------------------------

PERIODS = {
    "2024": (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)),
    "2025": (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)),
    "2026 Q1": (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)),
    "2026 Q2": (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30)),
}


def add_value(indicator, site, period, numerator, denominator):
    start, end = PERIODS[period]
    IndicatorValue.objects.create(indicator=indicator, site=site, period=period,
                                  period_start=start, period_end=end, numerator=numerator,
                                  denominator=denominator)


@pytest.fixture
def worked(programme, site, other_site):
    """The worked example in a programme: baseline 2025, follow-up 2026 Q1, with a 2024 year
    before the baseline. ``site`` and ``other_site`` (conftest) are intervention sites."""
    programme.baseline_period = "2025"
    programme.min_denominator = 45
    programme.save()
    indicator = Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                                         source="NLCA", is_headline=True)
    third = EnrolmentFactory(programme=programme, status=Enrolment.Status.INTERVENTION).site
    controls = [EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
                for _ in range(3)]
    for where, (a, b, c, d) in zip([site, other_site, third] + controls,
                                   INTERVENTION + CONTROL, strict=True):
        add_value(indicator, where, "2024", a, b)
        add_value(indicator, where, "2025", a, b)
        add_value(indicator, where, "2026 Q1", c, d)
    return indicator


def page_text(client, programme, query=""):
    response = client.get(f"/programmes/{programme.pk}/evaluation/{query}")
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_page_shows_the_worked_example(worked, programme, as_core):
    page = page_text(as_core, programme)
    assert ("The intervention sites improved by 5.0 percentage points more than the control "
            "sites (95% CI −1.1 to 11.1).") in page
    assert "The interval includes zero" in page
    assert "+7.0 points (95% CI −0.5 to 14.5)" in page  # 0.07, −0.00452 to 0.14452
    assert "+2.0 points (95% CI −3.0 to 7.0)" in page  # 0.02, −0.02968 to 0.06968
    assert "63.3%" in page and "70.3%" in page and "65.3%" in page
    # Fewer than five sites an arm, and 2 of the 12 figures (the 40-patient site's, twice)
    # rest on fewer than 45 patients.
    assert "Few sites" in page
    assert "2 of the 12 site figures compared rest on fewer than 45 patients" in page
    assert "nhsuk-warning-callout" in page and "regression to the mean" in page
    assert "Welch BL." in page and "Dimick JB, Ryan AM." in page and "Barnett AG" in page
    assert "<svg" in page and "2024" in page


def test_sites_are_counted_in_the_arm_they_were_allocated_to(worked, programme):
    # Withdrawn after allocation to control: still in the control arm (intention to treat).
    # Withdrawn before allocation, or eligible and never allocated: in neither arm.
    withdrawn = EnrolmentFactory(programme=programme, status=Enrolment.Status.WITHDRAWN,
                                 withdrawn_from=Enrolment.Status.CONTROL).site
    early = EnrolmentFactory(programme=programme, status=Enrolment.Status.WITHDRAWN,
                             withdrawn_from=Enrolment.Status.ELIGIBLE).site
    unallocated = EnrolmentFactory(programme=programme, status=Enrolment.Status.ELIGIBLE).site
    for where in (withdrawn, early, unallocated):
        add_value(worked, where, "2025", 50, 100)
        add_value(worked, where, "2026 Q1", 90, 100)
    late = EnrolmentFactory(programme=programme, status=Enrolment.Status.CONTROL).site
    add_value(worked, late, "2025", 50, 100)  # no follow-up figure yet

    result = programme_evaluation(programme)
    assert result.allocated == {"intervention": 3, "control": 5}
    control = result.indicators[0].arms[1]
    assert (control.allocated, control.n, control.excluded) == (5, 4, 1)
    # Control changes 0.02, 0, 0.04 and the withdrawn site's 0.40: mean 0.46 / 4 = 0.115.
    assert control.change.estimate == pytest.approx(0.115)


def test_the_default_follow_up_is_the_latest_period_with_both_arms(worked, programme, site):
    add_value(worked, site, "2026 Q2", 90, 100)  # the intervention arm only
    result = programme_evaluation(programme)
    assert (result.baseline.label, result.follow_up.label) == ("2025", "2026 Q1")
    assert [p.label for p in result.pre_baseline_periods] == ["2024"]
    assert [p.label for p in result.periods] == ["2024", "2025", "2026 Q1", "2026 Q2"]


def test_chosen_periods_are_used(worked, programme, as_core):
    page = page_text(as_core, programme, "?baseline=2024&follow_up=2025")
    # 2024 and 2025 hold the same figures, so nothing changed.
    assert "changed by the same amount" in page
    assert '<option value="2024" selected>' in page


@pytest.mark.parametrize(("query", "notice"), [
    ("?baseline=1999", "The baseline period chosen has no audit data"),
    ("?follow_up=%3Cscript%3E", "The follow-up period chosen has no audit data"),
    ("?baseline=2025&follow_up=2024", "must start after the baseline period (2025) ends"),
    ("?baseline=2026+Q1", "No audit data after the baseline period yet"),
    ("?baseline=" + "x" * 5000, "The baseline period chosen has no audit data"),
])
def test_bad_choices_fall_back_with_a_notice(worked, programme, as_core, query, notice):
    page = page_text(as_core, programme, query)
    assert notice in page
    assert "<script>" not in page


def test_lower_is_better_is_respected_on_the_page(worked, programme, as_core):
    Indicator.objects.filter(pk=worked.pk).update(higher_is_better=False)
    page = page_text(as_core, programme)
    # The intervention sites rose 5 points more, which for this indicator is worse: the
    # control sites improved more, with the interval on that scale.
    assert ("The control sites improved by 5.0 percentage points more than the intervention "
            "sites (95% CI −1.1 to 11.1).") in page
    assert "Lower is better for this indicator" in page


def test_a_programme_without_data_says_so(programme, as_core):
    Indicator.objects.create(programme=programme, code="HISTO", name="Histology",
                             source="NLCA", is_headline=True)
    page = page_text(as_core, programme)
    assert "No audit data for the allocated sites on this indicator yet" in page


def test_the_demo_shows_a_difference_in_differences_for_every_headline_indicator(
        db, client_for):
    demo.seed()
    programme = demo.demo_programmes().get()
    core = programme.core_team.select_related("user").first().user
    page = page_text(client_for(core), programme)
    result = programme_evaluation(programme)
    headline = list(programme.indicators.filter(is_headline=True))
    assert len(result.indicators) == len(headline) == 4
    assert (result.baseline.label, result.follow_up.label) == ("2025", "2026 Q3")
    for item in result.indicators:
        assert item.did is not None and item.did.has_interval
        assert [arm.n for arm in item.arms] == [30, 49]  # one control site not yet in for Q3
        assert item.summary in page
        assert item.series[0][0] == "2024"  # the trend before the baseline
    assert page.count("percentage points more than the") == 4


# --- Queries -------------------------------------------------------------------------------


def grow(programme, indicators, n):
    for i in range(n):
        for status in (Enrolment.Status.INTERVENTION, Enrolment.Status.CONTROL):
            where = EnrolmentFactory(programme=programme, status=status).site
            for indicator in indicators:
                for period in ("2024", "2025", "2026 Q1"):
                    add_value(indicator, where, period, 40 + (7 * i) % 50, 100)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_page_queries_stay_flat(programme, as_core):
    programme.baseline_period = "2025"
    programme.save()
    indicators = [Indicator.objects.create(programme=programme, code=code, name=code,
                                           source="NLCA", is_headline=True)
                  for code in ("HISTO", "CNS")]
    url = f"/programmes/{programme.pk}/evaluation/"
    grow(programme, indicators, 3)
    small = count_queries(as_core, url)
    grow(programme, indicators, 30)
    indicators.append(Indicator.objects.create(programme=programme, code="ACTIVE",
                                               name="ACTIVE", source="NLCA", is_headline=True))
    large = count_queries(as_core, url)
    assert small == large, f"{small} queries for a small programme, {large} for a large"
    # session, user, programme, the header's core-team check, then the headline indicators,
    # the allocated sites and all their values
    assert large <= 7, large
