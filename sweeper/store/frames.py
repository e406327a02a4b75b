"""DataFrames for the report and notebooks: one row per run, and the long-form curves.

Read through a raw DB-API cursor: SQLAlchemy's per-row Result processing costs ~10x on the 1M eval
rows of a large sweep. The curves of a SQLite file are read by connectorx instead (columnar, in
Rust): the stdlib driver builds a tuple per row and an object per cell, ~2.4 s of CPU for 1M
rows against ~1 s (bench/bench_report.py; figures in the README).
"""
from __future__ import annotations

from typing import Optional
from urllib.parse import quote

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import URL

from sweeper.store.engine import Database
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS, evals_t, runs_t

# beyond the finals: what the report needs to group and check runs (budget, source, config)
_RUN_EXTRA_COLUMNS = ("step_budget", "source_path", "import_key", "config")
RUN_FRAME_COLUMNS = ["run_id", "sweep", "variant", "seed", "status", "attempts", "source", *FINAL_COLUMNS,
                     *_RUN_EXTRA_COLUMNS]
CURVE_FRAME_COLUMNS = ["run_id", "variant", "seed", "attempt", "step", "train_time_s", "val_loss", "val_bpb",
                       "ppm_val_loss", "ppm_val_bpb", "current"]


def sqlite_file(url: URL) -> Optional[str]:
    """The absolute path of a SQLAlchemy URL's SQLite file; None for other databases, in-memory
    SQLite and URLs with options (file: URIs, read-only modes), which the driver reads."""
    import os

    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or url.query:
        return None
    return os.path.abspath(database)


def to_sql(query, dialect) -> tuple[str, tuple | dict]:
    """A SQLAlchemy select compiled for `dialect`: (SQL text, DB-API parameters)."""
    compiled = query.compile(dialect=dialect)
    params = compiled.construct_params()
    return str(compiled), (tuple(params[k] for k in compiled.positiontup) if compiled.positional else params)


class FrameOps:
    """Store methods that return DataFrames. Needs `self.db` (a Database)."""

    db: Database

    def runs_frame(self, sweep: str) -> pd.DataFrame:
        """One row per run of `sweep`, in enqueue/import order: run_id, sweep, variant, seed, status,
        attempts, source, finals, step_budget, source_path, import_key, config (JSON text)."""
        cols = [runs_t.c.id.label("run_id"), runs_t.c.sweep, runs_t.c.variant, runs_t.c.seed, runs_t.c.status,
                runs_t.c.attempts, runs_t.c.source, *[runs_t.c[c] for c in FINAL_COLUMNS + _RUN_EXTRA_COLUMNS]]
        order = (runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.variant, runs_t.c.seed)
        query = select(*cols).where(runs_t.c.sweep == sweep).order_by(*order)
        df = self._frame(query, RUN_FRAME_COLUMNS, f"read the runs of {sweep!r}")
        df["step_budget"] = pd.to_numeric(df["step_budget"], errors="coerce")
        return df

    def curves_frame(self, sweep: str) -> pd.DataFrame:
        """Long-form curves: run_id, variant, seed, attempt, step, train_time_s, val_loss, val_bpb,
        ppm_val_loss, ppm_val_bpb, current (eval belongs to the run's latest attempt)."""
        # No ORDER BY: the (run_id, attempt, step) index already yields rows grouped by run in
        # attempt/step order, and a sort of 1M rows costs a temp B-tree.
        query = (select(evals_t.c.run_id, runs_t.c.variant, runs_t.c.seed, evals_t.c.attempt, evals_t.c.step,
                        evals_t.c.train_time_s, evals_t.c.val_loss, evals_t.c.val_bpb, evals_t.c.ppm_val_loss,
                        evals_t.c.ppm_val_bpb, (evals_t.c.attempt == runs_t.c.attempts).label("current"))
                 .select_from(runs_t.join(evals_t, runs_t.c.id == evals_t.c.run_id)).where(runs_t.c.sweep == sweep))
        what = f"read the curves of {sweep!r}"
        path = sqlite_file(self.db.engine.url)
        df = self._columnar_frame(path, query, what) if path else self._frame(query, CURVE_FRAME_COLUMNS, what)
        df["current"] = df["current"].astype(bool)
        return df

    def _columnar_frame(self, path: str, query, what: str) -> pd.DataFrame:
        """`query` on the SQLite file at `path`, read by connectorx. connectorx links its own copy of
        SQLite; a second copy in one process that closes a file releases the first copy's POSIX
        locks on it, so this store's pooled connections are closed first (it reopens them)."""
        import connectorx as cx

        sql = str(query.compile(dialect=self.db.engine.dialect, compile_kwargs={"literal_binds": True}))
        self.db.engine.dispose()
        with self.db.translating(what, RuntimeError):
            df = cx.read_sql("sqlite://" + quote(path), sql)
        # connectorx gives nullable Int64 columns; the driver path gives int64, or float64 with NaN.
        for c in df.columns:
            if isinstance(df[c].dtype, pd.Int64Dtype):
                df[c] = df[c].to_numpy(np.float64 if df[c].hasnans else np.int64, na_value=np.nan)
        return df

    def _frame(self, query, names: list[str], what: str) -> pd.DataFrame:
        sql, args = to_sql(query, self.db.engine.dialect)
        with self.db.read(what) as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(sql, args)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        df = pd.DataFrame.from_records(rows, columns=names)
        for c in names:  # keep numeric dtypes even for an empty sweep / all-NULL column
            if c in FINAL_COLUMNS or c in EVAL_COLUMNS:
                df[c] = pd.to_numeric(df[c], errors="coerce") if c != "stopped_early" else df[c]
        return df
