"""golf's command line: the `golf` app, assembled from the commands in cli_commands/ (one module per
area), and the one rule of how a command ends: its result, or one clear error line.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click as typer._click; older ones use click itself
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from cli_commands import imports, queue, report, specs, sweep, training
from cli_commands.common import err_console, error_line
from sweeper.errors import GolfError


class _GolfGroup(TyperGroup):
    """The one rule of golf's commands: do what was asked, or print one line naming the input and
    what was expected and exit 2 (click's usage errors and golf's own errors alike). Anything else
    is a bug: its traceback is kept, with a line asking to report it."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except GolfError as exc:
            error_line(str(exc))
            sys.exit(exc.exit_code)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if isinstance(exc, UsageError) and ctx else ""
            error_line(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except typer.Abort:
            error_line("aborted")
            sys.exit(1)
        except Exception:
            import traceback
            traceback.print_exc()
            err_console.print("[bold red]internal error:[/] this is a bug in golf, not in your input; please "
                              "report it with the command and the traceback above.", highlight=False)
            sys.exit(1)
        sys.exit(code or 0)


app = typer.Typer(cls=_GolfGroup, help="golf: ablation sweeps for small-GPT training runs.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Training data: shards and tokenizer.", no_args_is_help=True)
spec_app = typer.Typer(help="Ablation specs (ablations/*.yaml).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(spec_app, name="spec")

# The command table, in the order `golf --help` lists them.
app.command("train")(training.train_command)
data_app.command("prepare")(training.data_prepare)
spec_app.command("check")(specs.spec_check)
app.command("sweep")(sweep.sweep_command)
app.command("worker")(queue.worker_command)
app.command("status")(queue.status_command)
app.command("runs")(queue.runs_command)
app.command("show")(queue.show_command)
app.command("retry")(queue.retry_command)
app.command("cancel")(queue.cancel_command)
app.command("report")(report.report_command)
app.command("plan")(report.plan_command)
app.command("import")(imports.import_command)
app.command("ppm")(training.ppm_command)


if __name__ == "__main__":
    app()
