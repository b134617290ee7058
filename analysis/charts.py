"""PNG charts of the weekly trends (matplotlib, Agg backend: no display needed).

``trend_chart``: weekly median asking price with the p25-p75 ribbon, one panel per platform
family, 4WD and 2WD as separate lines, the price band shaded. ``band_share_chart``: the share
of trucks below, inside and above the band per week. ``states_map``: active trucks per seller
state on a tile-grid map of the US. All return PNG bytes, so the report can write them to
files and embed them in the HTML page; ``band_share_charts`` draws its bars once and returns
the chart in several widths (a screen's and a phone's).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import io
import math

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.markers import TICKDOWN  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

from analysis.identity import rebadges_of  # noqa: E402
from analysis.trends import ALL, chart_series  # noqa: E402
from keitrucks.core import states  # noqa: E402

DRIVE_STYLE = {"4WD": {"color": "#1f6f3f"}, "2WD": {"color": "#b05a00"}}
BAND_COLORS = {"share_below": "#4c78a8", "share_in": "#59a14f", "share_above": "#e15759"}
BAND_SHADE = {"color": "#dddddd", "alpha": 0.6, "lw": 0}
#: A week's median drawn as part of the trend line from this many trucks; fewer give a dot.
MIN_TRUCKS = 3
_DOLLARS = FuncFormatter(lambda v, _: f"${v / 1000:.0f}k")
#: At most this many date labels on an axis; the others are left blank.
MAX_DATE_LABELS = 8


def _money(value: int) -> str:
    return rf"\${value:,}"  # escaped: a bare "$" starts matplotlib's math mode


def _title(ax, text: str, **kwargs) -> None:
    """``ax``'s title, at the top of its panel."""
    # placed, not left to matplotlib: it would look for tick labels above the panel (there are
    # none) at every layout and draw, going over every tick of every axis each time
    ax.set_title(text, y=1.0, **kwargs)


