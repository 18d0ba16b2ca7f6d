"""Run charts and XmR charts of a QIP measure, drawn on the server as self-contained SVG.

The statistics are :mod:`qips.spc`'s; this module only splits the series into phases, turns the
results into plain English and draws them in the house style of :mod:`programmes.charts` (the
same SVG is inlined in pages and embedded in WeasyPrint PDFs, so it must stand alone, keep its
text as text, and come out byte-identical for the same input because the app caches by content).

- Run charts follow Anhøj: the median per phase, and the Anhøj rules (longest run, number of
  crossings) per phase, as qicharts2 applies them (Anhøj & Olesen 2014, PLoS ONE 9(11): e113825).
- XmR charts follow NHS England's *Making Data Count* (2019): the mean and process limits per
  phase, special-cause points coloured by what they mean for the measure (blue improvement,
  orange concern, purple neither, grey common cause) and the assurance against a target.
"""

from __future__ import annotations

import bisect
import datetime
import io
import math
import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, ScalarFormatter

from programmes.charts import (
    _DRAWING,
    _RC,
    NHS_BLACK,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_DARK_PINK,
    NHS_MID_GREY,
    NHS_PALE_GREY,
    NHS_WHITE,
    WIDTH_INCHES,
    _chart_id,
    _finish_svg,
)

from . import spc

RUN = "run"
XMR = "xmr"

# Limits or a centre line resting on fewer points than this are provisional. NHSRplotthedots
# refuses a fixed baseline shorter than 12 points, and Making Data Count advises recalculating
# limits until there are at least 12 (ideally 20) points.
PROVISIONAL_BELOW = 12

# Making Data Count's colours (blue improvement, orange concern, purple neither, grey common
# cause), darkened where needed to reach 3:1 contrast against white (WCAG 2.1 SC 1.4.11): NHS blue
# 6.4:1, orange #c65d00 4.2:1 (MDC's #fab428 is 1.9:1), purple #7030a0 8.0:1, NHS mid grey 3.8:1.
# Each also has its own marker shape, so colour is never the only cue (WCAG 1.4.1).
_POINT_STYLES = {
    spc.COMMON: (NHS_MID_GREY, "o", 7, "Common cause variation"),
    spc.IMPROVEMENT: (NHS_BLUE, "s", 8.5, "Special cause: improvement"),
    spc.CONCERN: ("#c65d00", "X", 10, "Special cause: concern"),
    spc.NEITHER: ("#7030a0", "D", 8, "Special cause: neither improvement nor concern"),
}
_CENTRE = {"color": NHS_BLACK, "linewidth": 1.6, "linestyle": "-"}
# Beyond a fixed baseline the centre (and the limits, which keep their own dash) is only
# extended, not recalculated; the short dash says so.
_CENTRE_EXTENDED = {"color": NHS_BLACK, "linewidth": 1.6, "linestyle": (0, (2, 2))}
_LIMITS = {"color": NHS_DARK_GREY, "linewidth": 1.4, "linestyle": (0, (6, 3))}
# Near ("two sigma") limits are supporting detail, so thin and dotted.
_NEAR_LIMITS = {"color": NHS_MID_GREY, "linewidth": 0.9, "linestyle": (0, (1, 2))}
_TARGET = {"color": NHS_DARK_PINK, "linewidth": 2, "linestyle": (0, (8, 2, 2, 2))}

# A light backing so a label stays legible where it crosses a line.
_BACKING = {"boxstyle": "square,pad=0.1", "facecolor": NHS_WHITE, "edgecolor": "none",
            "alpha": 0.85}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_X_TICKS = 12


@dataclass(frozen=True)
class ChartPoint:
    period: datetime.date
    value: float


@dataclass(frozen=True)
class Annotation:
    """A PDSA cycle or change, drawn as a numbered marker on the time axis at ``period``."""

    period: datetime.date
    text: str


