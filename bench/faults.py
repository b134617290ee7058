"""Every fault against every source: runs ``tests/test_faults_matrix.py`` and prints its table.

One row per (source, fault): the outcome line the night prints, the listings the run kept, the
listings lost, falsely marked gone and alerted twice (all three must be 0), and the seconds the
crawl took (the time to fail; Scrapy's start-up excluded: a source's crawls share one
process). Faults and sources are the test's ``FAULTS`` and ``SOURCES``; the crawls run on the
sample marketplace on 127.0.0.1.

    .venv/bin/python bench/faults.py            # all eight sources, two at a time
    .venv/bin/python bench/faults.py -k tcv     # one source
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("source", "fault", "kept", "lost", "false_gone", "duplicate_alerts", "seconds")


def table(rows: list[dict]) -> str:
    """A Markdown table of the rows, with the outcome line (cut at its first ';') last."""
    head = [*COLUMNS, "outcome"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        outcome = row["outcome"].split(";")[0].split(" at http")[0]
        lines.append("| " + " | ".join([*(str(row[c]) for c in COLUMNS), outcome]) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="pytest -k expression (a source name)")
    parser.add_argument("-n", default="2", help="pytest-xdist workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keitrucks-faults-") as folder:
        out = Path(folder) / "table"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-n", args.n]
        cmd += ["tests/test_faults_matrix.py"] + (["-k", args.k] if args.k else [])
        env = {**os.environ, "KEITRUCKS_FAULT_TABLE": str(out)}
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        rows = [row for path in sorted(out.glob("*.json")) for row in json.loads(path.read_text())]
    print(table(rows))
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no pytest output")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
