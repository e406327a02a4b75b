"""Stand-in trainers for queue tests: real worker processes, real store, no real training.

Workers take them by import path (`python -m sweeper.run.worker --train fake_trainer:in_3s`,
`golf worker --train ...`); tests put this folder on the workers' PYTHONPATH. Each sleeps its
duration over `config.iterations` steps and emits TrainStep/Eval events (so aborts and Ctrl-C land
mid-run), and fails at `debug_nan_at_step` like the real trainer does.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Callable

from model.config import TrainConfig
from model.events import Eval, Final, TrainingError, TrainStep


def fake_train(config: TrainConfig, on_event: Callable, out_dir: Path, seconds: float = 0.0) -> Final:
    """`model.train`'s contract, in `seconds` of sleep."""
    steps = config.iterations
    loss = lambda step: 7.0 * (0.99 ** step) + 0.001 * config.seed
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        if step == config.debug_nan_at_step:
            raise TrainingError(f"non-finite training loss nan at step {step}")
        on_event(TrainStep(step, steps, loss(step), step * seconds / steps, 1000 * seconds / steps))
        if config.val_loss_every and (step % config.val_loss_every == 0 or step == steps):
            on_event(Eval(step, steps, step * seconds / steps, loss(step), loss(step) / 2.0, step * 1000))
    final = Final(steps, seconds, 1000 * seconds / steps, 1, 0.0, loss(steps), loss(steps) / 2.0,
                  loss(steps), loss(steps) / 2.0, 1, False)
    on_event(final)
    return final


instant = functools.partial(fake_train, seconds=0.0)
in_10ms = functools.partial(fake_train, seconds=0.01)
in_200ms = functools.partial(fake_train, seconds=0.2)
in_500ms = functools.partial(fake_train, seconds=0.5)
in_3s = functools.partial(fake_train, seconds=3.0)
in_60s = functools.partial(fake_train, seconds=60.0)
in_120s = functools.partial(fake_train, seconds=120.0)
