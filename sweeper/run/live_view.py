"""What the terminal shows while a sweep runs, and the run tables of `golf status/runs/show`.

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
from rich.table import Table

from sweeper.run.estimate import format_duration
from sweeper.store import LiveRun, Store

ENDED = ("finished", "failed", "cancelled")
_STATUS_STYLE = {"queued": "dim", "running": "bold cyan", "finished": "green", "failed": "bold red",
                 "cancelled": "yellow"}


def run_eta_s(run: LiveRun) -> Optional[float]:
    """Remaining training time of a running run from its pace so far (evals not counted)."""
    if run.status != "running" or not run.live_step or not run.live_total_steps or run.live_train_time_s is None:
        return None
    return run.live_train_time_s / run.live_step * (run.live_total_steps - run.live_step)


def format_value(value, spec: str = ".4f") -> str:
    """A number for a table cell; None is an empty cell."""
    return "" if value is None else format(value, spec)


def runs_table(runs: list[LiveRun], title: Optional[str] = None, show_error: bool = True) -> Table:
    """One row per run: id, variant, seed, status, attempts, where, step, val_loss, ETA/time, error."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in (("run", "left"), ("variant", "left"), ("seed", "right"), ("status", "left"),
                          ("try", "right"), ("device", "left"), ("step", "right"), ("val_loss", "right"),
                          ("time", "right")):
        table.add_column(name, justify=justify, no_wrap=name != "variant")
    if show_error:
        table.add_column("error", overflow="fold", max_width=60)
    for r in runs:
        step = f"{r.live_step}/{r.live_total_steps}" if r.live_total_steps else ""
        val_loss = r.val_loss if r.status == "finished" else r.latest_val_loss
        if r.status == "running":
            eta = run_eta_s(r)
            when = f"ETA {format_duration(eta)}" if eta is not None else "starting"
        else:
            when = format_duration(r.train_time_s) if r.train_time_s is not None else ""
        row = [r.id, escape(r.variant), str(r.seed), f"[{_STATUS_STYLE.get(r.status, '')}]{r.status}[/]",
               str(r.attempts), escape(r.device or ""), step, format_value(val_loss), when]
        if show_error:
            row.append(escape((r.error or "").splitlines()[-1] if r.error else ""))
        table.add_row(*row)
    return table


def counts_table(counts: dict[str, dict[str, int]]) -> Table:
    """`golf status`: one row per sweep with run counts by status."""
    table = Table(header_style="bold")
    statuses = ("queued", "running", "finished", "failed", "cancelled")
    table.add_column("sweep")
    for s in statuses:
        table.add_column(s, justify="right", style=_STATUS_STYLE[s])
    table.add_column("total", justify="right")
    for name, c in sorted(counts.items()):
        table.add_row(escape(name), *[str(c.get(s, 0)) for s in statuses], str(sum(c.values())))
    return table


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
        self.task = self.progress.add_task(sweep, total=None, detail="")
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
            parts.append(runs_table(running + ended, show_error=any(r.error for r in ended)))
        if self.footer is not None:
            parts.append(self.footer())
        return Group(*parts)

    def _log_changes(self, runs: list[LiveRun]) -> None:
        total, done = len(runs), sum(r.status in ENDED for r in runs)
        for r in runs:
            if r.status in ENDED and self._seen_status.get(r.id) != r.status:
                value = f" val_loss {r.val_loss:.4f}" if r.val_loss is not None else ""
                error = f": {(r.error or '').splitlines()[-1]}" if r.status == "failed" and r.error else ""
                self.console.print(f"[{done}/{total}] {r.status} {escape(r.variant)} seed {r.seed} "
                                   f"({r.id}){value}{escape(error)}", highlight=False)
            self._seen_status[r.id] = r.status

    def watch(self, keep_going: Callable[[], bool]) -> list[LiveRun]:
        """Draw until keep_going() is False (the workers exited); returns the last snapshot."""
        runs = self.store.live_runs(self.sweep)
        if not self.console.is_terminal:
            self._seen_status = {r.id: r.status for r in runs}
            while keep_going():
                time.sleep(self.refresh_s)
                runs = self.store.live_runs(self.sweep)
                self._log_changes(runs)
            return self.store.live_runs(self.sweep)
        with Live(self.render(runs), console=self.console, refresh_per_second=4, transient=False) as live:
            while keep_going():
                time.sleep(self.refresh_s)
                runs = self.store.live_runs(self.sweep)
                live.update(self.render(runs))
            runs = self.store.live_runs(self.sweep)
            live.update(self.render(runs))
        return runs
