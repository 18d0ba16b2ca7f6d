"""Statistical process control: XmR limits, Making Data Count rules, assurance and runs analysis.

Two kinds of test:

- Reference examples, copied from the published outputs of NHSRplotthedots and qicharts2, with the
  file each came from. Where the reference's data came from R's random number generator, the
  data are regenerated here bit for bit by a port of R's generator (``RNorm`` below), itself
  checked against the values the references print.
- Hand-worked examples at the edge of each rule, with the arithmetic in the comments.
"""

import math
import random
from decimal import Decimal
from fractions import Fraction
from math import comb, log2
from statistics import NormalDist

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from qips import spc

# --- R's random numbers --------------------------------------------------------------------------


class RNorm:
    """R's ``set.seed(seed); rnorm(...)``: Mersenne-Twister with inversion (R's defaults).

    Port of R's src/main/RNG.c: ``set.seed`` scrambles the seed with 50 rounds of the LCG
    69069·s + 1, fills the 625-word table (word 0 is the position, reset to 624) with the same
    LCG, and ``norm_rand()`` turns two uniforms into one 2^-27-fine uniform for ``qnorm()``, which
    is Wichura's AS241, as is Python's ``NormalDist.inv_cdf``.
    """

    def __init__(self, seed):
        s = seed % 2**32
        for _ in range(50):
            s = (69069 * s + 1) % 2**32
        table = []
        for _ in range(625):
            s = (69069 * s + 1) % 2**32
            table.append(s)
        self._mt = random.Random()
        self._mt.setstate((3, (*table[1:], 624), None))

    def _unif(self):
        u = self._mt.getrandbits(32) * 2.3283064365386963e-10
        eps = 2.328306437080797e-10 / 2  # RNG.c fixup(): keep away from 0 and 1
        return min(max(u, eps), 1 - eps)

    def rnorm(self, n, mean=0.0):
        big = 134217728  # 2^27
        out = []
        for _ in range(n):
            u = self._unif()
            u = int(big * u) + self._unif()
            out.append(mean + NormalDist().inv_cdf(u / big))
        return out


