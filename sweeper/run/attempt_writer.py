"""The writer thread of one attempt: eval rows batched into the store and the lease renewed by
heartbeat, off the training hot path (the training callback only enqueues). It also runs the
progress watchdog and gives up, saying why, when the store stays unwritable for a lease.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import asdict
from typing import Callable, Optional

from model.events import Eval, TrainStep
from sweeper.run.watchdog import ProgressWatchdog
from sweeper.store import RunRecord, Store

log = logging.getLogger("golf.worker")


class RunAborted(Exception):
    """The store no longer holds our attempt (cancelled, or lease lost): stop training it."""



# ---- the writer thread: evals and heartbeats off the training hot path ----
class AttemptWriter(threading.Thread):
    """Batches one attempt's eval rows into the store every `flush_s` and renews its lease
    (carrying live progress). `on_event` is the training callback: it only enqueues."""

    def __init__(self, store: Store, run: RunRecord, lease_s: float, flush_s: float,
                 watchdog: Optional[ProgressWatchdog] = None, on_stall: Callable[[], None] = lambda: None,
                 stall_grace_s: float = 60.0):
        super().__init__(daemon=True, name=f"writer-{run.id}")
        self.store, self.run_id, self.attempt = store, run.id, run.attempts
        self.lease_s, self.flush_s = lease_s, flush_s
        self.watchdog, self.on_stall, self.stall_grace_s = watchdog or ProgressWatchdog(), on_stall, stall_grace_s
        self.store_error: Optional[Exception] = None  # set when writes failed for a whole lease
        self.stalled: Optional[str] = None  # the watchdog's reason, when training stopped progressing
        self.events: queue.Queue = queue.Queue()
        self.pending: list[dict] = []
        self.progress: dict = {}
        self.lost = threading.Event()
        self.done = threading.Event()

    def on_event(self, event) -> None:
        if self.lost.is_set():
            raise RunAborted(f"run {self.run_id} attempt {self.attempt} is no longer ours "
                             "(cancelled, or the lease expired)")
        self.events.put(event)

    def run(self) -> None:
        last_beat, beat_progress, failing_since = time.monotonic(), None, None
        self.watchdog.start(time.monotonic())
        while not (self.done.is_set() and self.events.empty()):
            deadline = time.monotonic() + self.flush_s
            while (left := deadline - time.monotonic()) > 0 and not self.done.is_set():
                try:
                    self._take(self.events.get(timeout=left))
                except queue.Empty:
                    break
            while not self.events.empty():
                self._take(self.events.get_nowait())
            try:
                self._flush()
                due = time.monotonic() - last_beat >= self.lease_s / 4
                if not self.done.is_set() and (due or self.progress != beat_progress):
                    if not self.store.heartbeat(self.run_id, self.attempt, self.lease_s, progress=self.progress):
                        self.lost.set()
                        return
                    last_beat, beat_progress = time.monotonic(), dict(self.progress)
                failing_since = None
            except Exception as exc:  # store unreachable: keep the rows, try again next tick
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= self.lease_s:  # the lease has lapsed by now
                    log.error("run %s: store writes failed for %.0f s, giving up: %s", self.run_id,
                              self.lease_s, exc)
                    self.store_error = exc
                    self.lost.set()
                    return
                log.warning("run %s: store write failed, will retry: %s", self.run_id, exc)
                time.sleep(self.flush_s)
            now = time.monotonic()
            if not self.done.is_set() and self.watchdog.stalled(now):
                self.stalled = self.watchdog.describe(now)
                log.error("run %s: %s", self.run_id, self.stalled)
                self.lost.set()
                self.on_stall()
                if not self.done.wait(self.stall_grace_s):  # training ignores the interrupt (stuck in C)
                    log.error("run %s: training does not respond; exiting (the run's lease lapses)", self.run_id)
                    os._exit(3)
                return

    def _take(self, event) -> None:
        self.watchdog.progress(time.monotonic())
        if isinstance(event, Eval):
            self.pending.append(asdict(event))
            self.progress.update(live_step=event.step, live_total_steps=event.total_steps,
                                 live_train_time_s=event.train_time_s)
        elif isinstance(event, TrainStep):
            self.progress.update(live_step=event.step, live_total_steps=event.total_steps,
                                 live_train_loss=event.train_loss, live_train_time_s=event.train_time_s)

    def _flush(self) -> None:
        if self.pending and not self.lost.is_set():
            self.store.add_evals(self.run_id, self.attempt, self.pending)
            self.pending = []

    def close(self) -> None:
        """Stop after writing every event received so far."""
        self.done.set()
        self.join()
        self._flush()
