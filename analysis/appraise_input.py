"""A raw listing from what a buyer pastes: a listing's text as a seller wrote it, or JSON Lines.

``raw_from_text`` turns free text (title on the first line, then the description, the price and
the place somewhere in it) into a raw listing of the shape ``keitrucks normalize`` reads: the
price span is found and read with price-parser, the place by the state reader of
``keitrucks.core.states``; everything else (model, year, drive, mileage, condition) is left to
the normalizer, which reads titles and descriptions already. Pure: the as-of time is passed in.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from price_parser import Price

from keitrucks.core.states import state_of
from keitrucks.core.tables import currency_words, sources_where
from pipelines.normalize.price import payment_of

#: Japanese exporters: a price they quote without terms is not a US asking price.
EXPORTER_SOURCES = sources_where("japanese_exporter")

PASTED_SOURCE = "pasted"
#: At most this many characters of the first line make the title.
TITLE_CHARS = 200

#: A price as sellers write it: "$4,500", "5,500$", "US$ 3200", "4.5k obo", "asking 5500",
#: "7 grand", "price 6.2k", "¥250,000", "25万円", "250000円". The currency mark or an asking word is
#: required: a bare number may be a year, a mileage or a ZIP code.
_PRICE = re.compile(
    r"(?:(?<![A-Za-z])(?:US\s?|(?-i:CA?|AU?))\$|\$|USD\s?)\s?\d[\d,]*(?:\.\d+)?\s?(?:[kK]|grand)?\b"
    r"(?:\s?(?:CAD|CDN|AUD)\b)?"
    r"|(?:¥|JPY\s?)\s?\d[\d,]*|\d[\d,]*\s?(?:JPY|yen)\b"
    r"|\d[\d,.]*\s?(?:万円|円|万(?!\s?(?:km|ｋｍ|キロ|マイル|mi)))"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:USD|dollars?|bucks)\b"
    r"|\d[\d,]*(?:\.\d+)?\s?\$(?!\w)"
    r"|(?:(?<=asking )|(?<=price )|(?<=price: )|(?<=asking: ))"
    r"\d(?:[\d,.]*\d)?\s?(?:[kK]|grand)?\b"
    # a figure of its own ("4x4, cash only" is no price of 4)
    r"|(?<![\w.,])\d(?:[\d,.]*\d)?\s?(?:[kK]|grand)?(?=\s*(?:obo|firm|or best offer|cash)\b)"
    # "7 grand": thousands of dollars in any place
    r"|(?<![\w.,$])\d{1,2}(?:\.\d)?\s?grand\b(?!\s*(?:kids?|children|sons?|daughters?))",
    re.IGNORECASE,
)
#: Dollars of another country, as written next to a price ("$3,500 CAD", "C$ 3,500").
_OTHER_DOLLARS = re.compile(r"\b(?:CAD|CDN|AUD)\b|(?<![A-Za-z])(?-i:CA?|AU?)\$", re.IGNORECASE)
_CURRENCY_WORDS = currency_words()
#: A price in yen, as written or as its currency.
_YEN = re.compile(r"¥|円|万|JPY|\bYEN\b", re.IGNORECASE)
#: Words that say what an exporter's price includes.
_BASIS = (
    ("cif", re.compile(r"\bCIF\b")),
    ("cnf", re.compile(r"\b(?:C&F|CNF|CFR|C\s?and\s?F)\b", re.IGNORECASE)),
    ("fob", re.compile(r"\bFOB\b", re.IGNORECASE)),
)
#: A truck still in Japan: its price, even in dollars, is no US asking price ("imported from
#: Japan" is a truck in the US, and says nothing of the kind).
_IN_JAPAN = re.compile(
    r"\b(?:located|truck\s+is|currently|still|now|sitting)\s+in\s+japan\b"
    r"|\bships?\s+from\s+japan\b|\bjapan\s+stock\b|\bwe\s+(?:can\s+)?ship\s+to\s+your\s+port\b",
    re.IGNORECASE,
)
_BASIS_ORDER = {basis: (n, basis) for n, (basis, _) in enumerate(_BASIS)}
#: Where a seller says the truck is: "Location: Knoxville, TN", "Listed 2 days ago in Austin,
#: TX", "pickup in Boone NC 28607", or any "City, ST" in the text.
_PLACE_LABEL = re.compile(
    r"(?:location|located|pick\s?up|pickup|listed\b[^\n]*?\bin|truck is in|based in)\s*:?\s*"
    r"(?:only\s+)?(?:in\s+)?([^\n|;]{2,60})",
    re.IGNORECASE,
)
_CITY_STATE = re.compile(r"\b([A-Z][A-Za-z .'-]{1,30},\s*[A-Z]{2})\b(?:\s+\d{5})?")
#: "... $3,000 Boone NC" : a town and a state code ending a line.
_CITY_STATE_END = re.compile(
    r"([A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+)?,? [A-Z]{2}(?: \d{5})?)[ .!]*$", re.MULTILINE
)


#: A state the seller says the truck is titled or road legal in ("street legal in SC", "titled
#: in Tennessee"): one or two words, read by the state reader. A two-letter code counts only in
#: capitals ("legal in or out of state" names no Oregon).
_LEGAL_IN = re.compile(
    r"\b(?:(?:street|road)[ -]legal|titled|registered|tagged|plated)\s+in\s+"
    r"([A-Za-z]+)(?:\s+([A-Za-z]+))?",
    re.IGNORECASE,
)


#: A line of its own that marks the truck sold ("SOLD", "** SOLD **", "Sold!", "売約済"): a seller
#: who edits the ad rather than deleting it, below the title the normalizer reads.
_SOLD_LINE = re.compile(r"[\W_]*(?:sold(?:\s+out)?|売約済み?|成約済み?)[\W_]*", re.IGNORECASE)
#: A line of its own saying the ad is gone without saying sold ("NO LONGER AVAILABLE",
#: "Update: no longer available"): the sale has ended.
_GONE_LINE = re.compile(
    r"[\W_]*(?:(?:update[ds]?|edit(?:ed)?)\s*[:!-]*\s*)?no\s+longer\s+(?:available|for\s+sale)[\W_]*",
    re.IGNORECASE,
)


class NotAListingError(ValueError):
    """The input cannot be a listing (empty, binary); the message is one line for the user."""


def check_text(text: str) -> str:
    """``text`` stripped; ``NotAListingError`` when it is binary or has no letter or digit."""
    if "\x00" in text or sum(ch < " " and ch not in "\t\r\n" for ch in text[:4096]) > 8:
        raise NotAListingError("the input looks binary, not a listing's text")
    stripped = text.strip()
    if not any(ch.isalnum() for ch in stripped):  # "", "¥", "$$$", "---": no words, no number
        raise NotAListingError(
            "nothing to appraise: paste the listing's text (title, description, price, place)"
        )
    return stripped


#: Characters after a payment kept with it, so the normalizer reads why it is no price.
_PAYMENT_CONTEXT = 24
#: Words that make an amount the asking price: "asking $3,500", "now $3,500", "$3,500 firm",
#: "車両本体価格 38万円".
_ASKING_BEFORE = re.compile(
    r"(?:asking|price[ds]?(?:\s+(?:is|at))?|selling\s+(?:it\s+)?for|sell(?:ing)?\s+for|yours\s+for"
    r"|let\s+(?:it\s+)?go\s+for|reduced\s+to|now(?:\s+only)?|firm\s+at|want(?:ing)?|本体価格|"
    r"車両価格|価格)\s*[:：-]?\s*$",
    re.IGNORECASE,
)
_ASKING_AFTER = re.compile(
    r"\s*(?:obo|o\.b\.o|firm|or best offer|or best|cash|neg(?:otiable)?|or trade|takes (?:it|all)"
    r"|or make (?:an )?offer)\b",
    re.IGNORECASE,
)
#: Words that make an amount something else than the truck's price: money spent ("paid $7,500",
#: "$2,000 in new parts", "new tires ($600)", "$1,500 dump bed kit") or a total with fees
#: (支払総額, "total payable").
_SPENT_BEFORE = re.compile(
    r"(?:\bpaid|\bwas|\bspent|\binvested|\bput|\bworth|\bvalued?(?:\s+at)?|\bcost|\bmsrp|\bretail"
    r"|\breceipts?|支払総額|\()\s*(?:about|over|around|almost|nearly|like)?\s*[:：]?\s*$",
    re.IGNORECASE,
)
_SPENT_AFTER = re.compile(
    r"\s*(?:\)|in\s+(?:new\s+)?(?:parts|upgrades|receipts|work|repairs|mods)|worth\b|of\s+(?:new\s+)?"
    r"(?:parts|work|upgrades)|invested|(?:[\w-]+\s+){0,2}kit\b|(?:in\s+)?(?:new\s+)?tires\b)",
    re.IGNORECASE,
)


def price_span(text: str) -> str | None:
    """The price the text states (as written), read by price-parser; None when none. Of several
    amounts, the first that asking words mark ("asking $3,500", "$3,500 firm", "was $6,500 now
    $3,500"); else the first that is not money spent ("$2,000 in new parts", "new tires
    ($600)", "paid $7,500"). A payment is no price ("$500 down, $199/mo", "$2,000 deposit
    holds it, $7,500 total"): when there is nothing else, the payment with the words after it
    (the normalizer then says why there is no price)."""
    payment, amounts = None, []
    for match in _PRICE.finditer(text):
        span = match.group().strip().rstrip(",.")
        if Price.fromstring(span).amount is None:
            continue
        end = match.start() + len(match.group().rstrip(" ,."))  # "$3,500, new tires $600"
        before, after = text[: match.start()], text[end:]
        if payment_of(before, after):
            payment = payment or text[match.start() : match.end() + _PAYMENT_CONTEXT].strip()
            continue
        if _ASKING_BEFORE.search(before[-40:]) or _ASKING_AFTER.match(after):
            return span
        spent = _SPENT_BEFORE.search(before[-40:]) or _SPENT_AFTER.match(after)
        amounts.append((bool(spent), span))
    if amounts:
        return min(amounts, key=lambda a: a[0])[1]  # the first not spent, else the first
    return payment


def price_currency(price: str | None) -> str | None:
    """ "JPY" for a price in yen; the currency a Canadian or Australian price names ("$3,500
    CAD", "C$3,500"); "USD" for any other price a pasted ad states ("3800 obo", "$4,500",
    "asking 5500": the ad is read as a US buyer's); None without a price."""
    if not price:
        return None
    if _YEN.search(price):
        return "JPY"
    other = _OTHER_DOLLARS.search(price)
    return _CURRENCY_WORDS.get(other.group().upper().replace(" ", ""), "USD") if other else "USD"


def price_basis(text: str, currency: str | None = None, at: int | None = None) -> str | None:
    """ "fob", "cnf" or "cif" when the text names an exporter's terms; else "asking" for a
    price in dollars, and None (terms unknown) for a yen price: a truck priced in Japan is not
    for sale at a US asking price, and without its terms no landed cost can be added. With
    ``at`` (where the price stands in ``text``) an exporter quoting two ("FOB US$ 2,450 C&F
    US$ 4,300") gives the terms of that price: the nearest before it, else the nearest after."""
    found = sorted(
        (m.start(), m.end(), basis) for basis, pattern in _BASIS for m in pattern.finditer(text)
    )
    if found and at is not None:
        before = [basis for _, end, basis in found if end <= at]
        return before[-1] if before else min(found, key=lambda f: abs(f[0] - at))[2]
    if found:
        return min(_BASIS_ORDER[basis] for _, _, basis in found)[1]
    return None if currency == "JPY" or _IN_JAPAN.search(text) else "asking"


def place(text: str) -> str | None:
    """The place the seller names, as written, when the state reader knows its US state."""
    for match in _PLACE_LABEL.finditer(text):
        candidate = match.group(1).strip(" .,")
        if state_of(candidate):
            return candidate
        inner = _CITY_STATE.search(candidate)
        if inner and state_of(inner.group()):
            return inner.group()
    for pattern in (_CITY_STATE, _CITY_STATE_END):
        for match in pattern.finditer(text):
            if state_of(match.group(1)):
                return match.group(1)
    return _legal_in(text)


def _legal_in(text: str) -> str | None:
    """The state of "street legal in SC", "titled in South Carolina", as written; else None."""
    for match in _LEGAL_IN.finditer(text):
        first, second = match.group(1), match.group(2)
        if second and len(first) > 2 and state_of(f"{first} {second}"):
            return f"{first} {second}"
        if (len(first) > 2 or first.isupper()) and state_of(first):
            return first
    return None


def text_id(text: str) -> str:
    """A stable id of a pasted text (the same text, the same id)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def raw_from_text(text: str, *, scraped_at: str) -> dict[str, Any]:
    """A raw listing from a listing's text; ``NotAListingError`` when there is nothing to read."""
    text = check_text(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    price = price_span(text)
    currency = price_currency(price)
    at = text.find(price) if price else None
    if price and currency not in ("USD", "JPY"):  # "$3,500 CDN": the normalizer reads "$" first
        price = f"{_OTHER_DOLLARS.sub('', price).replace('$', '').strip()} {currency}"
    return {
        "source": PASTED_SOURCE,
        "listing_id": text_id(text),
        "url": None,
        "title": lines[0][:TITLE_CHARS],
        "description": "\n".join(lines[1:]) or None,
        "price_raw": price,
        "currency_raw": currency,
        "location_raw": place(text),
        "price_basis": price_basis(text, currency, at),
        "status_raw": _status_line(lines[1:]),
        "scraped_at": scraped_at,
    }


def _status_line(lines: list[str]) -> str | None:
    """ "sold" or "ended" when a line below the title says so on its own, else None."""
    if any(_SOLD_LINE.fullmatch(x) for x in lines):
        return "sold"
    return "ended" if any(_GONE_LINE.fullmatch(x) for x in lines) else None


def with_price_basis(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw listing given without ``price_basis`` (pasted JSON): the exporter's terms its text
    names, else "asking" for a dollar price on a site that is not a Japanese exporter (left
    unknown for one, and for a yen price)."""
    if raw.get("price_basis"):
        return raw
    text = " ".join(str(raw.get(k) or "") for k in ("title", "description", "price_raw"))
    currency = (
        "JPY"
        if _YEN.search(f"{raw.get('currency_raw') or ''} {raw.get('price_raw') or ''}")
        else None
    )
    basis = price_basis(text, currency)
    if basis in (None, "asking") and str(raw.get("source") or "").lower() in EXPORTER_SOURCES:
        return raw
    if basis is None:
        return raw
    return {**raw, "price_basis": basis}


def json_lines(text: str) -> list[dict[str, Any]] | None:
    """The objects of ``text`` when every non-blank line is a JSON object (JSON Lines of raw
    listings), else None (the text is a listing's prose)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].lstrip().startswith("{"):
        return None
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        records.append(record)
    return records
