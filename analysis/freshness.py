"""How fresh a report's data is: the banner at the top of the page, and the CLI's warnings.

A night on which sources failed must not read as a quiet market. From the crawl runs recorded
by the end of the as-of date (``analysis.load.read_runs_until``), and their recorded verdicts
(``pipelines.run_health``, never judged again here), :func:`freshness` works out:

- the last crawl night by then, and whether the report's date is after it (no crawl since: a
  date in the future, or a scheduler that stopped);
- the sources whose last run that night failed or was blocked: their listings and prices are
  those of their last good night, and nothing of theirs was marked gone;
- the sources whose run that night was complete but looked wrong (unhealthy): nothing of
  theirs was marked gone.

:func:`warnings` says it in plain sentences (the CLI prints them), :func:`banner_html` in the
page. Pure functions: the same runs give the same words, so a past report regenerated later
says what it said that night.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

import pandas as pd

from keitrucks.core import tables

#: Health statuses of a run that brought no fresh data for its source.
NO_FRESH_DATA = ("failed", "blocked")


@dataclass(frozen=True)
class SourceProblem:
    source: str
    #: failed, blocked or unhealthy (the run's recorded verdict).
    status: str
    reason: str
    #: the night of the source's last healthy run by then; None: never.
    last_good: dt.date | None


@dataclass(frozen=True)
class Freshness:
    as_of: dt.date
    #: the last night with any crawl run by the end of ``as_of``; None: no run at all.
    last_night: dt.date | None
    #: sources whose last run of ``last_night`` failed or was blocked.
    stale: tuple[SourceProblem, ...] = ()
    #: sources whose last run of ``last_night`` was complete but unhealthy.
    partial: tuple[SourceProblem, ...] = ()
    #: the sources crawled on ``last_night``.
    crawled: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.stale or self.partial or self.no_crawl_since)

    @property
    def no_crawl_since(self) -> bool:
        """The report's date is after the last crawl night (or nothing was ever crawled)."""
        return self.last_night is None or self.as_of > self.last_night


def _status(run: pd.Series) -> str:
    status = run.get("health_status")
    if isinstance(status, str) and status:
        return status
    if run.get("status") in ("running", "abandoned", "failed"):
        return "failed"
    if run.get("status") == "blocked":
        return "blocked"
    return "ok" if run.get("healthy") else "unhealthy"


def freshness(runs: pd.DataFrame, as_of: dt.date) -> Freshness:
    """What the runs recorded by the end of ``as_of`` say about the freshness of its report.

    ``runs``: ``analysis.load.read_runs_until`` (id, source, as_of as UTC times, status,
    health_status, health_reason, healthy), oldest first."""
    if runs.empty:
        return Freshness(as_of, None)
    nights = runs["as_of"].dt.date
    last_night = nights.max()
    tonight = runs.loc[nights == last_night].sort_values("id").groupby("source").tail(1)
    good = runs.loc[runs["healthy"].fillna(0).astype(bool)]
    last_good = good.assign(night=good["as_of"].dt.date).groupby("source")["night"].max()
    stale, partial = [], []
    for run in tonight.sort_values("source").to_dict("records"):
        status = _status(pd.Series(run))
        if status == "ok":
            continue
        problem = SourceProblem(
            run["source"],
            status,
            str(run.get("health_reason") or status),
            last_good.get(run["source"]),
        )
        (stale if status in NO_FRESH_DATA else partial).append(problem)
    return Freshness(
        as_of, last_night, tuple(stale), tuple(partial), tuple(sorted(tonight["source"]))
    )


def _name(source: str) -> str:
    return tables.source_names().get(source, source)


def _names(problems) -> str:
    return ", ".join(_name(p.source) for p in problems)


def warnings(found: Freshness) -> list[str]:
    """The banner's sentences, most important first; [] when the data is fresh."""
    if found.last_night is None:
        return [
            f"No crawl recorded by {found.as_of}: there is no data for this date yet "
            "(every number below is empty)."
        ]
    lines = []
    night = found.last_night.isoformat()
    if found.no_crawl_since:
        lines.append(
            f"No crawl after {night}, and this report is dated {found.as_of}: the listings and "
            f"prices below are as of {night}, not {found.as_of}."
        )
    if found.stale:
        everyone = len(found.stale) == len(found.crawled)
        reasons = "; ".join(f"{_name(p.source)}: {p.status}, {p.reason}" for p in found.stale)
        head = (
            f"No fresh data on {night}: every source crawled failed or was blocked ({reasons})."
            if everyone
            else f"No fresh data from {_names(found.stale)} on {night} ({reasons})."
        )
        dates = sorted({p.last_good for p in found.stale if p.last_good is not None})
        if len(dates) == 1 and all(p.last_good is not None for p in found.stale):
            since = f"as of {dates[0]}, their last good crawl"
        else:
            since = (
                "as of each one's last good crawl ("
                + ", ".join(f"{_name(p.source)} {p.last_good or 'never'}" for p in found.stale)
                + ")"
            )
        what = "The listings and prices below are" if everyone else "Their listings and prices are"
        lines.append(
            f"{head} {what} {since}; nothing of theirs was marked gone, and tonight's new "
            "listings and price changes from them are unknown."
        )
    if found.partial:
        reasons = "; ".join(f"{_name(p.source)}: {p.reason}" for p in found.partial)
        lines.append(
            f"Incomplete crawl of {_names(found.partial)} on {night} ({reasons}): nothing of "
            "theirs was marked gone."
        )
    return lines


STYLE = (
    ".freshness{background:#fff4e5;border:1px solid #e0a040;border-radius:6px;"
    "padding:.4em .8em;margin:.8em 0}.freshness p{margin:.3em 0}"
)


def banner_html(found: Freshness) -> str:
    """The warning box at the top of the report; "" when the data is fresh."""
    lines = warnings(found)
    if not lines:
        return ""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f"<style>{STYLE}</style><div class=freshness role=alert>{body}</div>"
