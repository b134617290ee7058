"""The buyer's state road rule beside the market: for the report, the alerts and the views.

A kei truck that can be imported may still not be registrable where the buyer lives. The
configuration names the buyer's state (``[buyer] state = "TN"``); ``keitrucks.core.states``
holds each state's rule with its source, date and confidence. These pure functions put the two
beside the listings: the rule as one line a buyer reads, the active trucks counted by the
seller's state with that state's rule, and whether a watched search's ``road_status`` wish is
met. Without a buyer state, a truck's rule is its seller's state's, labelled as such.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from keitrucks.core import states


def _buyer(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (config or {}).get("buyer") or {}


def rules_in_force(config: Mapping[str, Any] | None) -> dict[str, states.StateRule]:
    """The shipped rules with the user's own rows in their place."""
    return states.rules_with(_buyer(config).get("rule_overrides") or ())


def buyer_view(config: Mapping[str, Any] | None, today: dt.date) -> states.RuleView | None:
    """The buyer's state's rule as read on ``today``; None without a buyer state."""
    buyer = _buyer(config)
    state = buyer.get("state")
    if not state:
        return None
    rule = rules_in_force(config).get(str(state).upper())
    months = int(buyer.get("stale_months") or states.DEFAULT_STALE_MONTHS)
    return states.view(rule, today=today, stale_months=months) if rule else None


def rule_line(view: states.RuleView | None, *, whose: str = "your state") -> str:
    """One line for an alert or a card: the rule, its limit, source date, cautions, DMV."""
    if view is None:
        return "road rules: set [buyer] state to see your state's rule"
    return f"{whose} {view.line()}; {states.CHECK_WITH_DMV}"


def road_use_allowed(
    wanted: Iterable[str] | None, config: Mapping[str, Any] | None, today: dt.date
) -> bool:
    """Whether the buyer's state's status is one of ``wanted`` (a watched search's
    ``road_status`` list). No wish: True. A wish without a buyer state, or a rule not yet in
    force, is not met: a buyer who asked for registrable states gets no alert on a guess."""
    wanted = list(wanted or ())
    if not wanted:
        return True
    view = buyer_view(config, today)
    if view is None:
        return False
    starts = view.rule.effective_from
    if starts and starts > today.isoformat():
        return False
    return view.rule.road_status in wanted


#: What ``seller_says`` adds: a seller's road claim is never a fact.
CLAIM_NOTE = "their claim, not a fact"


def seller_says(claims: str | None) -> str:
    """A listing's ``road_claims`` as a buyer reads them beside the state's rule."""
    return f"seller says: {claims} ({CLAIM_NOTE})" if claims else ""


def claim_counts(claims: pd.Series) -> str:
    """The road claims of several listings, most said first: "street legal (3), plated (1)"."""
    phrases = claims.dropna().astype(str).str.split("; ").explode()
    phrases = phrases.loc[phrases.ne("")]
    if phrases.empty:
        return ""
    counts = phrases.value_counts()
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{phrase} ({n})" for phrase, n in order)


def state_counts(
    listings: pd.DataFrame, config: Mapping[str, Any] | None, today: dt.date
) -> pd.DataFrame:
    """Active kei trucks per seller state, with each state's road status and source date, and
    what their sellers claim (``claim_counts`` of their ``road_claims``)."""
    columns = ["state", "trucks", "road_status", "rule", "source_date", "confidence", "claims"]
    if listings.empty or "state" not in listings.columns:
        return pd.DataFrame(columns=columns)
    active = listings[[c for c in ("state", "status", "kind", "road_claims") if c in listings]]
    if "status" in active.columns:
        active = active.loc[active["status"].eq("active")]
    if "kind" in active.columns:
        active = active.loc[active["kind"].eq("kei_truck")]
    known = active["state"].dropna()
    if known.empty:
        return pd.DataFrame(columns=columns)
    counts = known.value_counts().rename_axis("state").reset_index(name="trucks")
    said = active["road_claims"] if "road_claims" in active.columns else None
    rules = rules_in_force(config)
    months = int(_buyer(config).get("stale_months") or states.DEFAULT_STALE_MONTHS)
    rows = []
    for state, trucks in counts.itertuples(index=False):
        rule = rules.get(state)
        view = states.view(rule, today=today, stale_months=months) if rule else None
        rows.append(
            {
                "state": state,
                "trucks": int(trucks),
                "road_status": rule.road_status if rule else None,
                "rule": view.words if view else None,
                "source_date": rule.source_date if rule else None,
                "confidence": rule.confidence if rule else None,
                "claims": claim_counts(said.loc[active["state"].eq(state)])
                if said is not None
                else "",
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["trucks", "state"], ascending=[False, True], ignore_index=True)


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def section_html(
    view: states.RuleView | None,
    counts: pd.DataFrame,
    *,
    listings_without_state: int = 0,
    figure: str = "",
) -> str:
    """The report's "Where can I drive it?" section: the buyer's rule, then trucks by state
    (``figure``, the map's HTML, above their table)."""
    parts = []
    if view is None:
        parts.append(
            "<p>Set <code>[buyer] state</code> in your configuration to see your state's road "
            "rule for kei trucks here and in every alert.</p>"
        )
    else:
        rule = view.rule
        source = (
            f'<a href="{_esc(rule.source_url)}">source ({_esc(rule.source_type or "unknown")})</a>'
            if rule.source_url and rule.source_url.startswith(("http://", "https://"))
            else _esc(rule.source_type or "no source")
        )
        bits = [f"<b>{_esc(rule.state)}</b>: {_esc(view.words)}"]
        if view.limit:
            bits.append(_esc(view.limit))
        when = states.source_when(rule)
        undated = states.UNDATED_SOURCE in view.cautions
        dated = f"<span class=warn>{_esc(when)}</span>" if undated else f"dated {_esc(when)}"
        bits.append(f"{source}, {dated}, confidence {_esc(rule.confidence)}")
        # an undated source is said once, where its date would be
        cautions = [c for c in view.cautions if c != states.UNDATED_SOURCE]
        if cautions:
            bits.append(f"<span class=warn>{_esc('; '.join(cautions))}</span>")
        parts.append(f"<p>Your state: {'; '.join(bits)}.</p>")
    parts.append(
        f"<p class=muted>Guidance, not legal advice: {_esc(states.CHECK_WITH_DMV)}. A seller's "
        "&ldquo;street legal&rdquo; is their claim, not a fact.</p>"
    )
    if counts.empty:
        parts.append("<p class=muted>No active truck with a known seller state.</p>")
    else:
        if figure:
            parts.append(figure)
        rows = "".join(
            f"<tr><td>{_esc(r.state)}</td><td class=num>{int(r.trucks)}</td>"
            f"<td>{_esc(r.rule or 'no rule on file')}</td>"
            f"<td>{_esc(r.source_date or 'n.d.')} ({_esc(r.confidence or '-')})</td>"
            f"<td>{_esc(r.claims or '-')}</td></tr>"
            for r in counts.itertuples(index=False)
        )
        parts.append(
            "<div class=scroll><table><thead><tr><th>Seller's state</th><th>Trucks for sale</th>"
            "<th>That state's rule</th><th>Source date</th>"
            "<th>What its sellers say (claims, not facts)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
    if listings_without_state:
        parts.append(
            f"<p class=muted>{listings_without_state} active trucks do not say where they are.</p>"
        )
    return "\n".join(parts)