@dataclass(frozen=True)
class MeasureChart:
    svg: str  # "" when there is no data
    description: str  # plain English; also the SVG's <desc>
    provisional: bool  # some phase's centre/limits rest on fewer than 12 points
    signals: list[str] = field(default_factory=list)
    assurance: str | None = None  # "pass", "fail", "hit_or_miss" (XmR with target + direction)


@dataclass
class _Phase:
    """One stretch of the series with its own centre line (and, on an XmR chart, limits)."""

    number: int
    start: int  # index of its first point
    stop: int  # one past its last point
    basis: int  # how many of its first points the centre and limits are calculated from
    centre: float | None = None
    limits: spc.XmR | None = None  # XmR only; None when there are too few points
    causes: list[spc.Point] = field(default_factory=list)  # XmR only
    runs: spc.RunsAnalysis | None = None  # run chart only

    @property
    def extended(self) -> bool:
        return self.basis < self.stop - self.start

    @property
    def provisional(self) -> bool:
        return self.basis < PROVISIONAL_BELOW


def measure_chart(
    points: Sequence[ChartPoint],
    *,
    kind: str,
    title: str,
    y_label: str,
    percent: bool,
    improvement: str | None,
    target: float | None = None,
    baseline: int | None = None,
    rebase_at: Sequence[datetime.date] = (),
    annotations: Sequence[Annotation] = (),
    chart_id: str,
    show_title: bool = True,
) -> MeasureChart:
    """Draw a measure's run chart (``kind="run"``) or XmR chart (``kind="xmr"``).

    ``percent`` values are proportions (0-1), as is ``target``. ``baseline=n`` calculates the
    first phase's centre and limits from its first n points and extends them across the rest of
    the phase. Each date in ``rebase_at`` starts a new phase at the first point on or after it
    (a date with no point after it, or before the second point, starts nothing). ``show_title``
    draws the title above the plot; the SVG's <title> carries it either way.
    """
    chart_id = _chart_id(chart_id)
    if kind not in (RUN, XMR):
        raise ValueError(f'kind must be "run" or "xmr", not {kind!r}')
    if improvement not in (None, "increase", "decrease"):
        raise ValueError(f'improvement must be "increase", "decrease" or None, not {improvement!r}')
    if baseline is not None and (
        isinstance(baseline, bool) or not isinstance(baseline, int) or baseline < 2
    ):
        raise ValueError(f"baseline must be a whole number of points, at least 2; got {baseline!r}")

    if not points:
        return MeasureChart(
            svg="",
            description=f"{title}: there is no data for this measure yet, so there is no chart.",
            provisional=False,
        )

    points = sorted(points, key=lambda p: p.period)  # stable, so ties keep the caller's order
    if any(p.value is None for p in points):
        raise ValueError("a point has no value; leave out periods with no data")
    values = [float(p.value) for p in points]  # spc rejects NaN and infinities
    periods = [p.period for p in points]
    # numbered left to right, so the key below the chart reads in time order
    annotations = sorted(annotations, key=lambda a: a.period)
    dates = _DateText(periods)
    fmt = partial(_format_value, percent=percent)
    phases = _phases(values, periods, kind, improvement, baseline, rebase_at)

    if kind == RUN:
        signals = [s for phase in phases for s in _run_signals(phase, phases, dates)]
    else:
        found = [
            s
            for phase in phases
            for s in _xmr_signals(phase, phases, values, improvement, dates, fmt)
        ]
        signals = [text for _, _, text in sorted(found, key=lambda s: (s[0], s[1]))]

    assurance = None
    last = phases[-1]
    if kind == XMR and target is not None and improvement is not None and last.limits:
        # Making Data Count judges assurance on the current process: the latest phase's limits.
        assurance = spc.assurance(
            values[last.start : last.stop],
            target,
            improvement,
            baseline=last.basis if last.extended else None,
        )

    description = _describe(
        kind, values, phases, signals, dates, fmt,
        percent=percent, improvement=improvement, target=target, assurance=assurance,
        annotations=annotations,
    )
    with _DRAWING, matplotlib.rc_context(_RC):
        figure = _draw(
            kind, values, periods, phases, dates,
            title=title if show_title else None, y_label=y_label, percent=percent,
            target=target, annotations=annotations,
        )
        buffer = io.StringIO()
        FigureCanvasSVG(figure).print_svg(
            buffer, metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    svg = _finish_svg(buffer.getvalue(), chart_id=chart_id, title=title, description=description)
    return MeasureChart(
        svg=svg,
        description=description,
        provisional=any(phase.provisional for phase in phases),
        signals=signals,
        assurance=assurance,
    )


# --- analysis ------------------------------------------------------------------------------------


def _phases(values, periods, kind, improvement, baseline, rebase_at) -> list[_Phase]:
    """Split the series at the rebase dates and analyse each phase on its own.

    Making Data Count recalculates the limits only after a sustained change, from the points of
    the new phase alone; the earlier phase keeps its own. A fixed baseline belongs to the first
    phase only: later phases are calculated from all their points.
    """
    n = len(values)
    # bisect_left: the first point on or after the date; 0 and n would make empty phases
    starts = sorted({bisect.bisect_left(periods, day) for day in rebase_at} - {0, n})
    bounds = [0, *starts, n]
    phases = []
    for number, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False), start=1):
        ys = values[start:stop]
        basis = min(baseline, len(ys)) if number == 1 and baseline else len(ys)
        fixed = basis if basis < len(ys) else None  # spc's baseline=, when there is one
        phase = _Phase(number=number, start=start, stop=stop, basis=basis)
        if kind == RUN:
            # The median of the baseline points (spc's own, R-compatible median), then the
            # Anhøj rules on every point of the phase against it, as qicharts2's runs.analysis()
            # does with a frozen centre line.
            phase.centre = spc.runs_analysis(ys[:basis]).centre
            phase.runs = spc.runs_analysis(ys, centre=phase.centre)
        elif basis >= 2:  # an XmR chart needs a moving range, so two points
            phase.limits = spc.xmr(ys, baseline=fixed)
            phase.centre = phase.limits.mean
            phase.causes = spc.special_causes(ys, improvement, baseline=fixed)
        else:
            phase.causes = [spc.Point(frozenset(), spc.COMMON)] * len(ys)
        phases.append(phase)
    return phases


