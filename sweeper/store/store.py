"""The results store: every run, its evals and its final metrics, in SQLite or PostgreSQL.

All SQL of golf lives here. Public methods each run in one transaction, return frozen
dataclasses or DataFrames (never ORM rows) and turn database errors into `StoreError`.

API (stable; other modules code against it):
    default_db_url() -> str                      # $GOLF_DB, else sqlite:///results.db
    Store(url: str | None = None)
    .ensure_sweep(name, spec_text=None, threshold_metric=None, threshold_value=None) -> SweepRecord
    .get_sweep(name) -> SweepRecord | None
    .list_sweeps() -> list[SweepRecord]
    .upsert_imported_run(sweep, import_key, content_hash, variant, seed, evals, final,
                         source_path, config=None) -> 'added' | 'unchanged' | 'replaced'
    .runs_frame(sweep) -> DataFrame   # one row per run: run_id, sweep, variant, seed, status,
                                      # attempts, source + FINAL_COLUMNS
    .curves_frame(sweep) -> DataFrame # run_id, variant, seed, attempt, step, train_time_s,
                                      # val_loss, val_bpb, ppm_val_loss, ppm_val_bpb, current
    .enqueue(sweep, variant, seed, key, config: dict, max_attempts=3) -> bool (True = added)
    .enqueue_many(sweep, runs: list[dict(variant, seed, key, config)], max_attempts=3) -> int added
    .get_run(run_id) -> RunRecord | None ; .list_runs(sweep, status=None) -> list[RunRecord]
    .add_evals(run_id, attempt, rows: list[dict])
    Queue: .claim(worker, lease_s=60, sweep=None, now=None, info=None) -> RunRecord | None
           .heartbeat(run_id, attempt, lease_s=60, now=None, progress=None) -> bool
           .finish_run(run_id, attempt, final: dict, info=None) -> bool
           .fail_attempt(run_id, attempt, error, retry=True) -> 'queued' | 'failed' | None
           .release(run_id, attempt, reason) -> bool ; .release_worker_runs(workers) -> int
           .requeue_expired(now=None) -> int          (now: injected clock, epoch seconds)
           .cancel(sweep=|run_id=) -> int ; .retry(sweep=|run_id=, attempts=3) -> int
    Progress: .status_counts(sweep=None) ; .live_runs(sweep) -> list[LiveRun] ; .run_detail(run_id)
Table `attempts` keeps one row per attempt (worker, host, device, outcome running | finished |
failed | lost | interrupted | cancelled), so a killed attempt's partial curve is labelled as such.
Writes on SQLite take the write lock up front (BEGIN IMMEDIATE) and transient lock/serialization
errors are retried with jittered back-off, so concurrent workers never see "database is locked".
View `run_summary`: one row per run with final metrics, the sweep's threshold and the first
eval (current attempt) at/below it; readable with one `pandas.read_sql`.

Imported runs: source='import', status 'finished' when the log has final metrics or at least
one eval, else 'failed' (error says the log had no results).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import time
from datetime import datetime, timezone
from typing import Any, Optional

import pandas as pd
from sqlalchemy import create_engine, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from sweeper.errors import StoreError
from sweeper.store.records import LiveRun, RunRecord, SweepRecord, _LIVE_RUN_FIELDS
from sweeper.store.schema import (_CLAIM_INFO, _LIVE_COLUMNS, _RUN_SUMMARY_VIEW, DEFAULT_MAX_ATTEMPTS,
                                  EVAL_COLUMNS, FINAL_COLUMNS, SCHEMA_VERSION, attempts_t, evals_t,
                                  meta_table, metadata, runs_t, sweeps_t)


def default_db_url() -> str:
    """The store URL: $GOLF_DB, else `sqlite:///results.db` in the current directory."""
    return os.environ.get("GOLF_DB") or "sqlite:///results.db"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sqlite_pragmas(dbapi_conn, _record):
    # The driver's own implicit BEGIN is switched off so that `_sqlite_begin` decides the mode.
    dbapi_conn.isolation_level = None
    # WAL lets readers (report, status) run while workers write; busy_timeout waits out short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn):
    # A deferred transaction that reads and then writes cannot wait for the lock in WAL mode: SQLite
    # fails it at once with "database is locked". Writers therefore take the lock up front (and wait
    # up to busy_timeout for it); readers stay deferred and never block anyone.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("golf_write") else "BEGIN")


def _is_transient(exc: BaseException | None) -> bool:
    """Lock contention or a serialization conflict: worth retrying the whole transaction."""
    if not isinstance(exc, DBAPIError):
        return False
    message = str(exc.orig).lower()
    return any(s in message for s in ("database is locked", "database is busy", "deadlock detected",
                                      "could not serialize", "database table is locked"))


def _retry_transient(method):
    """Re-run a store method (one transaction) on transient lock errors: bounded, jittered back-off."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        for attempt in range(8):
            try:
                return method(*args, **kwargs)
            except StoreError as exc:
                if attempt == 7 or not _is_transient(exc.__cause__):
                    raise
                time.sleep(random.uniform(0.05, 0.2) * 2 ** attempt)
    return wrapper