def _tight_layout(fig, **kwargs) -> None:
    """``fig.tight_layout``, without matplotlib placing the axis labels no chart has."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.label.get_text():
                # an empty label placed by hand: placing it measures the axis' every tick label
                axis.set_label_coords(0.5, 0.5)
    fig.tight_layout(**kwargs)


def _uncollected(draw):
    """``draw`` with the garbage collector paused while it runs."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        was_enabled = gc.isenabled()
        # a chart makes tens of thousands of small objects, each so many setting off a
        # collection that walks all the report's objects; the chart's own wait for the next one
        gc.disable()
        try:
            return draw(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return drawn


def _figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure of ``figsize`` inches, drawn by Agg (not kept by ``pyplot``)."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _default_margins(fig) -> None:
    """``fig``'s subplot margins back to the defaults, as a new figure has them."""
    # tight_layout starts from the current margins: from others, its sums round a hair apart
    # and a line across a pixel's edge shades it one level differently
    fig.subplots_adjust(
        **{
            name: matplotlib.rcParams[f"figure.subplot.{name}"]
            for name in ("left", "right", "bottom", "top", "wspace", "hspace")
        }
    )


def _png(fig) -> bytes:
    """The figure as an opaque PNG at 100 dpi, without a "Software" text."""
    fig.canvas.draw()
    # RGB, not savefig's RGBA: the charts are opaque, and a PNG without its alpha channel is
    # about a tenth smaller (the page embeds them) and quicker to compress
    width, height = fig.canvas.get_width_height()
    rgba = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    rgba.convert("RGB").save(buf, format="png", dpi=(100, 100))
    return buf.getvalue()


def _empty(message: str) -> bytes:
    fig = _figure((6, 2))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return _png(fig)


def week_label(week_start: str) -> str:
    """The one date style of every chart: the week's Monday, "Nov 24" (with the year on the
    first label and in January, "Jan 5 2027")."""
    day = dt.date.fromisoformat(str(week_start)[:10])
    return f"{day:%b} {day.day}"


def _date_axis(ax, weeks: list[str]) -> None:
    """Week start dates along x, horizontal, at most ``MAX_DATE_LABELS`` of them; a tick mark
    at every week."""
    step = max(1, math.ceil(len(weeks) / MAX_DATE_LABELS))
    labels = {}
    for i in range(0, len(weeks), step):
        label = week_label(weeks[i])
        if i == 0 or weeks[i][5:7] == "01":
            label += f"\n{weeks[i][:4]}"
        labels[i] = label
    ax.set_xticks(list(labels))
    ax.set_xticklabels(list(labels.values()), fontsize=8)
    ax.set_xlim(-0.5, len(weeks) - 0.5)
    # the unlabelled weeks' marks as one line of tick-shaped markers, drawn as matplotlib draws
    # a tick: a tick of its own for each week costs a dozen objects, kept in step at each draw
    if len(labels) == len(weeks):
        return
    tick = ax.xaxis.get_major_ticks()[0].tick1line
    ax.plot(
        [i for i in range(len(weeks)) if i not in labels],
        [0] * (len(weeks) - len(labels)),
        transform=ax.get_xaxis_transform(),
        clip_on=False,
        linestyle="none",
        marker=TICKDOWN,
        markersize=tick.get_markersize(),
        markeredgewidth=tick.get_markeredgewidth(),
        color=tick.get_color(),
        zorder=tick.get_zorder(),
    )


def family_title(family: str) -> str:
    """A panel title naming the rebadges a family's prices include:
    "Suzuki Carry (incl. Mazda Scrum, Nissan Clipper)"."""
    others = rebadges_of(family)
    return f"{family} (incl. {', '.join(others)})" if others else family


def weekly_points(part: pd.DataFrame, weeks: list) -> pd.DataFrame:
    """One drive's weekly medians in a family panel: x (the week's position in ``weeks``),
    median, p25, p75 and ``thin`` (fewer than ``MIN_TRUCKS`` trucks that week: its median is one
    or two trucks' prices, shown as a dot apart from the line and the ribbon)."""
    return pd.DataFrame(
        {
            "x": [weeks.index(w) for w in part["week_start"]],
            "median": part["median_usd"].astype(float).to_numpy(),
            "p25": part["p25_usd"].astype(float).to_numpy(),
            "p75": part["p75_usd"].astype(float).to_numpy(),
            "thin": (pd.to_numeric(part["listings"]).fillna(0) < MIN_TRUCKS).to_numpy(),
        }
    )


@_uncollected
def trend_chart(
    trends: pd.DataFrame, band: tuple[int, int], series: str = "asking", columns: int = 2
) -> bytes:
    """Weekly median (p25-p75 ribbon) per platform family, 4WD vs 2WD, band shaded; panels in
    ``columns`` columns (1 for a phone)."""
    rows = chart_series(trends, series)
    rows = rows.loc[rows["family"].astype("object").ne("unknown")]  # no model: no family panel
    if rows.empty:
        return _empty(f"No {series} prices in this period")
    families = sorted(rows["family"].unique())
    cols = min(columns, len(families))
    nrows = math.ceil(len(families) / cols)
    fig = _figure((6 * cols, 3.0 * nrows + 0.9 + 0.3 * (cols == 1)))
    axes = fig.subplots(nrows, cols, squeeze=False, sharex=True)
    weeks = sorted(rows["week_start"].unique())
    for ax, family in zip(axes.flat, families, strict=False):
        ax.axhspan(band[0], band[1], **BAND_SHADE)
        for drive, style in DRIVE_STYLE.items():
            part = rows.loc[(rows["family"] == family) & (rows["drive"] == drive)]
            part = part.loc[part["median_usd"].notna()].sort_values("week_start")
            if part.empty:
                continue
            points = weekly_points(part, weeks)
            firm = ~points["thin"]
            ax.fill_between(
                points["x"], points["p25"], points["p75"], where=firm, alpha=0.2, lw=0, **style
            )
            ax.plot(points["x"], points["median"].where(firm), marker="o", ms=3, **style)
            thin = points.loc[points["thin"]]
            if not thin.empty:  # a week of one or two trucks: a hollow dot, not a trend
                ax.plot(
                    thin["x"], thin["median"], ls="none", marker="o", ms=4, mfc="white", **style
                )
            if firm.sum() == 1:  # a single week has no ribbon to fill: the quartiles as a bar
                one = points.loc[firm]
                ax.vlines(one["x"], one["p25"], one["p75"], lw=6, alpha=0.3, **style)
        _title(ax, family_title(family), fontsize=10)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.grid(axis="y", alpha=0.3)
        _date_axis(ax, weeks)
        if cols == 1:  # one tall column (a phone): every panel says its dates
            ax.tick_params(labelbottom=True)
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    handles = [
        *(
            Line2D([], [], marker="o", ms=3, label=f"{d} median", **st)
            for d, st in DRIVE_STYLE.items()
        ),
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=4,
            mfc="white",
            color="#555555",
            label=f"fewer than {MIN_TRUCKS} trucks that week",
        ),
        Patch(color="#888888", alpha=0.3, label="middle half of prices (p25-p75)"),
        Patch(**BAND_SHADE, label=f"usual band {_money(band[0])}-{_money(band[1])}"),
    ]
    height = fig.get_figheight()
    fig.suptitle(
        f"Weekly {series} prices per truck family (week starting)",
        y=1 - 0.08 / height,
        va="top",
        fontsize=11,
    )
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=5 if cols > 1 else 2,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.38 / height),
    )
    _tight_layout(fig, rect=(0, 0, 1, 1 - 0.75 / height))
    return _png(fig)


