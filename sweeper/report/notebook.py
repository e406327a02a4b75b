"""Notebook API: `load(sweep, db=None)` -> DataFrames of one sweep's runs and curves."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sweeper.report import analysis as report


@dataclass
class Results:
    """One sweep's results: `runs` (one row per run), `curves` (long-form evals), `summary` (report table)."""
    sweep: str
    runs: pd.DataFrame
    curves: pd.DataFrame
    threshold: float | None = None
    metric: str = "val_loss"

    @property
    def summary(self) -> pd.DataFrame:
        """The report table at the sweep's stored threshold (see `report` for other settings)."""
        return self.report()

    def report(self, threshold: float | None = None, metric: str | None = None, **kw) -> pd.DataFrame:
        """Per-variant statistics (see sweeper.report.analysis.summarize); kw: baseline=, by='time'|'steps'|'final'."""
        value = threshold if threshold is not None else self.threshold
        if value is None:
            raise ValueError(f"sweep {self.sweep!r} has no stored threshold; pass threshold=")
        return report.summarize(self.runs, self.curves, value, metric or self.metric, **kw)


def load(sweep: str, db=None) -> Results:
    """Load a sweep from the store at `db`: a URL (None -> $GOLF_DB, else sqlite:///results.db) or
    an open Store, which is reused and left open."""
    from sweeper.errors import StoreError
    from sweeper.store import Store
    store = db if isinstance(db, Store) else Store(db)
    try:
        rec = store.get_sweep(sweep)
        if rec is None:
            raise StoreError(f"no sweep named {sweep!r} in {store.url}")
        return Results(sweep, store.runs_frame(sweep), store.curves_frame(sweep),
                       rec.threshold_value, rec.threshold_metric or "val_loss")
    finally:
        if store is not db:
            store.close()
