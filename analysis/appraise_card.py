"""An appraisal (``analysis.appraise.appraise``'s dict) as a card a buyer reads in ten seconds:
plain text for the terminal (``card_text``) and an HTML fragment for the web page
(``card_html``). The verdict comes first, then what the truck is, then the evidence."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from analysis.deals import MATCHED_WHEN_KNOWN

#: Why a price whose terms are not stated (a yen price without FOB, C&F or CIF) has no fair price.
UNSTATED_TERMS = (
    "a price without its terms (FOB, C&F or CIF) is not compared with US asking prices; "
    "ask the seller which it is"
)
#: Listings that are no truck to appraise, in words (the normalizer gives them no vehicle fields).
NOT_A_TRUCK = {
    "parts": "Parts listing, not rated as a truck",
    "wanted": "Wanted ad, not a truck for sale",
    "toy": "Toy or model, not a truck",
}
#: The notes (``analysis.appraise.NOTE_WORDS``) a deal's verdict names as things to check.
CAUTION_NOTES = ("the year", "the listing says both", "the mileage unit")
#: Comparables shown on a text card (all of them are in --json and on the web page).
CARD_COMPARABLES = 6


def _miles(value: Any) -> str | None:
    if value is None:
        return None
    return f"{int(value):,} mi"


def _usd(value: Any) -> str:
    return "?" if value is None else f"${int(value):,}"


#: The note of an ad whose 4WD does not work ("4x4 doesn't work"): its drive is unknown.
FOUR_WD_NOT_WORKING = "the listing says its 4WD does not work"


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "not stated")


def headline(a: Mapping[str, Any]) -> str:
    """What the truck is, in one line: "1996 Honda Acty HA4 4WD, 41,000 mi, US asking $3,500,
    Knoxville, TN"."""
    t = a["truck"]
    kind = t.get("kind")
    if kind in NOT_A_TRUCK:  # the normalizer reads no model, year or drive from these
        title = str(t.get("title") or "").strip()
        title = title if len(title) <= 70 else title[:69].rstrip() + "…"
        what = f'{NOT_A_TRUCK[kind]}: "{title}"' if title else NOT_A_TRUCK[kind]
        return ", ".join(p for p in (what, _price_words(t), _place_words(t)) if p)
    drive = {True: "4WD", False: "2WD"}.get(t.get("is_4wd"), "drive not stated")
    if t.get("is_4wd") is None and FOUR_WD_NOT_WORKING in (a.get("notes") or ()):
        drive = "4WD not working"
    what = " ".join(
        str(v) for v in (t.get("year"), t.get("model") or t.get("make"), t.get("model_code")) if v
    )
    if not t.get("model"):
        what = (what + " " if what else "") + "(model not recognised)"
    if kind and kind != "kei_truck":
        what += f" ({kind.replace('_', ' ')})"
    miles = _miles(t.get("mileage_mi")) or "mileage not stated"
    parts = [what, drive, miles, _price_words(t), _place_words(t)]
    return ", ".join(p for p in parts if p)


def _price_words(t: Mapping[str, Any]) -> str:
    if t.get("currency") == "JPY" and t.get("price") is not None and not t.get("price_label"):
        return f"¥{t['price']:,.0f} in Japan (about {_usd(t.get('price_usd'))}, terms not stated)"
    if t.get("price_usd") is None:
        return "no price"
    if t.get("currency") not in (None, "USD", "JPY") and t.get("price") is not None:
        label = str(t.get("price_label") or "price").replace("US ", "")
        return f"{label} {t['price']:,.0f} {t['currency']} (about {_usd(t['price_usd'])})"
    return f"{t.get('price_label') or 'price'} {_usd(t.get('price_usd'))}"


def _place_words(t: Mapping[str, Any]) -> str | None:
    return t.get("location_raw") or (f"{t['state']}" if t.get("state") else None)


