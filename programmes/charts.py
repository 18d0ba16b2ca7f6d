"""Charts drawn once, on the server, as self-contained SVG.

The same SVG string goes into the web page (inlined) and into the PDF (WeasyPrint), so it carries
everything it needs: no external fonts, stylesheets or scripts; text stays text (``svg.fonttype``
'none'), so screen readers and PDF text extraction can read it; a <title> and <desc> name and
summarise it for assistive technology; and every id inside is prefixed with the chart's id so
several charts can share a page.

Matplotlib is used through ``Figure`` and ``FigureCanvasSVG`` directly, never pyplot, so no
figure is registered globally; the only global state touched is rcParams, inside a lock-guarded
``rc_context`` around each chart.
"""

import datetime
import hashlib
import io
import re
import textwrap
import threading
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import funnelplot
from .funnelplot import FunnelData

# NHS identity colours (NHS England, "NHS colours", https://www.england.nhs.uk/nhsidentity/
# identity-guidelines/colours/ and the NHS digital service manual). Lines and dots use colours
# with at least 3:1 contrast against white (WCAG 2.1 SC 1.4.11, non-text contrast); text uses
# NHS black, 14:1.
NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
NHS_BLACK = "#212b32"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#e8edee"
NHS_RED = "#d5281b"
NHS_GREEN = "#007f3b"
NHS_WARM_YELLOW = "#ffb81c"
NHS_DARK_PINK = "#7c2855"
NHS_WHITE = "#ffffff"

# 720 × 440 user units; matplotlib's SVG unit is the point, so 10 × 6.11 inches at 72 per inch.
# Shown 700 px wide on a page, one unit is about one pixel, so 12-unit text is about 12 px.
WIDTH_INCHES, HEIGHT_INCHES = 10.0, 440 / 72
FONT_SIZE = 12

_RC = {
    "svg.fonttype": "none",  # text as <text>, not paths
    "svg.hashsalt": "ilcop-charts",  # fixed, so ids (and so the whole SVG) are deterministic
    "font.family": "sans-serif",
    # Arial is the NHS's fallback for Frutiger; Liberation Sans has Arial's metrics and is what
    # the server lays the text out with when Arial is not installed.
    "font.sans-serif": ["Arial", "Liberation Sans", "Helvetica", "DejaVu Sans"],
    "font.size": FONT_SIZE,
    "text.color": NHS_BLACK,
    "axes.labelcolor": NHS_BLACK,
    "axes.edgecolor": NHS_DARK_GREY,
    "xtick.color": NHS_DARK_GREY,
    "ytick.color": NHS_DARK_GREY,
    "xtick.labelcolor": NHS_BLACK,
    "ytick.labelcolor": NHS_BLACK,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "axes.labelsize": 13,
    "legend.fontsize": FONT_SIZE,
    "path.simplify": False,
}

# rc_context swaps the process-wide rcParams in and out; two threads drawing at once could
# restore each other's settings mid-chart, so charts are drawn one at a time.
_DRAWING = threading.Lock()

_DESCRIPTIONS = {
    funnelplot.WITHIN: "inside the 95% limits",
    funnelplot.ABOVE_95: "above the upper 95% limit",
    funnelplot.ABOVE_998: "above the upper 99.8% limit",
    funnelplot.BELOW_95: "below the lower 95% limit",
    funnelplot.BELOW_998: "below the lower 99.8% limit",
}


