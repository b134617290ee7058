"""Datasette plugins of ``keitrucks serve``: each module here holds hook implementations.

``analysis.serve.build_datasette`` registers every module of ``PLUGINS`` (once per process:
Datasette's plugin manager is global). A hook acts only on a database whose metadata carries
the ``keitrucks`` plugin configuration (``analysis.serve.metadata``, read through
``config.plugin_config``), so another Datasette in the same process is left alone. To add a
page or a hook (an appraisal route, say), write a module with ``@hookimpl`` functions and add
it to ``PLUGINS``.
"""

from __future__ import annotations

from analysis.serve_plugins import column_notes, history_links, query_examples

#: The plugin modules ``build_datasette`` registers.
PLUGINS = (history_links, query_examples, column_notes)