def verdict(a: Mapping[str, Any]) -> str:
    """ "DEAL: ..." with the alert's figures (and what to check first, ``cautions``), or "NOT A
    DEAL: <first reasons>"."""
    fair = a.get("fair_price") or {}
    if a["deal"]:
        if fair.get("rated"):
            deal = (
                f"DEAL: {fair['discount_pct']:.0f}% under its fair price "
                f"{_usd(fair['fair_price_usd'])} ({fair['n_comparables']} comparables)"
            )
        else:
            deal = "DEAL: under the band floor (too few comparables to rate it)"
        checks = cautions(a)
        return deal + ("; but check first: " + "; ".join(checks) if checks else "")
    why, fair_words = fair.get("why"), fair_line(a) if fair else None
    reasons = [fair_words if r == why and fair_words else r for r in a["reasons"][:2]]
    return "NOT A DEAL: " + "; ".join(reasons or ["the alert rule does not raise it"])


def cautions(a: Mapping[str, Any]) -> list[str]:
    """What a deal's own ad contradicts, to check before driving out: a year its chassis code
    rules out, a US truck too young to have been imported (25 years) — a cheap "1996 Carry
    DA63T" is how a newer truck imported against the rule is sold."""
    out = [n for n in a.get("notes") or () if n.startswith(CAUTION_NOTES)]
    eligibility = a.get("eligibility") or {}
    if eligibility.get("eligible_25y") is False:
        out.append(f"{eligibility.get('words')}: ask for its import papers")
    return out


def fair_line(a: Mapping[str, Any]) -> str:
    fair = a.get("fair_price")
    if not fair:
        return "not rated: " + (a["flags"].get("problems") or "not a truck the tracker scores")
    why = str(fair.get("why"))
    truck = a["truck"]
    if (
        fair.get("rated") is False
        and truck.get("price_usd") is not None
        and not truck.get("price_basis")
    ):  # it read "unrated: 0 comparable 4WD Suzuki Carry trucks" beside a market of them
        return f"not rated: {UNSTATED_TERMS}"
    shared = _stated_matches(a["truck"])
    priced = fair.get("value_usd") is not None and fair.get("basis") is not None
    if fair.get("rated") is False and priced and shared:
        # unrated for want of comparables ("0 comparable 4WD Daihatsu Hijet trucks" beside a
        # market of them), not for want of a price or its terms: say what narrowed them
        why += f"; a comparable must also have the {shared} this ad states, or not say"
    return why


def _stated_matches(truck: Mapping[str, Any]) -> str | None:
    """What the ad states that comparables must share when they state it too (the deal
    scoring's ``MATCHED_WHEN_KNOWN``), in words: "dump body", "mileage band and jumbo cab";
    None when it states none of them."""
    words = []
    for name in MATCHED_WHEN_KNOWN:
        if name == "mileage_band":  # the band of the stated mileage
            if truck.get("mileage_mi") is not None:
                words.append("mileage band")
        elif truck.get(name):
            words.append(f"{str(truck[name]).replace('_', ' ')} {name}")
    if not words:
        return None
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _flags(a: Mapping[str, Any]) -> str:
    f = a["flags"]
    title = (f.get("title_status") or "not stated").replace("_", " ")
    if not f.get("title_status") and f.get("title_held"):
        title = "in hand (clean or branded not said)"
    pending = "yes" if f.get("sale_pending") else "not said"
    if f.get("status") in ("sold", "ended"):  # "sale pending: not said" beside "sold"
        pending = f"no, {f['status']}"
    return f"runs: {_yes_no(f.get('runs'))}, title: {title}, sale pending: {pending}"


def _landed(a: Mapping[str, Any]) -> str | None:
    landed = a.get("landed")
    if not landed:
        return None
    if landed.get("total_usd") is None:
        return f"no estimate: {landed.get('problem')}"
    return f"≈ {_usd(landed['total_usd'])} landed in the US ({landed['quoted']})"


def _road(a: Mapping[str, Any]) -> str:
    rule = a.get("road_rule")
    if not rule:
        return "set [buyer] state in your configuration to see your state's rule"
    return rule["line"]


def _comparable_line(c: Mapping[str, Any]) -> str:
    year = c.get("year") or "?"
    miles = _miles(c.get("mileage_mi")) or "mileage ?"
    return (
        f"{_usd(c.get('price_usd')):>8}  {year} {miles:<11} {c['source']} "
        f"seen {c.get('seen') or '?'}  {c.get('url') or c['listing_id']}"
    )


