"""The results store: every run, its evals and final metrics, in SQLite or PostgreSQL.

All SQL of golf lives in this package; callers get frozen records and DataFrames. May import
sweeper.errors only.

    schema      tables, the run_summary view, column lists (the schema, in one place)
    migrations/ Alembic revisions that bring stored databases to that schema
    migrate     applies them when a store is opened; refuses a store from a newer golf
    engine      engine, transactions, the database clock; database errors -> StoreError
    records     SweepRecord, RunRecord, LiveRun
    store       Store: sweeps and runs, assembled from queue, imports, progress and frames
"""

from sweeper.store.engine import default_db_url
from sweeper.store.records import ENDED, LiveRun, RunRecord, SweepRecord
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS, SCHEMA_VERSION, evals_t, runs_t
from sweeper.store.store import Store

__all__ = ["ENDED", "EVAL_COLUMNS", "FINAL_COLUMNS", "SCHEMA_VERSION", "LiveRun", "RunRecord", "Store",
           "SweepRecord", "default_db_url", "evals_t", "runs_t"]