def _run_signals(phase: _Phase, phases: list[_Phase], dates: _DateText) -> list[str]:
    """The Anhøj rules that signal in this phase, as sentences."""
    runs = phase.runs
    if not runs.n_useful:  # every point on the median: nothing to test
        return []
    where = "Run chart"
    if len(phases) > 1:
        where += f", phase {phase.number} (from {dates.long(phase.start)})"
    note = _provisional_note(phase, "median")
    note = f" ({note})" if note else ""
    out = []
    if runs.longest_run > runs.longest_run_max:
        out.append(
            f"{where}: a run of {runs.longest_run} points on one side of the median "
            f"(limit {runs.longest_run_max}): a signal of non-random variation{note}"
        )
    if runs.crossings < runs.crossings_min:
        out.append(
            f"{where}: the line crosses the median only {_plural(runs.crossings, 'time')} "
            f"(at least {runs.crossings_min} expected): a signal of non-random variation{note}"
        )
    return out


_RULE_ORDER = {spc.OUTSIDE_LIMITS: 0, spc.TREND: 1, spc.TWO_IN_THREE: 2, spc.SHIFT: 3}


def _xmr_signals(phase, phases, values, improvement, dates, fmt) -> list[tuple[int, int, str]]:
    """Making Data Count's special causes in this phase as (first index, rule order, sentence).

    Points marked by one rule are gathered into the episodes a reader would name: a shift is a
    stretch on one side of the mean, a trend a stretch moving one way, two-in-three a cluster
    near one limit. The verdict comes from the direction of the episode, so it agrees with the
    point colours, which spc.special_causes() gives.
    """
    if phase.limits is None:
        return []
    limits, start = phase.limits, phase.start
    ys = values[start : phase.stop]
    marked = {rule: [rule in p.rules for p in phase.causes] for rule in _RULE_ORDER}
    mean = "the mean" if len(phases) == 1 else f"the phase {phase.number} mean"
    note = _provisional_note(phase, "limits")

    def verdict(direction: int) -> str:
        if improvement is None:
            text = "neither improvement nor concern: no improvement direction is set"
        else:
            good = direction == (1 if improvement == "increase" else -1)
            text = spc.IMPROVEMENT if good else spc.CONCERN
        return f" ({text}; {note})" if note else f" ({text})"

    sides = [_sign(y - limits.mean) for y in ys]
    found = []
    # Points outside the limits, one sentence per stretch beyond the same limit.
    for i, length, side in _stretches(marked[spc.OUTSIDE_LIMITS], sides):
        beyond = "above the upper" if side > 0 else "below the lower"
        if length == 1:
            text = f"{dates.long(start + i)} ({fmt(ys[i])}) is {beyond} process limit"
        else:
            text = (f"{length} points in a row {beyond} process limit, from "
                    f"{dates.long(start + i)} to {dates.long(start + i + length - 1)}")
        found.append((start + i, 0, f"Outside the limits: {text}{verdict(side)}"))

    # Trends: consecutive marked points whose steps all go the same way (a shared peak starts
    # the next trend, as in spc).
    steps = [
        _sign(ys[i + 1] - ys[i]) if marked[spc.TREND][i] and marked[spc.TREND][i + 1] else 0
        for i in range(len(ys) - 1)
    ]
    i = 0
    for direction, group in groupby(steps):
        length = len(list(group))
        if direction and length + 1 >= spc.RUN_LENGTH:
            way = "higher" if direction > 0 else "lower"
            found.append((start + i, 1, (
                f"Trend: {length + 1} points in a row each {way} than the one before, from "
                f"{dates.long(start + i)} to {dates.long(start + i + length)}" + verdict(direction)
            )))
        i += length

    # Two in three: marked points near the same limit, at most two apart.
    clusters: list[list[int]] = []
    for i in (j for j, m in enumerate(marked[spc.TWO_IN_THREE]) if m):
        if clusters and i - clusters[-1][-1] <= 2 and sides[i] == sides[clusters[-1][-1]]:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    for cluster in clusters:
        side = sides[cluster[0]]
        found.append((start + cluster[0], 2, (
            f"Two out of three: {len(cluster)} points close to the "
            f"{'upper' if side > 0 else 'lower'} process limit, "
            + _and([dates.long(start + j) for j in cluster]) + verdict(side)
        )))

    # Shifts: consecutive marked points on one side of the mean.
    for i, length, side in _stretches(marked[spc.SHIFT], sides):
        found.append((start + i, 3, (
            f"Shift: {length} points in a row {'above' if side > 0 else 'below'} {mean}, "
            f"from {dates.long(start + i)} to {dates.long(start + i + length - 1)}"
            + verdict(side)
        )))
    return found


