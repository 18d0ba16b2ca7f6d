"""Funnel plots for comparing teams' audit indicators (proportions).

Pure Python, no ORM, so every rule is tested directly against worked numbers. The method is
Spiegelhalter DJ, "Funnel plots for comparing institutional performance", Statistics in Medicine
2005;24:1185-1202 (cited below as "Spiegelhalter 2005"):

- each team's indicator is a proportion y = r/n (r of n patients), plotted against n, the
  "precision" (Spiegelhalter 2005, section 2 and 3.1);
- the target θ0 is drawn as a horizontal line, with control limits around it that narrow as n
  grows; a team outside the limits is "divergent" (section 2);
- the limits are at p = 0.025/0.975 (95%, "~2 standard deviations") and p = 0.001/0.999
  (99.8%, "~3 standard deviations") (section 2.2);
- for proportions the exact limits come from the binomial distribution, interpolated so that
  they are smooth (Appendix A.1.1, "Binomial"), with the normal approximation as the simpler
  alternative (section 3.1, Table I: θ0 ± z·sqrt(θ0(1 − θ0)/n)).

This is a comparison between peers in a safe space, never a league table: nothing here ranks
teams, and the charts (programmes/charts.py) decide which labels may be shown.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Spiegelhalter 2005, section 2.2: the two sets of limits drawn on every funnel plot. 95% is
# "approximately 2 standard deviations" (p = 0.025 and 0.975) and 99.8% "approximately 3
# standard deviations" (p = 0.001 and 0.999).
COVERAGE_95 = 0.95
COVERAGE_998 = 0.998

# Two-sided standard normal quantiles for those coverages, z = Φ⁻¹(1 − (1 − coverage)/2):
# Φ⁻¹(0.975) = 1.959964 and Φ⁻¹(0.999) = 3.090232 (any normal table). Used by the normal
# approximation, Spiegelhalter 2005 section 3.1 / Table I.
Z_FOR_COVERAGE = {COVERAGE_95: 1.959964, COVERAGE_998: 3.090232}

EXACT = "exact"
NORMAL = "normal"
METHODS = (EXACT, NORMAL)

# Classifications. "above 95%" means above the upper 95% limit but not above the upper 99.8%
# limit; "above 99.8%" means above the upper 99.8% limit (and so above the 95% one too).
WITHIN = "within"
ABOVE_95 = "above 95%"
ABOVE_998 = "above 99.8%"
BELOW_95 = "below 95%"
BELOW_998 = "below 99.8%"
CLASSIFICATIONS = (WITHIN, ABOVE_95, ABOVE_998, BELOW_95, BELOW_998)

# Binomial probabilities smaller than e^-50 (about 2e-22) of the largest one are left out of the
# exact sums. The binomial is unimodal and its terms fall away faster than geometrically from the
# mode, so the mass left out is far below double precision's resolution of probabilities near
# the 0.001 and 0.999 quantiles we need; it keeps n = 100,000 to a few thousand terms.
_LOG_CUTOFF = 50.0


def programme_mean(numerators: Iterable[int], denominators: Iterable[int]) -> float:
    """The programme mean θ0 = Σr / Σn: the target the funnel is drawn around.

    Spiegelhalter 2005 (section 2 and 3.1) allows θ0 to be an external standard or the overall
    average of the units being compared; we use the pooled proportion of all the teams in the
    programme, i.e. every patient counts once (not the unweighted mean of the teams' percentages).
    """
    total_r = sum(numerators)
    total_n = sum(denominators)
    if total_n <= 0:
        raise ValueError("The programme mean needs at least one patient in a denominator.")
    if total_r < 0 or total_r > total_n:
        raise ValueError("The numerators must add up to between 0 and the denominators' total.")
    return total_r / total_n


def control_limits(
    theta0: float, n: int | float, coverage: float, *, method: str = EXACT
) -> tuple[float, float]:
    """The (lower, upper) control limits for a proportion with target θ0 and denominator n.

    ``method="exact"`` (the default, which Spiegelhalter 2005 recommends for proportions) uses
    the interpolated binomial quantiles of Appendix A.1.1 and needs a whole number n.
    ``method="normal"`` is θ0 ± z·sqrt(θ0(1 − θ0)/n) (section 3.1, Table I) and takes any n > 0.
    Both are clipped to [0, 1], since a proportion cannot leave that range.
    """
    _check_theta(theta0)
    if not 0 < coverage < 1:
        raise ValueError(f"The coverage must be between 0 and 1, not {coverage}.")
    if not n > 0:
        raise ValueError(f"The denominator must be positive, not {n}.")
    tail = (1 - coverage) / 2  # two-sided: e.g. 95% puts 0.025 in each tail
    if method == EXACT:
        whole_n = _whole_number(n)
        lower, upper = _exact_limits(theta0, whole_n, (tail, 1 - tail))
    elif method == NORMAL:
        z = Z_FOR_COVERAGE.get(coverage)
        if z is None:
            raise ValueError(
                f"The normal approximation knows z for {sorted(Z_FOR_COVERAGE)} only, "
                f"not {coverage}."
            )
        half_width = z * math.sqrt(theta0 * (1 - theta0) / n)
        lower, upper = theta0 - half_width, theta0 + half_width
    else:
        raise ValueError(f"The method must be one of {METHODS}, not {method!r}.")
    return _clip(lower), _clip(upper)


def classify(r: int, n: int, theta0: float, *, method: str = EXACT) -> str:
    """Where the proportion r/n lies against the 95% and 99.8% limits around θ0.

    A point exactly on a limit counts as inside it (only a proportion strictly beyond a limit is
    divergent), so a team is never flagged on a rounding tie. This follows the convention of
    control charts that a point must fall outside the limits to signal.
    """
    if n <= 0:
        raise ValueError(f"The denominator must be positive, not {n}.")
    if not 0 <= r <= n:
        raise ValueError(f"The numerator must be between 0 and the denominator ({n}), not {r}.")
    y = r / n
    lower95, upper95 = control_limits(theta0, n, COVERAGE_95, method=method)
    lower998, upper998 = control_limits(theta0, n, COVERAGE_998, method=method)
    if y > upper998:
        return ABOVE_998
    if y > upper95:
        return ABOVE_95
    if y < lower998:
        return BELOW_998
    if y < lower95:
        return BELOW_95
    return WITHIN


class FunnelPoint(NamedTuple):
    """One team on the plot. ``label`` is None for a team shown anonymously."""

    label: str | None
    numerator: int
    denominator: int
    proportion: float
    classification: str


class CurvePoint(NamedTuple):
    """The four control limits at one denominator, for drawing the funnel."""

    n: float
    lower95: float
    upper95: float
    lower998: float
    upper998: float


@dataclass(frozen=True)
class FunnelData:
    """Everything a funnel plot shows.

    ``theta0`` is the target, the programme mean; ``points`` are the teams in the
    order given; ``curve`` samples the limits from a little left of the smallest team to a little
    right of the largest; ``excluded`` holds the (label, numerator, denominator) of teams with no
    patients in the denominator, which have no proportion to plot.
    """

    theta0: float
    method: str
    points: tuple[FunnelPoint, ...]
    curve: tuple[CurvePoint, ...]
    excluded: tuple[tuple[str | None, int, int], ...] = ()

    def count(self, *classifications: str) -> int:
        """How many teams have any of these classifications."""
        return sum(1 for point in self.points if point.classification in classifications)


def funnel(
    points: Iterable[tuple[str | None, int, int]],
    *,
    method: str = EXACT,
    grid_size: int = 100,
) -> FunnelData:
    """Build a funnel plot from (label, numerator, denominator) for each team.

    θ0 is the programme mean of the plotted teams (see ``programme_mean``), and the points are
    classified with the same ``method`` as the curves are drawn, so the picture and the
    classifications agree.
    """
    if method not in METHODS:
        raise ValueError(f"The method must be one of {METHODS}, not {method!r}.")
    plotted: list[tuple[str | None, int, int]] = []
    excluded: list[tuple[str | None, int, int]] = []
    for label, r, n in points:
        if n < 0 or r < 0 or r > n:
            raise ValueError(f"{label or 'A team'} has {r} of {n}: not a proportion.")
        (plotted if n > 0 else excluded).append((label, r, n))
    if not plotted:
        raise ValueError("A funnel plot needs at least one team with patients in its denominator.")
    theta0 = programme_mean([r for _, r, _ in plotted], [n for _, _, n in plotted])

    funnel_points = tuple(
        FunnelPoint(label, r, n, r / n, classify(r, n, theta0, method=method))
        for label, r, n in plotted
    )
    denominators = [n for _, _, n in plotted]
    grid = _grid(min(denominators), max(denominators), grid_size, whole=method == EXACT)
    curve = tuple(
        CurvePoint(
            n,
            *control_limits(theta0, n, COVERAGE_95, method=method),
            *control_limits(theta0, n, COVERAGE_998, method=method),
        )
        for n in grid
    )
    return FunnelData(theta0, method, funnel_points, curve, tuple(excluded))


# --- the exact binomial limits -------------------------------------------------------------------


def _exact_limits(theta0: float, n: int, ps: Sequence[float]) -> list[float]:
    """Spiegelhalter 2005, Appendix A.1.1 ("Binomial"), for each p in ``ps``.

    r_p is the p-quantile of Binomial(n, θ0): the smallest r with P(R ≤ r) ≥ p. Because the
    binomial is discrete, the limit is interpolated between r_p − 1 and r_p:

        α = (P(R ≤ r_p) − p) / (P(R ≤ r_p) − P(R ≤ r_p − 1)),   limit = (r_p − α) / n.

    Note the consequence for θ0 = 0.5: the distribution is symmetric but the interpolation runs
    over [r_p − 1, r_p], so lower = 1 − upper − 1/n rather than exactly 1 − upper (see the tests).

    When θ0 is 0 or 1 every team is certain to have exactly θ0, and the limits are (θ0, θ0).
    """
    if theta0 in (0.0, 1.0):
        return [theta0 for _ in ps]
    first, pmf = _binomial_pmf_window(n, theta0)
    # Lower tail sums, P(R ≤ k), accumulate from the left, and upper tail sums, P(R > k), from the
    # right, so both tails keep their full relative precision. P(R ≤ k) ≥ p ⇔ P(R > k) ≤ 1 − p.
    below = [0.0] * len(pmf)  # below[i] = P(R ≤ first + i)
    running = 0.0
    for i, mass in enumerate(pmf):
        running += mass
        below[i] = running
    above = [0.0] * len(pmf)  # above[i] = P(R > first + i)
    running = 0.0
    for i in range(len(pmf) - 1, -1, -1):
        above[i] = running
        running += pmf[i]

    limits = []
    for p in ps:
        if p <= 0.5:
            # smallest i with P(R ≤ first + i) ≥ p; α = (P(R ≤ r_p) − p) / P(R = r_p)
            i = next((i for i, cdf in enumerate(below) if cdf >= p), len(pmf) - 1)
            alpha = (below[i] - p) / pmf[i]
        else:
            # same, from the right: smallest i with P(R > first + i) ≤ 1 − p, and
            # P(R ≤ r_p) − p = (1 − p) − P(R > r_p)
            i = next((i for i, sf in enumerate(above) if sf <= 1 - p), len(pmf) - 1)
            alpha = ((1 - p) - above[i]) / pmf[i]
        r_p = first + i
        limits.append((r_p - alpha) / n)
    return limits


def _binomial_pmf_window(n: int, theta: float) -> tuple[int, list[float]]:
    """P(R = k) for Binomial(n, θ), 0 < θ < 1, over the k that carry any probability.

    Each term is exp(log C(n, k) + k log θ + (n − k) log(1 − θ)), with log C(n, k) from
    math.lgamma, so nothing overflows for n in the hundreds of thousands. Terms are taken outward
    from the mode ⌊(n + 1)θ⌋ until they fall below e^-50 of the mode's. Returns the first k and the
    list of probabilities from it.
    """
    log_theta, log_1m_theta = math.log(theta), math.log1p(-theta)
    log_n_fact = math.lgamma(n + 1)

    def log_pmf(k: int) -> float:
        return (
            log_n_fact
            - math.lgamma(k + 1)
            - math.lgamma(n - k + 1)
            + k * log_theta
            + (n - k) * log_1m_theta
        )

    mode = min(n, math.floor((n + 1) * theta))
    floor_log = log_pmf(mode) - _LOG_CUTOFF
    first = mode
    while first > 0 and log_pmf(first - 1) >= floor_log:
        first -= 1
    last = mode
    while last < n and log_pmf(last + 1) >= floor_log:
        last += 1
    return first, [math.exp(log_pmf(k)) for k in range(first, last + 1)]


# --- helpers -------------------------------------------------------------------------------------


def _grid(min_n: int, max_n: int, size: int, *, whole: bool) -> list[float]:
    """Denominators at which to draw the limits: from max(1, 0.8 × the smallest team) to
    1.1 × the largest, geometrically spaced so the steep narrow end of the funnel is smooth.
    Rounded to whole patients (and de-duplicated) for the exact binomial limits."""
    start = max(1.0, min_n * 0.8)
    stop = max(start, max_n * 1.1)
    if size < 2 or stop == start:
        values = [start]
    else:
        ratio = (stop / start) ** (1 / (size - 1))
        values = [start * ratio**i for i in range(size)]
        values[-1] = stop
    if whole:
        return sorted({float(max(1, round(v))) for v in values})
    return values


def _whole_number(n: int | float) -> int:
    if isinstance(n, int):
        return n
    if float(n).is_integer():
        return int(n)
    raise ValueError(f"The exact binomial limits need a whole number of patients, not {n}.")


def _check_theta(theta0: float) -> None:
    if not 0 <= theta0 <= 1:
        raise ValueError(f"The target θ0 must be a proportion between 0 and 1, not {theta0}.")


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))
