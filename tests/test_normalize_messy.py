"""Listings written the way sellers write them (``tests/cases/messy_listings.jsonl``): whether the
truck runs, its title, a pending sale, parts and toys among trucks, vans in katakana, "mini
trucks" that are not kei, years and mileages that are something else.

Each case compares only the keys its ``expected`` names; the report prints the accuracy per
field, and every case must pass.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipelines.normalize import normalize_listing

CASES_PATH = Path(__file__).parent / "cases" / "messy_listings.jsonl"
CASES = [json.loads(line) for line in CASES_PATH.read_text(encoding="utf-8").splitlines() if line]


def got_for(case: dict) -> dict:
    out = normalize_listing(case["input"])
    return {field: out.get(field) for field in case["expected"]}


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_messy_case(case):
    assert got_for(case) == case["expected"], case["note"]


def test_messy_cases_report(capsys):
    checked, right, wrong = Counter(), Counter(), []
    for case in CASES:
        got = got_for(case)
        for field, want in case["expected"].items():
            checked[field] += 1
            if got[field] == want:
                right[field] += 1
            else:
                wrong.append(f"{case['id']} {field}: want {want!r}, got {got[field]!r}")
    lines = [f"messy_listings.jsonl: {len(CASES)} cases"]
    lines += [
        f"  {field:<14} {right[field]:>4}/{checked[field]:<4} "
        f"{100 * right[field] / checked[field]:6.2f}%"
        for field in sorted(checked)
    ]
    with capsys.disabled():
        sys.stdout.write("\n" + "\n".join(lines) + "\n")
    assert len(CASES) >= 75
    assert not wrong, wrong


def test_case_ids_are_unique():
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