def _stretches(flags: list[bool], keys: list[int]):
    """(first index, length, key) of each run of flagged points sharing a key."""
    i = 0
    for (flagged, key), group in groupby(zip(flags, keys, strict=True)):
        length = len(list(group))
        if flagged:
            yield i, length, key
        i += length


def _provisional_note(phase: _Phase, what: str) -> str:
    if not phase.provisional:
        return ""
    return f"{what} provisional: based on {_plural(phase.basis, 'point')}"


# --- description ---------------------------------------------------------------------------------


class _DateText:
    """Periods as text: "Mar 2026" for monthly data, "2 Mar 2026" for weekly, "Mar 26" on axes."""

    def __init__(self, periods: list[datetime.date]):
        self.periods = periods
        gaps = [(b - a).days for a, b in zip(periods, periods[1:], strict=False)]
        self.gap = statistics.median(gaps) if gaps else 30
        self.weekly = self.gap < 20
        self.cadence = (
            "" if not gaps else "weekly" if 5 <= self.gap <= 9
            else "monthly" if 25 <= self.gap <= 35 else ""
        )

    def long(self, i: int) -> str:
        return self.date(self.periods[i])

    def date(self, day: datetime.date) -> str:
        month = f"{_MONTHS[day.month - 1]} {day.year}"
        return f"{day.day} {month}" if self.weekly else month


