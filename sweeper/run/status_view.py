"""The run tables of `golf status` and `golf runs` (also drawn inside the live sweep view)."""

from __future__ import annotations

from typing import Optional

from rich.markup import escape
from rich.table import Table

from sweeper.run.estimate import format_duration
from sweeper.store import LiveRun

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
