"""Configuration: defaults, overrides, and one clear line for every mistake."""

import pytest

from keitrucks.core.config import (
    DEFAULT_CONFIG,
    ConfigError,
    enabled_sources,
    load_config,
    source_defaults,
)


def write(tmp_path, text):
    path = tmp_path / "k.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_defaults():
    assert load_config(None) == DEFAULT_CONFIG
    assert load_config(None) is not DEFAULT_CONFIG


def test_a_file_overrides_only_what_it_names(tmp_path):
    config = load_config(
        write(tmp_path, "[band]\nlow = 4000\n[sources.beforward]\nenabled = false\n")
    )
    assert config["band"] == {"low": 4000, "high": 12000}
    assert config["sources"]["craigslist"] == DEFAULT_CONFIG["sources"]["craigslist"]
    assert enabled_sources(config) == [
        "craigslist",
        "bringatrailer",
        "ebay",
        "sbtjapan",
        "carfromjapan",
        "tcv",
    ]


def test_the_example_file_loads():
    from pathlib import Path

    example = Path(__file__).parents[1] / "keitrucks" / "keitrucks.example.toml"
    assert load_config(example)["schedule"]["timezone"] == "America/Chicago"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[band\nlow = 1", "bad TOML"),
        ("[sources.myspace]\nenabled = true\n", "k.toml:1: [sources] myspace: unknown source"),
        ("[band]\nlow = 9000\nhigh = 100\n", "k.toml:1: [band] needs numbers low < high"),
        ("band = 3\n", "k.toml:1: [band] must be a table, not 3"),
        ("[band]\nhihg = 12000\n", "k.toml:2: [band] hihg: unknown key; did you mean 'high'?"),
        ("[alert]\ndaily_cap = 3\n", "k.toml:1: [alert]: unknown section; did you mean 'alerts'?"),
        (
            "[sources.craigslist]\nareas = []\nenabeld = false\n",
            "k.toml:3: [sources.craigslist] enabeld: unknown key; did you mean 'enabled'?",
        ),
        (
            "[sources.ebay]\nmax_pages = 'ten'\n",
            "k.toml:2: [sources.ebay] max_pages: must be a number, not 'ten'",
        ),
        ("[health]\nwindow = 0\n", "k.toml:2: [health] window: must be >= 1, not 0"),
        ("[schedule]\njitter_seconds = true\n", "[schedule] jitter_seconds: must be a number"),
        (
            '[notify]\nmode = "hourly"\n',
            "k.toml:2: [notify] mode: must be 'digest' or 'immediate', not 'hourly'",
        ),
        (
            '[alerts]\ndaily_cap = 5\n[[alerts.watch]]\nname = "a"\nmodle = "Acty"\n',
            "k.toml:5: [alerts.watch #1] modle: unknown key; did you mean 'model'?",
        ),
        (
            '[[alerts.watch]]\nname = "a"\npostal_code = "00000"\n',
            "k.toml:3: [alerts.watch #1] postal_code: unknown US postal code '00000'",
        ),
        (
            "[alerts]\nunderpriced_pct = 0.15\n",
            "k.toml:2: [alerts] underpriced_pct: is a percentage: write 15 for 15%, not 0.15",
        ),
        (
            "[alerts]\nunderpriced_pct = 150\n",
            "k.toml:2: [alerts] underpriced_pct: must be a percentage from 1 to 99 (15 for 15%)",
        ),
        (
            '[[alerts.watch]]\nname = "a"\ndrop_pct = 0.05\n',
            "k.toml:3: [alerts.watch #1] drop_pct: is a percentage: write 15 for 15%, not 0.05",
        ),
        (
            '[[alerts.watch]]\nname = "a"\nstates = ["Tenessee"]\n',
            "k.toml:3: [alerts.watch #1] states: 'Tenessee' is not a US state code or name "
            '(one of the 50 states or DC, like "TN" or "Tennessee"); did you mean \'Tennessee\'?',
        ),
        (
            '[buyer]\nstate = "PR"\n',
            "k.toml:2: [buyer] state: 'PR' is not a US state code or name (one of the 50 states",
        ),
        (
            '[schedule]\ncron = "every night"\n',
            "k.toml:2: [schedule] cron: 'every night' is not a cron line (minute hour day month "
            'weekday, like "30 2 * * *"): Wrong number of fields',
        ),
        (
            '[schedule]\ntimezone = "Eastern"\n',
            "k.toml:2: [schedule] timezone: 'Eastern' is not an IANA time zone (like",
        ),
        (
            "[schedule]\nmisfire_grace_hours = 0\n",
            "k.toml:2: [schedule] misfire_grace_hours: must be > 0, not 0",
        ),
        (
            '[[alerts.watch]]\nname = "a"\npostal_code = 02134\n',
            '(at line 3, column 16); a value starting with 0 (a ZIP code) goes in quotes: "02134"',
        ),
        (
            '[[alerts.watch]]\nname = "a"\npostal_code = 2134\n',
            'k.toml:3: [alerts.watch #1] postal_code: 2134 is no ZIP code: write it in quotes, "021'
            '34"',
        ),
        ("[buyer]\nstate = TN\n", '(at line 2, column 9); text goes in quotes: "TN"'),
        ("[band]\nlow = 5k\n", "a number is digits only: 9000 (not 9k, $9,000)"),
        ("[sources.ebay]\nenabled = yes\n", "(at line 2, column 11); true or false, in lower case"),
    ],
    ids=[
        "bad-toml",
        "unknown-source",
        "inverted-band",
        "not-a-table",
        "misspelt-key",
        "unknown-section",
        "misspelt-source-key",
        "source-key-type",
        "range",
        "bool-is-not-a-number",
        "notify-mode",
        "watch-key",
        "postal-code",
        "underpriced-as-a-fraction",
        "underpriced-over-99",
        "drop-as-a-fraction",
        "watch-state-misspelt",
        "buyer-state-a-territory",
        "cron-in-words",
        "timezone-not-iana",
        "no-misfire-grace",
        "zip-with-leading-zero",
        "zip-without-its-zero",
        "text-without-quotes",
        "number-with-k",
        "yes-for-true",
    ],
)
def test_mistakes_give_one_clear_line(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_each_sources_keys_come_from_its_defaults(tmp_path):
    """A spider's own keys (its defaults live in DEFAULT_CONFIG) are known; others are not."""
    from scrapers.spiders.ebay import EbaySpider

    assert EbaySpider.default_config == source_defaults("ebay")
    assert "enabled" not in source_defaults("ebay")
    config = load_config(
        write(tmp_path, "[sources.ebay]\nmax_pages = 3\naspect_filter = 'Make:{Honda}'\n")
    )
    assert config["sources"]["ebay"]["max_pages"] == 3
    assert config["sources"]["ebay"]["queries"] == source_defaults("ebay")["queries"]
    with pytest.raises(ConfigError, match=r"\[sources.tcv\] queries: unknown key"):
        load_config(write(tmp_path, "[sources.tcv]\nqueries = ['kei']\n"))


def test_a_watched_search_that_fits_loads(tmp_path):
    text = '[[alerts.watch]]\nname = "Acty"\npostal_code = "37902"\nmax_distance_mi = 150\n'
    assert load_config(write(tmp_path, text))["alerts"]["watch"][0]["name"] == "Acty"


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found: .*nope.toml"):
        load_config(tmp_path / "nope.toml")


def test_a_bad_road_status_names_the_road_statuses(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[alerts]\nroad_status = ["legal"]\n')
    with pytest.raises(ConfigError, match=r"k.toml:2: \[alerts\] road_status: .*'registrable'"):
        load_config(path)


@pytest.mark.parametrize(
    ("written", "code"),
    [("TN", "TN"), ("tn ", "TN"), ("Tennessee", "TN"), ("new  york", "NY"), ("DC", "DC")],
)
def test_states_are_read_by_code_or_name_and_kept_as_codes(tmp_path, written, code):
    """A watched search's states = ["Tennessee"] matched no listing (they are compared with
    codes), and [buyer] state = "Tennessee" was refused."""
    text = f'[buyer]\nstate = "{written}"\n[[alerts.watch]]\nname = "a"\nstates = "{written}"\n'
    config = load_config(write(tmp_path, text))
    assert config["buyer"]["state"] == code
    assert config["alerts"]["watch"][0]["states"] == [code]


def test_dev_null_reads_as_an_empty_file():
    """`--config /dev/null` (no settings) said "configuration file not found: /dev/null"."""
    assert load_config("/dev/null") == DEFAULT_CONFIG


def test_a_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read configuration .*: Is a directory"):
        load_config(tmp_path)
