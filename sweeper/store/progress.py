"""What `golf status`, `golf runs`, `golf show` and the live view read: counts, live progress, one
run in detail."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select

from sweeper.errors import StoreError
from sweeper.store.engine import Database
from sweeper.store.records import _LIVE_RUN_FIELDS, LiveRun, RunRecord
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS, attempts_t, evals_t, runs_t


class ProgressOps:
    """Store methods that watch a sweep. Needs `self.db` (a Database) and `self.get_run`."""

    db: Database

    def status_counts(self, sweep: Optional[str] = None) -> dict[str, dict[str, int]]:
        """{sweep: {status: count}} for one sweep or all of them."""
        q = select(runs_t.c.sweep, runs_t.c.status, func.count()).group_by(runs_t.c.sweep, runs_t.c.status)
        if sweep:
            q = q.where(runs_t.c.sweep == sweep)
        with self.db.read("count runs") as conn:
            rows = conn.execute(q).all()
        out: dict[str, dict[str, int]] = {}
        for name, status, n in rows:
            out.setdefault(name, {})[status] = n
        return out

    def run_outcomes(self, sweep: str, metric: str) -> list[tuple[str, Optional[int], str, Optional[float]]]:
        """(variant, seed, status, final `metric`) of every run of a sweep: what adaptive seeds
        decide from, polled every second while the sweep runs, so four columns and no config."""
        if metric not in FINAL_COLUMNS:
            raise StoreError(f"run_outcomes: {metric!r} is not a final metric (expected one of {', '.join(FINAL_COLUMNS)})")
        with self.db.read(f"read the outcomes of {sweep!r}") as conn:
            rows = conn.execute(select(runs_t.c.variant, runs_t.c.seed, runs_t.c.status, runs_t.c[metric])
                                .where(runs_t.c.sweep == sweep)).all()
        return [tuple(r) for r in rows]

    def running_devices(self, host: str) -> list[str]:
        """The device of every run now running on `host` (e.g. 'cpu x2'): what its workers hold."""
        with self.db.read(f"read the runs of host {host!r}") as conn:
            return list(conn.execute(select(runs_t.c.device).where(
                runs_t.c.status == "running", runs_t.c.host == host, runs_t.c.device.is_not(None))).scalars())

    def code_versions(self, sweep: str) -> list[tuple[Optional[str], Optional[str], int]]:
        """(golf_version, git_commit, runs) of the code that trained `sweep`'s runs, most runs first
        (both None for runs never claimed: queued or imported)."""
        n = func.count().label("n")
        with self.db.read(f"read the code versions of {sweep!r}") as conn:
            rows = conn.execute(select(runs_t.c.golf_version, runs_t.c.git_commit, n)
                                .where(runs_t.c.sweep == sweep)
                                .group_by(runs_t.c.golf_version, runs_t.c.git_commit).order_by(n.desc())).all()
        return [tuple(r) for r in rows]

    def live_runs(self, sweep: str) -> list[LiveRun]:
        """Every run of a sweep with its live progress and the latest val_loss of its current
        attempt: what the live view and `golf runs` show."""
        latest = (select(evals_t.c.val_loss).where(evals_t.c.run_id == runs_t.c.id,
                                                    evals_t.c.attempt == runs_t.c.attempts)
                  .order_by(evals_t.c.step.desc()).limit(1).scalar_subquery())
        cols = [runs_t.c[n] for n in _LIVE_RUN_FIELDS] + [latest.label("latest_val_loss")]
        with self.db.read(f"read the progress of {sweep!r}") as conn:
            rows = conn.execute(select(*cols).where(runs_t.c.sweep == sweep).order_by(
                runs_t.c.created_at, runs_t.c.queue_pos, runs_t.c.variant, runs_t.c.seed)).all()
        return [LiveRun(**r._mapping) for r in rows]

    def run_detail(self, run_id: str) -> tuple[RunRecord, dict, list[dict], list[dict]]:
        """(run, stored run columns, attempts, evals of every attempt) for `golf show`."""
        run = self.get_run(run_id)
        if run is None:
            raise StoreError(f"no run with id {run_id!r} in {self.db.url}")
        with self.db.read(f"read run {run_id!r}") as conn:
            row = dict(conn.execute(select(runs_t).where(runs_t.c.id == run.id)).one()._mapping)
            attempts = [dict(r._mapping) for r in conn.execute(
                select(attempts_t).where(attempts_t.c.run_id == run.id).order_by(attempts_t.c.attempt))]
            evals = [dict(r._mapping) for r in conn.execute(
                select(evals_t.c.attempt, *[evals_t.c[c] for c in EVAL_COLUMNS])
                .where(evals_t.c.run_id == run.id).order_by(evals_t.c.attempt, evals_t.c.step))]
        return run, row, attempts, evals
