"""Events that `model.train` streams through its `on_event` callback.

The training core never touches a store: a worker, a notebook or the terminal UI decides what
to do with these. Names and units are golf's one spelling everywhere: `val_loss` in nats per
token, `val_bpb` in bits per byte, `_s` / `_ms` for units.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable, Union


@dataclass(frozen=True)
class TrainStep:
    """Every `train_log_every` steps: cheap progress for live views."""

    step: int
    total_steps: int
    train_loss: float
    train_time_s: float
    step_avg_ms: float
    kind: str = "train_step"


@dataclass(frozen=True)
class Eval:
    """One validation pass. `tokens` = training tokens seen so far."""

    step: int
    total_steps: int
    train_time_s: float
    val_loss: float
    val_bpb: float
    tokens: int
    ppm_val_loss: float | None = None  # only for runs with ppm_c set
    ppm_val_bpb: float | None = None
    kind: str = "eval"


@dataclass(frozen=True)
class Final:
    """End of a run: pre- and post-quantization metrics and the artifact's size."""

    steps: int
    train_time_s: float
    step_avg_ms: float
    num_params: int
    peak_memory_mib: float
    val_loss: float
    val_bpb: float
    quant_val_loss: float
    quant_val_bpb: float
    artifact_bytes: int
    stopped_early: bool  # the wall-clock cap ended training before `iterations`
    ppm_val_loss: float | None = None
    ppm_val_bpb: float | None = None
    quant_ppm_val_loss: float | None = None
    quant_ppm_val_bpb: float | None = None
    kind: str = "final"


@dataclass(frozen=True)
class Failed:
    """The run stopped on an error (e.g. non-finite loss); `train` raises TrainingError next."""

    step: int
    error: str
    kind: str = "failed"


Event = Union[TrainStep, Eval, Final, Failed]
EventCallback = Callable[[Event], None]


class TrainingError(RuntimeError):
    """A run cannot go on (non-finite loss, bad data); the message says why."""


def event_to_dict(event: Event) -> dict[str, Any]:
    """Plain dict with a `kind` key, for JSON transport between processes."""
    return dataclasses.asdict(event)


_KINDS = {cls.kind: cls for cls in (TrainStep, Eval, Final, Failed)}  # type: ignore[attr-defined]


def event_from_dict(values: dict[str, Any]) -> Event:
    """Inverse of event_to_dict."""
    return _KINDS[values["kind"]](**values)


# Marks an event on a training process's stdout (`python -m model`); torchrun, warnings and
# other ranks may print around it, so readers keep only lines that carry the marker.
EVENT_LINE_PREFIX = "GOLF_EVENT "


def parse_event_line(line: str) -> Event | None:
    """The event on one stdout line of `python -m model`, or None for any other output.

    The marker may follow stray text that another writer left without a newline."""
    _, marker, payload = line.partition(EVENT_LINE_PREFIX)
    if not marker:
        return None
    try:
        return event_from_dict(json.loads(payload))
    except (ValueError, KeyError, TypeError):  # a line cut short or mangled by interleaving
        return None
