"""What a sweep will cost, from a few measured training steps, before anything is started.

The measurement runs the real model and optimizers on random tokens (no data needed) with the
thread count each worker will get. On a CPU, a GPU-sized batch is measured on a slice and scaled
by tokens, which is what makes a "this would take 300 hours" warning cheap to produce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from model.config import PRESETS, TrainConfig

# Presets that only make sense on a GPU (the tiny preset is the CPU one).
GPU_SIZED_PRESETS = tuple(name for name in PRESETS if name != "tiny")
_CPU_MEASURE_TOKENS = 8192
# Above this size a CPU step is measured on one sequence: a GPU-sized model would take minutes.
_CPU_LARGE_MODEL_PARAMS = 5_000_000
# A validation forward costs about a third of a training step per token (no backward, no optimizer).
_EVAL_COST_PER_TOKEN = 1 / 3
# Full validation sets whose size is unknown before the data is read: FineWeb's val split.
_ASSUMED_VAL_TOKENS = 62_000_000


@dataclass(frozen=True)
class Estimate:
    """Measured step time and the sweep's expected wall-clock time."""
    device: str
    step_s: float  # one training step at the config's full batch
    per_run_s: float
    runs: int
    workers: int

    @property
    def total_s(self) -> float:
        """Runs are spread over the workers in waves."""
        waves = -(-self.runs // max(self.workers, 1))
        return waves * self.per_run_s


def measure_step_s(config: TrainConfig, threads: int, steps: int = 2) -> tuple[float, str]:
    """Seconds per training step at the config's batch, and the device measured on."""
    import torch

    from model.gpt import GPT
    from model.optim import build_optimizers

    use_cuda = config.device != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, 1))
    try:
        torch.manual_seed(0)
        model = GPT(config).to(device)
        optimizers = build_optimizers(model, config)
        tokens = config.train_batch_tokens if use_cuda else min(config.train_batch_tokens, _CPU_MEASURE_TOKENS)
        seq_len = config.train_seq_len
        if not use_cuda and sum(p.numel() for p in model.parameters()) > _CPU_LARGE_MODEL_PARAMS:
            seq_len, steps = min(seq_len, 256), 1  # a rough figure is all a CPU warning needs
            tokens = seq_len
        seqs = max(tokens // seq_len, 1)
        x = torch.randint(0, config.vocab_size, (seqs, seq_len), device=device)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_cuda else torch.autocast("cpu", enabled=False)

        def step() -> None:
            with autocast:
                loss = model(x, x)
            loss.backward()
            for opt in optimizers:
                opt.step()
            model.zero_grad(set_to_none=True)

        step()  # first step pays allocation and kernel selection
        if use_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if use_cuda:
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / steps
    finally:
        torch.set_num_threads(previous_threads)
    scale = config.train_batch_tokens / (seqs * seq_len)
    label = torch.cuda.get_device_name(0) if use_cuda else f"cpu x{threads}"
    return seconds * scale, label


def estimate_sweep(config: TrainConfig, runs: int, workers: int, threads: int) -> Estimate:
    """Expected time of `runs` runs like `config` on `workers` workers (compile time not included)."""
    step_s, device = measure_step_s(config, threads)
    train_s = config.iterations * step_s
    if config.max_wallclock_seconds > 0:
        train_s = min(train_s, config.max_wallclock_seconds)
    steps = train_s / step_s
    evals = (int(steps // config.val_loss_every) if config.val_loss_every else 0) + 2  # + final + quantized
    val_tokens = config.val_max_tokens or _ASSUMED_VAL_TOKENS
    eval_s = evals * val_tokens / config.train_batch_tokens * step_s * _EVAL_COST_PER_TOKEN
    warmup_s = config.warmup_steps * step_s
    return Estimate(device, step_s, train_s + eval_s + warmup_s, runs, workers)


def is_gpu_sized(base: str) -> bool:
    """True for presets whose runs are meant for a GPU (hours to days on a CPU)."""
    return base in GPU_SIZED_PRESETS


def format_duration(seconds: float) -> str:
    """'42 s', '12.5 min', '3.2 h', '4.1 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
