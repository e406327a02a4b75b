"""The job queue inside the store: enqueue, claim with a lease, heartbeat, finish, fail, release,
requeue expired leases, cancel, retry.

A claim is a compare-and-set (UPDATE ... WHERE id = ? AND status = 'queued'); a lease is judged by
the database's clock, so workers on other machines agree on when it ran out. Table `attempts`
keeps one row per attempt (worker, host, device, outcome running | finished | failed | lost |
interrupted | cancelled), so a killed attempt's partial curve is labelled as such. Finished rows
are never rewritten.
"""
from __future__ import annotations

import json
from typing import Optional

from sqlalchemy import func, insert, select, update

from sweeper.errors import StoreError
from sweeper.store.engine import Database, retry_transient, utc_now
from sweeper.store.records import RunRecord, run_id_for, run_record, step_budget
from sweeper.store.schema import (_CLAIM_INFO, _LIVE_COLUMNS, DEFAULT_MAX_ATTEMPTS, FINAL_COLUMNS, attempts_t,
                                  runs_t, sweeps_t)

# Claims take runs in the order they were queued (within a sweep: seed-major, as golf sweep enqueues).
_QUEUE_ORDER = (runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.id)


def _owned(run_id: str, attempt: int):
    """WHERE clause: the run is still running the given attempt (ours)."""
    return runs_t.c.id == run_id, runs_t.c.status == "running", runs_t.c.attempts == attempt


def _end_attempt(conn, run_id: str, attempt: int, outcome: str, error: Optional[str]) -> None:
    conn.execute(update(attempts_t).where(attempts_t.c.run_id == run_id, attempts_t.c.attempt == attempt)
                 .values(outcome=outcome, error=error, ended_at=utc_now()))


def _target(conn, sweep: Optional[str], run_id: Optional[str]):
    """WHERE clause for 'a sweep or one run' (run ids may be given as a unique prefix)."""
    if (sweep is None) == (run_id is None):
        raise StoreError("give exactly one of a sweep name or a run id")
    if sweep is not None:
        return (runs_t.c.sweep == sweep,)
    ids = conn.execute(select(runs_t.c.id).where(runs_t.c.id.like(run_id + "%")).limit(2)).scalars().all()
    if len(ids) != 1:
        raise StoreError(f"run id {run_id!r} " + ("is ambiguous; give more characters" if ids else "not found"))
    return (runs_t.c.id == ids[0],)


