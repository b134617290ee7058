"""Installed like a real tool (issue #21): a built wheel runs the demo from any directory.

Also the pieces that make it work: crawls find their settings without a scrapy.cfg, a crawl
that cannot start says why in one line, the sample is rendered into a cache when the package
has no ``data/sample/``, and the Scrapyd egg is packed from wherever the packages are imported.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

import pytest

from keitrucks.crawl import CrawlResult, failure_line, run_crawl
from keitrucks.night import describe
from keitrucks.sample import bundle
from keitrucks.sample.catalog import NIGHTS, build_catalog
from keitrucks.sample.history import history_catalog
from keitrucks.scrapyd import ScrapydError, build_egg, deploy_url
from tests.conftest import TESTS_DIR, rows

ROOT = TESTS_DIR.parent
#: What a wheel is built from: the packages and the files pyproject.toml names.
SOURCE_FILES = ("pyproject.toml", "README.md", "scheduler.py")
PACKAGES = ("keitrucks", "scrapers", "pipelines", "analysis")

SCRAPY_OUTSIDE_A_PROJECT = """Scrapy 2.19.0 - no active project

Unknown command: crawl

Use "scrapy" to see available commands
"""


@pytest.mark.parametrize(
    ("stderr", "stdout", "expected"),
    [
        (
            'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
            "    import scrapers\nModuleNotFoundError: No module named 'scrapers'\n",
            "",
            "ModuleNotFoundError: No module named 'scrapers'",
        ),
        ("", SCRAPY_OUTSIDE_A_PROJECT, "Unknown command: crawl"),
        (
            "Usage\n=====\n  scrapy crawl [options] <spider>\n\ncrawl: error: no such option: -x\n",
            "",
            "crawl: error: no such option: -x",
        ),
        ("something odd\nthe last words\n", "", "the last words"),
        ("", "only stdout\nmore\n", "only stdout"),
    ],
    ids=["traceback", "no project", "usage error", "last line", "stdout"],
)
def test_a_failed_start_is_told_in_one_line(stderr, stdout, expected):
    assert failure_line(stderr, stdout, 1) == expected


def test_no_output_at_all_says_so_with_the_exit_code():
    assert failure_line("", "", -9) == "no output (exit code -9)"
    result = CrawlResult("tcv", 1, None, "", stdout_tail=SCRAPY_OUTSIDE_A_PROJECT)
    assert describe("tcv", result, None).line == "did not start: Unknown command: crawl"


@pytest.mark.slow
def test_a_crawl_finds_its_settings_from_any_directory(tmp_path, monkeypatch, sample_server):
    """No scrapy.cfg in the working directory: the environment names the settings module."""
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("SCRAPY_SETTINGS_MODULE", raising=False)
    result = run_crawl(
        "tcv", db=tmp_path / "k.db", base_url=sample_server.base_url, as_of=NIGHTS[0]
    )
    assert result.returncode == 0, result.reason
    stored = rows(tmp_path / "k.db", "SELECT listing_id FROM listings")
    assert len(stored) == sum(1 for t in build_catalog() if t.source == "tcv" and t.nights[0])

    missing = run_crawl("no_such_spider", db=tmp_path / "k.db", timeout=60)
    assert describe("no_such_spider", missing, None).line == (
        "did not start: KeyError: 'Spider not found: no_such_spider'"
    )


def test_a_checkout_serves_its_committed_sample(monkeypatch):
    monkeypatch.delenv(bundle.SAMPLE_DIR_ENV, raising=False)
    assert bundle.sample_location() == ROOT / "data" / "sample"
    assert bundle.sample_dir() == ROOT / "data" / "sample"


def test_without_a_committed_sample_it_is_rendered_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(bundle.SAMPLE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = bundle.sample_location({}, checkout_sample=tmp_path / "no-checkout")
    assert folder.is_relative_to(tmp_path / "cache")
    assert folder.name == f"sample-{bundle.sample_key()}"
    assert bundle.render(folder) == folder
    committed = ROOT / "data" / "sample"
    for night in sorted(p.name for p in committed.iterdir() if p.is_dir()):
        names = sorted(p.name for p in (committed / night).iterdir())
        assert sorted(p.name for p in (folder / night).iterdir()) == names
        match, mismatch, errors = filecmp.cmpfiles(
            committed / night, folder / night, names, shallow=False
        )
        assert (mismatch, errors) == ([], [])
    assert not list(folder.parent.glob("*.partial-*"))


def test_the_cache_key_follows_the_sample_code(tmp_path):
    for name in ("catalog.py", "site.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    before = bundle.sample_key(tmp_path)
    (tmp_path / "catalog.py").write_text("# changed\n")
    assert bundle.sample_key(tmp_path) != before
    assert before.startswith(f"{version('keitrucks')}-")


def test_the_egg_comes_from_the_imported_packages_without_a_source_root():
    names = set(zipfile.ZipFile(BytesIO(build_egg("1"))).namelist())
    from_tree = set(zipfile.ZipFile(BytesIO(build_egg("1", ROOT))).namelist())
    assert names == from_tree
    assert "keitrucks/core/data/models.csv" in names


def test_deploy_without_a_scrapy_cfg_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScrapydError, match="no scrapy.cfg .* pass the Scrapyd URL"):
        deploy_url()


# -- the wheel, end to end ---------------------------------------------------------------------


def _can_build_offline() -> str | None:
    """Why the wheel cannot be built here without the network, or None."""
    try:
        major = int(version("setuptools").split(".")[0])
    except Exception:  # noqa: BLE001 (no setuptools at all)
        return "setuptools is not installed in this environment"
    if major < 77:
        return f"setuptools {version('setuptools')} is older than the 77 pyproject.toml needs"
    return None


def _copy_sources(dest: Path) -> Path:
    """The files a wheel is built from, copied, so the build leaves the checkout untouched."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package, ignore=ignore)
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _run(cmd: list, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert done.returncode == 0, f"{cmd[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_built_wheel_runs_the_demo_from_an_empty_directory(tmp_path):
    reason = _can_build_offline()
    if reason:
        pytest.skip(f"cannot build the wheel offline: {reason}")
    src = _copy_sources(tmp_path / "src")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--wheel-dir", str(tmp_path / "dist"), str(src)]
    )
    (wheel,) = (tmp_path / "dist").glob("keitrucks-*.whl")
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith(("data/", "tests/"))]

    # a fresh venv that sees this one's packages only through a .pth (no editable checkout)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    fresh = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    site_packages = Path(fresh.stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
        + ["--no-index", "--quiet", str(wheel)]
    )

    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KEITRUCKS_", "PYTHON", "SCRAPY"))
    }
    env.update(KEITRUCKS_HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "cache"))
    where = _run(
        [str(python), "-c", "import keitrucks; print(keitrucks.__file__)"], cwd=empty, env=env
    )
    assert Path(where.stdout.strip()).is_relative_to(site_packages)

    # about 35 s of CPU (28 nights in one crawl process); the timeout only guards against a hang
    demo = _run([str(venv / "bin" / "keitrucks"), "demo"], cwd=empty, env=env, timeout=600)
    assert "FAIL" not in demo.stdout, demo.stdout
    db = home / "demo.db"
    crawled = "SELECT * FROM listings WHERE source != 'manual'"  # the demo tracks one by hand
    stored = {(r["source"], r["listing_id"]) for r in rows(db, crawled)}
    assert stored == {(t.source, t.listing_id) for t in history_catalog()}
    assert list((home / "reports" / "demo").glob("*/report.html"))
    assert list((tmp_path / "cache" / "keitrucks").glob("sample-*/night1/routes.json"))
    assert list(empty.iterdir()) == []  # nothing written where the user stands

    paths = _run([str(venv / "bin" / "keitrucks"), "paths"], cwd=empty, env=env)
    assert f"database         {home / 'keitrucks.db'}" in paths.stdout


def test_a_crawl_that_dies_says_why_from_its_log_file(tmp_path):
    from keitrucks.crawl import CrawlResult

    log = tmp_path / "crawl.log"
    log.write_text(
        "2026-11-24 06:00:01 [scrapy.core.engine] INFO: Spider opened\n"
        "Traceback (most recent call last):\n"
        '  File "pipelines/storage.py", line 61, in open_spider\n'
        "pipelines.schema.StorageError: cannot open database k.db: disk I/O error\n",
        encoding="utf-8",
    )
    result = CrawlResult("ebay", 1, log, stderr_tail="")
    assert (
        result.reason == "pipelines.schema.StorageError: cannot open database k.db: disk I/O error"
    )
    assert CrawlResult("ebay", 1, tmp_path / "none.log", "").reason == "no output (exit code 1)"
    assert CrawlResult("ebay", 1, None, "Unknown command: crawl").reason == "Unknown command: crawl"
