"""Where keitrucks reads and writes by default: one home folder, laid out by :data:`LAYOUT`.

The home folder is, first match wins:

1. ``$KEITRUCKS_HOME``, one folder for everything;
2. ``data/`` when the current directory is a project checkout (it has ``scrapy.cfg`` and
   ``keitrucks/``), so a developer's paths stay the README's ``data/keitrucks.db``,
   ``data/demo.db`` and ``data/reports``;
3. the user's data directory of the platform (``platformdirs``), e.g.
   ``~/.local/share/keitrucks`` on Linux, for an installed tool run from anywhere.

Every command's ``--db``/``--out`` (and ``--config``/``$KEITRUCKS_CONFIG``) still override
these defaults. The constants below are worked out once, when the module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "keitrucks"
HOME_ENV = "KEITRUCKS_HOME"
CONFIG_ENV = "KEITRUCKS_CONFIG"
#: What makes a directory a project checkout.
CHECKOUT_MARKERS = ("scrapy.cfg", "keitrucks")
#: The home folder inside a project checkout, relative to it.
CHECKOUT_HOME = Path("data")

#: Each default location, relative to the home folder. The logs and the scheduler's job store
#: sit beside the database, as the crawl and ``scheduler.py`` place them next to ``--db``.
LAYOUT = {
    "database": "keitrucks.db",
    "reports": "reports",
    "logs": "logs",
    "jobstore": "scheduler.sqlite",
    "demo database": "demo.db",
    "demo reports": "reports/demo",
}


def is_checkout(folder: Path) -> bool:
    """Whether ``folder`` is a project checkout (where the README's relative paths apply)."""
    return (folder / "scrapy.cfg").is_file() and (folder / "keitrucks").is_dir()


def home(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The folder every default location is under (see the module's docstring)."""
    environ = os.environ if environ is None else environ
    if environ.get(HOME_ENV):
        return Path(environ[HOME_ENV]).expanduser()
    if is_checkout(Path.cwd() if cwd is None else cwd):
        return CHECKOUT_HOME
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def locations(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> dict[str, Path]:
    """Every default location of :data:`LAYOUT`, by name."""
    root = home(environ, cwd)
    return {name: root / relative for name, relative in LAYOUT.items()}


def config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration named by ``$KEITRUCKS_CONFIG``; None: the built-in defaults."""
    environ = os.environ if environ is None else environ
    return Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None


#: The example configuration, shipped inside the package: copy it and edit what you change.
EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "keitrucks.example.toml"

_DEFAULTS = locations()
DEFAULT_DB = str(_DEFAULTS["database"])
DEFAULT_REPORTS = str(_DEFAULTS["reports"])
DEMO_DB = str(_DEFAULTS["demo database"])
DEMO_REPORTS = str(_DEFAULTS["demo reports"])
