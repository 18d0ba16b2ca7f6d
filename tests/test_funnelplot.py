"""Funnel plot limits for proportions (Spiegelhalter, Statistics in Medicine 2005;24:1185-1202).

Every number is worked out here, by hand or by an independent method, and the comment beside it
says how.
"""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmes import funnelplot
from programmes.funnelplot import (
    ABOVE_95,
    ABOVE_998,
    BELOW_95,
    BELOW_998,
    COVERAGE_95,
    COVERAGE_998,
    WITHIN,
    classify,
    control_limits,
    funnel,
    programme_mean,
)

# --- the programme mean --------------------------------------------------------------------------


def test_the_programme_mean_pools_patients_rather_than_averaging_percentages():
    # 10/20 + 45/50 + 90/100: Σr/Σn = 145/170 = 0.852941..., whereas the unweighted mean of
    # 50%, 90% and 90% would be 76.7%.
    assert programme_mean([10, 45, 90], [20, 50, 100]) == pytest.approx(145 / 170)
    assert programme_mean([10, 45, 90], [20, 50, 100]) != pytest.approx((0.5 + 0.9 + 0.9) / 3)


def test_the_programme_mean_needs_patients():
    with pytest.raises(ValueError):
        programme_mean([0, 0], [0, 0])


# --- the normal approximation, by hand ----------------------------------------------------------


def test_normal_limits_worked_by_hand():
    # θ0 = 0.8, n = 100: sqrt(0.8 × 0.2 / 100) = sqrt(0.0016) = 0.04 (Spiegelhalter 2005, Table I).
    # 95%:   0.8 ± 1.959964 × 0.04 = 0.8 ± 0.07839856 → 0.72160144, 0.87839856
    # 99.8%: 0.8 ± 3.090232 × 0.04 = 0.8 ± 0.12360928 → 0.67639072, 0.92360928
    lower, upper = control_limits(0.8, 100, COVERAGE_95, method="normal")
    assert lower == pytest.approx(0.72160144, abs=1e-12)
    assert upper == pytest.approx(0.87839856, abs=1e-12)
    lower, upper = control_limits(0.8, 100, COVERAGE_998, method="normal")
    assert lower == pytest.approx(0.67639072, abs=1e-12)
    assert upper == pytest.approx(0.92360928, abs=1e-12)


def test_the_coverages_are_the_papers_two_and_three_standard_deviation_limits():
    # Spiegelhalter 2005 section 2.2: p = 0.025/0.975 and 0.001/0.999; z from a normal table.
    assert (COVERAGE_95, COVERAGE_998) == (0.95, 0.998)
    assert funnelplot.Z_FOR_COVERAGE == {0.95: 1.959964, 0.998: 3.090232}


# --- the exact binomial limits -------------------------------------------------------------------


def reference_exact_limit(n: int, theta0: Fraction, p: Fraction) -> float:
    """An independent exact computation: P(R ≤ r) summed term by term with math.comb in exact
    rational arithmetic (no logs, no floating point), then Spiegelhalter's Appendix A.1.1
    interpolation, without clipping."""
    cdf = []
    total = Fraction(0)
    for k in range(n + 1):
        total += math.comb(n, k) * theta0**k * (1 - theta0) ** (n - k)
        cdf.append(total)
    r_p = next(r for r in range(n + 1) if cdf[r] >= p)
    below = cdf[r_p - 1] if r_p > 0 else Fraction(0)
    alpha = (cdf[r_p] - p) / (cdf[r_p] - below)
    return float((r_p - alpha) / n)


