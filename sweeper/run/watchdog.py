"""When a training run has stopped making progress.

A run whose training never emits another event (a data loader spinning on an empty shard, a
deadlocked collective) would otherwise keep its lease alive through the worker's heartbeat forever.
The limit adapts to the run: `factor` times the longest gap seen so far between two events, never
under `floor_s`, and `start_s` before the first event (data preparation, compilation). Times are
passed in, so the rule is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class ProgressWatchdog:
    start_s: float = 1800.0
    factor: float = 20.0
    floor_s: float = 600.0
    _started: Optional[float] = field(default=None, init=False)
    _last: Optional[float] = field(default=None, init=False)
    _longest_gap: float = field(default=0.0, init=False)

    def start(self, now: float) -> None:
        self._started, self._last, self._longest_gap = now, None, 0.0

    def progress(self, now: float) -> None:
        """Training emitted an event (a step, an eval, the final metrics)."""
        if self._last is not None:
            self._longest_gap = max(self._longest_gap, now - self._last)
        self._last = now

    def limit_s(self) -> float:
        """Seconds without an event after which the run counts as stalled."""
        if self._last is None:
            return self.start_s
        return max(self.floor_s, self.factor * self._longest_gap)

    def silent_s(self, now: float) -> float:
        since = self._last if self._last is not None else self._started
        return 0.0 if since is None else now - since

    def stalled(self, now: float) -> bool:
        return self._started is not None and self.silent_s(now) > self.limit_s()

    def describe(self, now: float) -> str:
        """Why the run counts as stalled, for its error message."""
        expected = ("the first event" if self._last is None
                    else f"an event every {self._longest_gap:.1f} s at most so far")
        return (f"no training progress for {self.silent_s(now):.0f} s (expected {expected}; the limit is "
                f"{self.limit_s():.0f} s)")
