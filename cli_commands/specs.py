"""`golf spec check`: validate spec files without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from cli_commands.common import console, err_console, fail
from sweeper.errors import GolfError


def spec_check(
    files: list[Path] = typer.Argument(..., help="Spec files to validate."),
    base: Optional[str] = typer.Option(None, "--base", help="Also resolve against this preset."),
    max_runs: Optional[int] = typer.Option(None, "--max-runs", min=1, help="Run limit per spec (default 1000)."),
):
    """Validate spec files (parse and resolve every variant) without running anything.

    Every file is checked; each bad one prints its error, and the exit code is 2 if any was bad.
    """

    from sweeper.spec import expand, load_spec
    from sweeper.spec.limits import DEFAULT_MAX_RUNS
    bad = 0
    for f in files:
        try:
            exp = expand(load_spec(f), base, max_runs=max_runs or DEFAULT_MAX_RUNS)
        except GolfError as exc:
            bad += 1
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            continue
        variants = len({p.variant for p in exp.plans})
        dups = "".join(f", {dropped} = {kept} (not run twice)" for kept, dropped in exp.duplicates)
        console.print(f"[green]ok[/] {escape(str(f))}: {_count(variants, 'variant')}, {_count(len(exp.plans), 'run')} "
                      f"(base {exp.base_name}){escape(dups)}", highlight=False, soft_wrap=True)
    if bad:
        fail(f"{bad} of {len(files)} spec files have errors")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