def band_share_chart(
    trends: pd.DataFrame, band: tuple[int, int], series: str = "asking", width: float = 8
) -> bytes:
    """``band_share_charts`` in one width, in inches (5 for a phone)."""
    return band_share_charts(trends, band, series, widths=(width,))[0]


@_uncollected
def band_share_charts(
    trends: pd.DataFrame,
    band: tuple[int, int],
    series: str = "asking",
    widths: tuple[float, ...] = (8, 5),
) -> list[bytes]:
    """Share of trucks below / inside / above the band per week (all families), stacked bars:
    a PNG for each of ``widths`` in inches (5 for a phone), the bars drawn once."""
    rows = trends.loc[(trends["series"] == series) & (trends["grouping"] == ALL)]
    rows = rows.loc[rows["share_in"].notna()].sort_values("week_start")
    if rows.empty:
        return [_empty(f"No {series} prices in this period")] * len(widths)
    fig = _figure((widths[0], 3.2))
    ax = fig.subplots()
    x = list(range(len(rows)))
    labels = {
        "share_below": f"below {_money(band[0])}",
        "share_in": "inside the band",
        "share_above": f"above {_money(band[1])}",
    }
    bottom = [0.0] * len(rows)
    for col, label in labels.items():
        values = rows[col].astype(float).fillna(0).tolist()
        ax.bar(x, values, bottom=bottom, color=BAND_COLORS[col], label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    _date_axis(ax, list(rows["week_start"]))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    title = f"Share of {series} prices below, inside and above the band (week starting)"
    # both axes' limits are set, not autoscaled, so the picture at each width is the one drawn
    # anew at it (the trend chart's autoscaled prices keep a rounding of the size drawn at)
    pngs = []
    for width in widths:
        fig.set_size_inches(width, 3.2)
        _default_margins(fig)
        _title(ax, title if width >= 7 else title.replace(" (", "\n("), fontsize=10)
        _tight_layout(fig)
        pngs.append(_png(fig))
    return pngs


@_uncollected
def eligibility_chart(counts: pd.DataFrame) -> bytes:
    """Trucks for sale in Japan turning 25 (importable) per month ahead, from the watch list
    counts (``analysis.eligibility.upcoming_counts``: month "now" and "YYYY-MM" rows)."""
    ahead = counts.loc[counts["month"] != "now"]
    if ahead.empty or int(ahead["listings"].sum()) == 0:
        return _empty("No truck for sale turns 25 in the next 12 months")
    fig = _figure((8, 2.8))
    ax = fig.subplots()
    x = list(range(len(ahead)))
    ax.bar(x, ahead["listings"].astype(int), color="#4c78a8", width=0.7)
    labels = []
    for month in ahead["month"]:
        day = dt.date.fromisoformat(f"{month}-01")
        labels.append(f"{day:%b}\n{day.year}" if day.month == 1 or not labels else f"{day:%b}")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", alpha=0.3)
    _title(ax, "Trucks for sale that turn 25 (can be imported), by month", fontsize=10)
    _tight_layout(fig)
    return _png(fig)


#: The map's colours: a state without trucks, and the light and dark ends of the count scale.
MAP_EMPTY = "#eeeeee"
MAP_SCALE = ("#dbe9f6", "#08306b")


def _shade(share: float) -> tuple[float, float, float]:
    """A colour between the scale's light (share 0) and dark (share 1) ends."""
    light, dark = (matplotlib.colors.to_rgb(c) for c in MAP_SCALE)
    return tuple(a + (b - a) * share for a, b in zip(light, dark, strict=True))


@_uncollected
def states_map(counts: pd.DataFrame, *, buyer_state: str | None = None) -> bytes:
    """Active trucks per seller state (``analysis.road_rules.state_counts``: state, trucks) on
    a tile-grid map, one equal square per state with its code and count, darker for more
    trucks; the buyer's state outlined. The report keeps the table below it."""
    trucks = {str(s): int(n) for s, n in zip(counts["state"], counts["trucks"], strict=True)}
    if not trucks:
        return _empty("No active truck with a known seller state")
    tiles = states.tile_positions()
    rows = 1 + max(r for r, _ in tiles.values())
    cols = 1 + max(c for _, c in tiles.values())
    most = max(trucks.values())
    fig = _figure((cols * 0.62, rows * 0.62 + 0.5))
    ax = fig.subplots()
    for code, (row, col) in tiles.items():
        n = trucks.get(code, 0)
        share = math.log1p(n) / math.log1p(most) if n else 0.0
        color = _shade(share) if n else MAP_EMPTY
        mine = code == buyer_state
        ax.add_patch(
            Rectangle(
                (col + 0.04, rows - row - 0.96),
                0.92,
                0.92,
                facecolor=color,
                edgecolor="#111111" if mine else "white",
                linewidth=2.2 if mine else 0.5,
            )
        )
        ink = "white" if n and share > 0.55 else ("#222222" if n else "#999999")
        x, y = col + 0.5, rows - row - 0.5
        ax.text(x, y + 0.14, code, ha="center", va="center", fontsize=8, color=ink, weight="bold")
        if n:
            ax.text(x, y - 0.2, str(n), ha="center", va="center", fontsize=8, color=ink)
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)
    ax.set_aspect("equal")
    ax.axis("off")
    title = "Kei trucks for sale by seller's state (number on each square)"
    if buyer_state:
        title += f"; {buyer_state} outlined"
    _title(ax, title, fontsize=9)
    _tight_layout(fig)
    return _png(fig)


