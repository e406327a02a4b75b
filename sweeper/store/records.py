"""What the store returns (frozen records, never ORM rows) and how rows are made from them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional

from sweeper.errors import StoreError
from sweeper.store.schema import EVAL_COLUMNS, FINAL_COLUMNS

# A run in one of these statuses will not change again unless someone retries it.
ENDED = ("finished", "failed", "cancelled")


@dataclass(frozen=True)
class SweepRecord:
    name: str
    spec_text: Optional[str]
    threshold_metric: Optional[str]
    threshold_value: Optional[float]
    created_at: str
    baseline: Optional[str] = None
    adaptive_design: Optional[str] = None  # JSON (sweeper.report.seed_states); "null": fixed seeds

    @property
    def threshold(self):
        """The stored threshold as one object, or None when the sweep has none."""
        from sweeper.threshold import Threshold
        if self.threshold_value is None:
            return None
        return Threshold(self.threshold_metric or "val_loss", self.threshold_value)


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


@dataclass(frozen=True)
class LiveRun:
    """One run as the live view sees it: status, owner and progress of its current attempt."""
    id: str
    variant: str
    seed: Optional[int]
    status: str
    attempts: int
    worker: Optional[str]
    device: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]
    error: Optional[str]
    live_step: Optional[int]
    live_total_steps: Optional[int]
    live_train_loss: Optional[float]
    live_train_time_s: Optional[float]
    train_time_s: Optional[float]
    val_loss: Optional[float]
    latest_val_loss: Optional[float]
    steps: Optional[int] = None        # the final step: what an imported run, which has no live progress, shows
    step_budget: Optional[int] = None  # planned steps (config iterations, or N/M's M in an imported log)


_LIVE_RUN_FIELDS = [f for f in LiveRun.__dataclass_fields__ if f != "latest_val_loss"]


def run_record(row) -> RunRecord:
    """A `runs` row (every column) as a RunRecord."""
    m = row._mapping
    return RunRecord(id=m["id"], sweep=m["sweep"], variant=m["variant"], seed=m["seed"], key=m["key"],
                     status=m["status"], attempts=m["attempts"], max_attempts=m["max_attempts"],
                     worker=m["worker"], error=m["error"], source=m["source"],
                     config=json.loads(m["config"] or "{}"), finals={c: m[c] for c in FINAL_COLUMNS})


def run_id_for(sweep: str, source: str, key: str) -> str:
    """A run's id: a hash of its sweep and key, so the same runs get the same ids in every store.
    The report visits runs in id order, and float sums depend on order: random ids made two
    stores holding the same runs disagree in the last digits."""
    return hashlib.sha256(f"{sweep}\0{source}\0{key}".encode()).hexdigest()[:12]


def step_budget(config: dict) -> Optional[int]:
    """Planned steps of a run: golf's `iterations`, or an imported log's `step:N/M` total."""
    budget = config.get("iterations", config.get("total_steps"))
    return int(budget) if isinstance(budget, (int, float)) and not isinstance(budget, bool) else None


def eval_row(run_id: str, attempt: int, e: dict) -> dict:
    """An `evals` row from an Eval's fields; a row without a step is refused."""
    row = {c: e.get(c) for c in EVAL_COLUMNS}
    if row["step"] is None:
        raise StoreError(f"eval row of run {run_id} has no 'step': {e!r}")
    extra = json.dumps(e["extra"], sort_keys=True) if e.get("extra") else None
    return {"run_id": run_id, "attempt": attempt, **row, "extra": extra}
