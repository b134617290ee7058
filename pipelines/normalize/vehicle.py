"""What the truck is: drive, transmission, engine size, body, cab, and what the listing sells.

The words come from ``terms.csv`` through the field vocabularies of ``text``; the model and
chassis-code tables decide the kind where the listing names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipelines.normalize.mileage import mileage_in_text
from pipelines.normalize.models import KEI_MAKES, MODEL_CODES, MODEL_INFO, mentions
from pipelines.normalize.text import (
    ASCII_LEFT,
    ASCII_RIGHT,
    BODY_ORDER,
    KEI_CONTEXT_WORDS,
    NEGATED_4WD,
    Vocabulary,
    clean_text,
    field_words,
    terms_by_value,
    text_cache,
    words,
)

# --- drive --------------------------------------------------------------------------------------

_DRIVE_STRUCTURED = terms_by_value("drive", ("any", "structured"))
_DRIVE_STRUCT = Vocabulary(
    [
        ("2wd", NEGATED_4WD % _DRIVE_STRUCTURED["4wd"]),
        ("4wd", _DRIVE_STRUCTURED["4wd"]),
        ("2wd", _DRIVE_STRUCTURED["2wd"]),
    ]
)
_DRIVE_SWITCH = re.compile(
    r"(?:2\s?wd|2h)\s*(?:/|-|to|and|or|&|<->|⇔)\s*(?:4\s?wd|4x4|4h)"
    r"|(?:4\s?wd|4x4|4h)\s*(?:/|-|to|and|or|&|<->|⇔)\s*(?:2\s?wd|2h)",
    re.IGNORECASE,
)
_SWITCH_WORDS = re.compile(
    ASCII_LEFT + r"(?:switch\w*|selector|select\w*|lever|shift\w*|engag\w*|button)"
    r"|切替|切り替え",
    re.IGNORECASE,
)


@text_cache(maxsize=1 << 14)
def scan_drive(text: str | None, structured: bool = False) -> bool | str | None:
    """True (4WD words), False (2WD words or a negated 4WD), "conflict" (both), None (silent)."""
    return drive_in(text, structured)


def drive_in(text: str | None, structured: bool) -> bool | str | None:
    if not text:
        return None
    found = set(_DRIVE_STRUCT.found(text)) if structured else set(field_words(text, "drive"))
    if len(found) == 2 and _SWITCH_WORDS.search(text) and _DRIVE_SWITCH.search(text):
        rest = _DRIVE_SWITCH.sub(" ", text)  # "2WD/4WD switch": a 4WD truck
        found = {"4wd"} | (
            set(_DRIVE_STRUCT.found(rest)) if structured else set(field_words(rest, "drive"))
        )
    if len(found) == 2:
        return "conflict"
    if "4wd" in found:
        return True
    return False if found else None


def normalize_drive(raw: Any) -> bool | None:
    """is_4wd from a drive field ('4WD', '4wheel drive', 'rwd', a schema.org drive URL):
    True, False, or None when silent or contradictory."""
    value = scan_drive(clean_text(raw), True)
    return value if isinstance(value, bool) else None


def drive_features(text: str | None) -> bool:
    """Whether the text names a feature only 4WD trucks have (hi/lo transfer, diff lock)."""
    return "4wd" in field_words(text, "feature")


# --- transmission -------------------------------------------------------------------------------

_TRANS_STRUCTURED = terms_by_value("transmission", ("any", "structured"))
_TRANS_STRUCT = Vocabulary(
    [("automatic", _TRANS_STRUCTURED["automatic"]), ("manual", _TRANS_STRUCTURED["manual"])]
)


@text_cache(maxsize=1 << 14)
def scan_transmission(text: str | None, structured: bool = False) -> str | None:
    """ "manual", "automatic", "conflict" (both named) or None. Automatic phrases are tried
    first, so "3 speed auto" is not also read as a "3 speed" manual."""
    return transmission_in(text, structured)


def transmission_in(text: str | None, structured: bool) -> str | None:
    if not text:
        return None
    found = set(_TRANS_STRUCT.found(text)) if structured else field_words(text, "trans")
    if len(found) == 2:
        return "conflict"
    return next(iter(found)) if found else None


def normalize_transmission(raw: Any) -> str | None:
    """ "manual" / "automatic" from a transmission field ('5MT', 'Five-Speed Manual', '3AT',
    'ECVT', 'マニュアル'), None when silent or contradictory."""
    value = scan_transmission(clean_text(raw), True)
    return None if value == "conflict" else value


# --- engine -------------------------------------------------------------------------------------

_CC = re.compile(
    r"(?<![\d.,])(?P<cc>\d{2,4})\s*(?:cc|cm3|cm³|c\.c\.)"
    + ASCII_RIGHT
    + r"|(?<![\d.])(?P<l>\d\.\d{1,2})\s*(?:l|liters?|litres?)"
    + ASCII_RIGHT,
    re.IGNORECASE,
)


_LITRES_HINT = re.compile(r"\d\s?l")


@text_cache(maxsize=1 << 14)
def normalize_engine_cc(raw: Any) -> int | None:
    """Displacement in cc from text such as '660cc', '656cc E07A Inline-Three', '0.66L'."""
    return engine_cc_in(clean_text(raw))


def engine_cc_in(text: str | None) -> int | None:
    """``normalize_engine_cc`` of a text already cleaned."""
    if not text:
        return None
    lowered = text.lower()
    if "cc" not in lowered and "cm" not in lowered and not _LITRES_HINT.search(lowered):
        return None
    m = _CC.search(text)
    if not m:
        return None
    cc = int(m.group("cc")) if m.group("cc") else round(float(m.group("l")) * 1000)
    return cc if 40 <= cc <= 9000 else None


# --- body and kind ------------------------------------------------------------------------------


@text_cache(maxsize=1 << 14)
def normalize_body(text: Any) -> str | None:
    """The most specific body named: fire_truck, scissor_lift, crane, refrigerated_box, box,
    deck_van, dump, crawler, canopy or van; None when the text names none."""
    return body_in(clean_text(text))


def body_in(text: str | None) -> str | None:
    """``normalize_body`` of a text already cleaned."""
    found = field_words(text, "body")
    return min(found, key=BODY_ORDER.index) if found else None


@text_cache(maxsize=1 << 14)
def normalize_cab(text: Any) -> str | None:
    """ "jumbo" (extended cab: Hijet Jumbo, Super Carry), "high_roof", or None."""
    return cab_in(clean_text(text))


def cab_in(text: str | None) -> str | None:
    """``normalize_cab`` of a text already cleaned."""
    found = field_words(text, "cab")
    if "jumbo" in found:
        return "jumbo"
    return "high_roof" if "high_roof" in found else None


_WANTED_START = re.compile(
    r"^\W*(?:" + terms_by_value("kind", "title_start")["wanted"] + ")" + ASCII_RIGHT, re.I
)

PARTS = words(terms_by_value("kind")["parts"])
#: Makes whose own kei trucks are sold under that badge; "mini truck" with them means kei.
KEI_TRUCK_MAKES = frozenset({"Suzuki", "Honda", "Daihatsu", "Subaru"})


def normalize_kind(
    title: Any,
    *,
    model: str | None = None,
    make: str | None = None,
    model_code: str | None = None,
    has_year: bool = False,
    whole_price: bool = False,
) -> str | None:
    """What the listing is: toy, wanted, parts, kei_van, kei_truck or other_vehicle, from the
    title and the make/model/code already found (``whole_price``: priced as a whole truck).
    None when it cannot be told."""
    return kind_of(
        clean_text(title) or "",
        model=model,
        make=make,
        model_code=model_code,
        has_year=has_year,
        whole_price=whole_price,
    )


def kind_of(
    text: str,
    *,
    model: str | None,
    make: str | None,
    model_code: str | None,
    has_year: bool,
    whole_price: bool | Callable[[], bool] = False,
) -> str | None:
    """``normalize_kind`` of a title already cleaned; ``whole_price`` may be a function, called
    only when the title names a part and drive words (most listings need no price read)."""
    kind, asks_price = _kind_of(text, model, make, model_code, has_year)
    if asks_price and not (whole_price() if callable(whole_price) else whole_price):
        return "parts"
    return kind


@text_cache(maxsize=1 << 15)
def _kind_of(
    text: str, model: str | None, make: str | None, model_code: str | None, has_year: bool
) -> tuple[str | None, bool]:
    """``kind_of`` apart from the price: (the kind, whether it is "parts" unless the listing is
    priced as a whole truck). A title naming a part reads as a whole vehicle when its own words
    say so (``_vehicle_words``), or when it has drive words (which describe a truck as well as a
    part: "Acty 4x4 engine runs great") and a whole truck's price; a part with no drive words
    stays a part at any price."""
    words = field_words(text, "kind")
    if "toy" in words:
        return "toy", False
    if "wanted" in words or _WANTED_START.search(text):
        return "wanted", False
    if "parts" in words:
        return "parts", False
    asks_price = False
    if "parts_noun" in words:
        if "parts_context" in words:
            return "parts", False
        if not _vehicle_words(text, has_year):
            if drive_in(text, False) is None:
                return "parts", False
            asks_price = True
    return _vehicle_kind(text, words, model, make, model_code), asks_price


def _vehicle_kind(
    text: str, words: frozenset[str], model: str | None, make: str | None, model_code: str | None
) -> str | None:
    """The kind of a listing that is not a toy, wanted or parts."""
    if "clone" in words:  # "Chinese mini truck, looks just like a Hijet": not the Hijet
        return "other_vehicle"
    code = MODEL_CODES.get(model_code or "")
    info = MODEL_INFO.get(model or "")
    model_kind = info["kind"] if info else ("other" if model else None)
    if model_kind == "van" or (code and code.kind == "van"):
        return "kei_van"
    if model_kind == "truck" or (code and not model):
        van_word = (
            "kei_van" in words
            or body_in(text) in ("van", "deck_van")
            or any(m.alias.category == "van_model" for m in mentions(text))
        )
        return "kei_van" if van_word else "kei_truck"
    if model_kind == "other" or (make and make not in KEI_MAKES):
        # a make with no kei truck ("New Chery mini truck - like a kei truck", "Polaris
        # Ranger, trade for kei truck"): "kei truck" compares or asks, it is not what is sold
        return "other_vehicle"
    if "kei_truck" in words:
        return "kei_truck"
    if "kei_van" in words:
        return "kei_van"
    if "kei_truck_ambiguous" in words:
        # "mini truck" with a make that sells no kei truck under its badge: a 1980s pickup
        return "kei_truck" if make is None or make in KEI_TRUCK_MAKES else "other_vehicle"
    if "other_vehicle" in words:
        return "other_vehicle"
    return None


def _vehicle_words(text: str, has_year: bool) -> bool:
    """Whether a title reads as a whole vehicle: a year, a mileage, "kei truck". Drive words do
    not: they describe a part as well ("4wd transfer case", "engine and transmission 4x4")."""
    return (
        has_year
        or mileage_in_text(text).miles is not None
        or not field_words(text, "kind").isdisjoint(KEI_CONTEXT_WORDS)
    )