def _describe(
    kind, values, phases, signals, dates, fmt, *, percent, improvement, target, assurance,
    annotations,
) -> str:
    n = len(values)
    count = " ".join(filter(None, [str(n), dates.cadence, "value" if n == 1 else "values"]))
    span = dates.long(0) if n == 1 else f"from {dates.long(0)} to {dates.long(n - 1)}"
    chart = "Run chart" if kind == RUN else "XmR (individuals) chart"
    parts = [f"{chart} of {count}, {span}."]
    if improvement:
        parts.append(f"{'Higher' if improvement == 'increase' else 'Lower'} values are better.")
    elif kind == XMR:
        parts.append("No improvement direction is set, so special causes are neither "
                     "improvement nor concern.")

    for phase in phases:
        size = phase.stop - phase.start
        head = ""
        if len(phases) > 1:
            first, last = dates.long(phase.start), dates.long(phase.stop - 1)
            head = f"Phase {phase.number}, {first if size == 1 else f'{first} to {last}'} " \
                   f"({_plural(size, 'point')}): "
        extended = (
            f", calculated from the first {phase.basis} points and extended" if phase.extended
            else ""
        )
        if kind == RUN:
            runs = phase.runs
            text = f"median {fmt(phase.centre)}{extended}."
            if not runs.n_useful:
                text += " Every point is on the median, so the runs analysis has nothing to test."
            else:
                text += (
                    " Runs analysis (Anhøj rules): longest run "
                    f"{_plural(runs.longest_run, 'point')} (limit {runs.longest_run_max}), "
                    f"{_plural(runs.crossings, 'crossing')} of "
                    f"the median (at least {runs.crossings_min} expected): "
                    + ("a signal of non-random variation." if runs.signal
                       else "no signal of non-random variation.")
                )
            what = "median is"
        elif phase.limits is None:
            text = "too few points for a mean and process limits (at least 2 are needed)."
            what = None
        else:
            lpl, upl = phase.limits.lpl, phase.limits.upl
            if percent:  # a proportion cannot go past 0% or 100%, so say so rather than print -4%
                low = "below 0%" if lpl < 0 else fmt(lpl)
                high = "above 100%" if upl > 1 else fmt(upl)
            else:
                low, high = fmt(lpl), fmt(upl)
            text = f"mean {fmt(phase.centre)}, process limits {low} to {high}{extended}."
            what = "mean and limits are"
        if phase.provisional and what:
            text += (f" The {what} provisional: based on {_plural(phase.basis, 'point')}, "
                     f"fewer than {PROVISIONAL_BELOW}.")
        parts.append(head + text if head else text[0].upper() + text[1:])

    if kind == XMR:
        if signals:
            parts.append(f"Special cause variation ({_plural(len(signals), 'signal')}): "
                         + "; ".join(signals) + ".")
        elif any(phase.limits for phase in phases):
            parts.append("Only common cause variation: no special cause signals.")
    parts.append(f"The latest value is {fmt(values[-1])} ({dates.long(n - 1)}).")
    if target is not None:
        parts.append(f"The target is {fmt(target)}.")
    if assurance == spc.PASS:
        parts.append("Assurance: the process is expected to meet the target consistently.")
    elif assurance == spc.FAIL:
        parts.append("Assurance: the process is not expected to meet the target without change.")
    elif assurance == spc.HIT_OR_MISS:
        parts.append("Assurance: the target lies within the process limits, so it will be met "
                     "only some of the time (hit or miss).")
    if annotations:
        parts.append("Annotations: " + "; ".join(
            f"{k}, {dates.date(a.period)}: {a.text.strip()}"
            for k, a in enumerate(annotations, start=1)
        ) + ".")
    return " ".join(parts)


