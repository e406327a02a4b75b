"""What every command shares: the consoles, the one-line error exit and the common options."""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

# Piped output (logs, `| tee`, CI) gets room for the wide report tables instead of rich's 80 columns.
_PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
console = Console(width=_PIPE_WIDTH)
err_console = Console(stderr=True, width=_PIPE_WIDTH)

DbOption = Annotated[Optional[str], typer.Option("--db", help="Store URL (default: $GOLF_DB, else sqlite:///results.db).")]
TrainOption = Annotated[Optional[str], typer.Option(help="Workers' train function as module:function, with model.train's signature (default: model:train).")]


def error_line(message: str) -> None:
    """`error: MESSAGE` on one line: the user's text escaped (it may hold rich markup), and a database
    driver's multi-line detail joined, without SQLAlchemy's link to its error catalogue."""
    message = " ".join(re.sub(r"\(Background on this error at: [^)]*\)", "", message).split())
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    """Print one clear error line and exit (2 = bad input)."""
    error_line(message)
    raise typer.Exit(code)


def free_cores(store) -> int:
    """Cores this machine's other golf workers leave (they hold what their running runs record)."""
    from sweeper.run import threads

    cores, held = threads.free_cores(store)
    if held:
        err_console.print(f"{held} core(s) here are held by other golf workers; these workers share the {cores} left",
                          highlight=False)
    return cores


def check_lease(lease: float) -> None:
    # Shorter than a second, heartbeats (every lease/4) would flood the store and an eval would
    # outlast the lease: every run would be taken from its worker.
    if not lease >= 1.0:
        fail(f"--lease: got {lease} (expected at least 1 second)")
