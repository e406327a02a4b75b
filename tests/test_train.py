"""A short real `train` on `tiny`: events stream, artifact written, NaN hook fails cleanly."""

import json
import os
from pathlib import Path

import pytest
import torch

from model.config import TrainConfig
from model.export import code_bytes
from model.events import Eval, Failed, Final, TrainingError, TrainStep
from model.trainer import train

torch.set_num_threads(1)


def short(**changes) -> TrainConfig:
    settings = dict(iterations=4, warmup_steps=1, val_loss_every=2, train_log_every=1,
                    val_max_tokens=2048, train_batch_tokens=1024, val_batch_size=1024,
                    warmdown_iters=2)
    return TrainConfig.preset("tiny", **{**settings, **changes})


def test_short_run_streams_events_and_writes_artifact(tmp_path):
    events = []
    final = train(short(), events.append, out_dir=tmp_path)
    kinds = [type(e) for e in events]
    assert kinds.count(TrainStep) == 4
    evals = [e for e in events if isinstance(e, Eval)]
    assert [e.step for e in evals] == [0, 2, 4]
    assert evals[-1].val_loss < evals[0].val_loss
    assert events[-1] is final and isinstance(final, Final)
    assert final.steps == 4 and not final.stopped_early
    assert (tmp_path / "final_model.int8.ptz").stat().st_size + code_bytes() == final.artifact_bytes
    assert abs(final.quant_val_loss - final.val_loss) < 0.05


def test_debug_nan_gives_failed_then_training_error(tmp_path):
    events = []
    with pytest.raises(TrainingError, match="step 2"):
        train(short(debug_nan_at_step=2), events.append, out_dir=tmp_path)
    assert isinstance(events[-1], Failed) and events[-1].step == 2
    assert not any(isinstance(e, Final) for e in events)


GOLDEN = Path(__file__).parent / "golden" / "tiny_loss_trace.json"


def golden_config() -> TrainConfig:
    return short(iterations=8, val_loss_every=0, seed=1234)


def test_golden_loss_trace(tmp_path, golf_data_dir):
    """Fixed-seed CPU losses of `tiny` for 8 steps, on the session's freshly prepared corpus (never
    a cached one from another golf version). Regenerate after an intended change with
    GOLF_REGEN_GOLDEN=1 python -m pytest -q tests/test_train.py -k golden (and say why)."""
    events = []
    train(golden_config(), events.append, out_dir=tmp_path)
    trace = [e.train_loss for e in events if isinstance(e, TrainStep)]
    if os.environ.get("GOLF_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps({"config": golden_config().to_dict(), "losses": trace}, indent=1))
    stored = json.loads(GOLDEN.read_text())["losses"]
    assert trace == pytest.approx(stored, abs=1e-5)
