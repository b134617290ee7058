"""Where the hooks find their configuration: the ``keitrucks`` entry of a database's plugins."""

from __future__ import annotations

from typing import Any

PLUGIN_NAME = "keitrucks"


def plugin_config(datasette: Any, database: str | None) -> dict[str, Any] | None:
    """The database's ``keitrucks`` plugin configuration, None for any other database."""
    if not database:
        return None
    config = datasette.plugin_config(PLUGIN_NAME, database=database, fallback=False)
    return config if isinstance(config, dict) else None