class QueueOps:
    """Store methods of the queue; each is one transaction. Needs `self.db` (a Database)."""

    db: Database

    @retry_transient(integrity=True)
    def enqueue_many(self, sweep: str, runs: list[dict], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """Queue runs (dicts with variant, seed, key, config) in one transaction, in list order;
        runs whose key the sweep already holds are skipped, so enqueuing a spec twice adds
        nothing. Creates the sweep when missing. Returns rows added."""
        with self.db.write(f"enqueue runs of sweep {sweep!r}") as conn:
            if conn.execute(select(sweeps_t.c.name).where(sweeps_t.c.name == sweep)).first() is None:
                conn.execute(insert(sweeps_t).values(name=sweep, created_at=utc_now()))
            have = set(conn.execute(select(runs_t.c.key).where(runs_t.c.sweep == sweep)).scalars())
            start = conn.execute(select(func.coalesce(func.max(runs_t.c.queue_pos), -1))
                                 .where(runs_t.c.sweep == sweep)).scalar() + 1
            new: dict[str, dict] = {}
            for r in runs:
                if r["key"] not in have:
                    new.setdefault(r["key"], r)
            created = utc_now()
            if new:  # queue_pos keeps the enqueue order (within a sweep) for claims
                conn.execute(insert(runs_t), [dict(
                    id=run_id_for(sweep, "golf", k), sweep=sweep, variant=r["variant"], seed=r["seed"], key=k,
                    config=json.dumps(r["config"], sort_keys=True), status="queued", attempts=0,
                    max_attempts=max_attempts, created_at=created, queue_pos=start + i, source="golf",
                    step_budget=step_budget(r["config"]))
                    for i, (k, r) in enumerate(new.items())])
            return len(new)

    @retry_transient
    def requeue_expired(self, now: Optional[float] = None) -> int:
        """Running runs whose lease ran out go back to the queue (or to failed after max_attempts).
        Their attempt is recorded as 'lost'; its partial curve stays under its attempt number.
        `now`: an injected clock (epoch seconds), else the database's."""
        with self.db.write("requeue expired runs") as conn:
            t = self.db.now(conn) if now is None else now
            expired = conn.execute(select(runs_t.c.id, runs_t.c.attempts, runs_t.c.max_attempts, runs_t.c.worker)
                                   .where(runs_t.c.status == "running", runs_t.c.lease_expires_at < t)).all()
            for run in expired:
                message = f"worker {run.worker} stopped renewing its lease (attempt {run.attempts})"
                last = run.attempts >= run.max_attempts
                values = (dict(status="failed", finished_at=utc_now(),
                               error=f"{message}; that was the last of {run.max_attempts} attempts")
                          if last else dict(status="queued", error=message))
                conn.execute(update(runs_t).where(*_owned(run.id, run.attempts))
                             .values(lease_expires_at=None, worker=None, **values))
                _end_attempt(conn, run.id, run.attempts, "lost", message)
            return len(expired)

    @retry_transient
    def claim(self, worker: str, lease_s: float = 60.0, sweep: Optional[str] = None,
              now: Optional[float] = None, info: Optional[dict] = None,
              run_id: Optional[str] = None) -> Optional[RunRecord]:
        """Atomically take one queued run (status running, attempts+1, lease set) or None.

        The candidate is read under the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE
        SKIP LOCKED), so the compare-and-set UPDATE that follows cannot lose it to another worker.
        `info` (host, device, torch_version, python_version, golf_version, git_commit) is recorded
        on the run and on its attempt. `run_id` claims that run only (launchers that schedule
        runs themselves, e.g. one Ray task per run)."""
        info = {k: v for k, v in (info or {}).items() if k in _CLAIM_INFO}
        with self.db.write("claim a run") as conn:
            t = self.db.now(conn) if now is None else now
            pick = select(runs_t.c.id).where(runs_t.c.status == "queued")
            if sweep:
                pick = pick.where(runs_t.c.sweep == sweep)
            if run_id:
                pick = pick.where(runs_t.c.id == run_id)
            pick = pick.order_by(*_QUEUE_ORDER).limit(1)
            if not self.db.is_sqlite:
                pick = pick.with_for_update(skip_locked=True)
            picked = conn.execute(pick).scalar()
            if picked is None:
                return None
            won = conn.execute(update(runs_t).where(runs_t.c.id == picked, runs_t.c.status == "queued")
                               .values(status="running", attempts=runs_t.c.attempts + 1, worker=worker,
                                       lease_expires_at=t + lease_s, started_at=utc_now(), error=None,
                                       **{c: None for c in _LIVE_COLUMNS}, **info)).rowcount
            if won != 1:
                return None
            row = conn.execute(select(runs_t).where(runs_t.c.id == picked)).one()
            conn.execute(insert(attempts_t).values(
                run_id=picked, attempt=row.attempts, worker=worker, host=info.get("host"),
                device=info.get("device"), started_at=utc_now(), outcome="running"))
            return run_record(row)

    @retry_transient
    def heartbeat(self, run_id: str, attempt: int, lease_s: float = 60.0, now: Optional[float] = None,
                  progress: Optional[dict] = None) -> bool:
        """Extend the lease of our attempt and record live progress (live_step, live_total_steps,
        live_train_loss, live_train_time_s); False when the run is no longer ours (requeued,
        cancelled), which tells the worker to stop training it."""
        live = {k: v for k, v in (progress or {}).items() if k in _LIVE_COLUMNS}
        with self.db.write(f"renew the lease of run {run_id}") as conn:
            t = self.db.now(conn) if now is None else now
            return conn.execute(update(runs_t).where(*_owned(run_id, attempt))
                                .values(lease_expires_at=t + lease_s, **live)).rowcount == 1

    @retry_transient
    def finish_run(self, run_id: str, attempt: int, final: dict, info: Optional[dict] = None) -> bool:
        """Record final metrics of our running attempt; finished rows are never rewritten."""
        values = {c: final.get(c) for c in FINAL_COLUMNS if c in final}
        values.update({k: v for k, v in (info or {}).items() if k in runs_t.c})
        # Progress is sent every few steps; the final step is the run's last word on it.
        if final.get("steps") is not None:
            values["live_step"] = final["steps"]
        if final.get("train_time_s") is not None:
            values["live_train_time_s"] = final["train_time_s"]
        with self.db.write(f"finish run {run_id}") as conn:
            done = conn.execute(update(runs_t).where(*_owned(run_id, attempt))
                                .values(status="finished", lease_expires_at=None, finished_at=utc_now(),
                                        **values)).rowcount == 1
            if done:
                _end_attempt(conn, run_id, attempt, "finished", None)
            return done

    @retry_transient
    def fail_attempt(self, run_id: str, attempt: int, error: str, retry: bool = True) -> Optional[str]:
        """Our attempt failed: back to the queue while attempts remain (if retry), else failed.
        Returns the new status, or None when the run was not ours any more."""
        with self.db.write(f"record the failure of run {run_id}") as conn:
            row = conn.execute(select(runs_t.c.max_attempts).where(*_owned(run_id, attempt))).first()
            if row is None:
                return None
            status = "queued" if retry and attempt < row.max_attempts else "failed"
            conn.execute(update(runs_t).where(*_owned(run_id, attempt))
                         .values(status=status, error=error, lease_expires_at=None, worker=None,
                                 finished_at=utc_now() if status == "failed" else None))
            _end_attempt(conn, run_id, attempt, "failed", error)
            return status

    @retry_transient
    def release(self, run_id: str, attempt: int, reason: str = "interrupted") -> bool:
        """Give our running attempt back to the queue without spending an attempt (Ctrl-C, worker
        shutdown): max_attempts grows by one so the interruption does not count against the run.
        The interrupted attempt's evals stay under its attempt number. False when not ours."""
        with self.db.write(f"release run {run_id}") as conn:
            back = conn.execute(update(runs_t).where(*_owned(run_id, attempt))
                                .values(status="queued", lease_expires_at=None, worker=None,
                                        max_attempts=runs_t.c.max_attempts + 1)).rowcount == 1
            if back:
                _end_attempt(conn, run_id, attempt, "interrupted", reason)
            return back

    def release_worker_runs(self, workers: list[str] = (), reason: str = "worker stopped",
                            name_prefix: Optional[str] = None) -> int:
        """Release every running attempt held by these workers, or by every worker named
        NAME_PREFIX-... (after their processes ended)."""
        held_by = (runs_t.c.worker.startswith(name_prefix + "-", autoescape=True) if name_prefix is not None
                   else runs_t.c.worker.in_(list(workers)))
        with self.db.read(f"list the runs of workers {name_prefix or list(workers)}") as conn:
            held = conn.execute(select(runs_t.c.id, runs_t.c.attempts).where(
                runs_t.c.status == "running", held_by)).all()
        return sum(self.release(r.id, r.attempts, reason) for r in held)

    @retry_transient
    def cancel(self, sweep: Optional[str] = None, run_id: Optional[str] = None) -> int:
        """Cancel queued and running runs of a sweep (or one run). A running attempt's worker sees
        its next heartbeat refused and stops. Finished and failed runs are left as they are."""
        with self.db.write(f"cancel {run_id or sweep!r}") as conn:
            where = _target(conn, sweep, run_id)
            running = conn.execute(select(runs_t.c.id, runs_t.c.attempts)
                                   .where(*where, runs_t.c.status == "running")).all()
            n = conn.execute(update(runs_t).where(*where, runs_t.c.status.in_(("queued", "running")))
                             .values(status="cancelled", lease_expires_at=None, worker=None,
                                     finished_at=utc_now(), error="cancelled by user")).rowcount
            for r in running:
                _end_attempt(conn, r.id, r.attempts, "cancelled", "cancelled by user")
            return n

    @retry_transient
    def retry(self, sweep: Optional[str] = None, run_id: Optional[str] = None,
              attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """Put failed and cancelled runs of a sweep (or one run) back in the queue with `attempts`
        more tries. Finished runs are never re-run."""
        with self.db.write(f"retry {run_id or sweep!r}") as conn:
            where = _target(conn, sweep, run_id)
            return conn.execute(update(runs_t).where(*where, runs_t.c.status.in_(("failed", "cancelled")),
                                                     runs_t.c.source == "golf")
                                .values(status="queued", error=None, finished_at=None,
                                        max_attempts=runs_t.c.attempts + attempts)).rowcount
