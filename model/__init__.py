"""golf's training core: the config, the network and `train(config, on_event)`.

Knows nothing about sweeps or databases. Importing it does no work (no CUDA, no data).
"""

from model.config import PRESETS, TRAIN_CORE_VERSION, TrainConfig, mirror_tables, pairs_tables
from model.events import Eval, Failed, Final, TrainingError, TrainStep

__all__ = [
    "PRESETS", "TRAIN_CORE_VERSION", "TrainConfig", "mirror_tables", "pairs_tables",
    "Eval", "Failed", "Final", "TrainingError", "TrainStep", "GPT", "train",
]


def __getattr__(name: str):
    # GPT and train pull in torch; load them on first use so `import model` stays cheap.
    if name == "GPT":
        from model.gpt import GPT

        return GPT
    if name == "train":
        from model.trainer import train

        return train
    raise AttributeError(f"module 'model' has no attribute {name!r}")
