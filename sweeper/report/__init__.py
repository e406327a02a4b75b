"""Statistics over stored runs and the ways to look at them.

    analysis    time-to-threshold, per-variant statistics, tests against the baseline, rules
    notebook    `load(sweep)` -> Results (runs, curves, summary) for notebooks
    table_view  the ranking as a rich table / csv / json / markdown
    plots       PNG curves

May import sweeper.store (for frames) and sweeper.errors; never sweeper.run.
"""

from sweeper.report.notebook import Results, load

__all__ = ["Results", "load"]
