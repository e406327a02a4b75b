"""`golf import`: bring existing training logs into the store."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from cli_commands.common import DbOption, console, err_console


def import_command(
    paths: Annotated[list[str], typer.Argument(help="Log files, folders (walked for .log/.txt/.md/.out) or globs.")],
    sweep: Annotated[str, typer.Option(help="Sweep the imported runs belong to (created if new).")],
    fmt: Annotated[str, typer.Option("--format", help="auto|modded|golf|markdown (auto sniffs each file).")] = "auto",
    header_level: Annotated[int, typer.Option(help="Markdown header depth that starts a run (## = 2).")] = 2,
    variant_from: Annotated[Optional[str], typer.Option(help="Regex on file names with named groups 'variant' and 'seed'.")] = None,
    threshold: Annotated[Optional[str], typer.Option(help="Store a threshold with the sweep: METRIC=VALUE, e.g. val_loss=2.92.")] = None,
    db: DbOption = None,
) -> None:
    """Bring existing modded-nanogpt / parameter-golf logs into the store (idempotent; folders are walked)."""

    from sweeper.importer import import_paths
    from sweeper.importer.summary_view import summary_tables
    from sweeper.store import Store
    from sweeper.threshold import Threshold

    chosen = Threshold.parse(threshold) if threshold is not None else None
    store = Store(db)
    summary = import_paths(store, sweep, paths, fmt=fmt, header_level=header_level, variant_from=variant_from)
    first = next((run.variant for f in summary.files for run in f.runs), None)
    # the first run imported is the reference run of a collection: the baseline, unless one is stored
    record = store.get_sweep(sweep)
    store.ensure_sweep(sweep, threshold_metric=chosen.metric if chosen else None,
                       threshold_value=chosen.value if chosen else None,
                       baseline=first if record is not None and record.baseline is None else None)
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for error in summary.errors:
        err_console.print(f"[bold red]error:[/] {escape(error)}", highlight=False, soft_wrap=True)
    console.print(summary_tables(summary, sweep))
    if summary.errors and summary.runs == 0:
        raise typer.Exit(2)
