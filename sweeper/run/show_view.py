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


def _pairs_table(title: str, pairs) -> Group:
    # The title as a line of its own: as the table's title it wrapped to the width of a short table.
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, escape(_shown(value)))
    return Group(Text(title, style="italic"), table)


def _shown(value) -> str:
    # A metric read to 17 digits hides its magnitude; 6 significant digits is what a log shows.
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _when(stamp) -> str:
    """A stored UTC timestamp ("2026-11-29T13:22:48+00:00") as "2026-11-29 13:22:48"."""
    return "" if not stamp else str(stamp).replace("T", " ").removesuffix("+00:00")


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
        # Times in UTC as "2026-11-29 13:22:48" and the end as "13:23:23" on the same day: the ISO
        # forms folded over three lines each at 80 columns.
        columns = ["attempt", "outcome", "worker", "device", "started_at", "ended_at"]
        headers = {"attempt": "#", "started_at": "started (UTC)", "ended_at": "ended"}
        table = Table(title="attempts", title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(headers.get(column, column), overflow="fold",
                             no_wrap=column in ("attempt", "outcome", "started_at", "ended_at"))
        for a in attempts:
            start, end = _when(a.get("started_at")), _when(a.get("ended_at"))
            cells = {**a, "started_at": start, "ended_at": end[11:] if end[:10] == start[:10] else end}
            table.add_row(*[escape(str(cells.get(c) or "")) for c in columns])
        parts.append(table)
        # each attempt's error in full under the table (a column of its own got a few characters)
        parts.extend(Text(f"attempt {a['attempt']} ({a.get('outcome')}): {a['error']}", style="red")
                     for a in attempts if a.get("error") and a["attempt"] != run.attempts)
    if evals:
        current = run.attempts
        metrics = [c for c in ("val_loss", "val_bpb", "ppm_val_bpb") if any(e.get(c) is not None for e in evals)]
        table = Table(title="curve (evals; earlier attempts dimmed)", title_justify="left", header_style="bold")
        for column in ("attempt", "step", "train_time_s", *metrics):
            table.add_column(column, justify="right")
        for e in evals:
            table.add_row(str(e["attempt"]), str(e["step"]), format_value(e["train_time_s"], ".1f"),
                          *(format_value(e[c]) for c in metrics), style=None if e["attempt"] == current else "dim")
        parts.append(table)
    if run.error:
        parts.append(Text(f"error: {run.error}", style="red"))
    return Group(*parts)