#: Size of a price sparkline, in CSS pixels.
SPARK_SIZE = (96, 24)


def sparkline_svg(
    points: list[tuple[dt.date, float]], as_of: dt.date, since: dt.date | None = None
) -> str:
    """An inline SVG of one listing's price over time, held to ``as_of``: dates on x from
    ``since`` (every deal on the same axis, so a longer line is a longer time listed; default
    the first point), price on y (cheaper lower), a dot at today's price, and a tooltip with
    the first and last prices. "" without a price."""
    # by date only: of two prices on one day (or both before ``since``) the later one holds
    ordered = sorted(
        ((day, float(price)) for day, price in points if price is not None), key=lambda p: p[0]
    )
    points = list(dict(ordered).items())
    if not points:
        return ""
    points.append((max(as_of, points[-1][0]), points[-1][1]))
    width, height = SPARK_SIZE
    pad = 3
    first_day = points[0][0]
    axis_from = min(since, first_day) if since else first_day
    span_days = max((points[-1][0] - axis_from).days, 1)
    low, high = min(p for _, p in points), max(p for _, p in points)
    spread = high - low

    def xy(day: dt.date, price: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (day - axis_from).days / span_days
        y = height / 2 if not spread else pad + (height - 2 * pad) * (high - price) / spread
        return round(x, 1), round(y, 1)

    # a step line: a price holds until the night it changes
    path: list[tuple[float, float]] = []
    for (day, price), (next_day, _) in zip(points, [*points[1:], points[-1]], strict=True):
        path += [xy(day, price), xy(next_day, price)]
    coords = " ".join(f"{x},{y}" for x, y in path)
    end_x, end_y = path[-1]
    start, last = points[0][1], points[-1][1]
    color = "#1f6f3f" if last < start else ("#b05a00" if last > start else "#555")
    words = f"${start:,.0f} on {first_day:%b} {first_day.day} to ${last:,.0f} now"
    return (
        f'<svg class=spark width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="price {words}"><title>{words}</title>'
        f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"/>'
        f'<circle cx="{end_x}" cy="{end_y}" r="2" fill="{color}"/></svg>'
    )
