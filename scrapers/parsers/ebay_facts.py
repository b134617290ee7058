"""eBay facts a listing shows outside its item specifics: the model year a title opens with, and
the make and model in eBay Motors' category path ("eBay Motors | Cars & Trucks | Honda | Acty").

They fill ``year_raw`` and ``make_model_raw`` only where the listing left them empty.
"""

from __future__ import annotations

import re
from dataclasses import replace

from scrapers.items import Listing

_LEADING_YEAR = re.compile(r"^\s*((?:19|20)\d{2})\b")
#: Categories whose children in eBay Motors' path are the make, then the model.
MAKE_PARENT_CATEGORIES = ("Cars & Trucks",)
NOT_A_MAKE = ("Other Makes", "Other")


def year_and_make(title: str | None, categories: str | None) -> dict[str, str]:
    """``year_raw`` from a title that opens with the model year ("1996 Suzuki Carry ..."), and
    ``make_model_raw`` from the category path under "Cars & Trucks" ("... | Honda | Acty")."""
    found = {}
    match = _LEADING_YEAR.match(title or "")
    if match:
        found["year_raw"] = match[1]
    path = [part.strip() for part in (categories or "").split("|")]
    for index, part in enumerate(path):
        if part in MAKE_PARENT_CATEGORIES:
            names = [name for name in path[index + 1 : index + 3] if name not in NOT_A_MAKE]
            if names:
                found["make_model_raw"] = " ".join(names)
    return found


def with_title_facts(listing: Listing) -> Listing:
    """The listing with the title's year and the category's make where its fields are empty."""
    found = year_and_make(listing.title, listing.attributes.get("categories"))
    missing = {name: value for name, value in found.items() if not getattr(listing, name)}
    return replace(listing, **missing) if missing else listing
