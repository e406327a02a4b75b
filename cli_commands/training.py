"""`golf train`, `golf data prepare` and `golf ppm`: the training core and its data, one process, no store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from cli_commands.common import console, fail
from sweeper.errors import GolfError


def train_command(
    base: str = typer.Option("tiny", "--base", help="Preset to start from: golf, medium, tiny."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="key=value: a TrainConfig field (or spec operation), value as in YAML."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for final_model.int8.ptz."),
):
    """Train one run in this process, showing progress and the final metrics.

    --set takes any TrainConfig field or spec operation, with values written as in a spec's YAML
    (--set value_residual=true --set remove_ve=[0]); they are checked as a spec's are."""
    import dataclasses

    import yaml

    from sweeper.spec import resolve_overrides

    changes: dict = {}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--set {item!r}: expected key=value with key a TrainConfig field")
        try:
            changes[key] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            fail(f"--set {item!r}: {raw!r} is not a YAML value ({exc})")
    config = resolve_overrides(base, changes)
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
        try:
            final = train(config, on_event, out)
        except ValueError as exc:  # the training core's data errors name their file
            fail(str(exc))
    for key, value in dataclasses.asdict(final).items():
        if value is None or key == "kind":  # metrics this run does not have (ppm_* without ppm_c)
            continue
        # 6 significant digits, as `golf show` prints finals: 17 of them hide the magnitude
        console.print(f"{key:>20}: {value:.6g}" if isinstance(value, float) else f"{key:>20}: {value}", highlight=False)
    if out is not None:
        console.print(f"wrote {out}: {', '.join(sorted(p.name for p in Path(out).iterdir()))}", highlight=False,
                      soft_wrap=True)


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
    try:
        info = prepare(out, list(text) if text else None, vocab)
    except ValueError as exc:  # bad options or text, named by prepare
        fail(str(exc))
    Console().print(f"wrote {info['out']}: tokenizer.model, {info['train_tokens']} train tokens, "
               f"{info['val_tokens']} val tokens")




def _ppm_load_tokens(data: Path):
    """int64 token ids from a .npy of ids, a shard, or a data folder's validation shards, and the
    folder's tokenizer (None for a single file)."""
    import numpy as np

    from model.data import load_validation_tokens, read_shard

    if not data.exists():
        raise GolfError(f"{data}: no such file or folder (expected a shard, a .npy of ids, or a data folder)")
    try:
        if data.is_file():
            tokens = np.load(data) if data.suffix == ".npy" else read_shard(data)
            return np.asarray(tokens, dtype=np.int64).reshape(-1), None
        # The layout resolve_data reads; seq_len 1 keeps every token of the split.
        tokens = load_validation_tokens(str(data / "*_val_*.bin"), seq_len=1).numpy()
    except (OSError, ValueError) as exc:
        raise GolfError(f"{data}: {exc}") from exc
    tokenizers = sorted(data.glob("*.model"))
    return tokens, (tokenizers[0] if len(tokenizers) == 1 else None)


def ppm_command(
    data: Annotated[Path, typer.Argument(help="A shard (.bin), a .npy of token ids, or a data folder (its val split).")],
    order: Annotated[int, typer.Option(min=0, help="Highest context order k.")] = 2,
    vocab: Annotated[Optional[int], typer.Option(min=1, help="Vocabulary size (default: the folder's tokenizer, else 1024).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=2, help="Use only the first N tokens.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Save each target's probability here (.npy, float64).")] = None,
) -> None:
    """Run PPM-C alone over validation tokens: a classical-compressor baseline (never cached)."""
    import time

    import numpy as np

    from model.config import TrainConfig
    from model.ppm import bits_per_token, bpb_from_probs, compute_ppm_probs

    tokens, tokenizer = _ppm_load_tokens(data)
    tokens = tokens[:limit]
    if vocab is None and tokenizer is not None:
        import sentencepiece as spm

        vocab = spm.SentencePieceProcessor(model_file=str(tokenizer)).vocab_size()
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
        import torch

        from model.data import build_bpb_luts, target_bytes

        ids = torch.from_numpy(tokens)
        nbytes = target_bytes(ids[:-1], ids[1:], build_bpb_luts(tokenizer, vocab))  # bytes of each target
        console.print(f"bpb:{bpb_from_probs(probs, nbytes.numpy()):.4f}")
    console.print(f"tokens_per_s:{(len(tokens) - 1) / seconds:.0f} compile_s:{compile_s:.2f}")
    if out is not None:
        np.save(out, probs)
        console.print(f"saved {len(probs)} probabilities to {out}")
