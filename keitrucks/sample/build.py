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


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    build()
    logger.info("sample marketplace written to %s", SAMPLE_DIR)
