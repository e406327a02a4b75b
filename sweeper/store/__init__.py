"""The results store: every run, its evals and final metrics, in SQLite or PostgreSQL.

All SQL of golf lives in this package; callers get frozen records and DataFrames. May import
sweeper.errors only.

    schema        tables, the run_summary view, column lists
    records       SweepRecord, RunRecord, LiveRun
    store         Store: transactions, queue operations, import upserts, frames
    sqlite_arrays the SQLite fast path for curve frames
"""

from sweeper.store.records import LiveRun, RunRecord, SweepRecord
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS, SCHEMA_VERSION, evals_t, runs_t
from sweeper.store.store import Store, default_db_url

__all__ = ["EVAL_COLUMNS", "FINAL_COLUMNS", "SCHEMA_VERSION", "LiveRun", "RunRecord", "Store",
           "SweepRecord", "default_db_url", "evals_t", "runs_t"]
