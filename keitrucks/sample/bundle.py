"""Where the sample marketplace's pages are, for a checkout and for an installed copy alike.

A checkout has the rendered pages committed in ``data/sample/``. An installed copy (a wheel,
``pipx install``) ships the catalog and the renderers but not the 6 MB of pages: the first time
the sample is needed they are rendered from the catalog into the user's cache folder
(``platformdirs``), in a folder keyed by the package version and a hash of the sample's code,
and served from there afterwards. ``$KEITRUCKS_SAMPLE_DIR`` names a folder to use instead.

Rendering runs ``python -m keitrucks.sample.build`` in a subprocess: this module is imported
while ``site`` is, so it cannot import the renderers (they import ``site``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import platformdirs

logger = logging.getLogger(__name__)

SAMPLE_DIR_ENV = "KEITRUCKS_SAMPLE_DIR"
#: The sample's code, whose content keys the rendered cache.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The committed sample marketplace of a checkout (absent in an installed copy).
CHECKOUT_SAMPLE = PACKAGE_DIR.parents[1] / "data" / "sample"


class SampleRenderError(RuntimeError):
    """The sample pages could not be rendered; worded for one line."""


def sample_key(package_dir: Path = PACKAGE_DIR) -> str:
    """The package version and a hash of the sample's Python files: a new key, a new render."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        release = version("keitrucks")
    except PackageNotFoundError:
        release = "0"
    return f"{release}-{digest.hexdigest()[:12]}"


def cache_location(cache_root: Path | None = None) -> Path:
    """The folder an installed copy renders the sample into."""
    root = cache_root or Path(platformdirs.user_cache_dir("keitrucks", appauthor=False))
    return root / f"sample-{sample_key()}"


def sample_location(
    environ: Mapping[str, str] | None = None, checkout_sample: Path = CHECKOUT_SAMPLE
) -> Path:
    """Where the sample is, or will be once rendered: ``$KEITRUCKS_SAMPLE_DIR``, the checkout's
    ``data/sample/``, else the cache folder."""
    environ = os.environ if environ is None else environ
    if environ.get(SAMPLE_DIR_ENV):
        return Path(environ[SAMPLE_DIR_ENV])
    if checkout_sample.is_dir():
        return checkout_sample
    return cache_location()


def render(folder: Path) -> Path:
    """Render the sample from the catalog into ``folder`` (unless there already), atomically:
    into a temporary folder beside it, then renamed, so a half-written sample is never used."""
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    logger.info("rendering the sample marketplace into %s (once)", folder)
    done = subprocess.run(
        [sys.executable, "-m", "keitrucks.sample.build"],
        env={**os.environ, SAMPLE_DIR_ENV: str(partial)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SampleRenderError(f"could not render the sample into {folder}: {last}")
    try:
        partial.rename(folder)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def sample_dir() -> Path:
    """The folder of the sample's nights, rendered first when it is a cache not yet filled."""
    folder = sample_location()
    if os.environ.get(SAMPLE_DIR_ENV) or folder == CHECKOUT_SAMPLE:
        return folder
    return render(folder)
