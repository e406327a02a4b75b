"""The results store: every run, its evals and its final metrics, in SQLite or PostgreSQL.

`Store(url)` opens the database (migrating its schema, see migrate.py) and offers one method per
operation; each runs in one transaction, returns frozen records or DataFrames (never ORM rows)
and raises `StoreError` for any database error. The methods live by topic:

    store.py     sweeps, reading runs, writing evals (here)
    queue.py     enqueue_many, claim, heartbeat, finish_run, fail_attempt, release,
                 release_worker_runs, requeue_expired, cancel, retry
    imports.py   upsert_imported_run
    progress.py  status_counts, live_runs, run_outcomes, run_detail
    frames.py    runs_frame, curves_frame

Writes on SQLite take the write lock up front (BEGIN IMMEDIATE) and transient lock/serialization
errors are retried with jittered back-off, so concurrent workers never see "database is locked".
View `run_summary`: one row per run with final metrics, step budget, the sweep's threshold and the
run's time-to-threshold on it (ttt_s, reached, steps_to_threshold: interpolated as the report does,
censored at the last eval); readable with one `pandas.read_sql`.
"""
from __future__ import annotations

import difflib
from typing import Optional

from sqlalchemy import insert, select, update

from sweeper.errors import StoreError
from sweeper.store import migrate, urls
from sweeper.store.engine import Database, default_db_url, retry_transient, utc_now
from sweeper.store.frames import FrameOps
from sweeper.store.imports import ImportOps
from sweeper.store.progress import ProgressOps
from sweeper.store.queue import QueueOps
from sweeper.store.records import RunRecord, SweepRecord, eval_row, run_record
from sweeper.store.schema import evals_t, runs_t, sweeps_t


class Store(QueueOps, ImportOps, ProgressOps, FrameOps):
    """One results database (SQLite file or PostgreSQL); brings its schema up to date on open."""

    def __init__(self, url: Optional[str] = None, create: bool = True):
        """Open (and migrate) the store at `url` (None: $GOLF_DB, else sqlite:///results.db); with
        create=False, a SQLite file that does not exist is a StoreError instead of a new store."""
        if not create:
            urls.require_existing(url or default_db_url())
        self.db = Database(url or default_db_url())
        self.url, self.engine, self.is_sqlite = self.db.url, self.db.engine, self.db.is_sqlite
        self.connect_url = self.db.connect_url  # with its password: for workers' environment, never printed
        try:
            migrate.upgrade(self.db)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Release pooled connections."""
        self.db.close()

    # ---- sweeps ----
    @retry_transient
    def ensure_sweep(self, name: str, spec_text: Optional[str] = None, threshold_metric: Optional[str] = None,
                     threshold_value: Optional[float] = None, baseline: Optional[str] = None,
                     adaptive_design: Optional[str] = None) -> SweepRecord:
        """Create the sweep if missing; fill in spec/threshold/baseline/adaptive design (JSON) when
        given. Returns the stored record."""
        with self.db.write(f"create sweep {name!r}") as conn:
            row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).first()
            if row is None:
                conn.execute(insert(sweeps_t).values(name=name, spec_text=spec_text, threshold_metric=threshold_metric,
                                                     threshold_value=threshold_value, baseline=baseline,
                                                     adaptive_design=adaptive_design, created_at=utc_now()))
            else:
                changes = {k: v for k, v in (("spec_text", spec_text), ("threshold_metric", threshold_metric),
                                             ("threshold_value", threshold_value), ("baseline", baseline),
                                             ("adaptive_design", adaptive_design))
                           if v is not None}
                if changes:
                    conn.execute(update(sweeps_t).where(sweeps_t.c.name == name).values(**changes))
            return SweepRecord(**conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).one()._mapping)

    def get_sweep(self, name: str) -> Optional[SweepRecord]:
        """The sweep called `name`, or None."""
        with self.db.read(f"read sweep {name!r}") as conn:
            row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).first()
        return SweepRecord(**row._mapping) if row else None

    def require_sweep(self, name: str) -> SweepRecord:
        """The sweep called `name`; StoreError naming the store and its sweeps (the closest first)
        when there is none: a typo, or a command run beside another results.db."""
        found = self.get_sweep(name)
        if found is not None:
            return found
        with self.db.read("list sweeps") as conn:
            names = sorted(conn.execute(select(sweeps_t.c.name)).scalars())
        close = difflib.get_close_matches(name, names, n=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"it has {', '.join(map(repr, names[:10]))}" + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            if names else "it has no sweeps yet: `golf sweep SPEC` or `golf import LOG --sweep NAME` adds one; "
                          "--db or $GOLF_DB picks another store")
        raise StoreError(f"no sweep named {name!r} in {self.url} ({hint})")

    # ---- runs ----
    def get_run(self, run_id: str) -> Optional[RunRecord]:
        """One run by id (or unique id prefix), or None."""
        with self.db.read(f"read run {run_id!r}") as conn:
            rows = conn.execute(select(runs_t).where(runs_t.c.id.like(run_id + "%")).limit(2)).all()
        if len(rows) > 1:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        return run_record(rows[0]) if rows else None

    def list_runs(self, sweep: str, status: Optional[str] = None) -> list[RunRecord]:
        """Runs of a sweep (optionally one status), in queue order."""
        q = select(runs_t).where(runs_t.c.sweep == sweep)
        if status:
            q = q.where(runs_t.c.status == status)
        with self.db.read(f"list the runs of {sweep!r}") as conn:
            rows = conn.execute(q.order_by(runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.variant,
                                           runs_t.c.seed)).all()
        return [run_record(r) for r in rows]

    def finished_runs_with_keys(self, keys) -> list[RunRecord]:
        """Finished runs of any sweep whose run key is in `keys` (the same config, wherever it ran):
        what `golf sweep SPEC --dry-run` estimates seed noise from."""
        keys = sorted(set(keys))
        if not keys:
            return []
        with self.db.read("find finished runs by run key") as conn:
            rows = conn.execute(select(runs_t).where(runs_t.c.key.in_(keys), runs_t.c.status == "finished")
                                .order_by(runs_t.c.created_at, runs_t.c.seed)).all()
        return [run_record(r) for r in rows]

    @retry_transient
    def add_evals(self, run_id: str, attempt: int, rows: list[dict]) -> None:
        """Append a batch of eval rows (Eval field names) for one attempt of a run."""
        if not rows:
            return
        with self.db.write(f"write the evals of run {run_id}") as conn:
            conn.execute(insert(evals_t), [eval_row(run_id, attempt, e) for e in rows])
