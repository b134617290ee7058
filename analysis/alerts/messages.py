"""The text of alerts: one alert as Markdown lines, a message (digest) and the night's digest
file, with scraped text made inert (no HTML, markup, control characters or bidi overrides)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.alerts.frames import present
from analysis.alerts.settings import KIND_TITLES, KINDS, LOCAL_CHANNEL
from analysis.frames import usd
from analysis.road_rules import seller_says
from keitrucks.core import tables

# -- messages -----------------------------------------------------------------------------------

#: Characters that could start emphasis, code or a link inside a line of Markdown.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$")


#: An ANSI escape sequence (CSI ... final byte, or ESC and one character).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-_])")
#: C0/C1 control characters: a terminal showing the digest would run them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Bidi embeddings, overrides and isolates (U+202E flips the rest of the line).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def plain_text(value: Any) -> str:
    """One line with no HTML, control characters, ANSI escapes or bidi controls: Apprise
    renders Markdown to HTML for some channels (e-mail), and the digest is read in terminals."""
    text = _BIDI.sub("", _CONTROL.sub(" ", _ANSI.sub("", str(value))))
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def md_text(value: Any) -> str:
    """Scraped text made inert inside a Markdown line (no markup, links or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", plain_text(value))


def format_alert(alert: Mapping[str, Any]) -> str:
    """One alert as a few Markdown lines: what, the facts, why, the link."""
    title = KIND_TITLES.get(alert["kind"], alert["kind"])
    if alert["kind"] == "source_unhealthy":
        return f"- **{title}**: {plain_text(alert['reason'])}"
    facts = [price_text(alert)]
    what = " ".join(str(alert[k]) for k in ("year", "model", "model_code") if present(alert.get(k)))
    if what:
        facts.append(what)
    if present(alert.get("is_4wd")):
        facts.append("4WD" if alert["is_4wd"] else "2WD")
    if present(alert.get("mileage_mi")):
        facts.append(f"{int(alert['mileage_mi']):,} mi")
    if present(alert.get("location")):
        facts.append(str(alert["location"]))
    source = str(alert.get("source") or "")
    facts.append(tables.source_names().get(source, source))  # "US dealer sites", not its id
    name = alert.get("title") if present(alert.get("title")) else alert.get("listing_id")
    lines = [
        f"- **{title}**: {md_text(name)}",
        f"  {md_text(' · '.join(f for f in facts if f))}",
        f"  Why: {plain_text(alert['reason'])}",
    ]
    if present(alert.get("road_claims")):
        lines.append(f"  {md_text(seller_says(alert['road_claims']))}")
    url = alert.get("url")
    if isinstance(url, str) and _SAFE_URL.match(url):
        lines.append(f"  <{url}>")
    if alert.get("retry_of"):
        lines.append(f"  (first raised for {alert['retry_of']}; resent after a failed delivery)")
    return "\n".join(lines)


def price_text(alert: Mapping[str, Any]) -> str:
    """The alert's price with what it is, e.g. "Japan FOB $2,530" ("" without a price): an
    exporter's FOB price shown bare reads as a US price of a truck that costs twice that."""
    if not present(alert.get("price_usd")):
        return ""
    label = alert.get("price_label")
    return f"{label} {usd(alert['price_usd'])}" if present(label) else usd(alert["price_usd"])


def render_message(alerts: Sequence[Mapping[str, Any]], *, day: dt.date) -> tuple[str, str]:
    """(title, Markdown body) of a digest of ``alerts``."""
    new = sum(1 for a in alerts if not a.get("retry_of"))
    resent = len(alerts) - new
    counts = f"{new} new" + (f", {resent} resent" if resent else "")
    title = f"Kei truck alerts {day.isoformat()}: {counts}"
    if len(alerts) == 1:
        only = alerts[0]
        title = f"Kei truck alert: {KIND_TITLES.get(only['kind'], only['kind'])}"
        if present(only.get("price_usd")):
            title += f", {price_text(only)}"
    body = "\n".join(format_alert(a) for a in alerts)
    return title, body


def render_digest(alerts: Sequence[Mapping[str, Any]], *, day: dt.date) -> str:
    """The night's digest file: every alert raised for ``day``, with where it was delivered."""
    lines = [f"# Kei truck alerts, {day.isoformat()}", ""]
    if not alerts:
        lines.append("No new alerts tonight.")
    for kind in KINDS:
        group = [a for a in alerts if a["kind"] == kind]
        if not group:
            continue
        lines += [f"## {KIND_TITLES[kind]} ({len(group)})", ""]
        for alert in group:
            lines.append(format_alert(alert))
            deliveries = alert.get("deliveries") or {}
            if deliveries:
                lines.append("  Delivery: " + delivery_text(deliveries))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def delivery_text(deliveries: Mapping[str, str]) -> str:
    """Where an alert went, e.g. "json#1a2b3c4d sent, ntfy#9f8e7d6c failed"; an alert raised
    without any channel says it was sent nowhere."""
    if set(deliveries) == {LOCAL_CHANNEL}:
        return "not sent anywhere (no notification channel configured)"
    return ", ".join(f"{c} {s}" for c, s in sorted(deliveries.items()) if c != LOCAL_CHANNEL)


def echo_line(alert: Mapping[str, Any]) -> str:
    price = f" {price_text(alert)}" if present(alert.get("price_usd")) else ""
    where = (
        f"{alert['source']}:{alert['listing_id']}" if alert.get("listing_id") else alert["source"]
    )
    return f"{alert['kind']:<16} {where}{price}: {alert['reason']}"
