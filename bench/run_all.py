"""Run every benchmark in ``bench/`` and print one table of their ratios (``make bench``).

Each ``bench/*.py`` script (but this one, and helpers whose name starts with ``_``) runs in its
own process, one after the other so they do not slow each other down, with its default
arguments. Every line of the form ``ratio <bench>/<baseline> <value>`` it prints is collected;
the table shows each ratio, which way is better (speed ratios: higher; the time ratios of
``normalize.py``, ``report.py``, ``appraise.py`` and ``serve.py``, seconds over baseline
seconds: lower), and its target from the benchmark issue where there is one, then the machine it
ran on, for the README. A script that fails is reported and makes the exit status non-zero.

    .venv/bin/python bench/run_all.py               # everything, a few minutes on 2 cores
    .venv/bin/python bench/run_all.py parse crawl   # only these scripts
    .venv/bin/python bench/run_all.py --log /tmp/bench   # and keep every script's output
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RATIO = re.compile(r"^ratio\s+(?P<name>\S+)/(?P<baseline>\S+)\s+(?P<value>[-+0-9.eE]+)\s*$")
#: (bench name pattern, baseline) -> the bound the benchmark issue (#18) sets: a speed ratio
#: (higher is better) must reach it, a time ratio (lower is better) must stay at or under it.
#: A ratio against a bare number ("report_rss/500MB") is the measure over the issue's own limit.
TARGETS = {
    (r"parse(_real)?", "raw_lxml"): 0.67,
    (r"parse_real", "bs4"): 10.0,
    (r"ingest_first", "raw_executemany"): 0.25,
    (r"ingest_recrawl", "raw_executemany"): 0.5,
    (r"ingest_(first|recrawl)", "sqlite_utils_per_row"): 10.0,
    (r"crawl", "bare_spider"): 0.8,
    (r"report", "pandas_full"): 0.5,
    (r"report", "sqlite_groupby"): 3.0,
    (r"report_rss", "500MB"): 1.0,
    (r"report_10m_rss", "1GB"): 1.0,
    (r"report_10m", "5s"): 1.0,
    (r"serve_slowest", "half_second"): 1.0,
}
#: Scripts whose ratios are times (ours over the baseline's seconds), per their docstrings.
TIME_RATIO_SCRIPTS = {"normalize", "report", "appraise", "serve", "remote_ingest"}


@dataclass
class Ratio:
    script: str
    name: str
    baseline: str
    value: float

    @property
    def better(self) -> str:
        return "lower" if self.script in TIME_RATIO_SCRIPTS else "higher"

    @property
    def target(self) -> float | None:
        for (pattern, baseline), bound in TARGETS.items():
            if baseline == self.baseline and re.fullmatch(pattern, self.name):
                return bound
        return None


def scripts(only: list[str]) -> list[Path]:
    found = sorted(
        p
        for p in BENCH.glob("*.py")
        if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    return [p for p in found if not only or p.stem in only]


def run(script: Path, log: Path | None = None) -> tuple[list[Ratio], float, str | None]:
    """The ratios a script printed, its seconds, and an error line if it failed."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=BENCH.parent, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if log is not None:
        log.mkdir(parents=True, exist_ok=True)
        (log / f"{script.stem}.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    ratios = [
        Ratio(script.stem, m["name"], m["baseline"], float(m["value"]))
        for line in proc.stdout.splitlines()
        if (m := RATIO.match(line.strip()))
    ]
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return ratios, seconds, f"exit {proc.returncode}: {tail}"
    return ratios, seconds, None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}; load average {load}; {dt.date.today().isoformat()}"
    )


def table(rows: list[Ratio]) -> list[str]:
    lines = ["| bench | baseline | ratio | better | target | |", "|---|---|---:|---|---:|---|"]
    for r in rows:
        target = r.target
        higher = r.better == "higher"
        met = target is not None and (r.value >= target if higher else r.value <= target)
        verdict = "" if target is None else ("met" if met else "**missed**")
        bound = "" if target is None else f"{'>=' if higher else '<='} {target:g}"
        lines.append(
            f"| {r.name} | {r.baseline} | {r.value:g} | {r.better} | {bound} | {verdict} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("only", nargs="*", help="script names (without .py); default: all")
    parser.add_argument("--log", type=Path, help="keep each script's full output in this folder")
    args = parser.parse_args(argv)
    rows: list[Ratio] = []
    failures = []
    for script in scripts(args.only):
        print(f"running {script.name} ...", flush=True)
        ratios, seconds, error = run(script, args.log)
        rows += ratios
        print(
            f"  {len(ratios)} ratio(s) in {seconds:.0f}s"
            + (f"; FAILED ({error})" if error else ""),
            flush=True,
        )
        if error:
            failures.append(f"{script.name}: {error}")
    print()
    print("\n".join(table(rows)))
    print()
    print(f"Machine: {machine()}")
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
