"""``pipelines.jsonl.normalize_stream``: JSON Lines of raw listings in, normalized out, in order;
a bad line is reported on the error stream with its line number and the rest still flows."""

from __future__ import annotations

import io
import json

from pipelines.jsonl import normalize_record, normalize_stream

GOOD = {
    "source": "sbtjapan",
    "listing_id": "S1",
    "url": "https://x.test/S1",
    "title": "2000/11 SUZUKI CARRY TRUCK KC",
    "price_raw": "USD 2,650",
    "attributes": {"Model Code": "GD-DB52T", "Registration Year/Month": "2000/11"},
    "scraped_at": "2026-03-03T07:30:00Z",
}


def run(text: str, **kw) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    failed = normalize_stream(io.StringIO(text), out, err, **kw)
    return failed, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_normalized_fields_are_added_and_raw_ones_kept():
    failed, records, err = run(json.dumps(GOOD) + "\n")
    assert (failed, err) == (0, "")
    [record] = records
    assert record["title"] == GOOD["title"]
    assert record["attributes"] == GOOD["attributes"]
    assert record["model_code"] == "DB52T"
    assert record["is_4wd"] is True
    assert record["eligible_25y"] is True
    assert record["eligible_from"] == "2025-11"
    assert record["price_usd"] == 2650
    assert "normalize_notes" not in record


def test_output_keeps_input_order():
    lines = [json.dumps({**GOOD, "listing_id": f"S{i}"}) for i in range(5)]
    _, records, _ = run("\n".join(lines))
    assert [r["listing_id"] for r in records] == [f"S{i}" for i in range(5)]


def test_bad_lines_are_reported_and_the_rest_flows():
    text = "\n".join([json.dumps(GOOD), "{not json", "[1, 2]", "", json.dumps(GOOD)]) + "\n"
    failed, records, err = run(text)
    assert failed == 2
    assert len(records) == 2
    assert "line 2: not valid JSON" in err
    assert "line 3: expected a JSON object, got list" in err
    assert "line 4" not in err  # blank lines are skipped, not errors


def test_a_record_that_fails_to_normalize_is_reported(monkeypatch):
    from pipelines import jsonl

    def boom(record, *, config=None):
        raise ValueError("table missing")

    monkeypatch.setattr(jsonl, "normalize_listing", boom)
    failed, records, err = run(json.dumps(GOOD) + "\n")
    assert (failed, records) == (1, [])
    assert "line 1: could not normalize (ValueError: table missing)" in err


def test_notes_are_written_when_there_are_any():
    record = normalize_record({**GOOD, "price_raw": "$199/mo"})
    assert record["price"] is None
    assert record["normalize_notes"] == ["price:monthly"]


def test_eligibility_boundary_month_is_flagged():
    record = normalize_record({**GOOD, "scraped_at": "2025-11-03T07:30:00Z"})
    assert record["eligible_25y"] is True
    assert record["normalize_notes"] == ["eligible_25y:boundary_month"]


def test_config_reaches_the_normalizer():
    _, [record], _ = run(json.dumps(GOOD), config={"band": {"low": 3000, "high": 9000}})
    assert record["price_band"] == "below"


def test_japanese_text_is_written_as_characters():
    out, err = io.StringIO(), io.StringIO()
    normalize_stream([json.dumps({**GOOD, "title": "スズキ キャリイ"})], out, err)
    assert "スズキ キャリイ" in out.getvalue()