def fact_rows(a: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The card's facts as (name, words) in the order both the text and the web card show them;
    a fact without words is left out by each."""
    return [
        ("Condition", _flags(a)),
        ("Fair price", fair_line(a)),
        ("Import", a["eligibility"]["words"]),
        ("Landed", _landed(a)),
        ("Road", _road(a)),
        ("Seller says", _claim(a)),
    ]


def card_text(a: Mapping[str, Any]) -> str:
    """The card as lines of plain text."""
    lines = [headline(a), verdict(a), ""]
    rows = [*fact_rows(a), ("Market", a["market"].get("empty"))]
    lines += [f"{name:<11} {value}" for name, value in rows if value]
    comps = a.get("comparables") or []
    if comps:
        lines.append(f"Comparables ({len(comps)}):")
        lines += ["  " + _comparable_line(c) for c in comps[:CARD_COMPARABLES]]
        if len(comps) > CARD_COMPARABLES:
            lines.append(f"  ... and {len(comps) - CARD_COMPARABLES} more (--json lists them)")
    if not a["deal"] and len(a["reasons"]) > 2:
        lines.append("Also: " + "; ".join(a["reasons"][2:]))
    if a.get("notes"):
        lines.append("Notes: " + "; ".join(a["notes"]))
    lines.append("Ask the seller:")
    lines += [f"  - {q['question']}" for q in a["questions"]]
    return "\n".join(lines)


def _claim(a: Mapping[str, Any]) -> str | None:
    claim = a.get("seller_claim")
    if not claim:
        return None
    text = "; ".join(map(str, claim)) if isinstance(claim, list | tuple) else str(claim)
    return f'"{text}" (the seller\'s claim, not checked)'


def card_html(
    a: Mapping[str, Any], row_link: Callable[[Mapping[str, Any]], str] | None = None
) -> str:
    """The card as an HTML fragment; ``row_link(comparable)`` gives the link to a comparable's
    row in the database (its own page's URL is linked too)."""
    e = html.escape
    cls = "deal" if a["deal"] else "nodeal"
    out = [
        f'<section class="appraisal {cls}">',
        f'<h2 class="headline">{e(headline(a))}</h2>',
        f'<p class="verdict">{e(verdict(a))}</p>',
        "<table class='facts'>",
    ]
    out += [f"<tr><th>{e(n)}</th><td>{e(v)}</td></tr>" for n, v in fact_rows(a) if v]
    if a.get("notes"):
        out.append(f"<tr><th>Notes</th><td>{e('; '.join(a['notes']))}</td></tr>")
    if not a["deal"] and a["reasons"]:
        items = "".join(f"<li>{e(r)}</li>" for r in a["reasons"])
        out.append(f"<tr><th>Why not</th><td><ul>{items}</ul></td></tr>")
    out.append("</table>")
    comps = a.get("comparables") or []
    if comps:
        out.append(f"<h3>Comparables ({len(comps)})</h3><table class='comparables'>")
        out.append(
            "<tr><th>price</th><th>year</th><th>miles</th><th>seen</th><th>listing</th></tr>"
        )
        for c in comps:
            label = f"{c['source']}:{c['listing_id']}"
            link = e(row_link(c)) if row_link else None
            row = f'<a href="{link}">{e(label)}</a>' if link else e(label)
            if c.get("url"):
                row += f' (<a href="{e(c["url"])}" rel="noreferrer">page</a>)'
            out.append(
                f"<tr><td>{e(_usd(c.get('price_usd')))}</td><td>{e(str(c.get('year') or '?'))}"
                f"</td><td>{e(_miles(c.get('mileage_mi')) or '?')}</td>"
                f"<td>{e(c.get('seen') or '?')}</td><td>{row}</td></tr>"
            )
        out.append("</table>")
    out.append("<h3>Ask the seller</h3><ul class='questions'>")
    out += [f"<li>{e(q['question'])}</li>" for q in a["questions"]]
    out.append("</ul></section>")
    return "\n".join(out)
