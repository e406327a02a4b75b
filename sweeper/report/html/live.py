"""The page `golf sweep` keeps up to date while it runs: rewritten after runs end, at most every
MIN_INTERVAL_S, and once more at the end without the reload."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from sweeper.store import ENDED
from sweeper.report.html.page import PageOptions, write_page

MIN_INTERVAL_S = 30.0


def live_page_path(sweep: str, root: Path = Path(".golf/reports")) -> Path:
    """Where `golf sweep` writes SWEEP's live page."""
    return root / f"{sweep}.html"


class LivePage:
    """Call `maybe_write(runs)` with each snapshot of the live view (a list of LiveRun) and
    `write_final()` when the workers are done; the clock is injectable for tests."""

    def __init__(self, store, sweep: str, path: Path, min_interval_s: float = MIN_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self.sweep, self.path = store, sweep, Path(path)
        self.min_interval_s, self.clock = min_interval_s, clock
        self._written_at: float | None = None
        self._ended_written = -1
        self.error: Exception | None = None  # the first failure: the page stops, the sweep goes on

    def maybe_write(self, runs) -> bool:
        """Write when a run ended since the last write and MIN_INTERVAL_S has passed (the first
        call always writes, so the page exists from the start). Returns whether it wrote."""
        ended, now = sum(r.status in ENDED for r in runs), self.clock()
        if self._written_at is not None and (ended <= self._ended_written
                                             or now - self._written_at < self.min_interval_s):
            return False
        # a failed write counts as a write for the interval: it is tried again after the next run ends
        self._written_at, self._ended_written = now, ended
        return self._write(PageOptions(live=True))

    def _write(self, options: PageOptions) -> bool:
        # A page that cannot be written (disk full, a bug in a chart) must not stop the sweep's
        # workers: the last error is kept for the caller to report, and a later write may still
        # succeed (a full disk frees up); a write that succeeds clears it.
        try:
            write_page(self.path, self.store, self.sweep, options)
        except Exception as exc:  # noqa: BLE001 - see above
            self.error = exc
            return False
        self.error = None
        return True

    def write_final(self, stopped: bool = False) -> None:
        """The page as the sweep leaves it: finished (or stopped by Ctrl-C), no longer reloading."""
        self._write(PageOptions(live=False, stopped=stopped))
