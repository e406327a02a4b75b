"""golf's command line: parse, call into sweeper/ and model/, render with rich. Nothing else.

Each section belongs to one area; heavy imports happen inside the commands so that
`golf --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from sweeper.errors import GolfError

console = Console()
err_console = Console(stderr=True)


class _GolfApp(typer.Typer):
    """Typer app that turns golf's own errors into one red line and exit code 2."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except GolfError as exc:  # pragma: no cover - exercised through subprocess tests
            err_console.print(f"[bold red]error:[/] {exc}")
            sys.exit(exc.exit_code)


app = _GolfApp(help="golf: ablation sweeps for small-GPT training runs.", no_args_is_help=True,
               pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Training data: shards and tokenizer.", no_args_is_help=True)
spec_app = typer.Typer(help="Ablation specs (ablations/*.yaml).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(spec_app, name="spec")


def fail(message: str, code: int = 2) -> None:
    """Print one clear error line and exit (2 = bad input)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


# =============================================================================
# ---- golf train / golf data (training core) ----


# =============================================================================
# ---- golf spec check (specs) ----


# =============================================================================
# ---- golf sweep / worker / status / runs / show / retry / cancel (store, queue, workers) ----


# =============================================================================
# ---- golf report (report) ----


# =============================================================================
# ---- golf import (importer) ----


# =============================================================================
# ---- golf ppm (PPM-C) ----


if __name__ == "__main__":
    app()
