"""`golf show RUN`: one run's provenance, config, attempts, curve and error, rendered with rich."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from model.config import TrainConfig
from sweeper.run.status_view import format_value
from sweeper.store import FINAL_COLUMNS, RunRecord

_PROVENANCE = ("sweep", "variant", "seed", "status", "attempts", "max_attempts", "worker", "host", "device",
               "torch_version", "python_version", "golf_version", "git_commit", "created_at", "started_at",
               "finished_at", "source", "source_path", "artifact_path", "key")


def _pairs_table(title: str, pairs) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, escape(_shown(value)))
    return table


def _shown(value) -> str:
    # A metric read to 17 digits hides its magnitude; 6 significant digits is what a log shows.
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def config_changes(config: dict) -> list[tuple[str, object]]:
    """The stored config's fields that differ from TrainConfig's defaults (the baseline)."""
    try:
        defaults = TrainConfig().to_dict()
    except ValueError:
        defaults = {}
    return [(k, v) for k, v in sorted(config.items()) if defaults.get(k, object()) != v]


def show_run(run: RunRecord, row: dict, attempts: list[dict], evals: list[dict]) -> Group:
    """Everything `golf show` prints about one run."""
    parts = [_pairs_table(f"run {run.id}", [(k, row[k]) for k in _PROVENANCE if row.get(k) is not None])]
    finals = [(k, row[k]) for k in FINAL_COLUMNS if row.get(k) is not None]
    if finals:
        parts.append(_pairs_table("final metrics", finals))
    parts.append(_pairs_table("config (fields that differ from the baseline defaults)", config_changes(run.config)))
    if attempts:
        table = Table(title="attempts", title_justify="left", header_style="bold")
        for column in ("attempt", "outcome", "worker", "device", "started_at", "ended_at", "error"):
            table.add_column(column, overflow="fold")
        for a in attempts:
            table.add_row(*[escape(str(a.get(c) or "")) for c in
                            ("attempt", "outcome", "worker", "device", "started_at", "ended_at", "error")])
        parts.append(table)
    if evals:
        current = run.attempts
        table = Table(title="curve (evals; earlier attempts dimmed)", title_justify="left", header_style="bold")
        for column in ("attempt", "step", "train_time_s", "val_loss", "val_bpb", "ppm_val_bpb"):
            table.add_column(column, justify="right")
        for e in evals:
            table.add_row(str(e["attempt"]), str(e["step"]), format_value(e["train_time_s"], ".1f"),
                          format_value(e["val_loss"]), format_value(e["val_bpb"]), format_value(e["ppm_val_bpb"]),
                          style=None if e["attempt"] == current else "dim")
        parts.append(table)
    if run.error:
        parts.append(Text(f"error: {run.error}", style="red"))
    return Group(*parts)
