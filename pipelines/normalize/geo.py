"""Where a listing is on a map: the site's own pin, else the centre of its US ZIP code or city.

A site that shows a map pin (Craigslist, Bring a Trailer) gives ``latitude``/``longitude``: we
keep them (``site_pin``). A US listing without a pin is placed at the centre of its ZIP code
(``zip_centroid``) or of its city's ZIP codes in its state (``city_centroid``), from the
``zipcodes`` package's table: approximate, and said so. Anything else (a Japanese exporter's
yard, "United States", a masked ZIP such as "752**") has no position: never a guess.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, NamedTuple

SITE_PIN = "site_pin"
ZIP_CENTROID = "zip_centroid"
CITY_CENTROID = "city_centroid"

#: A five-digit ZIP (ZIP+4 allowed) closing the location text, e.g. "Austin, TX 78701".
_ZIP_AT_END = re.compile(r"(?:^|[\s,])(\d{5})(?:-\d{4})?\s*(?:,?\s*(?:US|USA|United States))?$")
_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")


class Position(NamedTuple):
    latitude: float | None
    longitude: float | None
    basis: str | None


NOWHERE = Position(None, None, None)


def position(
    latitude: Any,
    longitude: Any,
    *,
    location: str | None = None,
    postal_code: str | None = None,
    state: str | None = None,
    us: bool = True,
) -> Position:
    """The listing's map position and how it was found (``SITE_PIN``, ``ZIP_CENTROID``,
    ``CITY_CENTROID``), else ``NOWHERE``. ``state`` is the listing's normalized US state; ``us``
    False (an exporter in Japan) allows only the site's own pin."""
    pin = _pin(latitude, longitude)
    if pin is not None:
        return Position(*pin, SITE_PIN)
    if not us:
        return NOWHERE
    code = _zip_of(postal_code, location)
    if code and (found := zip_centre(code)) and (state is None or found[2] == state):
        return Position(found[0], found[1], ZIP_CENTROID)
    city = _city_of(location)
    if city and state and (centre := city_centre(city, state)):
        return Position(*centre, CITY_CENTROID)
    return NOWHERE


def _pin(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon


def _zip_of(postal_code: str | None, location: str | None) -> str | None:
    if postal_code and (match := _ZIP.fullmatch(str(postal_code).strip())):
        return match.group(1)
    if location and (match := _ZIP_AT_END.search(location.strip())):
        return match.group(1)
    return None


def _city_of(location: str | None) -> str | None:
    """The city of "City, ST" (or "City, State, ..."): the first of two or more pieces."""
    if not location:
        return None
    pieces = [p.strip() for p in location.split(",")]
    if len(pieces) < 2 or not pieces[0] or any(ch.isdigit() for ch in pieces[0]):
        return None
    return pieces[0]


@lru_cache(maxsize=4096)
def zip_centre(code: str) -> tuple[float, float, str] | None:
    """(latitude, longitude, state) of a US ZIP code's centre, None when unknown."""
    import zipcodes

    try:
        found = zipcodes.matching(code)
    except (TypeError, ValueError):
        return None
    for row in found:
        if (lat_lon := _lat_lon(row)) is not None:
            return (*lat_lon, row["state"])
    return None


def city_centre(city: str, state: str) -> tuple[float, float] | None:
    """The mean position of the ZIP codes of ``city`` in ``state``, None when unknown."""
    return _cities().get((city.casefold(), state.upper()))


def _lat_lon(row: dict[str, Any]) -> tuple[float, float] | None:
    return _pin(row.get("lat"), row.get("long"))


@lru_cache(maxsize=1)
def _cities() -> dict[tuple[str, str], tuple[float, float]]:
    import zipcodes

    points: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row in zipcodes.list_all():
        lat_lon = _lat_lon(row)
        if lat_lon is not None and row.get("active", True) and row.get("city"):
            points.setdefault((row["city"].casefold(), row["state"]), []).append(lat_lon)
    return {
        key: (
            round(sum(p[0] for p in found) / len(found), 4),
            round(sum(p[1] for p in found) / len(found), 4),
        )
        for key, found in points.items()
    }
