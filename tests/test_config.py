"""Configuration: defaults, overrides, and one clear line for every mistake."""

import pytest

from keitrucks.core.config import DEFAULT_CONFIG, ConfigError, enabled_sources, load_config


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
        ("[sources.myspace]\nenabled = true\n", "unknown source(s) in [sources]: myspace"),
        ("[band]\nlow = 9000\nhigh = 100\n", "[band] needs numbers low < high"),
        ("band = 3\n", "band must be a table"),
    ],
    ids=["bad-toml", "unknown-source", "inverted-band", "not-a-table"],
)
def test_mistakes_give_one_clear_line(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found: .*nope.toml"):
        load_config(tmp_path / "nope.toml")
