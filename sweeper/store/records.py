"""What the store returns: frozen records, never ORM rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SweepRecord:
    name: str
    spec_text: Optional[str]
    threshold_metric: Optional[str]
    threshold_value: Optional[float]
    created_at: str
    baseline: Optional[str] = None

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


_LIVE_RUN_FIELDS = [f for f in LiveRun.__dataclass_fields__ if f != "latest_val_loss"]
