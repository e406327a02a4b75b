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
@app.command("train")
def train_command(
    base: str = typer.Option("tiny", "--base", help="Preset to start from: golf, medium, tiny."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="key=value config override."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for final_model.int8.ptz."),
):
    """Train one run in this process, showing progress and the final metrics."""
    import dataclasses
    import json

    from model.config import TrainConfig

    types = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    changes: dict = {}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or key not in types:
            fail(f"--set {item!r}: expected key=value with key a TrainConfig field")
        kind = str(types[key])
        try:
            if "bool" in kind:
                value = raw.lower() in ("1", "true", "yes", "on")
            elif "int" in kind:
                value = int(raw)
            elif "float" in kind:
                value = float(raw)
            elif "str" in kind:
                value = raw
            else:
                value = json.loads(raw)
        except ValueError:
            fail(f"--set {item!r}: {raw!r} is not a valid {kind}")
        changes[key] = value
    try:
        config = TrainConfig.preset(base, **changes)
    except ValueError as exc:
        fail(str(exc))
    from rich.progress import Progress

    from model.trainer import train

    console = Console()
    with Progress(console=console) as progress:
        task = progress.add_task("training", total=config.iterations)

        def on_event(event) -> None:
            if event.kind == "train_step":
                progress.update(task, completed=event.step,
                                description=f"step {event.step} loss {event.train_loss:.3f}")
            elif event.kind == "eval":
                progress.console.print(f"step {event.step:>5}  val_loss {event.val_loss:.4f}  "
                                       f"val_bpb {event.val_bpb:.4f}  train_time {event.train_time_s:.1f}s")
        final = train(config, on_event, out)
    for key, value in dataclasses.asdict(final).items():
        console.print(f"{key:>20}: {value}")


@data_app.command("prepare")
def data_prepare(
    text: Optional[list[Path]] = typer.Option(None, "--text", help="Text files to build the corpus from."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: GOLF_DATA_DIR/default)."),
    vocab: int = typer.Option(1024, "--vocab", help="SentencePiece vocabulary size."),
):
    """Build tokenizer.model and golf_train/val shards from stdlib docs or your --text files."""
    import os
    from model.prepare import prepare
    if out is None:
        out = Path(os.environ.get("GOLF_DATA_DIR") or Path.home() / ".cache/golf/data") / "default"
    info = prepare(out, list(text) if text else None, vocab)
    Console().print(f"wrote {info['out']}: tokenizer.model, {info['train_tokens']} train tokens, "
               f"{info['val_tokens']} val tokens")



# =============================================================================
# ---- golf spec check (specs) ----
@spec_app.command("check")
def spec_check(
    files: list[Path] = typer.Argument(..., help="Spec files to validate."),
    base: Optional[str] = typer.Option(None, "--base", help="Also resolve against this preset."),
):
    """Validate spec files (parse and resolve every variant) without running anything."""
    from sweeper.spec import expand, load_spec
    for f in files:
        exp = expand(load_spec(f), base)
        console.print(f"[green]ok[/] {f}: {len(exp.plans)} runs"
                      + (f", duplicates {exp.duplicates}" if exp.duplicates else ""))


# =============================================================================
# ---- golf sweep / worker / status / runs / show / retry / cancel (store, queue, workers) ----


# =============================================================================
# ---- golf report (report) ----


@app.command("report")
def report_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    threshold: Annotated[Optional[float], typer.Option(help="Target metric value (default: the sweep's).")] = None,
    metric: Annotated[str, typer.Option(help="val_loss|val_bpb")] = "val_loss",
    by: Annotated[str, typer.Option(help="Rank by time|steps|final.")] = "time",
    baseline: Annotated[Optional[str], typer.Option(help="Baseline variant (default 'baseline', else the first).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table|csv|json|markdown")] = "table",
    plot: Annotated[Optional[str], typer.Option(help="Write seed-averaged curves to this PNG.")] = None,
    rule: Annotated[Optional[str], typer.Option(help="Record rule: speedrun|golf.")] = None,
    target: Annotated[Optional[float], typer.Option(help="speedrun rule: target mean val_loss.")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level for the rule.")] = 0.01,
    margin: Annotated[float, typer.Option(help="golf rule: required gain over baseline (nats).")] = 0.005,
    db: Annotated[Optional[str], typer.Option(help="Store URL (default: sqlite results.db).")] = None,
) -> None:
    """Rank variants by time-to-threshold with seed statistics."""
    from sweeper import report_view
    from sweeper.results import load

    if metric not in ("val_loss", "val_bpb"):
        fail(f"--metric must be val_loss or val_bpb, got {metric!r}")
    if by not in ("time", "steps", "final"):
        fail(f"--by must be time, steps or final, got {by!r}")
    if fmt not in ("table", "csv", "json", "markdown"):
        fail(f"--format must be table, csv, json or markdown, got {fmt!r}")
    res = load(sweep, db)
    if threshold is None and res.threshold is None:
        fail(f"sweep {sweep!r} has no stored threshold: pass --threshold")
    summary = res.report(threshold, metric, baseline=baseline, by=by)
    if rule is not None:
        from sweeper.report import apply_rule
        if rule not in ("speedrun", "golf"):
            fail(f"--rule must be speedrun or golf, got {rule!r}")
        if rule == "speedrun" and target is None:
            fail("--rule speedrun needs --target")
        summary = apply_rule(summary, res.runs, res.curves, rule, target=target, alpha=alpha, margin=margin)
    if plot is not None:
        from sweeper.plots import plot_curves
        plot_curves(res.curves, plot, metric, threshold if threshold is not None else res.threshold)
    if fmt == "table":
        console.print(report_view.to_rich_table(summary, title=f"{sweep}: {metric} <= {threshold or res.threshold}"))
    else:
        out = {"csv": report_view.to_csv, "json": report_view.to_json, "markdown": report_view.to_markdown}[fmt](summary)
        sys.stdout.write(out if out.endswith("\n") else out + "\n")



# =============================================================================
# ---- golf import (importer) ----


@app.command("import")
def import_command(
    paths: Annotated[list[str], typer.Argument(help="Log files, folders or globs (one run per file, or a markdown collection).")],
    sweep: Annotated[str, typer.Option(help="Sweep the imported runs belong to (created if new).")],
    fmt: Annotated[str, typer.Option("--format", help="auto|modded|golf|markdown (auto sniffs each file).")] = "auto",
    header_level: Annotated[int, typer.Option(help="Markdown header depth that starts a run (## = 2).")] = 2,
    variant_from: Annotated[Optional[str], typer.Option(help="Regex on file names with named groups 'variant' and 'seed'.")] = None,
    db: Annotated[Optional[str], typer.Option(help="Store URL (default: sqlite results.db).")] = None,
) -> None:
    """Bring existing modded-nanogpt / parameter-golf logs into the store (idempotent)."""
    from rich.markup import escape

    from sweeper.importer import import_paths
    from sweeper.store import Store

    summary = import_paths(Store(db), sweep, paths, fmt=fmt, header_level=header_level, variant_from=variant_from)
    for issue in summary.issues:
        err_console.print(f"[yellow]skipped[/] {escape(str(issue))}", highlight=False)
    for error in summary.errors:
        err_console.print(f"[bold red]error:[/] {escape(error)}", highlight=False)
    console.print(f"files:{len(summary.files)} runs:{summary.runs} added:{summary.added} "
                  f"replaced:{summary.replaced} unchanged:{summary.unchanged} evals:{summary.evals} "
                  f"skipped_lines:{len(summary.issues)} errors:{len(summary.errors)}", soft_wrap=True)
    if summary.errors and summary.runs == 0:
        raise typer.Exit(2)


# =============================================================================
# ---- golf ppm (PPM-C) ----


def _ppm_load_tokens(data: Path):
    """Token ids from a .npy file, a shard file, or a data folder's validation shards; + tokenizer."""
    import numpy as np

    if not data.exists():
        raise GolfError(f"{data}: no such file or folder (expected a shard, a .npy of ids, or a data folder)")
    if data.is_file() and data.suffix == ".npy":
        return np.load(data), None
    try:
        from model.data import read_shard
    except ImportError as exc:
        raise GolfError(f"{data}: reading shards needs model.data.read_shard ({exc})") from exc
    if data.is_file():
        return read_shard(data), None
    shards = sorted(data.glob("*val*.bin"))
    if not shards:
        raise GolfError(f"{data}: no validation shards (*val*.bin) in this folder")
    tokenizers = sorted(data.glob("*.model"))
    return np.concatenate([read_shard(s) for s in shards]), (tokenizers[0] if tokenizers else None)


@app.command("ppm")
def ppm_command(
    data: Annotated[Path, typer.Argument(help="A shard (.bin), a .npy of token ids, or a data folder (its val split).")],
    order: Annotated[int, typer.Option(help="Highest context order k.")] = 2,
    vocab: Annotated[Optional[int], typer.Option(help="Vocabulary size (default: the config's, 1024).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N tokens.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Save each target's probability here (.npy, float64).")] = None,
) -> None:
    """Run PPM-C alone over validation tokens: a classical-compressor baseline."""
    import time

    import numpy as np

    from model.config import TrainConfig
    from model.ppm import bits_per_token, bpb_from_probs, compute_ppm_probs

    tokens, tokenizer = _ppm_load_tokens(data)
    tokens = np.asarray(tokens, dtype=np.int64)[: limit if limit is not None else None]
    vocab = vocab if vocab is not None else TrainConfig().vocab_size
    if len(tokens) < 2:
        raise GolfError(f"{data}: need at least 2 tokens, found {len(tokens)}")
    try:
        start = time.perf_counter()
        compute_ppm_probs(tokens[:2], order, vocab)  # compile, or load numba's cached kernel
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        probs = compute_ppm_probs(tokens, order, vocab)
        seconds = time.perf_counter() - start
    except ValueError as exc:
        raise GolfError(f"{data}: {exc}") from exc
    console.print(f"tokens:{len(tokens)} order:{order} vocab:{vocab}")
    console.print(f"bits_per_token:{bits_per_token(probs):.4f}")
    if tokenizer is not None:
        try:
            from model.data import build_bpb_luts, target_bytes

            nbytes = target_bytes(tokens, build_bpb_luts(tokenizer, vocab))
            console.print(f"bpb:{bpb_from_probs(probs, np.asarray(nbytes)[1:]):.4f}")
        except (ImportError, TypeError, ValueError) as exc:
            console.print(f"bpb: unavailable ({exc})")
    console.print(f"tokens_per_s:{(len(tokens) - 1) / seconds:.0f} compile_s:{compile_s:.2f}")
    if out is not None:
        np.save(out, probs)
        console.print(f"saved {len(probs)} probabilities to {out}")



if __name__ == "__main__":
    app()
