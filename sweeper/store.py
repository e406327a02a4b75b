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
    .get_run(run_id) -> RunRecord | None ; .list_runs(sweep, status=None) -> list[RunRecord]
    .add_evals(run_id, attempt, rows: list[dict])
    Queue: .claim(worker, lease_s=60, sweep=None, now=None) -> RunRecord | None
           .heartbeat(run_id, attempt, lease_s=60, now=None) -> bool
           .finish_run(run_id, attempt, final: dict, info=None) -> bool
           .fail_attempt(run_id, attempt, error, retry=True) -> 'queued' | 'failed' | None
           .requeue_expired(now=None) -> int          (now: injected clock, epoch seconds)
View `run_summary`: one row per run with final metrics, the sweep's threshold and the first
eval (current attempt) at/below it; readable with one `pandas.read_sql`.

Imported runs: source='import', status 'finished' when the log has final metrics or at least
one eval, else 'failed' (error says the log had no results).
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

import pandas as pd
from sqlalchemy import (Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint, create_engine, event, select, text, update, insert, delete)
from sqlalchemy.exc import SQLAlchemyError

from sweeper.errors import StoreError

SCHEMA_VERSION = 1

FINAL_COLUMNS = ("steps", "train_time_s", "step_avg_ms", "num_params", "peak_memory_mib", "val_loss",
                 "val_bpb", "quant_val_loss", "quant_val_bpb", "artifact_bytes", "stopped_early",
                 "ppm_val_loss", "ppm_val_bpb", "quant_ppm_val_loss", "quant_ppm_val_bpb")
EVAL_COLUMNS = ("step", "train_time_s", "val_loss", "val_bpb", "tokens", "ppm_val_loss", "ppm_val_bpb")
_INT_FINALS = {"steps", "num_params", "artifact_bytes"}

metadata = MetaData()

meta_table = Table("golf_meta", metadata, Column("key", String(64), primary_key=True),
                   Column("value", Text, nullable=False))

sweeps_t = Table(
    "sweeps", metadata,
    Column("name", String(200), primary_key=True),
    Column("spec_text", Text),
    Column("threshold_metric", String(64)),
    Column("threshold_value", Float),
    Column("created_at", String(40), nullable=False),
)

