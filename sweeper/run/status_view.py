"""The run tables of `golf status` and `golf runs` (also drawn inside the live sweep view)."""

from __future__ import annotations

from typing import Optional

from rich.markup import escape
from rich.table import Table

from sweeper.run.estimate import format_duration
from sweeper.store import LiveRun

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


# What a narrow terminal keeps: which run it is and how it does; the rest while there is room.
_ESSENTIAL = ("variant", "seed", "status", "step", "val_loss")
_OPTIONAL = ("error", "time", "try", "run", "device")  # added in this order while they fit (an error only when a run has one)
_MIN_ERROR_WIDTH = 20  # the error column folds its text, so it only needs room for a few words


def _final_step(run: LiveRun) -> str:
    """An imported run's last step (it has no live progress), over its step budget where known."""
    if run.steps is None:
        return ""
    return f"{run.steps}/{run.step_budget}" if run.step_budget else str(run.steps)


def runs_table(runs: list[LiveRun], title: Optional[str] = None, show_error: bool = True,
               width: Optional[int] = None) -> Table:
    """One row per run: id, variant, seed, status, attempts, where, step, val_loss, ETA/time, error.
    With `width` (the terminal's), variant, seed, status, step and val_loss are kept whole and the
    other columns are added only while they fit."""
    rows = []
    for r in runs:
        step = (f"{r.live_step}/{r.live_total_steps}" if r.live_total_steps else _final_step(r))
        val_loss = r.val_loss if r.status == "finished" else r.latest_val_loss
        if r.status == "running":
            eta = run_eta_s(r)
            when = f"ETA {format_duration(eta)}" if eta is not None else "starting"
        else:
            when = format_duration(r.train_time_s) if r.train_time_s is not None else ""
        rows.append({"run": r.id, "variant": r.variant, "seed": str(r.seed), "status": r.status,
                     "try": str(r.attempts), "device": r.device or "", "step": step,
                     "val_loss": format_value(val_loss), "time": when,
                     "error": (r.error or "").splitlines()[-1] if r.error else ""})
    order = ["run", "variant", "seed", "status", "try", "device", "step", "val_loss", "time"]
    order += ["error"] if show_error else []
    kept = _fitting(rows, order, width)
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in kept:
        if name == "error":
            table.add_column(name, overflow="fold", max_width=60, min_width=_MIN_ERROR_WIDTH if width else None)
        else:
            table.add_column(name, justify="right" if name in ("seed", "try", "step", "val_loss", "time") else "left",
                             no_wrap=name != "variant", overflow="fold")  # a very long name folds, never vanishes
    for row in rows:
        cells = {**row, "variant": escape(row["variant"]), "device": escape(row["device"]),
                 "status": f"[{_STATUS_STYLE.get(row['status'], '')}]{row['status']}[/]", "error": escape(row["error"])}
        table.add_row(*(cells[name] for name in kept))
    return table


def _fitting(rows: list[dict], order: list[str], width: Optional[int]) -> list[str]:
    """The columns of `order` to show in `width` characters: the essential ones, then the optional
    ones by priority while they fit; all of them without a width."""
    if width is None:
        return order
    def need(name: str) -> int:  # content + 2 padding + 1 border
        if name == "error":
            return _MIN_ERROR_WIDTH + 3
        return max([len(name)] + [len(r[name]) for r in rows]) + 3
    used = 1 + sum(need(n) for n in _ESSENTIAL if n in order)
    kept = set(_ESSENTIAL)
    for name in _OPTIONAL:
        if name == "error" and not any(r["error"] for r in rows):
            continue
        if name in order and used + need(name) <= width:
            kept.add(name)
            used += need(name)
    return [n for n in order if n in kept]


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
