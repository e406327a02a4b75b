"""The cost estimate measures one micro-batch of the real per-forward size, in a child process:
the launcher never imports torch, so it cannot hold GPU memory through the sweep."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.config import TrainConfig
from model.measure import micro_batch_tokens

ROOT = Path(__file__).resolve().parent.parent

LAUNCHER = """
import json, sys
from model.config import TrainConfig
from sweeper.run.estimate import estimate_sweep, measure_in_subprocess
config = TrainConfig.from_dict(json.loads(sys.argv[1]))
measured = measure_in_subprocess(config, threads=1)
assert "torch" not in sys.modules, "the launcher imported torch"
print(json.dumps(measured))
"""


@pytest.mark.parametrize("gpus_per_run, accum, batch", [(1, 4, 4096), (2, 8, 8192)])
def test_forward_size_is_one_micro_batch_and_launcher_stays_torch_free(gpus_per_run, accum, batch):
    # world * accum-per-rank = grad_accum_steps: 4096 / (1 * 4) and 8192 / (2 * 4) = 1024 tokens
    config = TrainConfig.preset("tiny", train_batch_tokens=batch, grad_accum_steps=accum,
                                gpus_per_run=gpus_per_run, num_layers=2)
    expected = batch // (gpus_per_run * (accum // gpus_per_run))
    assert micro_batch_tokens(config) == expected == 1024
    done = subprocess.run([sys.executable, "-c", LAUNCHER, json.dumps(config.to_dict())],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["forward_tokens"] == measured["micro_tokens"] == expected
    assert measured["device"].startswith("cpu")
    # a step: accum / world micro-batches on each rank, then one optimizer step
    per_rank = accum // gpus_per_run
    assert measured["step_s"] == pytest.approx(per_rank * measured["micro_s"] + measured["optimizer_s"])


def test_a_failed_measurement_says_why():
    from sweeper.run.estimate import measure_in_subprocess

    config = TrainConfig.preset("tiny", num_layers=2, device="cuda")
    with pytest.raises(RuntimeError, match="measuring a training step failed.*device='cuda'"):
        measure_in_subprocess(config, threads=1, env={"CUDA_VISIBLE_DEVICES": ""})
