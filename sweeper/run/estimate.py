"""What a sweep will cost, from a measured training step, before anything is started.

The measurement (model/measure.py) runs the real model and optimizers on random tokens (no data
needed) with the thread count each worker will get, on one micro-batch of the size a run puts
through one forward, in a child process on the device the workers will use: the launcher never
imports torch, so it holds no GPU memory while the sweep runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import model
from model.config import PRESETS, TrainConfig

# Presets that only make sense on a GPU (the tiny preset is the CPU one).
GPU_SIZED_PRESETS = tuple(name for name in PRESETS if name != "tiny")
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


def measure_in_subprocess(config: TrainConfig, threads: int, env: dict | None = None) -> dict:
    """`python -m model.measure` in a child process; `env` (a worker slot's variables, e.g. its
    CUDA_VISIBLE_DEVICES and OMP_NUM_THREADS) over this process's environment. Its JSON result;
    raises RuntimeError with the child's last words."""
    env = {**os.environ, **(env or {})}
    root = str(Path(model.__file__).resolve().parent.parent)  # the child imports this same model/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-m", "model.measure", "--config", json.dumps(config.to_dict()),
                           "--threads", str(max(threads, 1))], env=env, capture_output=True, text=True,
                          check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"measuring a training step failed (exit {done.returncode}): {tail}")
    return json.loads(lines[-1])


def measure_step_s(config: TrainConfig, threads: int, env: dict | None = None) -> tuple[float, str]:
    """Seconds per training step at the config's batch, and the device measured on."""
    measured = measure_in_subprocess(config, threads, env)
    return measured["step_s"], measured["device"]


def estimate_sweep(config: TrainConfig, runs: int, workers: int, threads: int,
                   env: dict | None = None) -> Estimate:
    """Expected time of `runs` runs like `config` on `workers` workers (compile time not included).
    `env`: the environment of the first worker slot, so the step is measured on its device."""
    step_s, device = measure_step_s(config, threads, env)
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
