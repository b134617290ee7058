"""``keitrucks rules``: every state with source and age, stale rows, the user's own rows."""

import json

from click.testing import CliRunner

from keitrucks.cli import cli


def run(*args, config=None, tmp_path=None):
    argv = []
    if config is not None:
        path = tmp_path / "k.toml"
        path.write_text(config)
        argv += ["--config", str(path)]
    return CliRunner().invoke(cli, [*argv, "rules", *args], obj={})


def test_every_state_is_listed_with_its_source():
    result = run("--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 51
    ga = next(r for r in rows if r["state"] == "GA")
    assert ga["road_status"] == "offroad_only"
    assert ga["source_url"].startswith("https://")
    assert "source over 12 months old" in ga["cautions"]


def test_one_state_in_words_with_the_dmv_warning():
    result = run("--state", "ar")
    assert result.exit_code == 0
    assert "AR: can be plated only in a special class" in result.output
    assert "roads posted 55 mph or less, no interstates" in result.output
    assert "1 state. Guidance only: check with your state DMV" in result.output


def test_stale_lists_only_rows_to_recheck(tmp_path):
    override = (
        '[buyer]\nstate = "TN"\nstale_months = 12\n[[buyer.rule_overrides]]\nstate = "TN"\n'
        'road_status = "registrable"\nconfidence = "medium"\n'
        'source_url = "https://example.org/tn"\nsource_date = "2099-01-01"\n'
    )
    result = run("--stale", "--json", config=override, tmp_path=tmp_path)
    states = {json.loads(line)["state"] for line in result.output.splitlines()}
    assert "TN" not in states  # the user's fresh row
    assert {"GA", "AK"} <= states


def test_an_override_without_a_source_is_refused(tmp_path):
    bad = '[[buyer.rule_overrides]]\nstate = "GA"\nroad_status = "registrable"\n'
    result = run(config=bad, tmp_path=tmp_path)
    assert result.exit_code != 0
    assert "give source_url and source_date" in result.output


def test_a_bad_buyer_state_is_one_clear_line(tmp_path):
    result = run(config='[buyer]\nstate = "Gorgia"\n', tmp_path=tmp_path)
    assert result.exit_code != 0
    assert "'Gorgia' is not a US state code or name" in result.output
    assert "did you mean 'Georgia'?" in result.output


def test_a_state_by_its_name():
    result = run("--state", "Tennessee")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("TN: ")


def test_an_unknown_state_option():
    result = run("--state", "XX")
    assert result.exit_code == 2
    assert "not a US state code" in result.output