def _format_value(y: float, percent: bool) -> str:
    if percent:
        return f"{y * 100:.1f}%"
    if y == int(y):
        return f"{int(y):,}"
    # three significant figures, but never fewer than the whole number: 12,346; 45.7; 0.00342
    decimals = max(0, 2 - math.floor(math.log10(abs(y))))
    return f"{y:,.{decimals}f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


# --- drawing -------------------------------------------------------------------------------------

# Layout in SVG user units (points; about a pixel each on a 700 px wide page).
_WIDTH = WIDTH_INCHES * 72
_LEFT, _RIGHT, _PLOT_HEIGHT = 92, 24, 270
_MARKER_ROW = 20  # height of a row of annotation markers above the plot
_LEGEND_ROW, _KEY_ROW = 20, 17


def _draw(
    kind, values, periods, phases, dates, *, title, y_label, percent, target, annotations
) -> Figure:
    scale = 100 if percent else 1  # percentages are plotted in percent, so ticks are whole
    xs = [float(day.toordinal()) for day in periods]
    ys = [y * scale for y in values]
    marks = [float(a.period.toordinal()) for a in annotations]
    pad = max(dates.gap * 0.6, 5)
    x_low, x_high = min(xs + marks) - pad, max(xs + marks) + pad
    levels = _marker_levels(marks, (x_high - x_low) / (_WIDTH - _LEFT - _RIGHT))
    legend = _legend(kind, phases, target, percent)
    columns = 3
    key_columns = 1 if len(annotations) <= 3 else 2

    # Heights, top to bottom, so the figure grows with its title, markers, legend and key
    # rather than squeezing the plot.
    title_lines = textwrap.wrap(title, 75) if title else []
    top = 10 + len(title_lines) * 21 + (6 if title_lines else 0)
    top += (max(levels, default=-1) + 1) * _MARKER_ROW + (8 if annotations else 4)
    below = 28 + math.ceil(len(legend) / columns) * _LEGEND_ROW + 6
    key_top = top + _PLOT_HEIGHT + below
    height = key_top + math.ceil(len(annotations) / key_columns) * _KEY_ROW + 8

    figure = Figure(figsize=(_WIDTH / 72, height / 72), facecolor=NHS_WHITE)
    axes = figure.add_axes((
        _LEFT / _WIDTH, 1 - (top + _PLOT_HEIGHT) / height,
        1 - (_LEFT + _RIGHT) / _WIDTH, _PLOT_HEIGHT / height,
    ))
    for row, line in enumerate(title_lines):
        figure.text(10 / _WIDTH, 1 - (10 + row * 21) / height, line, ha="left", va="top",
                    fontsize=15, weight="bold", color=NHS_BLACK)

    # The data: Making Data Count joins the dots with a plain line and lets the markers speak.
    axes.plot(xs, ys, color=NHS_MID_GREY if kind == XMR else NHS_DARK_GREY, linewidth=1.3,
              zorder=3)
    if kind == RUN:
        axes.plot(xs, ys, linestyle="none", marker="o", markersize=6, color=NHS_DARK_GREY,
                  zorder=4)
    else:
        variation = [c.variation for phase in phases for c in phase.causes]
        for kind_of, (colour, shape, size, _label) in _POINT_STYLES.items():
            chosen = [i for i, v in enumerate(variation) if v == kind_of]
            if chosen:
                axes.plot([xs[i] for i in chosen], [ys[i] for i in chosen], linestyle="none",
                          marker=shape, markersize=size, color=colour,
                          markeredgecolor=NHS_WHITE, markeredgewidth=0.6, zorder=5)

    # Centre lines and limits per phase, each phase its own segment, split by a divider.
    for phase in phases:
        left, right = _between(xs, phase.start, dates.gap), _between(xs, phase.stop, dates.gap)
        if phase.number > 1:
            axes.axvline(left, color=NHS_DARK_GREY, linewidth=1.2, zorder=2)
            axes.annotate(f"Phase {phase.number}", (left, 1), xycoords=axes.get_xaxis_transform(),
                          xytext=(4, -4), textcoords="offset points", ha="left", va="top",
                          fontsize=10, color=NHS_DARK_GREY, bbox=_BACKING)
        if phase.centre is None:
            continue
        # Past the baseline the lines are extended, not recalculated (NHSRplotthedots'
        # fix_after_n_points; qicharts2's freeze).
        split = _between(xs, phase.start + phase.basis, dates.gap)
        axes.plot([left, split], [phase.centre * scale] * 2, zorder=2, **_CENTRE)
        if phase.extended:
            axes.plot([split, right], [phase.centre * scale] * 2, zorder=2, **_CENTRE_EXTENDED)
        if phase.limits:
            limits = phase.limits
            for level, style in ((limits.lpl, _LIMITS), (limits.upl, _LIMITS),
                                 (limits.near_lpl, _NEAR_LIMITS), (limits.near_upl, _NEAR_LIMITS)):
                axes.plot([left, right], [level * scale] * 2, zorder=2, **style)
    if target is not None:
        axes.axhline(target * scale, zorder=2, **_TARGET)

    # Annotations: numbered markers above the plot with a faint guide down to the axis; the
    # text goes in a key below (truncated there, whole in the description).
    for k, (x, level) in enumerate(zip(marks, levels, strict=True), start=1):
        axes.axvline(x, color=NHS_MID_GREY, linewidth=0.8, linestyle=(0, (1, 3)), zorder=1)
        axes.annotate(str(k), (x, 1), xycoords=axes.get_xaxis_transform(),
                      xytext=(0, 12 + level * _MARKER_ROW), textcoords="offset points",
                      ha="center", va="center", fontsize=10, color=NHS_DARK_BLUE,
                      annotation_clip=False,
                      bbox={"boxstyle": "circle,pad=0.25", "facecolor": NHS_WHITE,
                            "edgecolor": NHS_DARK_BLUE, "linewidth": 1.2})
    limit = 95 if key_columns == 1 else 44
    for k, note in enumerate(annotations, start=1):
        row, column = divmod(k - 1, key_columns)
        text = f"{k}. {dates.date(note.period)}: {_truncate(note.text.strip(), limit)}"
        figure.text((10 + column * _WIDTH / 2) / _WIDTH, 1 - (key_top + row * _KEY_ROW) / height,
                    text, ha="left", va="top", fontsize=11, color=NHS_BLACK)

    axes.set_xlim(x_low, x_high)
    axes.set_ylim(*_y_range(ys, phases, target, scale, percent))
    ticks = _x_ticks(periods, xs)
    axes.xaxis.set_major_locator(FixedLocator([x for x, _ in ticks]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, pos: dict(ticks).get(x, "")))
    if percent:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{round(y) + 0}%"))
    else:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        axes.yaxis.set_major_formatter(formatter)
    axes.set_ylabel("\n".join(textwrap.wrap(y_label, 40)), labelpad=8)
    axes.grid(axis="y", color=NHS_PALE_GREY, linewidth=1, zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.legend(handles=legend, loc="upper center",
                  bbox_to_anchor=(0.5, 1 - (top + _PLOT_HEIGHT + 28) / height),
                  ncol=min(columns, len(legend)), frameon=False, handlelength=2.6,
                  columnspacing=1.6, fontsize=11)
    return figure


def _legend(kind, phases, target, percent) -> list[Line2D]:
    """Legend entries for what is actually drawn, in a fixed order."""
    handles = []
    if kind == RUN:
        handles.append(Line2D([], [], color=NHS_DARK_GREY, marker="o", markersize=6,
                              linewidth=1.3, label="Data"))
    else:
        present = {c.variation for phase in phases for c in phase.causes}
        for variation, (colour, shape, size, label) in _POINT_STYLES.items():
            if variation in present:
                handles.append(Line2D([], [], linestyle="none", marker=shape, markersize=size,
                                      color=colour, markeredgecolor=NHS_WHITE,
                                      markeredgewidth=0.6, label=label))
    centre = "Median" if kind == RUN else "Mean"
    if any(phase.centre is not None for phase in phases):
        handles.append(Line2D([], [], label=centre, **_CENTRE))
    if any(phase.extended and phase.centre is not None for phase in phases):
        handles.append(Line2D([], [], label=f"{centre} extended past the baseline",
                              **_CENTRE_EXTENDED))
    if any(phase.limits for phase in phases):
        handles.append(Line2D([], [], label="Process limits", **_LIMITS))
        handles.append(Line2D([], [], label="Near (two-sigma) limits", **_NEAR_LIMITS))
    if target is not None:
        handles.append(Line2D([], [], label=f"Target ({_format_value(target, percent)})",
                              **_TARGET))
    return handles


def _between(xs: list[float], i: int, gap: float) -> float:
    """Where a line starting (or ending) before point i meets the one after: halfway between
    points i - 1 and i, or half a period beyond the first or last point."""
    if i == 0:
        return xs[0] - gap / 2
    if i == len(xs):
        return xs[-1] + gap / 2
    return (xs[i - 1] + xs[i]) / 2


def _marker_levels(marks: list[float], days_per_unit: float) -> list[int]:
    """Stack annotation markers that would overlap: each takes the lowest free row."""
    room = 22 * days_per_unit  # a marker is about 20 units across
    placed: list[tuple[float, int]] = []
    levels = []
    for x in marks:
        busy = {level for other, level in placed if abs(other - x) < room}
        level = next(level for level in range(len(placed) + 1) if level not in busy)
        placed.append((x, level))
        levels.append(level)
    return levels


def _x_ticks(periods, xs) -> list[tuple[float, str]]:
    """A "Jan 26" label at the first point of a month; every 2nd, 3rd... month if there are
    many, on calendar boundaries (Jan, Apr, Jul, Oct for quarters) so labels read naturally."""
    firsts: dict[int, tuple[float, datetime.date]] = {}
    for x, day in zip(xs, periods, strict=True):
        firsts.setdefault(day.year * 12 + day.month - 1, (x, day))
    months = sorted(firsts)
    span = months[-1] - months[0] + 1
    step = next((s for s in (1, 2, 3, 4, 6, 12) if span / s <= _MAX_X_TICKS), 24)
    chosen = [m for m in months if m % step == 0] or months[:1]
    return [(firsts[m][0], f"{_MONTHS[firsts[m][1].month - 1]} {firsts[m][1].year % 100:02d}")
            for m in chosen]


def _y_range(ys, phases, target, scale, percent) -> tuple[float, float]:
    """Room for every point, centre line, process limit and the target, padded."""
    levels = list(ys)
    for phase in phases:
        if phase.centre is not None:
            levels.append(phase.centre * scale)
        if phase.limits:
            levels += [phase.limits.lpl * scale, phase.limits.upl * scale]
    if target is not None:
        levels.append(target * scale)
    low, high = min(levels), max(levels)
    if percent:  # limits past 0% or 100% mean nothing for a proportion: keep the view inside
        low, high = max(low, 0.0), min(high, 100.0)
    span = high - low
    if span < (5 if percent else 1e-9):  # e.g. every value equal: still show a scale
        middle = (low + high) / 2
        span = 5 if percent else (abs(middle) * 0.2 or 1)
        low, high = middle - span / 2, middle + span / 2
    low, high = low - span * 0.08, high + span * 0.08
    if percent:
        low, high = max(low, -1.5), min(high, 101.5)
    return low, high


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