def test_exact_limits_for_n_20_and_a_half_worked_by_hand():
    # Binomial(20, 1/2): P(R ≤ r) = Σ C(20, k) / 2^20, 2^20 = 1,048,576.
    # Upper 95% (p = 0.975): P(R ≥ 15) = (15504 + 4845 + 1140 + 190 + 20 + 1) / 2^20 = 21700 / 2^20,
    #   so P(R ≤ 14) = 1026876 / 2^20 = 0.97932 ≥ 0.975 and P(R ≤ 13) = (1026876 − C(20,14) =
    #   38760) → 988116 / 2^20 = 0.94234 < 0.975, hence r_p = 14;
    #   α = (1026876 − 0.975 × 2^20) / 38760 = (1026876 − 1022361.6) / 38760 = 0.1164706;
    #   limit = (14 − 0.1164706) / 20 = 0.6941765.
    # Lower 95% (p = 0.025): P(R ≤ 5) = 21700 / 2^20 = 0.02069 < 0.025 and P(R ≤ 6) =
    #   (21700 + 38760) / 2^20 = 60460 / 2^20 = 0.05766, hence r_p = 6;
    #   α = (60460 − 0.025 × 2^20) / 38760 = 34245.6 / 38760 = 0.8835294;
    #   limit = (6 − 0.8835294) / 20 = 0.2558235.
    lower, upper = control_limits(0.5, 20, COVERAGE_95)
    assert upper == pytest.approx((14 - 4514.4 / 38760) / 20, abs=1e-12)
    assert upper == pytest.approx(0.6941765, abs=1e-7)
    assert lower == pytest.approx((6 - 34245.6 / 38760) / 20, abs=1e-12)
    assert lower == pytest.approx(0.2558235, abs=1e-7)

    # Upper 99.8% (p = 0.999): P(R ≤ 16) = 1 − 1351 / 2^20 = 0.998712 < 0.999 and
    # P(R ≤ 17) = 1 − 211 / 2^20 = 0.999799, hence r_p = 17; P(R = 17) = C(20,17) / 2^20 =
    # 1140 / 2^20; α = (1048365 − 0.999 × 2^20) / 1140 = 837.576 / 1140 = 0.7347158;
    # limit = (17 − 0.7347158) / 20 = 0.8132642.
    _, upper = control_limits(0.5, 20, COVERAGE_998)
    assert upper == pytest.approx((17 - 837.576 / 1140) / 20, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "theta0"),
    [
        (20, Fraction(1, 2)),
        (50, Fraction(4, 5)),
        (137, Fraction(23, 100)),
        (250, Fraction(9, 10)),
        (400, Fraction(1, 20)),
        (1000, Fraction(3, 4)),
    ],
)
@pytest.mark.parametrize(
    ("coverage", "lower_p", "upper_p"),
    [
        (COVERAGE_95, Fraction(25, 1000), Fraction(975, 1000)),
        (COVERAGE_998, Fraction(1, 1000), Fraction(999, 1000)),
    ],
)
def test_exact_limits_match_an_independent_exact_binomial_sum(
    n, theta0, coverage, lower_p, upper_p
):
    # The module sums probabilities in log space (math.lgamma) over a window round the mode; the
    # reference sums every term with math.comb in exact fractions. Clipped to [0, 1] as the module
    # does.
    lower, upper = control_limits(float(theta0), n, coverage)
    assert lower == pytest.approx(max(0.0, reference_exact_limit(n, theta0, lower_p)), abs=1e-12)
    assert upper == pytest.approx(min(1.0, reference_exact_limit(n, theta0, upper_p)), abs=1e-12)


@pytest.mark.parametrize("n", [20, 21, 57, 100, 1000, 10_000])
@pytest.mark.parametrize("coverage", [COVERAGE_95, COVERAGE_998])
def test_limits_for_a_half_are_symmetric(n, coverage):
    # Normal approximation: 0.5 ± z·sqrt(0.25/n) is exactly symmetric about 0.5.
    lower, upper = control_limits(0.5, n, coverage, method="normal")
    assert lower == pytest.approx(1 - upper, abs=1e-12)

    # Exact: Binomial(n, 1/2) is symmetric, P(R ≤ k) = 1 − P(R ≤ n − 1 − k), so the interpolated
    # cumulative G of Appendix A.1.1 (linear between (k, P(R ≤ k))) has G(x) = 1 − G(n − 1 − x).
    # If G(x) = p then G(n − 1 − x) = 1 − p, so the limits are x/n and (n − 1 − x)/n: the
    # interpolation over [r_p − 1, r_p] puts the lower limit 1/n below the mirror image of the
    # upper. At n = 20, 95%: 0.2558235 = 1 − 0.6941765 − 0.05 (worked by hand above).
    lower, upper = control_limits(0.5, n, coverage)
    assert lower == pytest.approx(1 - upper - 1 / n, abs=1e-12)
    assert abs(lower - (1 - upper)) <= 1 / n + 1e-12


