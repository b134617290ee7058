"""The report's computation as it was before issue #18 (a night costs what the night changed):
straightforward pandas over every row of the window. Kept verbatim as the oracle of
``tests/test_report_equivalence.py``, which checks that the report's faster internals give
identical frames and pages. Not used by the application.
"""
