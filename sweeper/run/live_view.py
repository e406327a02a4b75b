"""What the terminal shows while a sweep runs: progress over all runs, the running ones, the last
that ended (the tables themselves: status_view.py).

The view only reads the store (one small query a second), so it shows the same thing whether the
workers are this machine's processes or someone else's.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sweeper.run.status_view import runs_table
from sweeper.store import ENDED, LiveRun, Store



class SweepWatcher:
    """Polls the store and draws the sweep: a progress bar over all runs, the running runs with
    step / latest val_loss / ETA, and the last few that ended. On a non-terminal (CI logs,
    `| tee`) it prints one line per run that ends instead of redrawing."""

    def __init__(self, store: Store, sweep: str, console: Console, refresh_s: float = 1.0, recent: int = 6,
                 footer: Optional[Callable[[], object]] = None):
        self.store, self.sweep, self.console = store, sweep, console
        self.footer = footer  # drawn under the runs (adaptive seeds: each variant's state)
        self.refresh_s, self.recent = refresh_s, recent
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console)
        self.task = self.progress.add_task(escape(sweep), total=None, detail="")  # the column reads markup
        self._seen_status: dict[str, str] = {}

    def render(self, runs: list[LiveRun]) -> Group:
        done = sum(r.status in ENDED for r in runs)
        running = [r for r in runs if r.status == "running"]
        failed = sum(r.status == "failed" for r in runs)
        detail = f"{len(running)} running" + (f", [red]{failed} failed[/]" if failed else "")
        self.progress.update(self.task, total=len(runs), completed=done, detail=detail)
        ended = sorted((r for r in runs if r.status in ENDED), key=lambda r: r.finished_at or "")[-self.recent:]
        parts = [self.progress]
        if running or ended:
            parts.append(runs_table(running + ended, show_error=any(r.error for r in ended), width=self.console.width))
        if self.footer is not None:
            parts.append(self.footer())
        return Group(*parts)

    def _log_changes(self, runs: list[LiveRun]) -> None:
        total, done = len(runs), sum(r.status in ENDED for r in runs)
        new = [r for r in runs if r.status in ENDED and self._seen_status.get(r.id) != r.status]
        # runs that ended between two polls are numbered one by one ([3/4], [4/4]), not all [4/4]
        for n, r in enumerate(sorted(new, key=lambda r: r.finished_at or ""), done - len(new) + 1):
            value = f" val_loss {r.val_loss:.4f}" if r.val_loss is not None else ""
            error = f": {(r.error or '').splitlines()[-1]}" if r.status == "failed" and r.error else ""
            self.console.print(f"[{n}/{total}] {r.status} {escape(r.variant)} seed {r.seed} "
                               f"({r.id}){value}{escape(error)}", highlight=False)
        self._seen_status.update({r.id: r.status for r in runs})

    def watch(self, keep_going: Callable[[], bool],
              on_snapshot: Callable[[list[LiveRun]], object] = lambda runs: None) -> list[LiveRun]:
        """Draw until keep_going() is False (the workers exited); returns the last snapshot.
        on_snapshot gets every snapshot too (the live HTML page decides from it when to rewrite)."""
        runs = self.store.live_runs(self.sweep)
        on_snapshot(runs)
        if not self.console.is_terminal:
            self._seen_status = {r.id: r.status for r in runs}
            while keep_going():
                time.sleep(self.refresh_s)
                runs = self.store.live_runs(self.sweep)
                self._log_changes(runs)
                on_snapshot(runs)
            return self.store.live_runs(self.sweep)
        with Live(self.render(runs), console=self.console, refresh_per_second=4, transient=False) as live:
            while keep_going():
                time.sleep(self.refresh_s)
                runs = self.store.live_runs(self.sweep)
                live.update(self.render(runs))
                on_snapshot(runs)
            runs = self.store.live_runs(self.sweep)
            live.update(self.render(runs))
        return runs
