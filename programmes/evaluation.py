"""The controlled before–after comparison: difference in differences between the arms.

Pure Python, no ORM. The unit of analysis is the site: each site's proportion (numerator over
denominator) in the baseline and follow-up periods, unweighted, so a large trust counts the
same as a small one. Only sites with a value in both periods are compared (a balanced panel).

For each arm the change is the mean of its sites' changes (after − before). The difference in
differences is the intervention arm's mean change minus the control arm's (Dimick JB, Ryan AM.
Methods for evaluating changes in health care policy: the difference-in-differences approach.
JAMA 2014;312(22):2401–2). Its standard error is sqrt(s1²/n1 + s2²/n2) from the per-site
changes, and its 95% confidence interval uses Student's t with the Welch–Satterthwaite degrees
of freedom, which does not assume the two arms' changes are equally variable (Welch BL. The
generalization of "Student's" problem when several different population variances are
involved. Biometrika 1947;34:28–35).

Student's t distribution is computed here rather than taken from scipy, to avoid a large
dependency for one function: the CDF through the regularised incomplete beta function,
evaluated by its continued fraction (DLMF 8.17.22) with the modified Lentz method (Press WH et
al. Numerical Recipes in C, 2nd ed. 1992, §5.2 and §6.4), and the quantile by bisection.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

LEVEL = 0.95

_TINY = 1e-300
_EPSILON = 1e-15
# The continued fraction needs O(sqrt(max(a, b))) terms (Numerical Recipes §6.4); this covers
# Student's t up to about 10^8 degrees of freedom, far past where it equals the normal.
_MAX_TERMS = 100_000


@dataclass(frozen=True)
class Estimate:
    """An estimate with its standard error and confidence interval.

    ``df`` is the t distribution's degrees of freedom; None with an interval means a normal
    (large-sample) interval. Without an interval, ``low`` and ``high`` are None and
    ``no_interval_reason`` says why in plain words.
    """

    estimate: float
    standard_error: float | None
    df: float | None
    low: float | None
    high: float | None
    no_interval_reason: str = ""

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    @property
    def excludes_zero(self) -> bool:
        return self.has_interval and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class ArmChange:
    """One arm over the balanced panel: its sites' mean proportion before and after, and the
    mean of their changes with its confidence interval (None when the arm has no sites)."""

    n: int
    mean_before: float | None
    mean_after: float | None
    change: Estimate | None


@dataclass(frozen=True)
class DifferenceInDifferences:
    intervention: ArmChange
    control: ArmChange
    # None when either arm has no site with values in both periods.
    did: Estimate | None


# --- Student's t ---------------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of DLMF 8.17.22, by the modified Lentz method."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        # the even step, d_{2m}
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        # the odd step, d_{2m+1}
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPSILON:
            return h
    raise ArithmeticError(f"The incomplete beta function did not converge for a={a}, b={b}")


def regularised_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if not (a > 0 and b > 0):
        raise ValueError("a and b must be positive")
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie between 0 and 1")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    # The fraction converges fast only for x < (a + 1) / (a + b + 2); beyond it, use
    # I_x(a, b) = 1 − I_{1−x}(b, a) (DLMF 8.17.4).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` (> 0, not necessarily whole) degrees of freedom.

    P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2) (Numerical Recipes in C, 2nd ed., §6.4).
    """
    if df <= 0:
        raise ValueError("The degrees of freedom must be positive")
    if t == 0:
        return 0.5
    tail = 0.5 * regularised_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float | None) -> float:
    """The t value below which a proportion ``p`` of the distribution lies.

    ``df`` None means infinitely many degrees of freedom: the standard normal.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if df is None or math.isinf(df):
        return NormalDist().inv_cdf(p)
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    # The CDF is increasing, so bisection always converges; 200 halvings reach the limit of
    # double precision from any starting bracket.
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


# --- Means, differences and the difference in differences ----------------------------------


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _variance(values: Sequence[float]) -> float:
    mean = _mean(values)
    return math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)


def mean_with_interval(values: Sequence[float], *, level: float = LEVEL) -> Estimate:
    """The mean of ``values`` with a t interval on n − 1 degrees of freedom."""
    n = len(values)
    if n == 0:
        raise ValueError("No values to average")
    mean = _mean(values)
    if n < 2:
        return Estimate(mean, None, None, None, None,
                        "Only one site, so there is no spread between sites to judge "
                        "uncertainty from.")
    standard_error = math.sqrt(_variance(values) / n)
    if standard_error == 0:
        return Estimate(mean, 0.0, n - 1, None, None,
                        "Every site changed by exactly the same amount, so there is no spread "
                        "between sites to judge uncertainty from.")
    margin = t_quantile(0.5 + level / 2, n - 1) * standard_error
    return Estimate(mean, standard_error, n - 1, mean - margin, mean + margin)


def welch_df(se_1: float, n_1: int, se_2: float, n_2: int) -> float:
    """The Welch–Satterthwaite degrees of freedom for a difference of two means, from each
    mean's standard error and number of observations (Welch 1947; Satterthwaite FE.
    Biometrics Bulletin 1946;2:110–4).
    """
    v_1, v_2 = se_1 ** 2, se_2 ** 2
    return (v_1 + v_2) ** 2 / (v_1 ** 2 / (n_1 - 1) + v_2 ** 2 / (n_2 - 1))


def difference_of_summaries(mean_1: float, se_1: float, mean_2: float, se_2: float, *,
                            n_1: int | None = None, n_2: int | None = None,
                            level: float = LEVEL) -> Estimate:
    """mean_1 − mean_2 from two independent means and their standard errors.

    The standard error is sqrt(se_1² + se_2²). With both group sizes the interval uses t on
    the Welch–Satterthwaite degrees of freedom; without them, the normal distribution, as
    published studies that report only means and standard errors allow (for example Card DE,
    Krueger AB. Minimum wages and employment. Am Econ Rev 1994;84:772–93, Table 3).
    """
    difference = mean_1 - mean_2
    standard_error = math.sqrt(se_1 ** 2 + se_2 ** 2)
    df = None
    if n_1 is not None and n_2 is not None:
        if min(n_1, n_2) < 2:
            return Estimate(difference, None, None, None, None,
                            "An arm has fewer than two sites, so there is no spread between "
                            "sites to judge uncertainty from.")
        if standard_error == 0:
            return Estimate(difference, 0.0, None, None, None,
                            "Every site in both arms changed by exactly the same amount, so "
                            "there is no spread between sites to judge uncertainty from.")
        df = welch_df(se_1, n_1, se_2, n_2)
    elif standard_error == 0:
        return Estimate(difference, 0.0, None, None, None,
                        "Both standard errors are zero, so there is no uncertainty to show.")
    margin = t_quantile(0.5 + level / 2, df) * standard_error
    return Estimate(difference, standard_error, df, difference - margin, difference + margin)


def welch_difference(first: Sequence[float], second: Sequence[float], *,
                     level: float = LEVEL) -> Estimate:
    """mean(first) − mean(second) with Welch's unequal-variance t interval."""
    if not first or not second:
        raise ValueError("Both groups need at least one value")
    n_1, n_2 = len(first), len(second)
    if min(n_1, n_2) < 2:
        return Estimate(_mean(first) - _mean(second), None, None, None, None,
                        "An arm has fewer than two sites, so there is no spread between sites "
                        "to judge uncertainty from.")
    return difference_of_summaries(
        _mean(first), math.sqrt(_variance(first) / n_1),
        _mean(second), math.sqrt(_variance(second) / n_2),
        n_1=n_1, n_2=n_2, level=level,
    )


def _arm(pairs: Sequence[tuple[float, float]], level: float) -> ArmChange:
    if not pairs:
        return ArmChange(0, None, None, None)
    return ArmChange(
        n=len(pairs),
        mean_before=_mean([before for before, _ in pairs]),
        mean_after=_mean([after for _, after in pairs]),
        change=mean_with_interval([after - before for before, after in pairs], level=level),
    )


def difference_in_differences(intervention: Sequence[tuple[float, float]],
                              control: Sequence[tuple[float, float]], *,
                              level: float = LEVEL) -> DifferenceInDifferences:
    """The difference in differences from each site's (before, after) proportions.

    Give only sites with values in both periods. The estimate is the intervention arm's mean
    change minus the control arm's, which equals (after − before in the intervention arm) −
    (after − before in the control arm) of the arm means, because the panel is balanced.
    """
    arms = _arm(intervention, level), _arm(control, level)
    did = None
    if intervention and control:
        did = welch_difference([a - b for b, a in intervention],
                               [a - b for b, a in control], level=level)
    return DifferenceInDifferences(intervention=arms[0], control=arms[1], did=did)
