"""Statistical process control for quality-improvement measures.

Pure functions, standard library only, so that the numbers can be checked against the published
tools the NHS uses, rule for rule:

- XmR ("plot the dots") charts and their special-cause rules follow NHS England/Improvement,
  *Making data count: strengthening your decisions* (2019), as implemented by the NHS-R
  Community's R package NHSRplotthedots (``ptd_spc_standard()``, ``ptd_calculate_point_type()``,
  ``ptd_calculate_assurance_type()``) and the Making Data Count Excel tool.
- Run charts use the Anhøj rules as implemented by qicharts2 (``runs.analysis()`` in
  ``R/helper.functions.R``): Anhøj & Olesen (2014), *Run charts revisited: a simulation study of
  run chart rules for detection of non-random variation in health care processes*, PLoS ONE
  9(11): e113825; Anhøj (2015), *Diagnostic value of run chart analysis: using likelihood ratios
  to compare run chart rules on simulated data series*, PLoS ONE 10(3): e0121349.

Where NHSRplotthedots and our product spec part company, the spec wins and the comment beside
the rule says so.

Floating point is handled the way R handles it, because the reference outputs come from R: means
are correctly rounded (R's ``mean()`` accumulates in extended precision and corrects; we sum
exactly with fractions), and every limit is built with the same operations in the same order as
``ptd_spc_standard()``, so limits agree to the last bit and a point on a limit lands on the same
side of it as it does in R.

Values must be real numbers. ``None``, NaN and infinities raise ``ValueError``: a measurement
period with no data is the caller's to drop, not ours to guess at.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import groupby
from math import comb
from numbers import Number
from typing import Literal

# --- constants -----------------------------------------------------------------------------------

# Process limits are mean ± 2.66·AMR: 2.66 = 3/d2 with d2 = 1.128 for moving ranges of two
# points (Wheeler; Making Data Count). Near ("two sigma") limits are two thirds of the way out.
# The near factor is computed exactly as NHSRplotthedots does (`2 * (limit / 3)`), so the double
# is bit-for-bit the one R uses; `(2 / 3) * 2.66` can differ in the last place.
LIMIT = 2.66
NEAR_LIMIT = 2 * (LIMIT / 3)

# Nelson (1982) screening: a moving range at or above 3.267·AMR (the upper range limit, D4 for
# n = 2) is dropped and the AMR recomputed once. NHSRplotthedots keeps `mr < 3.267 * amr`.
SCREEN_LIMIT = 3.267

# Making Data Count uses runs of 7 for both trends and shifts (NHSRplotthedots'
# ptd_seven_point_trend() and ptd_seven_point_one_side_mean()).
RUN_LENGTH = 7

OUTSIDE_LIMITS = "outside_limits"
TREND = "trend"
TWO_IN_THREE = "two_in_three"
SHIFT = "shift"

COMMON = "common"
IMPROVEMENT = "improvement"
CONCERN = "concern"
NEITHER = "neither"

PASS = "pass"
FAIL = "fail"
HIT_OR_MISS = "hit_or_miss"

Improvement = Literal["increase", "decrease"]
_DIRECTIONS = {"increase": 1, "decrease": -1}


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XmR:
    """Centre line and limits of an XmR chart."""

    mean: float
    amr: float  # average moving range, after screening if asked for
    lpl: float  # lower process limit, mean - 2.66·AMR
    upl: float  # upper process limit, mean + 2.66·AMR
    near_lpl: float  # lower "two sigma" limit, mean - (2/3)·2.66·AMR
    near_upl: float  # upper "two sigma" limit, mean + (2/3)·2.66·AMR


@dataclass(frozen=True)
class Point:
    """What the special-cause rules say about one point.

    ``rules`` holds every rule the point takes part in (empty for common cause);
    ``variation`` is "common", or for a special cause "improvement", "concern" or, when no
    improvement direction was given, "neither".
    """

    rules: frozenset[str]
    variation: str


@dataclass(frozen=True)
class RunsAnalysis:
    """The Anhøj runs analysis of a run chart.

    When every point lies on the centre line there are no useful observations: the counts are 0,
    the limits (undefined for n = 0) are None and there is no signal, as in qicharts2.
    """

    centre: float
    n_useful: int
    longest_run: int
    longest_run_max: int | None
    crossings: int
    crossings_min: int | None
    signal: bool


# --- XmR limits ----------------------------------------------------------------------------------


def xmr(values: Iterable[float], baseline: int | None = None, screen_outliers: bool = True) -> XmR:
    """Mean, average moving range and process limits of an XmR chart.

    ``baseline=n`` computes everything from the first ``n`` points only, NHSRplotthedots'
    ``fix_after_n_points``; the limits then apply to the whole series. A baseline longer than the
    series uses the whole series, as R's ``row_number() <= n`` does: the limits are provisional
    until the baseline has filled. (NHSRplotthedots also refuses baselines under 12 points; that is
    guidance, not arithmetic, so it is left to the caller.)

    ``screen_outliers`` drops moving ranges of 3.267·AMR or more and recomputes the AMR once. On
    reproduces NHSRplotthedots' default; off reproduces the Making Data Count Excel tool. The
    mean is never screened. When the AMR is 0 (every baseline value equal) there is nothing to
    screen and the AMR stays 0: NHSRplotthedots drops every moving range (0 < 0 is false) and
    ends with NaN limits, which helps no one.

    Raises ``ValueError`` unless the baseline holds at least two values: a single point has no
    moving range, so no limits.
    """
    return _xmr(_clean(values), baseline, screen_outliers)


def _xmr(ys: list[float], baseline: int | None, screen_outliers: bool) -> XmR:
    base = ys[: _baseline_length(baseline, len(ys))]
    if len(base) < 2:
        raise ValueError(
            f"XmR limits need at least 2 values to form a moving range; got {len(base)}"
        )
    mean = _mean(base)
    # R: mr = c(NA, abs(diff(fix_y))); the subtraction rounds exactly as it does in R.
    moving_ranges = [abs(b - a) for a, b in zip(base, base[1:], strict=False)]
    amr = _mean(moving_ranges)
    if screen_outliers and amr > 0:
        threshold = SCREEN_LIMIT * amr
        amr = _mean([mr for mr in moving_ranges if mr < threshold])
    # Same operations, same order as ptd_spc_standard(), so the doubles match R's.
    return XmR(
        mean=mean,
        amr=amr,
        lpl=mean - (LIMIT * amr),
        upl=mean + (LIMIT * amr),
        near_lpl=mean - (NEAR_LIMIT * amr),
        near_upl=mean + (NEAR_LIMIT * amr),
    )


# --- special causes ------------------------------------------------------------------------------


def special_causes(
    values: Iterable[float],
    improvement: Improvement | None = None,
    baseline: int | None = None,
    screen_outliers: bool = True,
) -> list[Point]:
    """Apply the Making Data Count special-cause rules to each point of an XmR chart.

    The rules, with the limits of :func:`xmr` (from the baseline, if any, applied to every point):

    - ``outside_limits``: the point is strictly above the upper or below the lower process limit.
    - ``trend``: seven points in a row each strictly higher, or each strictly lower, than the one
      before; a tie breaks the trend. All seven are marked, and longer trends mark every point.
    - ``shift``: seven points in a row strictly on the same side of the mean; a point on the mean
      breaks the run. All seven are marked.
    - ``two_in_three``: two of three consecutive points beyond the same near (two-sigma) limit,
      with all three points on the same side of the mean. Only the points beyond the near limit
      are marked. A point beyond a process limit counts for ``outside_limits``, not this rule,
      and does not count towards the two.

    ``variation`` follows NHSRplotthedots' ``ptd_special_cause_type()``: a point in several rules
    is judged by the first of outside limits, trend, two-in-three, shift. Outside limits, two in
    three and shift judge by the side of the mean, a trend by its direction; that is then an
    improvement or a concern according to ``improvement``, or "neither" when it is None
    (NHSRplotthedots' "neutral").

    An empty series has no points to judge and gives an empty list; otherwise the series needs
    limits, so fewer than two (baseline) values raise ``ValueError`` as :func:`xmr` does.
    """
    sense = _improvement_sign(improvement, allow_none=True)
    ys = _clean(values)
    _baseline_length(baseline, len(ys))  # check it even when there is nothing to judge
    if not ys:
        return []
    limits = _xmr(ys, baseline, screen_outliers)
    n = len(ys)

    side = [_sign(y - limits.mean) for y in ys]
    outside = [y > limits.upl or y < limits.lpl for y in ys]
    # ptd_spc_standard(): close_to_limits = !outside_limits & (y < nlpl | y > nupl)
    near = [
        not out and (y < limits.near_lpl or y > limits.near_upl)
        for y, out in zip(ys, outside, strict=True)
    ]

    rules: list[set[str]] = [set() for _ in ys]
    for i in range(n):
        if outside[i]:
            rules[i].add(OUTSIDE_LIMITS)

    # Trend. A point may end a rising trend and start a falling one (a peak, or a trough the
    # other way round); like NHSRplotthedots ("if a point is part of a trend either side, use
    # right side") it then takes the direction of the later trend, which the loop's overwriting
    # gives us. Deviation: NHSRplotthedots takes the sign of the step to the next point whenever
    # that point is also in a trend, so the last point of a rising trend followed by a tie and then
    # a falling trend is called "decreasing"; here it keeps the direction of the only trend it is
    # in.
    trend_direction = [0] * n
    for end in range(RUN_LENGTH - 1, n):
        window = range(end - RUN_LENGTH + 1, end + 1)
        steps = {_sign(ys[j] - ys[j - 1]) for j in window[1:]}
        if steps in ({1}, {-1}):
            (direction,) = steps
            for j in window:
                rules[j].add(TREND)
                trend_direction[j] = direction

    # Two in three. NHSRplotthedots' ptd_two_in_three() looks at every window of three that holds
    # the point: at least two of the three beyond a near limit and abs(sum(side)) == 3, i.e. all
    # three strictly on one side of the mean (so the two are beyond the same near limit). Making
    # Data Count confirms "all three points still need to be on the same side of the mean"
    # (NHSRplotthedots issue #194; fixed for opposite sides in #143). Only the points beyond the
    # near limit are marked (ptd_part_of_two_in_three()). Making Data Count announced in 2023
    # (#194) that points beyond the process limit would also count towards the two; the product
    # spec keeps them out, as NHSRplotthedots does.
    for start in range(n - 2):
        window = range(start, start + 3)
        same_side = side[start] != 0 and side[start] == side[start + 1] == side[start + 2]
        if same_side and sum(near[j] for j in window) >= 2:
            for j in window:
                if near[j]:
                    rules[j].add(TWO_IN_THREE)

    # Shift: ptd_seven_point_one_side_mean(), all seven signs equal and non-zero.
    for end in range(RUN_LENGTH - 1, n):
        window = range(end - RUN_LENGTH + 1, end + 1)
        if side[end] != 0 and all(side[j] == side[end] for j in window):
            for j in window:
                rules[j].add(SHIFT)

    points = []
    for i in range(n):
        if not rules[i]:
            variation = COMMON
        else:
            # ptd_special_cause_type()'s case_when order: outside limits, trend, two in three,
            # shift. Only the trend has a direction of its own; the others go by the side of
            # the mean (never 0 for a point in them).
            direction = trend_direction[i] if TREND in rules[i] and not outside[i] else side[i]
            if sense is None:
                variation = NEITHER
            elif direction * sense > 0:
                variation = IMPROVEMENT
            else:
                variation = CONCERN
        points.append(Point(rules=frozenset(rules[i]), variation=variation))
    return points


# --- assurance -----------------------------------------------------------------------------------


def assurance(
    values: Iterable[float],
    target: float,
    improvement: Improvement,
    baseline: int | None = None,
) -> str:
    """Making Data Count assurance: can the process be relied on to meet the target?

    "pass" when even the worst the process can be expected to do meets the target (increase:
    target below the LPL; decrease: above the UPL), "fail" when even its best cannot (increase:
    target above the UPL; decrease: below the LPL), and "hit_or_miss" when the target lies between
    the limits, inclusive: a target exactly on a limit is sometimes met and sometimes not. Strict
    comparisons as in NHSRplotthedots' ``ptd_calculate_assurance_type()`` (``target > upl``,
    ``target < lpl``) and the PowerBI-SPC visual's ``assuranceIconToDraw()``
    (AUS-DOH-Safety-and-Quality/PowerBI-SPC, which follows Making Data Count).

    The limits are those of :func:`xmr` with its defaults (outliers screened, as NHSRplotthedots
    does) and the given baseline.
    """
    sense = _improvement_sign(improvement, allow_none=False)
    target = _number(target, "target")
    limits = xmr(values, baseline=baseline)
    if target > limits.upl:
        return FAIL if sense > 0 else PASS
    if target < limits.lpl:
        return PASS if sense > 0 else FAIL
    return HIT_OR_MISS


# --- runs analysis -------------------------------------------------------------------------------


def runs_analysis(values: Iterable[float], centre: float | None = None) -> RunsAnalysis:
    """The Anhøj rules for a run chart, as qicharts2's ``runs.analysis()`` applies them.

    ``centre`` defaults to the median. Points on the centre line are not useful: they neither
    contribute to nor break a run, and are left out before runs and crossings are counted.

    - A run is a maximal sequence of useful points on one side of the centre; ``longest_run``
      is the longest. Its limit is ``round(log2(n_useful) + 3)`` (Schilling 2012).
    - ``crossings`` is the number of times consecutive useful points change side (runs - 1).
      Its limit is the 5th percentile of Binomial(n_useful - 1, 0.5), R's
      ``qbinom(0.05, n_useful - 1, 0.5)`` (Chen 2010).
    - ``signal`` when the longest run is longer than its limit or there are fewer crossings
      than their limit.

    Raises ``ValueError`` for an empty series (it has no median).
    """
    ys = _clean(values)
    if not ys:
        raise ValueError("runs analysis needs at least one value")
    centre = _median(ys) if centre is None else _number(centre, "centre")

    sides = [1 if y > centre else -1 for y in ys if y != centre]
    n_useful = len(sides)
    if n_useful == 0:
        return RunsAnalysis(centre, 0, 0, None, 0, None, False)

    run_lengths = [len(list(run)) for _, run in groupby(sides)]
    longest_run = max(run_lengths)
    crossings = len(run_lengths) - 1
    longest_run_max = longest_run_limit(n_useful)
    crossings_min = crossings_limit(n_useful)
    signal = longest_run > longest_run_max or crossings < crossings_min
    return RunsAnalysis(
        centre, n_useful, longest_run, longest_run_max, crossings, crossings_min, signal
    )


def longest_run_limit(n_useful: int) -> int:
    """Upper limit for the longest run: ``round(log2(n) + 3)`` for n useful observations.

    Worked in integers so that no rounding rule can matter. log2(n) rounds to k exactly when
    2^(2k-1) < n² < 2^(2k+1) (n² is never an odd power of two, so there are no ties: log2(n) is
    never k + 0.5 for whole n, and Python's round-half-even and R's round() agree everywhere).
    With b = n².bit_length() - 1 = floor(log2(n²)), that k is (b + 1) // 2.
    """
    if n_useful < 1:
        raise ValueError("the longest-run limit needs at least one useful observation")
    return (n_useful * n_useful).bit_length() // 2 + 3


def crossings_limit(n_useful: int) -> int:
    """Lower limit for the number of crossings: R's ``qbinom(0.05, n - 1, 0.5)``.

    The smallest x with P(X <= x) >= 0.05 for X ~ Binomial(n - 1, 1/2), worked in exact integers:
    P(X <= x) >= 1/20 is 20·Σ_{k<=x} C(n-1, k) >= 2^(n-1). Equality is impossible (2^(n-1) is not
    a multiple of 5), so R's small fuzz towards the left (p·(1 - 64·ε)) cannot change the answer
    unless the probability is within about 1e-14 of 0.05, which the tests check does not happen.
    """
    if n_useful < 1:
        raise ValueError("the crossings limit needs at least one useful observation")
    trials = n_useful - 1
    total = 1 << trials
    cumulative = 0
    for x in range(trials + 1):
        cumulative += comb(trials, x)
        if 20 * cumulative >= total:
            return x
    return trials  # unreachable: the full sum is 2^(n-1)


# --- helpers -------------------------------------------------------------------------------------


def _clean(values: Iterable[float]) -> list[float]:
    """Check the values and turn them into floats (ints, floats, Decimals, Fractions...)."""
    if isinstance(values, (str, bytes)):
        raise TypeError("values must be a sequence of numbers, not a string")
    return [_number(value, f"value at index {i}") for i, value in enumerate(values)]


def _number(value: object, what: str) -> float:
    if value is None:
        raise ValueError(f"{what} is missing (None); drop periods with no data before calling")
    if isinstance(value, bool) or not isinstance(value, Number):
        raise TypeError(f"{what} must be a real number, not {type(value).__name__}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:  # complex, for instance
        raise TypeError(f"{what} must be a real number, not {type(value).__name__}") from error
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {number!r}")
    return number


def _mean(xs: Sequence[float]) -> float:
    """The correctly rounded mean: what R's extended-precision mean() gives, to the last bit.

    statistics.fmean() can be an ulp out (fmean([0.1, 0.2, 0.3]) is 0.19999999999999998 where R
    says 0.2), and a point on the mean must land on it here exactly as it does in R.
    """
    return float(sum(map(Fraction, xs), Fraction(0)) / len(xs))


def _median(xs: Sequence[float]) -> float:
    # R's median() averages the two middle values with mean(), i.e. correctly rounded.
    ordered = sorted(xs)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[half]
    return _mean(ordered[half - 1 : half + 1])


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _baseline_length(baseline: int | None, n: int) -> int:
    if baseline is None:
        return n
    if isinstance(baseline, bool) or not isinstance(baseline, int):
        raise TypeError(f"baseline must be a whole number of points, not {baseline!r}")
    if baseline < 2:
        raise ValueError(
            f"baseline must be at least 2 points to form a moving range; got {baseline}"
        )
    return min(baseline, n)


def _improvement_sign(improvement: str | None, *, allow_none: bool) -> int | None:
    if improvement is None and allow_none:
        return None
    try:
        return _DIRECTIONS[improvement]  # type: ignore[index]
    except (KeyError, TypeError):
        allowed = '"increase", "decrease"' + (" or None" if allow_none else "")
        raise ValueError(f"improvement must be {allowed}; got {improvement!r}") from None
