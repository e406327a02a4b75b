"""RunPlan: one concrete run of a sweep, the unit the queue holds."""

from __future__ import annotations

from dataclasses import dataclass

from model import TrainConfig


@dataclass(frozen=True)
class RunPlan:
    """A resolved run: which sweep and variant it belongs to, its seed and full config.

    `key` is `config.run_key()` (hash of the resolved config, seed included, and the training
    core's version), so the same run planned twice, in any process, has the same key.
    """

    sweep: str
    variant: str
    seed: int
    config: TrainConfig

    @property
    def key(self) -> str:
        return self.config.run_key()