class Store:
    """One results database (SQLite file or PostgreSQL); creates/validates the schema on open."""

    def __init__(self, url: Optional[str] = None):
        self.url = url or default_db_url()
        try:
            self.is_sqlite = self.url.startswith("sqlite")
            kwargs: dict[str, Any] = {}
            if self.is_sqlite:
                kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            self.engine = create_engine(self.url, **kwargs)
            if self.is_sqlite:
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "begin", _sqlite_begin)
            self._write_engine = self.engine.execution_options(golf_write=True)
            self._init_schema()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open results store {self.url!r}: {exc}") from exc

    # ---- schema ----
    def _init_schema(self) -> None:
        for attempt in range(3):
            try:
                with self._tx() as conn:
                    self._create_or_migrate(conn)
                return
            except (IntegrityError, DBAPIError) as exc:
                # Two processes creating a fresh PostgreSQL schema at once: the loser sees the
                # winner's tables on the next pass.
                if attempt == 2 or not (isinstance(exc, IntegrityError) or _is_transient(exc)
                                        or "already exists" in str(exc.orig)):
                    raise

    def _create_or_migrate(self, conn) -> None:
        row = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='golf_meta'" if self.is_sqlite else
                                "SELECT 1 FROM information_schema.tables WHERE table_name='golf_meta'")).first()
        version = None
        if row is not None:
            found = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            version = int(found[0]) if found else None
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(f"{self.url}: schema version {version} was written by a newer golf "
                             f"(this one understands {SCHEMA_VERSION}); upgrade golf (pip install -U golf)")
        metadata.create_all(conn)  # new tables only; never alters existing ones
        if version is None:
            conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif version < SCHEMA_VERSION:
            self._migrate(conn, version)
        has_view = conn.execute(text(
            "SELECT 1 FROM sqlite_master WHERE type='view' AND name='run_summary'" if self.is_sqlite else
            "SELECT 1 FROM information_schema.views WHERE table_name='run_summary'")).first()
        if not has_view:
            conn.execute(text(_RUN_SUMMARY_VIEW))

    def _migrate(self, conn, version: int) -> None:
        """Bring an older golf's database up to SCHEMA_VERSION in place (same transaction)."""
        if version < 2:  # columns added in 2; the `attempts` table came with create_all
            have = {c["name"] for c in inspect(conn).get_columns("runs")}
            for column in runs_t.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=conn.dialect)
                    conn.execute(text(f"ALTER TABLE runs ADD COLUMN {column.name} {kind}"))
        conn.execute(update(meta_table).where(meta_table.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))

    def _tx(self):
        """A write transaction (on SQLite it holds the write lock from its first statement)."""
        return self._write_engine.begin()

    def _read(self):
        """A read-only transaction: never takes the write lock."""
        return self.engine.begin()

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # ---- sweeps ----
    @_retry_transient
    def ensure_sweep(self, name: str, spec_text: Optional[str] = None, threshold_metric: Optional[str] = None,
                     threshold_value: Optional[float] = None) -> SweepRecord:
        """Create the sweep if missing; fill in spec/threshold when given. Returns the stored record."""
        try:
            with self._tx() as conn:
                row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).first()
                if row is None:
                    conn.execute(insert(sweeps_t).values(name=name, spec_text=spec_text, threshold_metric=threshold_metric,
                                                       threshold_value=threshold_value, created_at=_now()))
                else:
                    changes = {k: v for k, v in (("spec_text", spec_text), ("threshold_metric", threshold_metric),
                                                 ("threshold_value", threshold_value)) if v is not None}
                    if changes:
                        conn.execute(update(sweeps_t).where(sweeps_t.c.name == name).values(**changes))
                row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).one()
                return SweepRecord(**row._mapping)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot create sweep {name!r} in {self.url}: {exc}") from exc

    def get_sweep(self, name: str) -> Optional[SweepRecord]:
        """The sweep called `name`, or None."""
        try:
            with self._read() as conn:
                row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read sweep {name!r}: {exc}") from exc
        return SweepRecord(**row._mapping) if row else None

    def list_sweeps(self) -> list[SweepRecord]:
        """All sweeps, oldest first."""
        try:
            with self._read() as conn:
                rows = conn.execute(select(sweeps_t).order_by(sweeps_t.c.created_at, sweeps_t.c.name)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list sweeps: {exc}") from exc
        return [SweepRecord(**r._mapping) for r in rows]

    # ---- runs ----
    def enqueue(self, sweep: str, variant: str, seed: Optional[int], key: str, config: dict,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> bool:
        """Queue one run; idempotent by (sweep, run key). Returns True when a row was added."""
        return self.enqueue_many(sweep, [dict(variant=variant, seed=seed, key=key, config=config)],
                                 max_attempts) == 1

    @_retry_transient
    def enqueue_many(self, sweep: str, runs: list[dict], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """Queue runs (dicts with variant, seed, key, config) in one transaction; runs whose key the
        sweep already holds are skipped, so enqueuing a spec twice adds nothing. Returns rows added."""
        for attempt in range(2):
            try:
                with self._tx() as conn:
                    if conn.execute(select(sweeps_t.c.name).where(sweeps_t.c.name == sweep)).first() is None:
                        conn.execute(insert(sweeps_t).values(name=sweep, created_at=_now()))
                    have = set(conn.execute(select(runs_t.c.key).where(runs_t.c.sweep == sweep)).scalars())
                    start = conn.execute(select(func.coalesce(func.max(runs_t.c.queue_pos), -1))
                                         .where(runs_t.c.sweep == sweep)).scalar() + 1
                    new: dict[str, dict] = {}
                    for r in runs:
                        if r["key"] not in have:
                            new.setdefault(r["key"], r)
                    created = _now()
                    if new:  # queue_pos keeps the enqueue order (within a sweep) for claims
                        conn.execute(insert(runs_t), [dict(
                            id=_run_id(sweep, "golf", k), sweep=sweep, variant=r["variant"], seed=r["seed"], key=k,
                            config=json.dumps(r["config"], sort_keys=True), status="queued", attempts=0,
                            max_attempts=max_attempts, created_at=created, queue_pos=start + i, source="golf")
                            for i, (k, r) in enumerate(new.items())])
                    return len(new)
            except IntegrityError as exc:  # another process enqueued the same keys just now
                if attempt == 1:
                    raise StoreError(f"cannot enqueue runs of sweep {sweep!r}: {exc}") from exc
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot enqueue runs of sweep {sweep!r}: {exc}") from exc
        return 0

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        """One run by id (or unique id prefix), or None."""
        try:
            with self._read() as conn:
                rows = conn.execute(select(runs_t).where(runs_t.c.id.like(run_id + "%")).limit(2)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read run {run_id!r}: {exc}") from exc
        if len(rows) > 1:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        return _run_record(rows[0]) if rows else None

    def list_runs(self, sweep: str, status: Optional[str] = None) -> list[RunRecord]:
        """Runs of a sweep (optionally one status), in creation order."""
        q = select(runs_t).where(runs_t.c.sweep == sweep)
        if status:
            q = q.where(runs_t.c.status == status)
        try:
            with self._read() as conn:
                rows = conn.execute(q.order_by(runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.variant, runs_t.c.seed)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list runs of {sweep!r}: {exc}") from exc
        return [_run_record(r) for r in rows]

    @_retry_transient
    def upsert_imported_run(self, sweep: str, import_key: str, content_hash: str, variant: str,
                            seed: Optional[int], evals: list[dict], final: dict, source_path: str,
                            config: Optional[dict] = None) -> str:
        """Store one imported run; same key+hash -> 'unchanged', new hash -> 'replaced', else 'added'."""
        finals = {k: final.get(k) for k in FINAL_COLUMNS if final.get(k) is not None}
        status = "finished" if (finals or evals) else "failed"
        values = dict(sweep=sweep, variant=variant, seed=seed, config=json.dumps(config or {}, sort_keys=True),
                      status=status, attempts=1, max_attempts=1, source="import", source_path=source_path,
                      import_key=import_key, content_hash=content_hash, finished_at=_now(),
                      error=None if status == "finished" else "imported log has no evals and no final metrics",
                      **{c: finals.get(c) for c in FINAL_COLUMNS})
        try:
            with self._tx() as conn:
                if conn.execute(select(sweeps_t.c.name).where(sweeps_t.c.name == sweep)).first() is None:
                    conn.execute(insert(sweeps_t).values(name=sweep, created_at=_now()))
                row = conn.execute(select(runs_t.c.id, runs_t.c.content_hash).where(
                    runs_t.c.sweep == sweep, runs_t.c.import_key == import_key)).first()
                if row is not None and row.content_hash == content_hash:
                    return "unchanged"
                if row is not None:
                    run_id, outcome = row.id, "replaced"
                    conn.execute(delete(evals_t).where(evals_t.c.run_id == run_id))
                    conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))
                else:
                    run_id, outcome = _run_id(sweep, "import", import_key), "added"
                    conn.execute(insert(runs_t).values(id=run_id, created_at=_now(), **values))
                if evals:
                    conn.execute(insert(evals_t), [_eval_row(run_id, 1, e) for e in evals])
                return outcome
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store imported run {import_key!r} ({source_path}): {exc}") from exc

    @_retry_transient
    def add_evals(self, run_id: str, attempt: int, rows: list[dict]) -> None:
        """Append a batch of eval rows (Eval field names) for one attempt of a run."""
        if not rows:
            return
        try:
            with self._tx() as conn:
                conn.execute(insert(evals_t), [_eval_row(run_id, attempt, e) for e in rows])
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write evals of run {run_id}: {exc}") from exc

    # ---- queue (compare-and-set claims; leases judged by the database's clock) ----
    def _db_now(self, conn) -> float:
        sql = ("SELECT (julianday('now') - 2440587.5) * 86400.0" if self.is_sqlite
               else "SELECT extract(epoch from clock_timestamp())")
        return float(conn.execute(text(sql)).scalar())

    @_retry_transient
    def requeue_expired(self, now: Optional[float] = None) -> int:
        """Running runs whose lease ran out go back to the queue (or to failed after max_attempts).
        Their attempt is recorded as 'lost'; its partial curve stays under its attempt number."""
        try:
            with self._tx() as conn:
                t = self._db_now(conn) if now is None else now
                expired = conn.execute(select(runs_t.c.id, runs_t.c.attempts, runs_t.c.max_attempts, runs_t.c.worker)
                                       .where(runs_t.c.status == "running", runs_t.c.lease_expires_at < t)).all()
                for run in expired:
                    message = f"worker {run.worker} stopped renewing its lease (attempt {run.attempts})"
                    last = run.attempts >= run.max_attempts
                    values = (dict(status="failed", finished_at=_now(),
                                   error=f"{message}; that was the last of {run.max_attempts} attempts")
                              if last else dict(status="queued", error=message))
                    conn.execute(update(runs_t).where(*self._owned(run.id, run.attempts))
                                 .values(lease_expires_at=None, worker=None, **values))
                    self._end_attempt(conn, run.id, run.attempts, "lost", message)
                return len(expired)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot requeue expired runs: {exc}") from exc

    @_retry_transient
    def claim(self, worker: str, lease_s: float = 60.0, sweep: Optional[str] = None,
              now: Optional[float] = None, info: Optional[dict] = None,
              run_id: Optional[str] = None) -> Optional[RunRecord]:
        """Atomically take one queued run (status running, attempts+1, lease set) or None.

        Compare-and-set: UPDATE ... WHERE id=? AND status='queued' and check the row count, so two
        workers can never own the same attempt; PostgreSQL picks the candidate FOR UPDATE SKIP LOCKED.
        `info` (host, device, torch_version, python_version, golf_version, git_commit) is recorded
        on the run and on its attempt. `run_id` claims that run only (launchers that schedule
        runs themselves, e.g. one Ray task per run)."""
        info = {k: v for k, v in (info or {}).items() if k in _CLAIM_INFO}
        try:
            for _ in range(20):
                with self._tx() as conn:
                    t = self._db_now(conn) if now is None else now
                    pick = select(runs_t.c.id).where(runs_t.c.status == "queued")
                    if sweep:
                        pick = pick.where(runs_t.c.sweep == sweep)
                    if run_id:
                        pick = pick.where(runs_t.c.id == run_id)
                    pick = pick.order_by(runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.id).limit(1)
                    if not self.is_sqlite:
                        pick = pick.with_for_update(skip_locked=True)
                    run_id = conn.execute(pick).scalar()
                    if run_id is None:
                        return None
                    won = conn.execute(update(runs_t).where(runs_t.c.id == run_id, runs_t.c.status == "queued")
                                       .values(status="running", attempts=runs_t.c.attempts + 1, worker=worker,
                                               lease_expires_at=t + lease_s, started_at=_now(), error=None,
                                               **{c: None for c in _LIVE_COLUMNS}, **info)).rowcount
                    if won == 1:
                        row = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).one()
                        conn.execute(insert(attempts_t).values(
                            run_id=run_id, attempt=row.attempts, worker=worker, host=info.get("host"),
                            device=info.get("device"), started_at=_now(), outcome="running"))
                        return _run_record(row)
            return None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot claim a run: {exc}") from exc

    @_retry_transient
    def heartbeat(self, run_id: str, attempt: int, lease_s: float = 60.0, now: Optional[float] = None,
                  progress: Optional[dict] = None) -> bool:
        """Extend the lease of our attempt and record live progress (live_step, live_total_steps,
        live_train_loss, live_train_time_s); False when the run is no longer ours (requeued,
        cancelled), which tells the worker to stop training it."""
        live = {k: v for k, v in (progress or {}).items() if k in _LIVE_COLUMNS}
        try:
            with self._tx() as conn:
                t = self._db_now(conn) if now is None else now
                return conn.execute(update(runs_t).where(*self._owned(run_id, attempt))
                                    .values(lease_expires_at=t + lease_s, **live)).rowcount == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot renew lease of run {run_id}: {exc}") from exc

    @_retry_transient
    def finish_run(self, run_id: str, attempt: int, final: dict, info: Optional[dict] = None) -> bool:
        """Record final metrics of our running attempt; finished rows are never rewritten."""
        values = {c: final.get(c) for c in FINAL_COLUMNS if c in final}
        values.update({k: v for k, v in (info or {}).items() if k in runs_t.c})
        # Progress is sent every few steps; the final step is the run's last word on it.
        if final.get("steps") is not None:
            values["live_step"] = final["steps"]
        if final.get("train_time_s") is not None:
            values["live_train_time_s"] = final["train_time_s"]
        try:
            with self._tx() as conn:
                done = conn.execute(update(runs_t).where(*self._owned(run_id, attempt))
                                    .values(status="finished", lease_expires_at=None, finished_at=_now(),
                                            **values)).rowcount == 1
                if done:
                    self._end_attempt(conn, run_id, attempt, "finished", None)
                return done
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot finish run {run_id}: {exc}") from exc

    @_retry_transient
    def fail_attempt(self, run_id: str, attempt: int, error: str, retry: bool = True) -> Optional[str]:
        """Our attempt failed: back to the queue while attempts remain (if retry), else failed.
        Returns the new status, or None when the run was not ours any more."""
        try:
            with self._tx() as conn:
                row = conn.execute(select(runs_t.c.max_attempts).where(*self._owned(run_id, attempt))).first()
                if row is None:
                    return None
                status = "queued" if retry and attempt < row.max_attempts else "failed"
                conn.execute(update(runs_t).where(*self._owned(run_id, attempt))
                             .values(status=status, error=error, lease_expires_at=None, worker=None,
                                     finished_at=_now() if status == "failed" else None))
                self._end_attempt(conn, run_id, attempt, "failed", error)
                return status
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record failure of run {run_id}: {exc}") from exc

    @_retry_transient
    def release(self, run_id: str, attempt: int, reason: str = "interrupted") -> bool:
        """Give our running attempt back to the queue without spending an attempt (Ctrl-C, worker
        shutdown): max_attempts grows by one so the interruption does not count against the run.
        The interrupted attempt's evals stay under its attempt number. False when not ours."""
        try:
            with self._tx() as conn:
                back = conn.execute(update(runs_t).where(*self._owned(run_id, attempt))
                                    .values(status="queued", lease_expires_at=None, worker=None,
                                            max_attempts=runs_t.c.max_attempts + 1)).rowcount == 1
                if back:
                    self._end_attempt(conn, run_id, attempt, "interrupted", reason)
                return back
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot release run {run_id}: {exc}") from exc

    def release_worker_runs(self, workers: list[str] = (), reason: str = "worker stopped",
                            name_prefix: Optional[str] = None) -> int:
        """Release every running attempt held by these workers, or by every worker named
        NAME_PREFIX-... (after their processes ended)."""
        held_by = (runs_t.c.worker.startswith(name_prefix + "-", autoescape=True) if name_prefix is not None
                   else runs_t.c.worker.in_(list(workers)))
        try:
            with self._read() as conn:
                held = conn.execute(select(runs_t.c.id, runs_t.c.attempts).where(
                    runs_t.c.status == "running", held_by)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list runs of workers {workers}: {exc}") from exc
        return sum(self.release(r.id, r.attempts, reason) for r in held)

    @_retry_transient
    def cancel(self, sweep: Optional[str] = None, run_id: Optional[str] = None) -> int:
        """Cancel queued and running runs of a sweep (or one run). A running attempt's worker sees
        its next heartbeat refused and stops. Finished and failed runs are left as they are."""
        try:
            with self._tx() as conn:
                where = self._target(conn, sweep, run_id)
                running = conn.execute(select(runs_t.c.id, runs_t.c.attempts)
                                       .where(*where, runs_t.c.status == "running")).all()
                n = conn.execute(update(runs_t).where(*where, runs_t.c.status.in_(("queued", "running")))
                                 .values(status="cancelled", lease_expires_at=None, worker=None,
                                         finished_at=_now(), error="cancelled by user")).rowcount
                for r in running:
                    self._end_attempt(conn, r.id, r.attempts, "cancelled", "cancelled by user")
                return n
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot cancel {run_id or sweep!r}: {exc}") from exc

    @_retry_transient
    def retry(self, sweep: Optional[str] = None, run_id: Optional[str] = None,
              attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """Put failed and cancelled runs of a sweep (or one run) back in the queue with `attempts`
        more tries. Finished runs are never re-run."""
        try:
            with self._tx() as conn:
                where = self._target(conn, sweep, run_id)
                return conn.execute(update(runs_t).where(*where, runs_t.c.status.in_(("failed", "cancelled")),
                                                         runs_t.c.source == "golf")
                                    .values(status="queued", error=None, finished_at=None,
                                            max_attempts=runs_t.c.attempts + attempts)).rowcount
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot retry {run_id or sweep!r}: {exc}") from exc

    # ---- progress and inspection ----
    def status_counts(self, sweep: Optional[str] = None) -> dict[str, dict[str, int]]:
        """{sweep: {status: count}} for one sweep or all of them."""
        q = select(runs_t.c.sweep, runs_t.c.status, func.count()).group_by(runs_t.c.sweep, runs_t.c.status)
        if sweep:
            q = q.where(runs_t.c.sweep == sweep)
        try:
            with self._read() as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot count runs: {exc}") from exc
        out: dict[str, dict[str, int]] = {}
        for name, status, n in rows:
            out.setdefault(name, {})[status] = n
        return out

    def live_runs(self, sweep: str) -> list[LiveRun]:
        """Every run of a sweep with its live progress and the latest val_loss of its current
        attempt: what the live view and `golf runs` show."""
        latest = (select(evals_t.c.val_loss).where(evals_t.c.run_id == runs_t.c.id,
                                                    evals_t.c.attempt == runs_t.c.attempts)
                  .order_by(evals_t.c.step.desc()).limit(1).scalar_subquery())
        cols = [runs_t.c[n] for n in _LIVE_RUN_FIELDS] + [latest.label("latest_val_loss")]
        try:
            with self._read() as conn:
                rows = conn.execute(select(*cols).where(runs_t.c.sweep == sweep)
                                    .order_by(runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.variant, runs_t.c.seed)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read progress of {sweep!r}: {exc}") from exc
        return [LiveRun(**r._mapping) for r in rows]

    def run_detail(self, run_id: str) -> tuple[RunRecord, dict, list[dict], list[dict]]:
        """(run, stored run columns, attempts, evals of every attempt) for `golf show`."""
        run = self.get_run(run_id)
        if run is None:
            raise StoreError(f"no run with id {run_id!r} in {self.url}")
        try:
            with self._read() as conn:
                row = dict(conn.execute(select(runs_t).where(runs_t.c.id == run.id)).one()._mapping)
                attempts = [dict(r._mapping) for r in conn.execute(
                    select(attempts_t).where(attempts_t.c.run_id == run.id).order_by(attempts_t.c.attempt))]
                evals = [dict(r._mapping) for r in conn.execute(
                    select(evals_t.c.attempt, *[evals_t.c[c] for c in EVAL_COLUMNS])
                    .where(evals_t.c.run_id == run.id).order_by(evals_t.c.attempt, evals_t.c.step))]
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read run {run_id!r}: {exc}") from exc
        return run, row, attempts, evals

    # ---- helpers shared by the queue methods ----
    @staticmethod
    def _owned(run_id: str, attempt: int):
        """WHERE clause: the run is still running the given attempt (ours)."""
        return runs_t.c.id == run_id, runs_t.c.status == "running", runs_t.c.attempts == attempt

    @staticmethod
    def _end_attempt(conn, run_id: str, attempt: int, outcome: str, error: Optional[str]) -> None:
        conn.execute(update(attempts_t).where(attempts_t.c.run_id == run_id, attempts_t.c.attempt == attempt)
                     .values(outcome=outcome, error=error, ended_at=_now()))

    def _target(self, conn, sweep: Optional[str], run_id: Optional[str]):
        """WHERE clause for 'a sweep or one run' (run ids may be given as a unique prefix)."""
        if (sweep is None) == (run_id is None):
            raise StoreError("give exactly one of a sweep name or a run id")
        if sweep is not None:
            return (runs_t.c.sweep == sweep,)
        ids = conn.execute(select(runs_t.c.id).where(runs_t.c.id.like(run_id + "%")).limit(2)).scalars().all()
        if len(ids) != 1:
            raise StoreError(f"run id {run_id!r} " + ("is ambiguous; give more characters" if ids else "not found"))
        return (runs_t.c.id == ids[0],)

    # ---- frames for reports (fast: raw rows, only needed columns) ----
    def runs_frame(self, sweep: str) -> pd.DataFrame:
        """One row per run of `sweep`: run_id, sweep, variant, seed, status, attempts, source, finals."""
        cols = [runs_t.c.id.label("run_id"), runs_t.c.sweep, runs_t.c.variant, runs_t.c.seed, runs_t.c.status,
                runs_t.c.attempts, runs_t.c.source, *[runs_t.c[c] for c in FINAL_COLUMNS]]
        names = ["run_id", "sweep", "variant", "seed", "status", "attempts", "source", *FINAL_COLUMNS]
        return self._frame(select(*cols).where(runs_t.c.sweep == sweep).order_by(runs_t.c.variant, runs_t.c.seed), names)

    def code_versions(self, sweep: str) -> list[tuple[Optional[str], Optional[str], int]]:
        """(golf_version, git_commit, runs) of the code that trained `sweep`'s runs, most runs first
        (both None for runs never claimed: queued or imported)."""
        n = func.count().label("n")
        try:
            with self._read() as conn:
                rows = conn.execute(select(runs_t.c.golf_version, runs_t.c.git_commit, n)
                                    .where(runs_t.c.sweep == sweep)
                                    .group_by(runs_t.c.golf_version, runs_t.c.git_commit).order_by(n.desc())).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read code versions of {sweep!r}: {exc}") from exc
        return [tuple(r) for r in rows]

    def curves_frame(self, sweep: str) -> pd.DataFrame:
        """Long-form curves: run_id, variant, seed, attempt, step, train_time_s, val_loss, val_bpb,
        ppm_val_loss, ppm_val_bpb, current (eval belongs to the run's latest attempt)."""
        from sweeper.store import sqlite_arrays
        values = [evals_t.c.attempt, evals_t.c.step, evals_t.c.train_time_s, evals_t.c.val_loss, evals_t.c.val_bpb,
                  evals_t.c.ppm_val_loss, evals_t.c.ppm_val_bpb, (evals_t.c.attempt == runs_t.c.attempts).label("current")]
        names = ["run_id", "variant", "seed", "attempt", "step", "train_time_s", "val_loss", "val_bpb",
                 "ppm_val_loss", "ppm_val_bpb", "current"]
        of_sweep = runs_t.c.sweep == sweep
        joined = runs_t.join(evals_t, runs_t.c.id == evals_t.c.run_id)
        # No ORDER BY: the (run_id, attempt, step) index already yields rows grouped by run in
        # attempt/step order, and a sort of 1M rows costs a temp B-tree.
        path = sqlite_arrays.snapshot_path(self.engine.url) if self.is_sqlite else None
        if path is not None:
            df = self._curves_from_snapshot(path, sweep, joined, values, names)
            if df is not None:
                return df
        df = self._frame(select(evals_t.c.run_id, runs_t.c.variant, runs_t.c.seed, *values)
                         .select_from(joined).where(of_sweep), names)
        df["current"] = df["current"].astype(bool)
        return df

    def _curves_from_snapshot(self, path: str, sweep: str, joined, values: list, names: list[str]):
        """curves_frame's SQLite-file path: the numeric columns go straight into numpy
        (sweeper/sqlite_arrays.py); each eval names its run by rowid, mapped to id/variant/seed by a
        second query in the same snapshot. None below sqlite_arrays.MIN_ROWS eval rows, where the
        driver is quicker than numba's start."""
        import numpy as np
        from sqlalchemy import literal_column

        from sweeper.store import sqlite_arrays
        of_sweep = runs_t.c.sweep == sweep
        rowid, dialect = literal_column("runs.rowid"), self.engine.dialect
        evals_sql = sqlite_arrays.to_sql(select(rowid, *values).select_from(joined).where(of_sweep), dialect)
        runs_sql = sqlite_arrays.to_sql(select(rowid, runs_t.c.id, runs_t.c.variant, runs_t.c.seed)
                                        .where(of_sweep).order_by(rowid), dialect)
        try:
            with sqlite_arrays.snapshot(path) as snap:
                count = snap.count(*evals_sql)
                if count < sqlite_arrays.MIN_ROWS:
                    return None
                run_rows = snap.rows(*runs_sql)
                data = snap.numeric(*evals_sql, count=count)
        except RuntimeError as exc:
            raise StoreError(f"cannot read curves of {sweep!r} from {self.url}: {exc}") from exc
        runs = pd.DataFrame.from_records(run_rows, columns=["rowid", "run_id", "variant", "seed"])
        at = np.searchsorted(runs["rowid"].to_numpy(np.int64), data[:, 0].astype(np.int64))
        columns = {name: runs[name].take(at).reset_index(drop=True) for name in names[:3]}
        columns.update((name, data[:, k]) for k, name in enumerate(names[3:], start=1))
        return pd.DataFrame(columns).astype({"attempt": np.int64, "step": np.int64, "current": bool})

    def _frame(self, query, names: list[str]) -> pd.DataFrame:
        # Raw DB-API cursor: SQLAlchemy's per-row Result processing costs ~10x on 1M eval rows.
        from sweeper.store.sqlite_arrays import to_sql
        sql, args = to_sql(query, self.engine.dialect)
        try:
            with self.engine.connect() as conn:
                cursor = conn.connection.dbapi_connection.cursor()
                try:
                    cursor.execute(sql, args)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
        except Exception as exc:  # DB-API errors are driver-specific here
            raise StoreError(f"cannot read results from {self.url}: {exc}") from exc
        df = pd.DataFrame.from_records(rows, columns=names)
        for c in names:  # keep numeric dtypes even for an empty sweep / all-NULL column
            if c in FINAL_COLUMNS or c in EVAL_COLUMNS:
                df[c] = pd.to_numeric(df[c], errors="coerce") if c != "stopped_early" else df[c]
        return df


def _run_id(sweep: str, source: str, key: str) -> str:
    """A run's id: a hash of its sweep and key, so the same runs get the same ids in every store.
    The report visits runs in id order, and float sums depend on order: random ids made two
    stores holding the same runs disagree in the last digits."""
    return hashlib.sha256(f"{sweep}\0{source}\0{key}".encode()).hexdigest()[:12]


def _eval_row(run_id: str, attempt: int, e: dict) -> dict:
    row = {c: e.get(c) for c in EVAL_COLUMNS}
    if row["step"] is None:
        raise StoreError(f"eval row of run {run_id} has no 'step': {e!r}")
    return {"run_id": run_id, "attempt": attempt, **row}


def _run_record(row) -> RunRecord:
    m = row._mapping
    return RunRecord(id=m["id"], sweep=m["sweep"], variant=m["variant"], seed=m["seed"], key=m["key"],
                     status=m["status"], attempts=m["attempts"], max_attempts=m["max_attempts"],
                     worker=m["worker"], error=m["error"], source=m["source"],
                     config=json.loads(m["config"] or "{}"), finals={c: m[c] for c in FINAL_COLUMNS})