runs_t = Table(
    "runs", metadata,
    Column("id", String(40), primary_key=True),
    Column("sweep", String(200), ForeignKey("sweeps.name", ondelete="CASCADE"), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("seed", Integer),
    Column("key", String(64)),
    Column("config", Text),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("lease_expires_at", Float),
    Column("worker", String(200)), Column("host", String(200)), Column("device", String(200)),
    Column("torch_version", String(40)), Column("python_version", String(40)),
    Column("golf_version", String(40)), Column("git_commit", String(64)),
    Column("created_at", String(40)), Column("started_at", String(40)), Column("finished_at", String(40)),
    Column("error", Text),
    *[Column(name, Integer if name in _INT_FINALS else (Boolean if name == "stopped_early" else Float))
      for name in FINAL_COLUMNS],
    Column("source", String(16), nullable=False, default="golf"),
    Column("source_path", Text),
    Column("import_key", String(200)),
    Column("content_hash", String(128)),
    UniqueConstraint("sweep", "key", name="uq_runs_sweep_key"),
    UniqueConstraint("sweep", "import_key", name="uq_runs_sweep_import_key"),
)
Index("ix_runs_sweep_status", runs_t.c.sweep, runs_t.c.status)

evals_t = Table(
    "evals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(40), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("train_time_s", Float), Column("val_loss", Float), Column("val_bpb", Float),
    Column("tokens", Integer), Column("ppm_val_loss", Float), Column("ppm_val_bpb", Float),
)
Index("ix_evals_run", evals_t.c.run_id, evals_t.c.attempt, evals_t.c.step)

# First eval of the run's current attempt at/below the sweep threshold (val_loss or val_bpb).
_RUN_SUMMARY_VIEW = """
CREATE VIEW run_summary AS
SELECT r.id AS run_id, r.sweep, r.variant, r.seed, r.status, r.attempts, r.source,
       {finals},
       s.threshold_metric, s.threshold_value,
       (SELECT MIN(e.train_time_s) FROM evals e WHERE e.run_id = r.id AND e.attempt = r.attempts
          AND s.threshold_value IS NOT NULL
          AND ((s.threshold_metric = 'val_bpb' AND e.val_bpb <= s.threshold_value)
            OR (COALESCE(s.threshold_metric, 'val_loss') = 'val_loss' AND e.val_loss <= s.threshold_value)))
         AS threshold_train_time_s,
       (SELECT MIN(e.step) FROM evals e WHERE e.run_id = r.id AND e.attempt = r.attempts
          AND s.threshold_value IS NOT NULL
          AND ((s.threshold_metric = 'val_bpb' AND e.val_bpb <= s.threshold_value)
            OR (COALESCE(s.threshold_metric, 'val_loss') = 'val_loss' AND e.val_loss <= s.threshold_value)))
         AS threshold_step
FROM runs r JOIN sweeps s ON s.name = r.sweep
""".format(finals=", ".join(f"r.{c}" for c in FINAL_COLUMNS))


@dataclass(frozen=True)
class SweepRecord:
    name: str
    spec_text: Optional[str]
    threshold_metric: Optional[str]
    threshold_value: Optional[float]
    created_at: str


@dataclass(frozen=True)
class RunRecord:
    id: str
    sweep: str
    variant: str
    seed: Optional[int]
    key: Optional[str]
    status: str
    attempts: int
    max_attempts: int
    worker: Optional[str]
    error: Optional[str]
    source: str
    config: dict
    finals: dict


def default_db_url() -> str:
    """The store URL: $GOLF_DB, else `sqlite:///results.db` in the current directory."""
    return os.environ.get("GOLF_DB") or "sqlite:///results.db"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sqlite_pragmas(dbapi_conn, _record):
    # WAL lets readers (report, status) run while workers write; busy_timeout waits out short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


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
            self._init_schema()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open results store {self.url!r}: {exc}") from exc

    # ---- schema ----
    def _init_schema(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(f"{self.url}: schema version {row[0]} was written by a newer golf "
                                 f"(this one understands {SCHEMA_VERSION}); upgrade golf (pip install -U golf)")
            has_view = conn.execute(text(
                "SELECT 1 FROM sqlite_master WHERE type='view' AND name='run_summary'" if self.is_sqlite else
                "SELECT 1 FROM information_schema.views WHERE table_name='run_summary'")).first()
            if not has_view:
                conn.execute(text(_RUN_SUMMARY_VIEW))

    def _tx(self):
        return self.engine.begin()

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # ---- sweeps ----
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
            with self._tx() as conn:
                row = conn.execute(select(sweeps_t).where(sweeps_t.c.name == name)).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read sweep {name!r}: {exc}") from exc
        return SweepRecord(**row._mapping) if row else None

    def list_sweeps(self) -> list[SweepRecord]:
        """All sweeps, oldest first."""
        try:
            with self._tx() as conn:
                rows = conn.execute(select(sweeps_t).order_by(sweeps_t.c.created_at, sweeps_t.c.name)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list sweeps: {exc}") from exc
        return [SweepRecord(**r._mapping) for r in rows]

    # ---- runs ----
    def enqueue(self, sweep: str, variant: str, seed: Optional[int], key: str, config: dict,
                max_attempts: int = 3) -> bool:
        """Queue one run; idempotent by (sweep, run key). Returns True when a row was added."""
        try:
            with self._tx() as conn:
                if conn.execute(select(runs_t.c.id).where(runs_t.c.sweep == sweep, runs_t.c.key == key)).first():
                    return False
                conn.execute(insert(runs_t).values(
                    id=uuid.uuid4().hex[:12], sweep=sweep, variant=variant, seed=seed, key=key,
                    config=json.dumps(config, sort_keys=True), status="queued", attempts=0,
                    max_attempts=max_attempts, created_at=_now(), source="golf"))
                return True
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot enqueue run {key} of sweep {sweep!r}: {exc}") from exc

    def get_run(self, run_id: str) -> Optional[RunRecord]:
        """One run by id (or unique id prefix), or None."""
        try:
            with self._tx() as conn:
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
            with self._tx() as conn:
                rows = conn.execute(q.order_by(runs_t.c.created_at, runs_t.c.variant, runs_t.c.seed)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot list runs of {sweep!r}: {exc}") from exc
        return [_run_record(r) for r in rows]

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
                    run_id, outcome = uuid.uuid4().hex[:12], "added"
                    conn.execute(insert(runs_t).values(id=run_id, created_at=_now(), **values))
                if evals:
                    conn.execute(insert(evals_t), [_eval_row(run_id, 1, e) for e in evals])
                return outcome
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot store imported run {import_key!r} ({source_path}): {exc}") from exc

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

    def requeue_expired(self, now: Optional[float] = None) -> int:
        """Running runs whose lease ran out go back to the queue (or to failed after max_attempts)."""
        try:
            with self._tx() as conn:
                t = self._db_now(conn) if now is None else now
                expired = runs_t.c.status == "running", runs_t.c.lease_expires_at < t
                n_failed = conn.execute(update(runs_t).where(*expired, runs_t.c.attempts >= runs_t.c.max_attempts)
                                        .values(status="failed", lease_expires_at=None,
                                                error="lease expired (worker lost) on the last allowed attempt")).rowcount
                n_back = conn.execute(update(runs_t).where(*expired).values(status="queued", lease_expires_at=None,
                                                                             worker=None)).rowcount
                return n_failed + n_back
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot requeue expired runs: {exc}") from exc

    def claim(self, worker: str, lease_s: float = 60.0, sweep: Optional[str] = None,
              now: Optional[float] = None) -> Optional[RunRecord]:
        """Atomically take one queued run (status running, attempts+1, lease set) or None.

        Compare-and-set: UPDATE ... WHERE id=? AND status='queued' and check the row count, so two
        workers can never own the same attempt; PostgreSQL picks the candidate FOR UPDATE SKIP LOCKED."""
        try:
            for _ in range(20):
                with self._tx() as conn:
                    t = self._db_now(conn) if now is None else now
                    pick = select(runs_t.c.id).where(runs_t.c.status == "queued")
                    if sweep:
                        pick = pick.where(runs_t.c.sweep == sweep)
                    pick = pick.order_by(runs_t.c.created_at, runs_t.c.id).limit(1)
                    if not self.is_sqlite:
                        pick = pick.with_for_update(skip_locked=True)
                    run_id = conn.execute(pick).scalar()
                    if run_id is None:
                        return None
                    won = conn.execute(update(runs_t).where(runs_t.c.id == run_id, runs_t.c.status == "queued")
                                       .values(status="running", attempts=runs_t.c.attempts + 1, worker=worker,
                                               lease_expires_at=t + lease_s, started_at=_now(), error=None)).rowcount
                    if won == 1:
                        return _run_record(conn.execute(select(runs_t).where(runs_t.c.id == run_id)).one())
            return None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot claim a run: {exc}") from exc

    def heartbeat(self, run_id: str, attempt: int, lease_s: float = 60.0, now: Optional[float] = None) -> bool:
        """Extend the lease of our attempt; False when the run is no longer ours (requeued/cancelled)."""
        try:
            with self._tx() as conn:
                t = self._db_now(conn) if now is None else now
                return conn.execute(update(runs_t).where(runs_t.c.id == run_id, runs_t.c.status == "running",
                                                         runs_t.c.attempts == attempt)
                                    .values(lease_expires_at=t + lease_s)).rowcount == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot renew lease of run {run_id}: {exc}") from exc

    def finish_run(self, run_id: str, attempt: int, final: dict, info: Optional[dict] = None) -> bool:
        """Record final metrics of our running attempt; finished rows are never rewritten."""
        values = {c: final.get(c) for c in FINAL_COLUMNS if c in final}
        values.update({k: v for k, v in (info or {}).items() if k in runs_t.c})
        try:
            with self._tx() as conn:
                return conn.execute(update(runs_t).where(runs_t.c.id == run_id, runs_t.c.status == "running",
                                                         runs_t.c.attempts == attempt)
                                    .values(status="finished", lease_expires_at=None, finished_at=_now(),
                                            **values)).rowcount == 1
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot finish run {run_id}: {exc}") from exc

    def fail_attempt(self, run_id: str, attempt: int, error: str, retry: bool = True) -> Optional[str]:
        """Our attempt failed: back to the queue while attempts remain (if retry), else failed.
        Returns the new status, or None when the run was not ours any more."""
        try:
            with self._tx() as conn:
                row = conn.execute(select(runs_t.c.max_attempts).where(
                    runs_t.c.id == run_id, runs_t.c.status == "running", runs_t.c.attempts == attempt)).first()
                if row is None:
                    return None
                status = "queued" if retry and attempt < row.max_attempts else "failed"
                conn.execute(update(runs_t).where(runs_t.c.id == run_id, runs_t.c.status == "running",
                                                  runs_t.c.attempts == attempt)
                             .values(status=status, error=error, lease_expires_at=None, worker=None,
                                     finished_at=_now() if status == "failed" else None))
                return status
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record failure of run {run_id}: {exc}") from exc

    # ---- frames for reports (fast: raw rows, only needed columns) ----
    def runs_frame(self, sweep: str) -> pd.DataFrame:
        """One row per run of `sweep`: run_id, sweep, variant, seed, status, attempts, source, finals."""
        cols = [runs_t.c.id.label("run_id"), runs_t.c.sweep, runs_t.c.variant, runs_t.c.seed, runs_t.c.status,
                runs_t.c.attempts, runs_t.c.source, *[runs_t.c[c] for c in FINAL_COLUMNS]]
        names = ["run_id", "sweep", "variant", "seed", "status", "attempts", "source", *FINAL_COLUMNS]
        return self._frame(select(*cols).where(runs_t.c.sweep == sweep).order_by(runs_t.c.variant, runs_t.c.seed), names)

    def curves_frame(self, sweep: str) -> pd.DataFrame:
        """Long-form curves: run_id, variant, seed, attempt, step, train_time_s, val_loss, val_bpb,
        ppm_val_loss, ppm_val_bpb, current (eval belongs to the run's latest attempt)."""
        q = (select(evals_t.c.run_id, runs_t.c.variant, runs_t.c.seed, evals_t.c.attempt, evals_t.c.step,
                    evals_t.c.train_time_s, evals_t.c.val_loss, evals_t.c.val_bpb, evals_t.c.ppm_val_loss,
                    evals_t.c.ppm_val_bpb, (evals_t.c.attempt == runs_t.c.attempts).label("current"))
             .select_from(runs_t).join(evals_t, runs_t.c.id == evals_t.c.run_id).where(runs_t.c.sweep == sweep))
        # No ORDER BY: the (run_id, attempt, step) index already yields rows grouped by run in
        # attempt/step order, and a sort of 1M rows costs a temp B-tree.
        names = ["run_id", "variant", "seed", "attempt", "step", "train_time_s", "val_loss", "val_bpb",
                 "ppm_val_loss", "ppm_val_bpb", "current"]
        df = self._frame(q, names)
        df["current"] = df["current"].astype(bool)
        return df

    def _frame(self, query, names: list[str]) -> pd.DataFrame:
        # Raw DB-API cursor: SQLAlchemy's per-row Result processing costs ~10x on 1M eval rows.
        compiled = query.compile(dialect=self.engine.dialect)
        params = compiled.construct_params()
        args = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
        try:
            with self.engine.connect() as conn:
                cursor = conn.connection.dbapi_connection.cursor()
                try:
                    cursor.execute(str(compiled), args)
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
