"""Render the sample marketplace from the catalog into ``data/sample/``.

Run ``python -m keitrucks.sample.build`` after changing the catalog or a renderer; the pages
are committed so the demo and the tests need nothing but the repository.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

from keitrucks.sample.catalog import NIGHTS, SOURCES, build_catalog
from keitrucks.sample.site import SAMPLE_DIR, Route, write_night

logger = logging.getLogger(__name__)


def renderer(source: str):
    return importlib.import_module(f"keitrucks.sample.render_{source}")


def render_night(catalog, night: int) -> list[Route]:
    routes: list[Route] = []
    for source in SOURCES:
        routes.extend(renderer(source).render(catalog, night))
    return routes


def build(root: Path = SAMPLE_DIR) -> None:
    catalog = build_catalog()
    for night in range(len(NIGHTS)):
        write_night(render_night(catalog, night), root / f"night{night + 1}")
    (root / "catalog.json").write_text(
        json.dumps([asdict(t) for t in catalog], indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def sample_files(root: Path) -> dict[str, Path]:
    """What :func:`build` writes under ``root`` (night folders and catalog), by relative path."""
    files = [root / "catalog.json", *root.glob("night*/*")]
    return {path.relative_to(root).as_posix(): path for path in files if path.is_file()}


def first_difference(expected: Path, actual: Path) -> str | None:
    """The first file, by relative path, that one sample folder lacks or holds other bytes of.

    None when both hold the same files with the same bytes.
    """
    ours, theirs = sample_files(expected), sample_files(actual)
    for name in sorted(ours.keys() | theirs.keys()):
        if name not in ours or name not in theirs:
            return name
        if ours[name].read_bytes() != theirs[name].read_bytes():
            return name
    return None


def sample_config_toml() -> str:
    """The configuration that crawls the sample marketplace: each source's ``sample_config()``.

    Most sources crawl the sample with their defaults; a source whose searches are user
    configuration (dealer sites) says what the sample needs. Values are written as JSON, which
    is valid TOML for strings, numbers, booleans and lists of them.
    """
    lines: list[str] = []
    for source in SOURCES:
        module = renderer(source)
        if not hasattr(module, "sample_config"):
            continue
        table = module.sample_config()
        lines.append(f"[sources.{source}]")
        nested = {
            k: v for k, v in table.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        }
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items() if k not in nested]
        for key, entries in nested.items():
            for entry in entries:
                lines.append(f"[[sources.{source}.{key}]]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    build()
    logger.info("sample marketplace written to %s", SAMPLE_DIR)
