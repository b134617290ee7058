"""Turn a raw listing into canonical fields: badge and model, chassis code, year and month, 4WD,
transmission, engine size, body, cab, what the listing is, mileage in miles, price in USD, price
band, US 25-year eligibility, status, and what the seller says: whether it runs, its title and a
pending sale; and the listing's US state.

One module per job, each fed by the tables in ``keitrucks/core/data`` (``keitrucks.core.tables``):

- ``text``: cleaning, per-text caches, vocabularies matched as words (``terms.csv``);
- ``models``: make, model and chassis code; ``dates``: years, months, Japanese eras;
- ``mileage``; ``price``: price, currency, FX, band and status; ``vehicle``: drive,
  transmission, engine, body, cab and kind; ``eligibility``: the US 25-year rule;
  ``condition``: runs, title status and a pending sale;
- ``listing``: ``normalize_listing``, which reads one listing once and combines them;
- ``pipeline``: ``NormalizePipeline``, the thin Scrapy wrapper.

Unknown is ``None``, never a guess: a field is only filled from words or codes that settle it,
and conflicting evidence leaves it ``None`` with a note. ``tests/test_normalize_golden.py`` pins
the output on every fixture listing; ``bench/normalize.py`` times it (target 20,000 listings/s).
"""

from pipelines.normalize.condition import Condition, condition_of
from pipelines.normalize.dates import (
    YearMonthValue,
    build_date_in_text,
    normalize_date,
    normalize_year,
    parse_scraped_at,
    year_in_text,
)
from pipelines.normalize.eligibility import (
    Eligibility,
    eligibility_from_code,
    normalize_eligibility,
)
from pipelines.normalize.listing import NON_VEHICLE_KINDS, clear_caches, normalize_listing
from pipelines.normalize.mileage import (
    MileageValue,
    mileage_in_text,
    normalize_mileage,
    scan_mileage,
)
from pipelines.normalize.models import (
    find_model_codes,
    mentions,
    normalize_make_model,
    normalize_model_code,
)
from pipelines.normalize.pipeline import NormalizePipeline
from pipelines.normalize.price import (
    PriceValue,
    normalize_price,
    normalize_price_band,
    normalize_status,
    price_in_text,
    to_usd,
)
from pipelines.normalize.text import clean_text, field_words, fold_label, relevant_text
from pipelines.normalize.vehicle import (
    drive_features,
    normalize_body,
    normalize_cab,
    normalize_drive,
    normalize_engine_cc,
    normalize_kind,
    normalize_transmission,
    scan_drive,
    scan_transmission,
)

__all__ = [
    "NON_VEHICLE_KINDS",
    "Condition",
    "Eligibility",
    "MileageValue",
    "NormalizePipeline",
    "PriceValue",
    "YearMonthValue",
    "build_date_in_text",
    "clean_text",
    "clear_caches",
    "condition_of",
    "drive_features",
    "eligibility_from_code",
    "field_words",
    "find_model_codes",
    "fold_label",
    "mentions",
    "mileage_in_text",
    "normalize_body",
    "normalize_cab",
    "normalize_date",
    "normalize_drive",
    "normalize_eligibility",
    "normalize_engine_cc",
    "normalize_kind",
    "normalize_listing",
    "normalize_make_model",
    "normalize_mileage",
    "normalize_model_code",
    "normalize_price",
    "normalize_price_band",
    "normalize_status",
    "normalize_transmission",
    "normalize_year",
    "parse_scraped_at",
    "price_in_text",
    "relevant_text",
    "scan_drive",
    "scan_mileage",
    "scan_transmission",
    "to_usd",
    "year_in_text",
]
