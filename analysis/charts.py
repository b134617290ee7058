"""PNG charts of the weekly trends (matplotlib, Agg backend: no display needed).

``trend_chart``: weekly median asking price with the p25-p75 ribbon, one panel per platform
family, 4WD and 2WD as separate lines, the price band shaded. ``band_share_chart``: the share
of trucks below, inside and above the band per week. Both return PNG bytes, so the report can
write them to files and embed them in the HTML page.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis.trends import ALL, chart_series  # noqa: E402

DRIVE_STYLE = {"4WD": {"color": "#1f6f3f"}, "2WD": {"color": "#b05a00"}}
BAND_COLORS = {"share_below": "#4c78a8", "share_in": "#59a14f", "share_above": "#e15759"}
_DOLLARS = FuncFormatter(lambda v, _: f"${v / 1000:.0f}k")


def _money(value: int) -> str:
    return rf"\${value:,}"  # escaped: a bare "$" starts matplotlib's math mode


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _empty(message: str) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return _png(fig)


def trend_chart(trends: pd.DataFrame, band: tuple[int, int], series: str = "asking") -> bytes:
    """Weekly median (p25-p75 ribbon) per platform family, 4WD vs 2WD, band shaded."""
    rows = chart_series(trends, series)
    if rows.empty:
        return _empty(f"No {series} prices in this period")
    families = sorted(rows["family"].unique())
    cols = min(2, len(families))
    nrows = math.ceil(len(families) / cols)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(6 * cols, 3.2 * nrows), squeeze=False, sharex=True
    )
    weeks = sorted(rows["week_start"].unique())
    for ax, family in zip(axes.flat, families, strict=False):
        ax.axhspan(band[0], band[1], color="#dddddd", alpha=0.6, lw=0, label="band")
        for drive, style in DRIVE_STYLE.items():
            part = rows.loc[(rows["family"] == family) & (rows["drive"] == drive)]
            part = part.loc[part["median_usd"].notna()].sort_values("week_start")
            if part.empty:
                continue
            x = [weeks.index(w) for w in part["week_start"]]
            ax.fill_between(
                x,
                part["p25_usd"].astype(float),
                part["p75_usd"].astype(float),
                alpha=0.2,
                lw=0,
                **style,
            )
            ax.plot(x, part["median_usd"].astype(float), marker="o", label=drive, **style)
            if len(x) == 1:  # a single week has no ribbon to fill: show the quartiles as a bar
                ax.vlines(
                    x,
                    part["p25_usd"].astype(float),
                    part["p75_usd"].astype(float),
                    lw=6,
                    alpha=0.3,
                    **style,
                )
        ax.set_title(family, fontsize=10)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.set_xticks(range(len(weeks)))
        ax.set_xticklabels([w[5:] for w in weeks], rotation=90, fontsize=7)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    fig.suptitle(
        f"Weekly median {series} price (p25-p75), band {_money(band[0])}-{_money(band[1])}"
    )
    fig.tight_layout()
    return _png(fig)


def band_share_chart(trends: pd.DataFrame, band: tuple[int, int], series: str = "asking") -> bytes:
    """Share of trucks below / inside / above the band per week (all families), stacked bars."""
    rows = trends.loc[(trends["series"] == series) & (trends["grouping"] == ALL)]
    rows = rows.loc[rows["share_in"].notna()].sort_values("week_start")
    if rows.empty:
        return _empty(f"No {series} prices in this period")
    fig, ax = plt.subplots(figsize=(8, 3.2))
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
    ax.set_xticks(x)
    ax.set_xticklabels(rows["week"], rotation=90, fontsize=7)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"Share of {series} prices against the band, per week")
    fig.tight_layout()
    return _png(fig)