def funnel_plot_svg(
    data: FunnelData,
    *,
    title: str,
    indicator_label: str,
    highlight: str | None = None,
    show_labels: bool = True,
    national: float | None = None,
    target: float | None = None,
    chart_id: str | None = None,
    show_title: bool = True,
    highlight_text: str = "Your team",
) -> str:
    """A funnel plot as an SVG string ready to inline in HTML (no XML declaration).

    ``highlight`` is the label of the viewer's own team, drawn in NHS blue and marked "Your team".
    With ``show_labels=False`` no team's label is written anywhere in the SVG (a site member sees
    only their own position; everyone else is an anonymous dot: a safe space, not a league
    table). ``national`` and ``target`` (proportions, 0-1) add horizontal reference lines.
    ``chart_id`` becomes the root's id and prefixes every id inside; by default it is derived
    from the title, so give charts with the same title on one page their own ids.
    ``show_title=False`` leaves the visible title out (the <title> element is always there) for
    pages that already head the chart. ``highlight_text`` is what the highlighted point is
    called on the chart ("Host team" in a visit's data pack, read by the visiting team).
    """
    chart_id = _chart_id(chart_id) if chart_id else _default_chart_id(f"funnel {title}")
    description = _describe(data, highlight=highlight, national=national, target=target,
                            highlight_text=highlight_text)
    with _DRAWING, matplotlib.rc_context(_RC):
        figure = _draw_funnel(
            data,
            title=title if show_title else None,
            indicator_label=indicator_label,
            highlight=highlight,
            show_labels=show_labels,
            national=national,
            target=target,
            highlight_text=highlight_text,
        )
        buffer = io.StringIO()
        FigureCanvasSVG(figure).print_svg(
            buffer, metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    return _finish_svg(buffer.getvalue(), chart_id=chart_id, title=title, description=description)


def _draw_funnel(
    data: FunnelData,
    *,
    title: str | None,
    indicator_label: str,
    highlight: str | None,
    show_labels: bool,
    national: float | None,
    target: float | None,
    highlight_text: str,
) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), facecolor=NHS_WHITE)
    top = 0.88 if title else 0.96
    axes = figure.add_axes((0.1, 0.24, 0.87, top - 0.24))
    if title:
        figure.text(
            0.015, 0.965, title, ha="left", va="top", fontsize=16, weight="bold", color=NHS_BLACK
        )

    ns = [c.n for c in data.curve]
    # The funnel: 99.8% limits solid, 95% dashed (Spiegelhalter 2005 draws both; line styles as
    # agreed for the product), the programme mean as a solid line.
    for values, style in (
        ([c.upper998 for c in data.curve], {"color": NHS_RED, "linestyle": "-"}),
        ([c.lower998 for c in data.curve], {"color": NHS_RED, "linestyle": "-"}),
        ([c.upper95 for c in data.curve], {"color": NHS_DARK_GREY, "linestyle": (0, (5, 3))}),
        ([c.lower95 for c in data.curve], {"color": NHS_DARK_GREY, "linestyle": (0, (5, 3))}),
    ):
        axes.plot(ns, values, linewidth=1.6, zorder=2, **style)
    axes.axhline(data.theta0, color=NHS_BLACK, linewidth=1.6, zorder=2)
    if national is not None:
        axes.axhline(national, color=NHS_GREEN, linewidth=2, linestyle=(0, (8, 2, 2, 2)), zorder=2)
    if target is not None:
        axes.axhline(target, color=NHS_DARK_PINK, linewidth=2, linestyle=(0, (1, 2)), zorder=2)

    mine = [p for p in data.points if highlight is not None and p.label == highlight]
    others = [p for p in data.points if not (highlight is not None and p.label == highlight)]
    axes.scatter(
        [p.denominator for p in others],
        [p.proportion for p in others],
        s=42,
        color=NHS_MID_GREY,
        edgecolors=NHS_DARK_GREY,
        linewidths=0.8,
        zorder=3,
    )
    axes.scatter(
        [p.denominator for p in mine],
        [p.proportion for p in mine],
        s=150,
        color=NHS_BLUE,
        edgecolors=NHS_BLACK,
        linewidths=2,
        zorder=5,
    )

    x_max = max([p.denominator for p in data.points] + ns) * 1.04
    axes.set_xlim(0, x_max)
    y_low, y_high = _y_range(data, national, target)
    axes.set_ylim(y_low, y_high)

    # Labels go where they cover the fewest dots, lines and other labels.
    labeller = _Labeller(axes, data, [v for v in (national, target) if v is not None])
    for point in mine:
        labeller.place(
            point,
            highlight_text,
            spots=_YOUR_TEAM_SPOTS,
            fontsize=13,
            weight="bold",
            color=NHS_DARK_BLUE,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": NHS_WHITE, "edgecolor": "none"},
        )
    if show_labels:
        # teams outside the limits first, so theirs get the best places
        for point in sorted(
            (p for p in others if p.label),
            key=lambda p: (p.classification == funnelplot.WITHIN, p.denominator),
        ):
            labeller.place(
                point,
                point.label,
                spots=_LABEL_SPOTS,
                fontsize=11,
                color=NHS_DARK_GREY,
                zorder=4,
                # a light backing so a label stays legible where it crosses a line
                bbox={
                    "boxstyle": "square,pad=0.1",
                    "facecolor": NHS_WHITE,
                    "edgecolor": "none",
                    "alpha": 0.8,
                },
            )

    axes.set_xlabel("Number of patients (denominator)", labelpad=6)
    axes.set_ylabel("\n".join(textwrap.wrap(indicator_label, 42)), labelpad=8)
    axes.yaxis.set_major_formatter(FuncFormatter(_percent_tick))
    # steps of 1, 2 or 5 (× 10^k) so that over at least 10 points every tick is a whole percent
    axes.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 5, 10]))
    axes.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10], integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    axes.grid(axis="y", color=NHS_PALE_GREY, linewidth=1, zorder=0)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)

    mean_label = f"Programme mean ({_percent(data.theta0)})"
    handles = []
    if mine:
        handles.append(_marker(highlight_text, NHS_BLUE, NHS_BLACK, 12, 2))
    handles.append(_marker("Other teams" if mine else "Teams", NHS_MID_GREY, NHS_DARK_GREY, 7, 0.8))
    handles += [
        Line2D([], [], color=NHS_BLACK, linewidth=1.6, label=mean_label),
        Line2D(
            [], [], color=NHS_DARK_GREY, linewidth=1.6, linestyle=(0, (5, 3)), label="95% limits"
        ),
        Line2D([], [], color=NHS_RED, linewidth=1.6, label="99.8% limits"),
    ]
    if national is not None:
        handles.append(
            Line2D(
                [],
                [],
                color=NHS_GREEN,
                linewidth=2,
                linestyle=(0, (8, 2, 2, 2)),
                label=f"National ({_percent(national)})",
            )
        )
    if target is not None:
        handles.append(
            Line2D(
                [],
                [],
                color=NHS_DARK_PINK,
                linewidth=2,
                linestyle=(0, (1, 2)),
                label=f"Target ({_percent(target)})",
            )
        )
    figure.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.535, 0.0),
        ncol=min(4, -(-len(handles) // 2)),  # two rows, filled column by column
        frameon=False,
        handlelength=2.6,
        columnspacing=1.6,
    )
    return figure


# Where a label may go, relative to its dot (offset in points; alignment), best first.
_LABEL_SPOTS = (
    ((6, 3), "left", "bottom"),
    ((6, -3), "left", "top"),
    ((-6, 3), "right", "bottom"),
    ((-6, -3), "right", "top"),
    ((0, 7), "center", "bottom"),
    ((0, -7), "center", "top"),
)
_YOUR_TEAM_SPOTS = (
    ((11, 8), "left", "bottom"),
    ((11, -8), "left", "top"),
    ((-11, 8), "right", "bottom"),
    ((-11, -8), "right", "top"),
    ((0, 13), "center", "bottom"),
    ((0, -13), "center", "top"),
)


# How much worse it is for a label to cover each thing, per unit of area covered.
_LINE, _DOT, _LABEL = 1, 4, 20


class _Labeller:
    """Greedy label placement: each label takes the first of its spots that covers nothing, or
    else the one covering least, counting dots, the funnel's lines and labels already placed.
    Text extents are estimated (0.58 em a character, about right for Arial and Liberation Sans),
    so it is approximate, but it keeps a crowded funnel readable."""

    def __init__(self, axes, data: FunnelData, levels: list[float]):
        self.axes = axes
        self.scale = axes.figure.dpi / 72  # display units per point
        transform = axes.transData
        radius = 5 * self.scale
        self.obstacles = []
        for point in data.points:
            x, y = transform.transform((point.denominator, point.proportion))
            self.obstacles.append(((x - radius, y - radius, x + radius, y + radius), _DOT))
        half = 1.5 * self.scale
        for curve in data.curve:
            for value in curve[1:]:
                x, y = transform.transform((curve.n, value))
                self.obstacles.append(((x - half, y - half, x + half, y + half), _LINE))
        left, _, right, _ = axes.bbox.extents
        for value in [data.theta0, *levels]:
            _, y = transform.transform((0, value))
            self.obstacles.append(((left, y - half, right, y + half), _LINE))

    def place(self, point, text, *, spots, fontsize, **text_style) -> None:
        best = None
        for offset, ha, va in spots:
            box = self._box(point, offset, ha, va, text, fontsize)
            clash = sum(_overlap(box, other) * weight for other, weight in self.obstacles)
            clash += 10 * _outside(box, self.axes.bbox.extents)
            if best is None or clash < best[0]:
                best = (clash, offset, ha, va, box)
            if clash == 0:
                break
        _, offset, ha, va, box = best
        self.obstacles.append((box, _LABEL))
        self.axes.annotate(
            text,
            (point.denominator, point.proportion),
            xytext=offset,
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=fontsize,
            **text_style,
        )

    def _box(self, point, offset, ha, va, text, fontsize):
        x, y = self.axes.transData.transform((point.denominator, point.proportion))
        x, y = x + offset[0] * self.scale, y + offset[1] * self.scale
        width = 0.58 * fontsize * len(text) * self.scale
        height = 1.2 * fontsize * self.scale
        left = {"left": x, "right": x - width, "center": x - width / 2}[ha]
        bottom = {"bottom": y, "top": y - height}[va]
        return (left, bottom, left + width, bottom + height)


def _overlap(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box, bounds) -> float:
    return (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, bounds)


def _marker(label: str, face: str, edge: str, size: float, width: float,
            shape: str = "o") -> Line2D:
    return Line2D(
        [],
        [],
        linestyle="none",
        marker=shape,
        markersize=size,
        markerfacecolor=face,
        markeredgecolor=edge,
        markeredgewidth=width,
        label=label,
    )


def _y_range(data: FunnelData, national: float | None, target: float | None) -> tuple[float, float]:
    """Room for every point, reference line and the funnel's limits, padded, within 0-100%."""
    values = [p.proportion for p in data.points] + [data.theta0]
    values += [v for v in (national, target) if v is not None]
    for c in data.curve:
        values += [c.lower998, c.upper998]
    pad = max(0.02, (max(values) - min(values)) * 0.06)
    low, high = min(values) - pad, max(values) + pad
    if high - low < _MIN_SPAN:  # e.g. every team at 100%: still show a sensible scale
        middle = (low + high) / 2
        low, high = middle - _MIN_SPAN / 2, middle + _MIN_SPAN / 2
    # A little past 0% and 100% at most, so a dot at either end is not cut in half.
    if high > 1 + _EDGE:
        low, high = low - (high - 1 - _EDGE), 1 + _EDGE
    if low < -_EDGE:
        low, high = -_EDGE, min(1 + _EDGE, high + (-_EDGE - low))
    return low, high


_MIN_SPAN, _EDGE = 0.1, 0.015


def _percent_tick(value: float, _position) -> str:
    """Whole percentages, and no ticks in the margins past 0% and 100%."""
    if value < -1e-9 or value > 1 + 1e-9:
        return ""
    return f"{round(value * 100)}%"


def _describe(
    data: FunnelData, *, highlight: str | None, national: float | None, target: float | None,
    highlight_text: str = "Your team",
) -> str:
    """A plain-English summary for the <desc>. It counts teams and never names another team."""
    count = len(data.points)
    above = data.count(funnelplot.ABOVE_95, funnelplot.ABOVE_998)
    above_998 = data.count(funnelplot.ABOVE_998)
    below = data.count(funnelplot.BELOW_95, funnelplot.BELOW_998)
    below_998 = data.count(funnelplot.BELOW_998)
    parts = [
        f"Funnel plot of {count} team{'s' if count != 1 else ''}.",
        f"The programme mean is {_percent(data.theta0, 1)}.",
    ]
    outside = f"{_teams(above)} above the 95% limits"
    if above_998:
        outside += f" ({above_998} above the 99.8% limits)"
    outside += f", {below} below"
    if below_998:
        outside += f" ({below_998} below the 99.8% limits)"
    parts.append(outside + ".")
    for point in data.points:
        if highlight is not None and point.label == highlight:
            parts.append(
                f"{highlight_text}: {_percent(point.proportion, 1)} ({point.numerator} of "
                f"{point.denominator} patients), {_DESCRIPTIONS[point.classification]}."
            )
    if data.excluded:
        parts.append(
            f"{_teams(len(data.excluded))} not shown, having no patients in the denominator."
        )
    if national is not None:
        parts.append(f"The national figure is {_percent(national, 1)}.")
    if target is not None:
        parts.append(f"The target is {_percent(target, 1)}.")
    return " ".join(parts)


def _teams(number: int) -> str:
    return f"{number} team{' is' if number == 1 else 's are'}"


def _percent(proportion: float, decimals: int = 1) -> str:
    return f"{proportion * 100:.{decimals}f}%"


# --- SVG post-processing -------------------------------------------------------------------------

_ID_REFERENCE = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


def _chart_id(chart_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z][\w-]*", chart_id):
        raise ValueError(
            f"A chart id must be a letter then letters, digits, - or _, not {chart_id!r}."
        )
    return chart_id


def _default_chart_id(seed: str) -> str:
    """A readable HTML id from the title: a slug plus a short hash of the whole title, so two
    titles that slug alike still differ. (The same title twice on a page needs a chart_id.)"""
    slug = re.sub(r"[^a-z0-9]+", "-", seed.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{slug}-{digest}"


def _finish_svg(svg: str, *, chart_id: str, title: str, description: str) -> str:
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE, for inlining

    # Prefix every id (and every reference to one) with the chart's id, so two charts on a page
    # never share an id.
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = _ID_REFERENCE.sub(lambda m: f"{m[1]}{chart_id}-{m[2]}" if m[2] in ids else m[0], svg)
    # Matplotlib's one stylesheet rule is "*{...}"; inlined in HTML it would reach every element
    # on the page, so scope it to this chart.
    svg = svg.replace('<style type="text/css">*{', f'<style type="text/css">#{chart_id} *{{', 1)

    # The root element: no fixed size (the viewBox keeps the shape, the page sets the width), and
    # an accessible name and description.
    root_end = svg.index(">") + 1
    root = svg[:root_end]
    root = re.sub(r'\s(width|height)="[^"]*"', "", root)
    root = root[:-1] + (
        f' id="{chart_id}" width="100%" style="height: auto; max-width: 100%"'
        f' role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
    )
    accessible = (
        f'\n <title id="{chart_id}-title">{escape(title)}</title>'
        f'\n <desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return root + accessible + svg[root_end:]


# --- Survey results ------------------------------------------------------------------------------


def survey_chart_svg(
    rows: list[tuple[str, float, tuple[float, float], float | None]],
    *,
    title: str,
    chart_id: str,
) -> str:
    """Percentage positive for each question: the team's figure as a dot with its 95%
    confidence interval as a line, and the programme-wide figure as a hollow diamond.

    ``rows`` are (question label, proportion, (low, high), programme proportion or None), in
    the order the questions are asked. Suppressed questions are left out by the caller.
    """
    chart_id = _chart_id(chart_id)
    parts = [f"Percentage of patients answering positively, for {len(rows)} questions, "
             "with 95% confidence intervals."]
    for label, proportion, (low, high), programme in rows:
        text = (f"{label}: {_percent(proportion, 0)} (95% confidence interval "
                f"{_percent(low, 0)} to {_percent(high, 0)})")
        if programme is not None:
            text += f", programme {_percent(programme, 0)}"
        parts.append(text + ".")
    height = 1.2 + 0.55 * max(len(rows), 1)
    with _DRAWING, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(WIDTH_INCHES, height), facecolor=NHS_WHITE)
        axes = figure.add_axes((0.36, 0.9 / height, 0.6, 1 - 1.35 / height))
        positions = list(range(len(rows)))[::-1]
        for y, (_label, proportion, (low, high), programme) in zip(positions, rows, strict=True):
            axes.plot([low, high], [y, y], color=NHS_BLUE, linewidth=2.5, zorder=3)
            axes.scatter([proportion], [y], s=70, color=NHS_BLUE, edgecolors=NHS_BLACK,
                         linewidths=1.2, zorder=4)
            if programme is not None:
                axes.scatter([programme], [y], s=70, marker="D", facecolors=NHS_WHITE,
                             edgecolors=NHS_BLACK, linewidths=1.6, zorder=5)
        axes.set_yticks(positions, ["\n".join(textwrap.wrap(r[0], 38)) for r in rows],
                        fontsize=11)
        axes.set_xlim(0, 1)
        axes.set_ylim(-0.7, len(rows) - 0.3)
        axes.xaxis.set_major_formatter(FuncFormatter(_percent_tick))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        axes.grid(axis="x", color=NHS_PALE_GREY, linewidth=1, zorder=0)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.set_xlabel("Answered positively", labelpad=4)
        figure.legend(
            handles=[
                Line2D([], [], color=NHS_BLUE, linewidth=2.5, marker="o", markersize=8,
                       markeredgecolor=NHS_BLACK, label="This team, with 95% confidence "
                                                        "interval"),
                _marker("Whole programme", NHS_WHITE, NHS_BLACK, 8, 1.6, shape="D"),
            ],
            loc="upper left", bbox_to_anchor=(0.01, 1.0), ncol=2, frameon=False,
        )
        buffer = io.StringIO()
        FigureCanvasSVG(figure).print_svg(
            buffer, metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    return _finish_svg(buffer.getvalue(), chart_id=chart_id, title=title,
                       description=" ".join(parts))


# --- Programme evaluation ------------------------------------------------------------------------


def evaluation_chart_svg(
    rows: list[tuple[str, datetime.date, datetime.date, float | None, int, float | None, int]],
    *,
    title: str,
    chart_id: str,
    indicator_label: str,
    baseline: str | None,
    follow_up: str | None,
) -> str:
    """Both arms' mean over time for one indicator, with the baseline and follow-up periods
    shaded and labelled.

    ``rows`` are (period label, first day, last day, intervention mean, intervention sites,
    control mean, control sites), in date order; a mean is None when the arm has no value that
    period. Each point sits at its period's midpoint, so a year and a quarter can share the
    axis. Periods before the baseline show the trend before the programme, which the
    comparison assumes would have continued in parallel in both arms.
    """
    chart_id = _chart_id(chart_id)
    spans = {label: (start, end) for label, start, end, *_ in rows}

    def middle(start: datetime.date, end: datetime.date) -> float:
        return (start.toordinal() + end.toordinal() + 1) / 2

    xs = [middle(start, end) for _, start, end, *_ in rows]
    parts = [f"Line chart of the mean of the sites' figures for {indicator_label}, "
             f"intervention and control sites, over {len(rows)} audit periods."]
    for label, _start, _end, mean_i, n_i, mean_c, n_c in rows:
        arms = []
        for name, mean, n in (("intervention", mean_i, n_i), ("control", mean_c, n_c)):
            if mean is not None:
                arms.append(f"{name} {_percent(mean)} ({n} site{'s' if n != 1 else ''})")
        parts.append(f"{label}: {', '.join(arms) or 'no data'}.")
    marked = [(what, label) for what, label in (("baseline", baseline), ("follow-up", follow_up))
              if label in spans]
    if marked:
        shaded = " and ".join(f"the {what} period ({label})" for what, label in marked)
        parts.append(shaded[0].upper() + shaded[1:]
                     + (" are" if len(marked) > 1 else " is") + " shaded.")

    with _DRAWING, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(WIDTH_INCHES, 400 / 72), facecolor=NHS_WHITE)
        axes = figure.add_axes((0.1, 0.22, 0.87, 0.72))
        for what, label in marked:
            start, end = spans[label]
            # A period's band runs from its first day to the end of its last.
            axes.axvspan(start.toordinal(), end.toordinal() + 1, zorder=0, linewidth=0,
                         facecolor=NHS_PALE_GREY if what == "baseline" else "#fff3d6")
            axes.text(middle(start, end), 0.98, what.capitalize(),
                      transform=axes.get_xaxis_transform(), ha="center", va="top",
                      fontsize=11, weight="bold", color=NHS_BLACK)
        nan = float("nan")
        # Distinct line styles and markers as well as colours, so the arms differ without
        # colour (WCAG 2.2 SC 1.4.1, use of colour).
        axes.plot(xs, [r[3] if r[3] is not None else nan for r in rows], color=NHS_BLUE,
                  linewidth=2.5, marker="o", markersize=8, markeredgecolor=NHS_BLACK,
                  markeredgewidth=1, zorder=4)
        axes.plot(xs, [r[5] if r[5] is not None else nan for r in rows], color=NHS_DARK_GREY,
                  linewidth=2.5, linestyle=(0, (6, 3)), marker="s", markersize=7,
                  markerfacecolor=NHS_WHITE, markeredgecolor=NHS_DARK_GREY, markeredgewidth=2,
                  zorder=3)
        values = [v for r in rows for v in (r[3], r[5]) if v is not None] or [0.0, 1.0]
        pad = max(0.01, (max(values) - min(values)) * 0.15)
        low, high = min(values) - pad, max(values) + 2.2 * pad  # room for the band labels
        if high - low < _MIN_SPAN:
            centre = (low + high) / 2
            low, high = centre - _MIN_SPAN / 2, centre + _MIN_SPAN / 2
        axes.set_ylim(max(low, -_EDGE), min(high, 1 + _EDGE))
        if rows:
            left = min(start.toordinal() for _, start, *_ in rows)
            right = max(end.toordinal() + 1 for _, _, end, *_ in rows)
            margin = max(20, (right - left) * 0.03)
            axes.set_xlim(left - margin, right + margin)
        # "2026 Q1" on two lines, so neighbouring quarters' labels do not run together.
        axes.set_xticks(xs, [r[0].replace(" ", "\n", 1) for r in rows],
                        rotation=30 if len(rows) > 8 else 0,
                        ha="right" if len(rows) > 8 else "center")
        axes.set_ylabel("Mean of the sites' figures", labelpad=8)
        axes.yaxis.set_major_formatter(FuncFormatter(_percent_tick))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
        axes.grid(axis="y", color=NHS_PALE_GREY, linewidth=1, zorder=1)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.legend(
            handles=[
                Line2D([], [], color=NHS_BLUE, linewidth=2.5, marker="o", markersize=8,
                       markeredgecolor=NHS_BLACK, label="Intervention sites"),
                Line2D([], [], color=NHS_DARK_GREY, linewidth=2.5, linestyle=(0, (6, 3)),
                       marker="s", markersize=7, markerfacecolor=NHS_WHITE,
                       markeredgecolor=NHS_DARK_GREY, markeredgewidth=2,
                       label="Control sites"),
            ],
            loc="lower center", bbox_to_anchor=(0.535, 0.0), ncol=2, frameon=False,
            handlelength=3,
        )
        buffer = io.StringIO()
        FigureCanvasSVG(figure).print_svg(
            buffer, metadata={"Date": None, "Creator": None, "Format": None, "Type": None}
        )
    return _finish_svg(buffer.getvalue(), chart_id=chart_id, title=title,
                       description=" ".join(parts))
