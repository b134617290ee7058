"""The floor every layer stands on: configuration, dates and the reference tables.

Nothing here imports from ``scrapers``, ``pipelines``, ``analysis`` or the rest of ``keitrucks``;
everything may import from here. See ``docs/architecture.md``.
"""
