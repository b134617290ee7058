"""Price, currency and US dollars (dated FX table), the price band, and the listing's status.

Currency symbols come from ``currencies.csv``, price and status phrases from ``terms.csv`` and
the rates from ``keitrucks.core.tables.fx_for`` (the one FX lookup, shared with the landed cost).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from price_parser import Price

from keitrucks.core import tables
from keitrucks.core.config import DEFAULT_CONFIG
from pipelines.normalize.text import (
    ASCII_RIGHT,
    Vocabulary,
    clean_text,
    term_rows,
    terms_by_value,
    text_cache,
    words,
)

_PRICE_TERMS = terms_by_value("price", ("any",))
_ON_REQUEST = words(_PRICE_TERMS["on_request"])
_PRICE_AFTER = {
    value: re.compile(r"^\s*(?:" + pattern + ")" + ASCII_RIGHT, re.I)
    for value, pattern in terms_by_value("price", "after").items()
}
_PRICE_BEFORE = {
    value: re.compile(r"(?:" + pattern + r")\s*[:：]?\s*$", re.I)
    for value, pattern in terms_by_value("price", "before").items()
}
_CURRENCY_WORDS = tables.currency_words()
_AMOUNT = re.compile(
    r"(?P<cur>US\s?\$|USD|JPY|¥|\$)?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s?(?P<mult>k|万|grand)?(?P<yen>\s?円)?" + ASCII_RIGHT,
    re.IGNORECASE,
)
_PLACEHOLDER_AMOUNTS = frozenset(
    {0, 1, 12, 123, 1234, 12345, 123456, 1234567, 12345678, 123456789, 1234567890}
)


class PriceValue(NamedTuple):
    price: int | None
    currency: str | None
    #: why there is no price: on_request, monthly, down, placeholder, implausible, unparsed.
    problem: str | None


_NO_PRICE = PriceValue(None, None, None)


def currency_of(symbol: str | None) -> str | None:
    if not symbol:
        return None
    key = symbol.upper().replace(" ", "")
    return _CURRENCY_WORDS.get(key) or _CURRENCY_WORDS.get(key.rstrip("$") + "$")


def _is_placeholder(amount: int) -> bool:
    digits = str(amount)
    return amount in _PLACEHOLDER_AMOUNTS or (len(digits) >= 5 and len(set(digits)) == 1)


_DOLLARS_AFTER = re.compile(r"\s*(?:us\s+|american\s+)?dollars?\b", re.I)


def normalize_price(raw: Any, currency_hint: str | None = None) -> PriceValue:
    """(price, currency, problem) of a price field, read with price-parser: "$5,500 OBO" -> 5500
    USD, "5.5k" -> 5500, "Sold for USD $9,250 on 3/14/25" -> 9250 USD, "28万円" -> 280000 JPY.
    No price for "call for price", "ASK", monthly payments ("$199/mo"), deposits ("$500 down")
    and placeholders ("$1", "$0", "$123456789"); ``problem`` then names the reason."""
    if raw.__class__ is str and (plain := _PLAIN_DOLLARS.fullmatch(raw)):
        # the usual field, already clean: read at once (a cache of prices, which rarely
        # repeat, would cost more than it saves)
        return _plain_price(plain)
    return _normalize_price(raw, currency_hint)


@lru_cache(maxsize=1 << 14)
def _normalize_price(raw: Any, currency_hint: str | None) -> PriceValue:
    text = clean_text(raw)
    if not text:
        return _NO_PRICE
    if plain := _PLAIN_DOLLARS.fullmatch(text):
        return _plain_price(plain)
    return _parsed_price(text, currency_hint)


def payment_of(before: str, after: str) -> str | None:
    """ "monthly" or "down" when an amount between ``before`` and ``after`` is a payment, not
    the price ("$199/mo", "$500 down", "deposit of $1,000", "financing from $150"); else None."""
    for reason in ("monthly", "down"):
        if _PRICE_AFTER[reason].search(after) or _PRICE_BEFORE[reason].search(before):
            return reason
    return None


def _plain_price(m: re.Match) -> PriceValue:
    """The price of a ``_PLAIN_DOLLARS`` match: what price-parser gives for it."""
    value = int(m.group(1).replace(",", ""))
    if _is_placeholder(value):
        return PriceValue(None, "USD", "placeholder")
    return PriceValue(value, "USD", None)


#: The usual price field, whole US dollars ("$5,500", "USD $9,250", "$7200"): read without
#: price-parser, to the value it gives (``tests/test_normalize_pinned.py``).
_PLAIN_DOLLARS = re.compile(r"(?:USD )?\$([1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]*)")


def _parsed_price(text: str, currency_hint: str | None) -> PriceValue:
    """``normalize_price`` of a cleaned text, by price-parser."""
    amount_match = _AMOUNT.search(text)
    if amount_match is None:
        problem = "on_request" if _ON_REQUEST.search(text) else "unparsed"
        return PriceValue(None, None, problem)
    after = text[amount_match.end() :]
    before = text[: amount_match.start()]
    if reason := payment_of(before, after):
        return PriceValue(None, None, reason)
    parsed = Price.fromstring(text[max(0, amount_match.start() - 8) :])
    amount = parsed.amount
    if amount is None:
        return PriceValue(None, None, "unparsed")
    mult = amount_match.group("mult")
    if mult:
        amount *= 10000 if mult == "万" else 1000
    value = int(amount.to_integral_value())
    currency = (
        currency_of(parsed.currency)
        or currency_of(amount_match.group("cur"))
        or ("JPY" if amount_match.group("yen") or mult == "万" else None)
        or ("USD" if _DOLLARS_AFTER.match(after) else None)
        or currency_of(clean_text(currency_hint))
    )
    if _is_placeholder(value):
        return PriceValue(None, currency, "placeholder")
    return PriceValue(value, currency, None)


_TITLE_PRICE = re.compile(
    r"(?:US\s?\$|\$)\s?\d[\d,]*(?:\.\d+)?\s?k?"
    + ASCII_RIGHT
    + r"|(?<![\w$.])\d+(?:\.\d+)?\s?k(?=\s*(?:firm|obo|o\.b\.o|or best|cash|neg))"
    # yen as Japanese titles write it: "¥300,000", "30万円", "300,000円" (a bare 万 is often
    # kilometres: "4.5万km")
    + r"|[¥￥]\s?\d[\d,]*|(?<![\d.,])\d[\d,]*(?:\.\d+)?\s?万?円",
    re.IGNORECASE,
)
_ANCHORED_PRICE = re.compile(
    r"(?:asking|price(?:d)?(?: is| at)?|selling (?:it )?for|sell(?:ing)? for|want(?:ing)?|"
    r"firm at|now|本体価格|車両価格|価格)\s*[:：]?\s*"
    r"(?P<amount>(?:US\s?\$|\$|¥)?\s?\d[\d,]*(?:\.\d+)?\s?(?:k|万円|円)?)"
    + ASCII_RIGHT
    + r"|(?P<amount2>(?:US\s?\$|\$)?\s?\d[\d,]*(?:\.\d+)?\s?k?)"
    + r"\s*(?:obo|o\.b\.o|firm|or best offer)"
    + ASCII_RIGHT,
    re.IGNORECASE,
)


_MONEY_MARK = re.compile(r"\$|k\b|円|万|¥|,\d{3}", re.I)


@text_cache(maxsize=1 << 12)
def price_in_text(
    text: str | None, currency_hint: str | None = None, anchored_only: bool = False
) -> PriceValue:
    """A price stated in a title or description when the page has no price field: "$4,950",
    "6k firm", "Asking 5.5k". With ``anchored_only`` (descriptions) only amounts next to
    "asking", "price", "OBO", "firm" count, so "$400 of new tires" is ignored; two different
    amounts give None."""
    if not text:
        return _NO_PRICE
    candidates = [m.group("amount") or m.group("amount2") for m in _ANCHORED_PRICE.finditer(text)]
    candidates = [c for c in candidates if c and _MONEY_MARK.search(c)]
    if not candidates and not anchored_only:
        candidates = [m.group() for m in _TITLE_PRICE.finditer(text)]
        for m in _TITLE_PRICE.finditer(text):
            after = text[m.end() :]
            if any(_PRICE_AFTER[r].search(after) for r in ("monthly", "down")):
                candidates.remove(m.group())
    values = {normalize_price(c, currency_hint) for c in candidates}
    values = {v for v in values if v.price is not None}
    if len({v.price for v in values}) != 1:
        if not candidates and _ON_REQUEST.search(text):
            return PriceValue(None, None, "on_request")
        return PriceValue(None, None, "ambiguous" if values else None)
    return values.pop()


def to_usd(
    price: int | None,
    currency: str | None,
    on: dt.date | None,
    *,
    config: Mapping | None = None,
) -> int | None:
    """Whole US dollars at the rate of ``keitrucks.core.tables.fx_for`` (the user's table, the
    ECB reference rates, then config ``[fx]``). None when the currency or its rate is unknown."""
    if price is None or not currency:
        return None
    if currency == "USD":
        return price
    quote = tables.fx_for(currency, on, config)
    return round(price * quote.usd_per_unit) if quote else None


def normalize_price_band(price_usd: int | None, band: Mapping | None = None) -> str | None:
    """ "below", "in" or "above" the configured band (inclusive ends), None without a price."""
    if price_usd is None:
        return None
    band = band or DEFAULT_CONFIG["band"]
    if price_usd < band["low"]:
        return "below"
    return "above" if price_usd > band["high"] else "in"


# --- status -------------------------------------------------------------------------------------

_STATUS = {value: words(p) for value, p in terms_by_value("status").items()}


#: A title its seller marked sold: "SOLD - 1995 Minicab", "Acty 4x4 (SOLD)", "Hijet - sold!".
_SOLD_TITLE = re.compile(
    r"^\W*(?:" + terms_by_value("status_title", "start")["sold"] + ")"
    r"|"
    + terms_by_value("status_title", "any")["sold"]
    + r"|(?:"
    + terms_by_value("status_title", "end")["sold"]
    + r")\W*$",
    re.IGNORECASE,
)
#: A title its seller marked gone without saying sold: "1996 Acty 4x4 - no longer available".
_ENDED_TITLE = Vocabulary(
    [(value, pattern) for value, pattern in term_rows("status_title") if value == "ended"]
)
_SOLD_FOR = re.compile(r"^\s*sold for\b", re.I)
#: First characters of a cleaned price that neither phrase can begin with.
_AMOUNT_START = frozenset("$0123456789")
_BID_TO = re.compile(r"^\s*bid to\b", re.I)


@lru_cache(maxsize=1 << 12)
def normalize_status(status_raw: Any = None, price_basis: Any = None, price_raw: Any = None) -> str:
    """ "sold", "ended" or "active": the page's own status word first ("SOLD", "live"), then the
    price basis (sold -> sold, bid_to -> ended), then a "Sold for"/"Bid to" price text."""
    return status(status_raw, price_basis, price_raw)


def status(status_raw: Any, price_basis: Any, price_raw: Any, title: Any = None) -> str:
    """The page's status word or price basis; then a "Sold for"/"Bid to" price text; then a
    title its seller marked sold (or gone: "no longer available" is ended); else "active"."""
    status = _stated_status(status_raw, price_basis)
    if status:
        return status
    price = clean_text(price_raw)
    # "$5,500" (most prices) is neither "Sold for" nor "Bid to": not matched against them
    if price and price[0] not in _AMOUNT_START:
        if _SOLD_FOR.match(price):
            return "sold"
        if _BID_TO.match(price):
            return "ended"
    if title and _SOLD_TITLE.search(str(title)):
        return "sold"
    if title and _ENDED_TITLE.search(str(title)):
        return "ended"
    return "active"


@lru_cache(maxsize=1 << 12)
def _stated_status(status_raw: Any, price_basis: Any) -> str | None:
    """The status the page's own status word or the price basis states, else None."""
    for text in (clean_text(status_raw), clean_text(price_basis)):
        if not text:
            continue
        lowered = text.lower()
        if lowered in ("bid_to", "bid to"):
            return "ended"
        for value in ("sold", "ended", "active"):
            if _STATUS[value].search(lowered):
                return value
    return None