@pytest.mark.parametrize("theta0", [0.1, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("coverage", [COVERAGE_95, COVERAGE_998])
def test_exact_and_normal_limits_agree_for_large_n(theta0, coverage):
    # The binomial tends to the normal as n grows (Spiegelhalter 2005, section 3.1). At n = 10,000
    # the standard deviation is at most 0.005, so the two should agree to well within 0.002.
    exact = control_limits(theta0, 10_000, coverage)
    normal = control_limits(theta0, 10_000, coverage, method="normal")
    assert exact == pytest.approx(normal, abs=0.002)


def test_exact_limits_work_for_a_hundred_thousand_patients():
    # log-space sums, so no overflow: at n = 100,000 and θ0 = 0.3 the exact and normal limits
    # agree to 1e-5 (the standard deviation is sqrt(0.21 / 100000) = 0.00145).
    exact = control_limits(0.3, 100_000, COVERAGE_998)
    normal = control_limits(0.3, 100_000, COVERAGE_998, method="normal")
    assert exact == pytest.approx(normal, abs=1e-5)


def test_limits_are_clipped_to_zero_and_one():
    # Normal, θ0 = 0.98, n = 10: sqrt(0.98 × 0.02 / 10) = 0.04427; 0.98 + 3.090232 × 0.04427 =
    # 1.117 → 1, and θ0 = 0.02 mirrors it: 0.02 − 0.1368 → 0.
    assert control_limits(0.98, 10, COVERAGE_998, method="normal")[1] == 1.0
    assert control_limits(0.02, 10, COVERAGE_998, method="normal")[0] == 0.0
    # Exact, θ0 = 0.02, n = 10: P(R = 0) = 0.98^10 = 0.817 ≥ 0.025, so r_p = 0 and
    # α = (0.817 − 0.025) / 0.817 = 0.969: (0 − 0.969) / 10 < 0 → 0.
    assert control_limits(0.02, 10, COVERAGE_95)[0] == 0.0


def test_a_target_of_zero_or_one_has_no_spread():
    # Every patient certain to have (or not have) the outcome: the only possible proportion is θ0.
    assert control_limits(0.0, 50, COVERAGE_95) == (0.0, 0.0)
    assert control_limits(1.0, 50, COVERAGE_998) == (1.0, 1.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        control_limits(0.5, 20.5, COVERAGE_95)  # the binomial needs whole patients
    assert control_limits(0.5, 20.0, COVERAGE_95) == control_limits(0.5, 20, COVERAGE_95)
    with pytest.raises(ValueError):
        control_limits(0.5, 0, COVERAGE_95)
    with pytest.raises(ValueError):
        control_limits(1.5, 20, COVERAGE_95)
    with pytest.raises(ValueError):
        control_limits(0.5, 20, COVERAGE_95, method="poisson")
    with pytest.raises(ValueError):
        control_limits(0.5, 20, 0.9, method="normal")  # no z for 90% in the table


# --- properties ----------------------------------------------------------------------------------

thetas = st.floats(min_value=0.01, max_value=0.99)
coverages = st.sampled_from([COVERAGE_95, COVERAGE_998])


@given(theta0=thetas, n1=st.floats(min_value=1, max_value=1e6), factor=st.floats(1, 100))
def test_normal_limits_narrow_as_n_grows(theta0, n1, factor):
    n2 = n1 * factor
    for coverage in (COVERAGE_95, COVERAGE_998):
        lower1, upper1 = control_limits(theta0, n1, coverage, method="normal")
        lower2, upper2 = control_limits(theta0, n2, coverage, method="normal")
        assert lower1 <= lower2 <= theta0 <= upper2 <= upper1


@settings(deadline=None)
@given(theta0=thetas, coverage=coverages, n1=st.integers(1, 3000), extra=st.integers(1, 3000))
def test_exact_limits_narrow_as_n_grows_up_to_the_binomials_steps(theta0, coverage, n1, extra):
    # The binomial is discrete, so the exact limits step as n crosses each whole count and are
    # not strictly monotonic in n (the upper limit can rise by a fraction of 1/n between
    # neighbouring n). They never widen by more than one patient's step, 1/n1.
    n2 = n1 + extra
    lower1, upper1 = control_limits(theta0, n1, coverage)
    lower2, upper2 = control_limits(theta0, n2, coverage)
    assert upper2 <= upper1 + 1 / n1
    assert lower2 >= lower1 - 1 / n1


@settings(deadline=None)
@given(theta0=st.floats(0, 1), n=st.integers(1, 5000), method=st.sampled_from(["exact", "normal"]))
def test_limits_are_ordered_and_inside_zero_and_one(theta0, n, method):
    lower95, upper95 = control_limits(theta0, n, COVERAGE_95, method=method)
    lower998, upper998 = control_limits(theta0, n, COVERAGE_998, method=method)
    assert 0 <= lower998 <= lower95 <= upper95 <= upper998 <= 1


# --- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        # θ0 = 0.5, n = 20. 95% limits (0.2558, 0.6942) and upper 99.8% 0.8133 worked by hand
        # above; lower 99.8% = 1 − 0.8133 − 1/20 = 0.1367 by the symmetry shown above.
        (17, ABOVE_998),  # 0.85 > 0.8133
        (16, ABOVE_95),  # 0.8133 ≥ 0.80 > 0.6942
        (14, ABOVE_95),  # 0.70 > 0.6942
        (13, WITHIN),  # 0.65
        (10, WITHIN),  # 0.50
        (6, WITHIN),  # 0.30
        (5, BELOW_95),  # 0.25 < 0.2558
        (3, BELOW_95),  # 0.1367 ≤ 0.15 < 0.2558
        (2, BELOW_998),  # 0.10 < 0.1367
    ],
)
def test_classify_on_both_sides(r, expected):
    assert classify(r, 20, 0.5) == expected


def test_a_point_exactly_on_a_limit_is_within():
    # With θ0 = 1 both limits are exactly 1 (no spread), and 20/20 sits on them: within, not
    # flagged. 19/20 is strictly below them.
    assert classify(20, 20, 1.0) == WITHIN
    assert classify(19, 20, 1.0) == BELOW_998
    assert classify(0, 20, 0.0) == WITHIN


def test_classify_can_use_the_normal_limits():
    # θ0 = 0.8, n = 100, normal: 95% (0.7216, 0.8784), 99.8% (0.6764, 0.9236), by hand above.
    assert classify(88, 100, 0.8, method="normal") == ABOVE_95
    assert classify(93, 100, 0.8, method="normal") == ABOVE_998
    assert classify(72, 100, 0.8, method="normal") == BELOW_95
    assert classify(67, 100, 0.8, method="normal") == BELOW_998
    assert classify(80, 100, 0.8, method="normal") == WITHIN


def test_classify_refuses_impossible_proportions():
    with pytest.raises(ValueError):
        classify(21, 20, 0.5)
    with pytest.raises(ValueError):
        classify(0, 0, 0.5)


# --- the funnel as a whole -----------------------------------------------------------------------


def test_funnel_puts_the_teams_round_the_programme_mean():
    points = [("North", 10, 20), ("South", 45, 50), (None, 90, 100), ("Empty", 0, 0)]
    data = funnel(points)

    assert data.theta0 == pytest.approx(145 / 170)  # Σr/Σn of the teams with patients
    assert data.method == "exact"
    assert [p.label for p in data.points] == ["North", "South", None]  # None: anonymous
    assert [p.proportion for p in data.points] == [0.5, 0.9, 0.9]
    assert data.points[0].classification == classify(10, 20, 145 / 170)
    assert data.points[0].classification == BELOW_998  # 10/20 against 85% is far below
    assert data.excluded == (("Empty", 0, 0),)  # no patients, no proportion to plot
    assert data.count(BELOW_95, BELOW_998) == 1


def test_the_funnel_curve_spans_the_teams_on_a_geometric_grid():
    data = funnel([("A", 40, 50), ("B", 400, 500)], method="normal")
    ns = [c.n for c in data.curve]
    # from 0.8 × the smallest denominator (40) to 1.1 × the largest (550), 100 points, each a
    # constant ratio (550 / 40)^(1/99) above the last
    assert len(ns) == 100
    assert ns[0] == pytest.approx(40)
    assert ns[-1] == pytest.approx(550)
    assert ns[1] / ns[0] == pytest.approx((550 / 40) ** (1 / 99))
    first = data.curve[0]
    assert (first.lower95, first.upper95) == control_limits(
        data.theta0, first.n, COVERAGE_95, method="normal"
    )
    assert (first.lower998, first.upper998) == control_limits(
        data.theta0, first.n, COVERAGE_998, method="normal"
    )


def test_the_exact_funnel_curve_uses_whole_patients_and_starts_at_one():
    data = funnel([("A", 1, 1), ("B", 30, 40)])
    ns = [c.n for c in data.curve]
    assert ns[0] == 1  # max(1, 0.8 × 1)
    assert ns[-1] == 44  # 1.1 × 40
    assert all(n == int(n) for n in ns)
    assert ns == sorted(set(ns))


def test_funnel_classifies_with_the_method_it_draws():
    # 88/100 against θ0 = 0.8: above the normal 95% limit 0.8784 (by hand above). The two points
    # pool to (88 + 712) / (100 + 900) = 0.8 exactly.
    data = funnel([("A", 88, 100), ("B", 712, 900)], method="normal")
    assert data.theta0 == pytest.approx(0.8)
    assert data.points[0].classification == classify(88, 100, 0.8, method="normal") == ABOVE_95


def test_funnel_refuses_impossible_data():
    with pytest.raises(ValueError):
        funnel([("A", 30, 20)])
    with pytest.raises(ValueError):
        funnel([("A", 0, 0)])
    with pytest.raises(ValueError):
        funnel([("A", 1, 2)], method="bayes")