def printed(x, text):
    """``x`` shows as ``text`` at the number of decimals the reference printed."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{x:.{decimals}f}" == text


def variations(values, **kwargs):
    return [p.variation for p in spc.special_causes(values, **kwargs)]


def test_the_r_generator_port_reproduces_the_values_nhsrplotthedots_prints():
    # tests/testthat/_snaps/ptd_spc_standard.md (nhs-r-community/NHSRplotthedots) glimpses
    # set.seed(123); rnorm(20) as -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.1~
    y = RNorm(123).rnorm(20)
    assert [f"{v:.8f}" for v in y[:4]] == ["-0.56047565", "-0.23017749", "1.55870831", "0.07050839"]


# --- NHSRplotthedots: XmR limits -----------------------------------------------------------------

# tests/testthat/test-ptd_spc_standard.R: set.seed(123); y = rnorm(20); screen_outliers = TRUE.
RNORM_123 = RNorm(123).rnorm(20)


def test_limits_match_nhsrplotthedots_ptd_spc_standard_snapshot():
    # tests/testthat/_snaps/ptd_spc_standard.md, r1: mean_col 0.1416238, lpl -3.01138,
    # upl 3.294627, relative_to_mean -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1, ...
    x = spc.xmr(RNORM_123)
    assert printed(x.mean, "0.1416238")
    assert printed(x.lpl, "-3.01138")
    assert printed(x.upl, "3.294627")
    sides = [1 if v > x.mean else -1 for v in RNORM_123]
    assert sides[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]


def test_screening_outliers_matches_the_nhsrplotthedots_snapshot_on_and_off():
    # Same file, r2 and r3: y[15] <- 10, then screen_outliers TRUE and FALSE.
    y = list(RNORM_123)
    y[14] = 10
    screened = spc.xmr(y)
    assert printed(screened.mean, "0.6694159")
    assert printed(screened.lpl, "-2.383666")
    assert printed(screened.upl, "3.722497")
    unscreened = spc.xmr(y, screen_outliers=False)
    assert printed(unscreened.mean, "0.6694159")  # the mean is never screened
    assert printed(unscreened.lpl, "-4.596625")
    assert printed(unscreened.upl, "5.935457")


def test_facets_match_the_nhsrplotthedots_summary_snapshot():
    # tests/testthat/_snaps/ptd_spc.md: the 20 points split into two facets of 10:
    # mean_col 0.0746 / lpl -2.60 / upl 2.75 and 0.209 / -3.28 / 3.70, all 20 common cause.
    first, second = spc.xmr(RNORM_123[:10]), spc.xmr(RNORM_123[10:])
    assert all(
        (printed(first.mean, "0.0746"), printed(first.lpl, "-2.60"), printed(first.upl, "2.75"))
    )
    assert all(
        (printed(second.mean, "0.209"), printed(second.lpl, "-3.28"), printed(second.upl, "3.70"))
    )
    assert set(variations(RNORM_123, improvement="increase")) == {"common"}


# The serialised ptd_spc() results in tests/testthat/_snaps/integration_tests.md
# (nhs-r-community/NHSRplotthedots, commit 0c096d8), decoded from R's XDR format: NHS England A&E
# data from NHSRdatasets, every number as the double R holds.

# ptd_spc(ae_all(), performance, period, fix_after_n_points = 12)
AE_PERFORMANCE = [
    0.9003512724457525, 0.9027555860390081, 0.9055994429248081, 0.9028524786030435,
    0.909763097023593, 0.9064786853944554, 0.8905308979446662, 0.8837903610883545,
    0.8617594559611471, 0.851413411900772, 0.8753090395991286, 0.9000949482943537,
    0.9051525263083392, 0.8970035160821932, 0.9072518525056468, 0.9034785895858326,
    0.9029928875860346, 0.8966609396555797, 0.8994186788850258, 0.8876655246839736,
    0.8498503458662225, 0.8529918213516818, 0.8504476893558943, 0.8462121637147311,
    0.8857248828216929, 0.9039011151983545, 0.9076297242234981, 0.8931949047110505,
    0.8972702710007838, 0.8894368286304747, 0.8900933497219513, 0.8760446687116353,
    0.8644632183941728, 0.843525141560121, 0.8422525009629417, 0.8660427671795345,
]  # fmt: skip

# ptd_spc(ae_all(), attendances, period)
AE_ATTENDANCES = [
    1867781, 2070340, 1958802, 2079034, 1932901, 1952464, 2001816, 1907871, 1944567, 1895272,
    1735619, 2015834, 1949762, 2066789, 1994056, 2073944, 1924663, 1925961, 2044137, 1976971,
    2003954, 2000086, 1820012, 2049785, 1984369, 2164458, 2093942, 2179896, 1997854, 2005695,
    2079492, 2037847, 2047518, 2113413, 1954947, 2167550,
]  # fmt: skip

# ptd_spc(ae_rl4_by_type(), attendances, period, facet_field = type): facets "1" and "other".
RL4_TYPE_1 = [
    10811, 11800, 11028, 11561, 10700, 10999, 11108, 10573, 10541, 10711, 9797, 11505, 11072,
    11858, 11531, 11752, 11009, 10884, 11436, 10892, 10705, 11186, 10018, 10985, 10709, 11639,
    11548, 11844, 10965, 11336, 11771, 11609, 11494, 12311, 11199, 12471,
]  # fmt: skip
RL4_TYPE_OTHER = [
    4414, 4664, 4229, 4663, 4279, 7409, 8228, 8614, 9089, 7657, 8131, 8651, 9148, 9165, 8401,
    8489, 7637, 7856, 8782, 8386, 9138, 9830, 8527, 8862, 8466, 8906, 8278, 8344, 7876, 7506,
    8226, 8479, 9090, 9270, 8494, 8863,
]  # fmt: skip

POINT_TYPE = {"C": "common", "I": "improvement", "X": "concern"}


def point_types(codes):
    return [POINT_TYPE[c] for c in codes]


@pytest.mark.parametrize(
    ("values", "baseline", "mean", "lpl", "upl"),
    [
        (AE_PERFORMANCE, 12, 0.8908915564349236, 0.8614049789074258, 0.9203781339624213),
        (AE_ATTENDANCES, None, 2000538.9444444445, 1731844.3644444444, 2269233.5244444446),
        (RL4_TYPE_1, None, 11204.388888888889, 9668.27688888889, 12740.500888888888),
        (RL4_TYPE_OTHER, None, 7945.75, 6558.872941176471, 9332.62705882353),
    ],
    ids=["performance-fixed-after-12", "attendances", "rl4-type-1", "rl4-type-other"],
)
def test_limits_equal_nhsrplotthedots_to_the_last_bit(values, baseline, mean, lpl, upl):
    x = spc.xmr(values, baseline=baseline)
    assert (x.mean, x.lpl, x.upl) == (mean, lpl, upl)


def test_screening_is_what_gives_nhsrplotthedots_limits_for_rl4_type_other():
    # One moving range (4279 -> 7409 = 3130) is at least 3.267 x the AMR of 595.91...; the
    # snapshot's limits are those with it screened out.
    assert spc.xmr(RL4_TYPE_OTHER, screen_outliers=False).upl != 9332.62705882353
    assert spc.xmr(RL4_TYPE_OTHER).amr == pytest.approx(521.3823529411765)


def test_point_types_match_nhsrplotthedots_with_a_fixed_baseline():
    # Point 10 is below the LPL; 12-19 are eight above the mean; 21-24 below the LPL; 30-36 seven
    # below the mean, 34 and 35 also below the LPL. 20 begins only six below the mean.
    expected = point_types("CCCCCCCCCXCIIIIIIIICXXXXCCCCCXXXXXXX")
    assert variations(AE_PERFORMANCE, improvement="increase", baseline=12) == expected
    points = spc.special_causes(AE_PERFORMANCE, improvement="increase", baseline=12)
    assert points[9].rules == {"outside_limits"}
    assert points[11].rules == {"shift"}
    assert points[33].rules == {"outside_limits", "shift"}


def test_point_types_match_nhsrplotthedots_when_all_is_common_cause():
    # Points 11, 23 and 28 are beyond a near limit, but never two in three on one side.
    assert set(variations(AE_ATTENDANCES, improvement="increase")) == {"common"}
    x = spc.xmr(AE_ATTENDANCES)
    near = [i + 1 for i, v in enumerate(AE_ATTENDANCES) if v < x.near_lpl or v > x.near_upl]
    assert near == [11, 23, 28]


def test_point_types_match_nhsrplotthedots_for_the_other_facet():
    # 1-5 below the LPL; 13-14 two in three above; 19-28 ten above the mean (22 also above the
    # UPL); 33-34 two in three above.
    expected = point_types("XXXXXCCCCCCCIICCCCIIIIIIIIIICCCCIICC")
    assert variations(RL4_TYPE_OTHER, improvement="increase") == expected
    points = spc.special_causes(RL4_TYPE_OTHER, improvement="increase")
    assert points[12].rules == {"two_in_three"}
    assert points[21].rules == {"outside_limits", "shift"}


def test_two_in_three_needs_all_three_points_on_one_side_unlike_the_2022_snapshot():
    # The snapshot (taken before NHSRplotthedots issue #143 was fixed) marks points 34 and 36 of
    # facet "1" as improvement: both are beyond the upper near limit, but point 35 is below the
    # mean. Since the fix ptd_two_in_three() needs abs(sum(relative_to_mean)) == 3, and Making
    # Data Count agrees (issue #194: "all three points still need to be on the same side of the
    # mean"), so here they are common cause. Everything else matches.
    snapshot = point_types("CCCCXXXXXXXCCCCCCCCCCCCCCCCCCCCCCICI")
    got = variations(RL4_TYPE_1, improvement="increase")
    x = spc.xmr(RL4_TYPE_1)
    assert RL4_TYPE_1[33] > x.near_upl and RL4_TYPE_1[35] > x.near_upl
    assert RL4_TYPE_1[34] < x.mean
    assert got[33] == got[35] == "common"
    assert got[:33] + got[34:35] == snapshot[:33] + snapshot[34:35]


def test_two_points_near_opposite_limits_are_common_cause():
    # tests/testthat/test-ptd_spc_standard.R: symmetric data 1, -1, ... with the last two points
    # 5.5 and -5.5, close to opposite limits, must both be common cause.
    data = [1, -1] * 8
    data[14], data[15] = 5.5, -5.5
    assert variations(data, improvement="increase")[-2:] == ["common", "common"]


def test_seven_point_trend_examples_from_nhsrplotthedots():
    # tests/testthat/test-ptd_calculate_point_type.R, ptd_seven_point_trend(): 1:6 and
    # c(1:3, 3:6) have no trend; 1:7, 7:1, c(2, 1:7, 3) and c(2, 7:1, 3) have one, on the 7.
    def trend(values):
        return [spc.TREND in p.rules for p in spc.special_causes(values)]

    assert not any(trend([1, 2, 3, 4, 5, 6]))
    assert not any(trend([1, 2, 3, 3, 4, 5, 6]))
    assert all(trend([1, 2, 3, 4, 5, 6, 7]))
    assert all(trend([7, 6, 5, 4, 3, 2, 1]))
    assert trend([2, 1, 2, 3, 4, 5, 6, 7, 3]) == [False] + [True] * 7 + [False]
    assert trend([2, 7, 6, 5, 4, 3, 2, 1, 3]) == [False] + [True] * 7 + [False]


def test_a_repeated_value_breaks_a_trend():
    # NHSRplotthedots PR #24 discussed 1, 0.5, 0, -0.5, -0.5, -1, -1.5, -2; our spec (and
    # NHSRplotthedots since) says the tie breaks it: 4 and 4 points, neither a trend.
    values = [1, 0.5, 0, -0.5, -0.5, -1, -1.5, -2] + [0.3, -0.3] * 6
    assert not any(spc.TREND in p.rules for p in spc.special_causes(values))


# --- hand-worked rules ---------------------------------------------------------------------------

# A twelve-point baseline alternating 1, 0: mean 0.5, every moving range 1 so AMR 1 (with or
# without screening). Limits 0.5 ± 2.66 = -2.16 and 3.16; near limits 0.5 ± 1.7733 = -1.2733 and
# 2.2733. It ends on 0.0, below the mean, after a 1.0, so a tail starting above the mean starts a
# fresh run, and a tail starting above 0.0 cannot continue a falling trend.
BASE = [1.0, 0.0] * 6


def tail(values, improvement=None):
    points = spc.special_causes(BASE + values, improvement=improvement, baseline=len(BASE))
    return points[len(BASE) :]


def tail_rules(values):
    return [set(p.rules) for p in tail(values)]


def test_the_baseline_limits_are_as_worked():
    x = spc.xmr(BASE)
    assert (x.mean, x.amr) == (0.5, 1.0)
    assert x.lpl == pytest.approx(-2.16) and x.upl == pytest.approx(3.16)
    assert x.near_lpl == pytest.approx(0.5 - 2 * 2.66 / 3)
    assert x.near_upl == pytest.approx(0.5 + 2 * 2.66 / 3)


def test_a_shift_needs_seven_points_on_one_side():
    assert tail_rules([0.6] * 6) == [set()] * 6
    assert tail_rules([0.6] * 7) == [{"shift"}] * 7


def test_a_shift_longer_than_seven_marks_every_point():
    assert tail_rules([0.6] * 9 + [0.4]) == [{"shift"}] * 9 + [set()]


def test_a_point_on_the_mean_breaks_a_shift():
    assert tail_rules([0.6] * 3 + [0.5] + [0.6] * 3) == [set()] * 7
    assert tail_rules([0.6] * 3 + [0.5] + [0.6] * 7) == [set()] * 4 + [{"shift"}] * 7


def test_a_shift_may_begin_in_the_baseline():
    # Six points below the mean after the baseline's final 0.0 make seven: all seven are marked.
    points = spc.special_causes(BASE + [0.4] * 6, baseline=len(BASE))
    assert [set(p.rules) for p in points[-8:]] == [set()] + [{"shift"}] * 7


def test_a_trend_needs_seven_points():
    # 0.0 repeats the baseline's last value, so the trend starts there; the values cross the mean
    # (four below, three above) so there is no shift.
    assert tail_rules([0.0, 0.1, 0.2, 0.6, 0.7, 0.8]) == [set()] * 6
    assert tail_rules([0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8]) == [{"trend"}] * 7


def test_a_trend_longer_than_seven_marks_every_point():
    assert tail_rules([0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9]) == [{"trend"}] * 8


def test_a_tie_breaks_a_trend():
    assert tail_rules([0.0, 0.1, 0.2, 0.3, 0.3, 0.6, 0.7, 0.8]) == [set()] * 8


def test_a_falling_trend_is_a_concern_when_increase_is_better():
    points = tail([1.0, 0.9, 0.8, 0.6, 0.4, 0.3, 0.2], improvement="increase")
    assert [set(p.rules) for p in points] == [{"trend"}] * 7
    # Three of them are above the mean, but a trend is judged by its direction.
    assert [p.variation for p in points] == ["concern"] * 7
    assert [p.variation for p in tail([1.0, 0.9, 0.8, 0.6, 0.4, 0.3, 0.2], "decrease")] == [
        "improvement"
    ] * 7


def test_a_peak_shared_by_two_trends_takes_the_later_trend():
    # Rising 0.0 ... 0.8, then falling 0.8 ... 0.1: the 0.8 ends one trend and starts the other.
    # NHSRplotthedots: "if a point is part of a trend either side, use right side".
    rising = [0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    falling = [0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    points = tail(rising + falling, improvement="increase")
    assert all(p.rules == {"trend"} for p in points)
    assert [p.variation for p in points] == ["improvement"] * 6 + ["concern"] * 7


def test_a_trend_end_followed_by_a_tie_keeps_its_own_direction():
    # Deviation from NHSRplotthedots, which takes the sign of the step to the next trend point
    # (0 here, read as "decreasing"): the first 0.8 is only in the rising trend.
    rising = [0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    falling = [0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    points = tail(rising + falling, improvement="increase")
    assert all(p.rules == {"trend"} for p in points)
    assert [p.variation for p in points] == ["improvement"] * 7 + ["concern"] * 7


def test_two_in_three_marks_only_the_points_beyond_the_near_limit():
    assert tail_rules([2.5, 0.6, 2.5]) == [{"two_in_three"}, set(), {"two_in_three"}]
    assert tail_rules([2.5, 2.5, 0.6]) == [{"two_in_three"}, {"two_in_three"}, set()]
    assert tail_rules([-1.5, -0.1, -1.5, 0.6]) == [{"two_in_three"}, set(), {"two_in_three"}, set()]


def test_two_in_three_needs_all_three_on_the_same_side_of_the_mean():
    assert tail_rules([2.5, 0.4, 2.5]) == [set()] * 3


def test_one_point_beyond_a_near_limit_is_not_enough():
    assert tail_rules([2.5, 0.6, 0.6]) == [set()] * 3


def test_two_points_beyond_opposite_near_limits_are_not_two_in_three():
    assert tail_rules([2.5, -1.5, 0.6]) == [set()] * 3


def test_two_near_points_at_the_end_wait_for_a_third():
    # The window of three must fit in the series and lie on one side; the point before the pair
    # is the baseline's 0.0, below the mean, so the pair at the very end does not signal yet.
    assert tail_rules([2.5, 2.5]) == [set(), set()]
    assert tail_rules([2.5, 2.5, 0.6]) == [{"two_in_three"}, {"two_in_three"}, set()]


def test_a_point_beyond_the_process_limit_does_not_count_towards_two_in_three():
    # Spec: it counts for the outside rule, not this one (NHSRplotthedots: close_to_limits
    # excludes outside_limits). NHSRplotthedots issue #153: UCL, UCL, near does not mark the
    # near point; UCL, near, near marks both near points.
    assert tail_rules([2.5, 3.5, 0.6]) == [set(), {"outside_limits"}, set()]
    assert tail_rules([3.5, 3.5, 2.5, 0.6]) == [{"outside_limits"}] * 2 + [set(), set()]
    assert tail_rules([3.5, 2.5, 2.5]) == [{"outside_limits"}, {"two_in_three"}, {"two_in_three"}]
    assert tail_rules([2.5, 3.5, 2.5]) == [{"two_in_three"}, {"outside_limits"}, {"two_in_three"}]


def test_a_point_exactly_on_a_limit_is_not_beyond_it():
    x = spc.xmr(BASE)
    on, beyond = x.upl, math.nextafter(x.upl, math.inf)
    assert tail_rules([on]) == [set()]
    assert tail_rules([beyond]) == [{"outside_limits"}]
    below = math.nextafter(x.lpl, -math.inf)
    assert tail_rules([x.lpl, 0.6]) == [set(), set()]
    assert tail_rules([below]) == [{"outside_limits"}]
    near = x.near_upl
    assert tail_rules([near, near, 0.6]) == [set()] * 3
    past = math.nextafter(near, math.inf)
    assert tail_rules([past, past, 0.6]) == [{"two_in_three"}] * 2 + [set()]


def test_outside_limits_variation_goes_by_side():
    assert [p.variation for p in tail([3.5], "increase")] == ["improvement"]
    assert [p.variation for p in tail([3.5], "decrease")] == ["concern"]
    assert [p.variation for p in tail([-2.5], "increase")] == ["concern"]
    assert [p.variation for p in tail([-2.5], None)] == ["neither"]


def test_shift_variation_goes_by_side():
    assert {p.variation for p in tail([0.6] * 7, "increase")} == {"improvement"}
    assert {p.variation for p in tail([0.6] * 7, "decrease")} == {"concern"}
    assert {p.variation for p in tail([0.6] * 7)} == {"neither"}
    assert {p.variation for p in tail([0.6] * 6)} == {"common"}


def test_a_trend_outranks_two_in_three_and_shift():
    # Seven falling points all above the mean and beyond the upper near limit: a shift, two in
    # three all along and a falling trend. ptd_special_cause_type() looks at the trend first.
    values = [2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3]
    assert tail_rules(values) == [{"trend", "two_in_three", "shift"}] * 7
    assert {p.variation for p in tail(values, "increase")} == {"concern"}
    assert {p.variation for p in tail(values, "decrease")} == {"improvement"}
    assert {p.variation for p in tail(values)} == {"neither"}


def test_outside_limits_outranks_a_trend():
    # The falling trend starts above the UPL: that point is judged by its side (above), the rest
    # by the trend (falling).
    values = [3.5, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3]
    rules = tail_rules(values)
    assert rules[0] == {"outside_limits", "trend", "shift"}
    assert [p.variation for p in tail(values, "increase")] == ["improvement"] + ["concern"] * 6


def test_improvement_none_gives_neither_for_every_special_cause():
    assert variations(AE_PERFORMANCE, baseline=12) == [
        "neither" if v != "common" else "common"
        for v in variations(AE_PERFORMANCE, improvement="increase", baseline=12)
    ]


# --- screening and baselines ---------------------------------------------------------------------


def test_screening_drops_large_moving_ranges_and_recomputes_the_amr_once():
    # Moving ranges: eight of 1 and one of 19, AMR 27/9 = 3. 19 >= 3.267 x 3 = 9.801, so it goes
    # and the AMR becomes 8/8 = 1. The mean, 33/10, is not screened.
    values = [1, 2, 1, 2, 1, 2, 1, 2, 1, 20]
    screened, unscreened = spc.xmr(values), spc.xmr(values, screen_outliers=False)
    assert (screened.mean, screened.amr) == (3.3, 1.0)
    assert (unscreened.mean, unscreened.amr) == (3.3, 3.0)
    assert screened.upl == pytest.approx(3.3 + 2.66) and unscreened.upl == pytest.approx(11.28)
    # Only once. Moving ranges 4, eighteen 0s and 56 average 3; 56 >= 9.801 goes, leaving 4/19.
    # A second round would drop the 4 as well (4 >= 3.267 x 4/19 = 0.69) and leave an AMR of 0.
    values = [0] + [4] * 19 + [60]
    assert spc.xmr(values).amr == 4 / 19


def test_a_moving_range_equal_to_the_screening_limit_is_dropped():
    # Moving ranges 3267, nine of 773 and one of 776 average exactly 1000, and 3.267 x 1000 is
    # exactly 3267.0 as a double: NHSRplotthedots keeps mr < 3.267·AMR, so 3267 goes.
    assert 3.267 * 1000 == 3267.0
    steps = [3267] + [773, -773] * 4 + [773] + [776]
    values = [0]
    for step in steps:
        values.append(values[-1] + step)
    assert spc.xmr(values, screen_outliers=False).amr == 1000.0
    assert spc.xmr(values).amr == pytest.approx((9 * 773 + 776) / 10)


def test_the_baseline_fixes_the_limits_from_the_first_n_points():
    values = BASE + [5.0, 6.0, 5.0]
    fixed = spc.xmr(values, baseline=12)
    assert (fixed.mean, fixed.amr) == (0.5, 1.0)
    assert spc.xmr(values) != fixed
    assert [p.rules for p in spc.special_causes(values, baseline=12)][-3:] == [
        {"outside_limits"}
    ] * 3


def test_a_baseline_longer_than_the_series_uses_the_whole_series():
    assert spc.xmr(BASE, baseline=100) == spc.xmr(BASE)
    assert spc.special_causes(BASE, baseline=100) == spc.special_causes(BASE)


@pytest.mark.parametrize("baseline", [0, 1, -3])
def test_a_baseline_needs_two_points(baseline):
    with pytest.raises(ValueError, match="baseline"):
        spc.xmr(BASE, baseline=baseline)
    with pytest.raises(ValueError, match="baseline"):
        spc.special_causes([], baseline=baseline)


@pytest.mark.parametrize("baseline", [True, 2.5, "12"])
def test_a_baseline_is_a_whole_number(baseline):
    with pytest.raises(TypeError):
        spc.xmr(BASE, baseline=baseline)


def test_equal_values_have_zero_amr_and_no_special_causes():
    for screen in (True, False):
        x = spc.xmr([3] * 10, screen_outliers=screen)
        assert x == spc.XmR(mean=3.0, amr=0.0, lpl=3.0, upl=3.0, near_lpl=3.0, near_upl=3.0)
        assert (
            variations([3] * 10, improvement="increase", screen_outliers=screen) == ["common"] * 10
        )


def test_a_flat_baseline_makes_any_change_a_special_cause():
    points = spc.special_causes([3] * 12 + [4], improvement="increase", baseline=12)
    assert points[-1] == spc.Point(rules=frozenset({"outside_limits"}), variation="improvement")


# --- inputs --------------------------------------------------------------------------------------


def test_an_empty_series_has_no_limits_but_no_points_either():
    with pytest.raises(ValueError):
        spc.xmr([])
    assert spc.special_causes([]) == []


def test_one_point_has_no_moving_range():
    with pytest.raises(ValueError, match="at least 2"):
        spc.xmr([5])
    with pytest.raises(ValueError, match="at least 2"):
        spc.special_causes([5])


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, -math.inf])
def test_missing_and_non_finite_values_are_refused(bad):
    with pytest.raises(ValueError, match="index 2"):
        spc.xmr([1, 2, bad, 4])
    with pytest.raises(ValueError):
        spc.special_causes([1, 2, bad, 4])
    with pytest.raises(ValueError):
        spc.runs_analysis([1, 2, bad, 4])


@pytest.mark.parametrize("bad", [True, "3", b"3", 1j])
def test_non_numbers_are_refused(bad):
    with pytest.raises(TypeError):
        spc.xmr([1, 2, bad, 4])


def test_a_string_is_not_a_series():
    with pytest.raises(TypeError):
        spc.xmr("123")


def test_ints_decimals_fractions_and_iterables_are_accepted():
    floats = [1.5, 2.25, 3.0, 2.5]
    expected = spc.xmr(floats)
    assert spc.xmr([Decimal("1.5"), Decimal("2.25"), 3, Fraction(5, 2)]) == expected
    assert spc.xmr(v for v in floats) == expected
    assert spc.xmr(tuple(floats)) == expected


def test_the_mean_is_correctly_rounded_as_in_r():
    # R: mean(c(0.1, 0.2, 0.3)) == 0.2 is TRUE; the naive float sum gives 0.6000000000000001 / 3.
    assert spc.xmr([0.1, 0.2, 0.3]).mean == 0.2
    assert (0.1 + 0.2 + 0.3) / 3 != 0.2


@pytest.mark.parametrize("improvement", ["up", "Increase", "", 1])
def test_an_unknown_improvement_direction_is_refused(improvement):
    with pytest.raises(ValueError, match="improvement"):
        spc.special_causes(BASE, improvement=improvement)
    with pytest.raises(ValueError, match="improvement"):
        spc.assurance(BASE, 1, improvement)


def test_assurance_needs_an_improvement_direction():
    with pytest.raises(ValueError, match="improvement"):
        spc.assurance(BASE, 1, None)


def test_results_are_frozen():
    x = spc.xmr(BASE)
    with pytest.raises(AttributeError):
        x.mean = 1  # type: ignore[misc]
    point = spc.special_causes(BASE)[0]
    with pytest.raises(AttributeError):
        point.variation = "concern"  # type: ignore[misc]


# --- assurance -----------------------------------------------------------------------------------


def limits_series(lpl, upl):
    """Two points whose mean and AMR give (almost exactly) these process limits."""
    mean, amr = (lpl + upl) / 2, (upl - lpl) / (2 * 2.66)
    return [mean - amr / 2, mean + amr / 2]


@pytest.mark.parametrize(
    ("lpl", "upl", "increase", "decrease"),
    [(1, 3, "fail", "pass"), (5, 7, "pass", "fail"), (1, 5, "hit_or_miss", "hit_or_miss")],
)
def test_assurance_matches_nhsrplotthedots_tests(lpl, upl, increase, decrease):
    # tests/testthat/test-ptd_calculate_assurance_type.R: limits (1, 3), (5, 7) and (1, 5) with a
    # target of 4 give consistent fail / pass / inconsistent when increase is better, and
    # consistent pass / fail / inconsistent when decrease is better.
    values = limits_series(lpl, upl)
    x = spc.xmr(values)
    assert x.lpl == pytest.approx(lpl) and x.upl == pytest.approx(upl)
    assert spc.assurance(values, 4, "increase") == increase
    assert spc.assurance(values, 4, improvement="decrease") == decrease


def test_a_target_on_a_limit_is_hit_or_miss():
    x = spc.xmr(BASE)
    for improvement in ("increase", "decrease"):
        assert spc.assurance(BASE, x.upl, improvement) == "hit_or_miss"
        assert spc.assurance(BASE, x.lpl, improvement) == "hit_or_miss"
    above, below = math.nextafter(x.upl, math.inf), math.nextafter(x.lpl, -math.inf)
    assert spc.assurance(BASE, above, "increase") == "fail"
    assert spc.assurance(BASE, above, "decrease") == "pass"
    assert spc.assurance(BASE, below, "increase") == "pass"
    assert spc.assurance(BASE, below, "decrease") == "fail"


def test_assurance_uses_the_baseline_limits():
    values = BASE + [10.0, 11.0, 10.0]
    # Baseline limits -2.16 .. 3.16: a target of 5 is out of reach.
    assert spc.assurance(values, 5, "increase", baseline=12) == "fail"
    assert spc.assurance(values, 5, "increase") == "hit_or_miss"


def test_assurance_refuses_a_missing_target():
    with pytest.raises(ValueError):
        spc.assurance(BASE, None, "increase")
    with pytest.raises(ValueError):
        spc.assurance(BASE, math.nan, "increase")


# --- runs analysis -------------------------------------------------------------------------------

# Critical values published by Jacob Anhøj: the table in the README of anhoej/pbcharts
# ("Critical values for runs and crossing", rendered by R from round(log2(n) + 3) and
# qbinom(0.05, n - 1, 0.5)), and Appendix 2 of the qicharts2 vignette, for n = 10 .. 100.
ANHOEJ_TABLE = {
    10: (6, 2), 11: (6, 2), 12: (7, 3), 13: (7, 3), 14: (7, 4), 15: (7, 4), 16: (7, 4),
    17: (7, 5), 18: (7, 5), 19: (7, 6), 20: (7, 6), 21: (7, 6), 22: (7, 7), 23: (8, 7),
    24: (8, 8), 25: (8, 8), 26: (8, 8), 27: (8, 9), 28: (8, 9), 29: (8, 10), 30: (8, 10),
    31: (8, 11), 32: (8, 11), 33: (8, 11), 34: (8, 12), 35: (8, 12), 36: (8, 13), 37: (8, 13),
    38: (8, 14), 39: (8, 14), 40: (8, 14), 41: (8, 15), 42: (8, 15), 43: (8, 16), 44: (8, 16),
    45: (8, 17), 46: (9, 17), 47: (9, 17), 48: (9, 18), 49: (9, 18), 50: (9, 19), 51: (9, 19),
    52: (9, 20), 53: (9, 20), 54: (9, 21), 55: (9, 21), 56: (9, 21), 57: (9, 22), 58: (9, 22),
    59: (9, 23), 60: (9, 23), 61: (9, 24), 62: (9, 24), 63: (9, 25), 64: (9, 25), 65: (9, 25),
    66: (9, 26), 67: (9, 26), 68: (9, 27), 69: (9, 27), 70: (9, 28), 71: (9, 28), 72: (9, 29),
    73: (9, 29), 74: (9, 29), 75: (9, 30), 76: (9, 30), 77: (9, 31), 78: (9, 31), 79: (9, 32),
    80: (9, 32), 81: (9, 33), 82: (9, 33), 83: (9, 34), 84: (9, 34), 85: (9, 34), 86: (9, 35),
    87: (9, 35), 88: (9, 36), 89: (9, 36), 90: (9, 37), 91: (10, 37), 92: (10, 38),
    93: (10, 38), 94: (10, 39), 95: (10, 39), 96: (10, 39), 97: (10, 40), 98: (10, 40),
    99: (10, 41), 100: (10, 41),
}  # fmt: skip


@pytest.mark.parametrize(("n", "limits"), sorted(ANHOEJ_TABLE.items()))
def test_limits_match_the_published_anhoej_table(n, limits):
    assert (spc.longest_run_limit(n), spc.crossings_limit(n)) == limits
    # And through runs_analysis, on n alternating points (no signal: n - 1 crossings, runs of 1).
    r = spc.runs_analysis([(-1) ** i for i in range(n)], centre=0)
    assert (r.n_useful, r.longest_run_max, r.crossings_min) == (n, *limits)
    assert (r.longest_run, r.crossings, r.signal) == (1, n - 1, False)


def test_small_n_limits():
    # round(log2(n)) + 3 for n = 1..9: log2 = 0, 1, 1.58, 2, 2.32, 2.58, 2.81, 3, 3.17.
    assert [spc.longest_run_limit(n) for n in range(1, 10)] == [3, 4, 5, 5, 5, 6, 6, 6, 6]
    # qbinom(0.05, n - 1, 0.5) for n = 1..9: P(X <= 0) = 1, 1/2, 1/4, 1/8, 1/16 = 0.0625 >= 0.05;
    # n = 6: 1/32 < 0.05 <= 6/32, so 1 (likewise n = 7, 8: 8/128 = 0.0625); n = 9: P(X <= 1) =
    # 9/256 < 0.05 <= 37/256 = P(X <= 2), so 2.
    assert [spc.crossings_limit(n) for n in range(1, 10)] == [0, 0, 0, 0, 0, 1, 1, 1, 2]


def test_the_longest_run_limit_is_r_rounding_of_log2_n_plus_3():
    # log2(n) is never k + 0.5 for whole n (it would make n² an odd power of two), so R's
    # round() and Python's banker's round() agree; check the integer formula against both ways of
    # writing it that appear in the sources.
    for n in range(1, 20001):
        expected = round(log2(n) + 3)
        assert spc.longest_run_limit(n) == expected == round(log2(n)) + 3
        assert expected == math.floor(log2(n) + 3.5)


def test_the_crossings_limit_never_sits_on_rs_fuzz():
    # R's qbinom() searches with p·(1 - 64ε) to be left-continuous. That only matters when
    # P(X <= x) is within ~1e-14 of 0.05; check no n up to 400 comes anywhere near.
    for n in range(1, 401):
        x = spc.crossings_limit(n)
        trials = n - 1
        cdf = Fraction(sum(comb(trials, k) for k in range(x + 1)), 2**trials)
        before = cdf - Fraction(comb(trials, x), 2**trials)
        assert before < Fraction(1, 20) <= cdf
        assert min(abs(cdf - Fraction(1, 20)), abs(before - Fraction(1, 20))) > 1e-12


def test_runs_analysis_matches_the_qicharts2_vignette():
    # vignettes/qicharts2.Rmd (anhoej/qicharts2), rendered: set.seed(19); y <- rnorm(24);
    # y[22] <- 4; y[13:24] <- rnorm(12, mean = 2); summary(qic(y, chart = 'i')) prints
    # n.useful 24, longest.run 13, longest.run.max 8, n.crossings 4, n.crossings.min 8,
    # runs.signal 1, CL 1.057091, aLCL -2.114884, aUCL 4.229067. An I chart's centre is the mean.
    rng = RNorm(19)
    y = rng.rnorm(24)
    y[21] = 4
    y[12:24] = rng.rnorm(12, mean=2)
    x = spc.xmr(y, screen_outliers=False)  # qicharts2 does not screen by default
    assert printed(x.mean, "1.057091")
    # qicharts2 uses 3·AMR/1.128 rather than 2.66·AMR, so compare the AMR through its limits.
    assert printed(x.mean - 3 * x.amr / 1.128, "-2.114884")
    assert printed(x.mean + 3 * x.amr / 1.128, "4.229067")
    r = spc.runs_analysis(y, centre=x.mean)
    assert r == spc.RunsAnalysis(
        centre=x.mean,
        n_useful=24,
        longest_run=13,
        longest_run_max=8,
        crossings=4,
        crossings_min=8,
        signal=True,
    )


def test_points_on_the_centre_neither_break_nor_extend_a_run():
    # Eight below (with a point on the centre in the middle), then alternating: 20 useful points,
    # limit 7, so the eight signal; were the 0 to break the run it would be 4 and 4.
    values = [-1, -1, -1, -1, 0, -1, -1, -1, -1] + [1, -1] * 6
    r = spc.runs_analysis(values, centre=0)
    assert (r.n_useful, r.longest_run, r.longest_run_max) == (20, 8, 7)
    assert (r.crossings, r.crossings_min, r.signal) == (12, 6, True)


def test_a_run_at_the_limit_does_not_signal():
    values = [-1] * 7 + [1, -1] * 6 + [1]
    r = spc.runs_analysis(values, centre=0)
    assert (r.n_useful, r.longest_run, r.longest_run_max, r.signal) == (20, 7, 7, False)


def test_too_few_crossings_signal_on_their_own():
    # 1..10 about the median 5.5: runs of 5 and 5 (limit 6) but one crossing (limit 2).
    r = spc.runs_analysis(range(1, 11))
    assert r == spc.RunsAnalysis(5.5, 10, 5, 6, 1, 2, True)


def test_crossings_at_the_limit_do_not_signal():
    # 10 useful points, 2 crossings (the limit): runs 4, 3, 3.
    r = spc.runs_analysis([1] * 4 + [-1] * 3 + [1] * 3, centre=0)
    assert (r.crossings, r.crossings_min, r.longest_run, r.signal) == (2, 2, 4, False)


def test_the_centre_defaults_to_the_median_and_median_points_are_not_useful():
    r = spc.runs_analysis([3, 1, 2, 5, 4])
    assert (r.centre, r.n_useful) == (3, 4)
    assert spc.runs_analysis([4, 1, 3, 2]).centre == 2.5


def test_every_point_on_the_centre_leaves_nothing_to_analyse():
    assert spc.runs_analysis([2, 2, 2]) == spc.RunsAnalysis(2.0, 0, 0, None, 0, None, False)
    assert spc.runs_analysis([5]) == spc.RunsAnalysis(5.0, 0, 0, None, 0, None, False)


def test_one_useful_point():
    assert spc.runs_analysis([5], centre=0) == spc.RunsAnalysis(0.0, 1, 1, 3, 0, 0, False)


def test_runs_analysis_needs_values():
    with pytest.raises(ValueError):
        spc.runs_analysis([])
    with pytest.raises(ValueError):
        spc.runs_analysis([1, 2], centre=math.nan)


@pytest.mark.parametrize("n", [0, -1])
def test_the_limits_need_a_useful_observation(n):
    with pytest.raises(ValueError):
        spc.longest_run_limit(n)
    with pytest.raises(ValueError):
        spc.crossings_limit(n)


# --- properties ----------------------------------------------------------------------------------

series = st.lists(st.integers(min_value=-50, max_value=50), min_size=2, max_size=40)
directions = st.sampled_from(["increase", "decrease", None])
SWAP = {
    "improvement": "concern",
    "concern": "improvement",
    "common": "common",
    "neither": "neither",
}


def far_from_limits(values, x):
    edges = (x.lpl, x.upl, x.near_lpl, x.near_upl)
    return all(abs(v - edge) > 1e-6 for v in values for edge in edges)


@given(series, st.integers(min_value=-(10**6), max_value=10**6), directions)
def test_adding_a_constant_changes_nothing(values, shift, improvement):
    # Away from the exact edges (where the last bit of a shifted limit decides), the rules depend
    # only on the shape of the series.
    assume(far_from_limits(values, spc.xmr(values)))
    moved = [v + shift for v in values]
    assert spc.special_causes(moved, improvement) == spc.special_causes(values, improvement)


@given(series, st.sampled_from(["increase", "decrease"]))
def test_reversing_the_improvement_direction_swaps_improvement_and_concern(values, improvement):
    other = "decrease" if improvement == "increase" else "increase"
    forward = spc.special_causes(values, improvement)
    backward = spc.special_causes(values, other)
    assert [p.rules for p in forward] == [p.rules for p in backward]
    assert [SWAP[p.variation] for p in forward] == [p.variation for p in backward]


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=40), st.booleans())
def test_negating_the_values_mirrors_the_chart_exactly(values, screen):
    # Correctly rounded means and symmetric arithmetic make this exact, limits included.
    x = spc.xmr(values, screen_outliers=screen)
    m = spc.xmr([-v for v in values], screen_outliers=screen)
    assert (m.mean, m.amr, m.lpl, m.upl) == (-x.mean, x.amr, -x.upl, -x.lpl)
    up = spc.special_causes(values, "increase", screen_outliers=screen)
    down = spc.special_causes([-v for v in values], "decrease", screen_outliers=screen)
    assert up == down


@given(series, directions)
def test_runs_of_trend_and_shift_marks_are_at_least_seven_long(values, improvement):
    points = spc.special_causes(values, improvement)
    assert len(points) == len(values)
    for rule in (spc.TREND, spc.SHIFT):
        marked = [rule in p.rules for p in points] + [False]
        length = 0
        for flag in marked:
            if flag:
                length += 1
            else:
                assert length == 0 or length >= 7
                length = 0
    for p in points:
        assert (p.variation == "common") == (not p.rules)
        assert p.variation in (
            {"neither", "common"} if improvement is None else {"improvement", "concern", "common"}
        )


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60))
def test_runs_analysis_counts_runs_and_crossings(values):
    r = spc.runs_analysis(values)
    useful = [v > r.centre for v in values if v != r.centre]
    assert r.n_useful == len(useful)
    assert r.crossings == sum(a != b for a, b in zip(useful, useful[1:], strict=False))
    assert r == spc.runs_analysis(list(reversed(values)))  # same median, same runs backwards
    if useful:
        assert 1 <= r.longest_run <= r.n_useful
        assert r.signal == (r.longest_run > r.longest_run_max or r.crossings < r.crossings_min)
