"""Data-parallel training on the CPU with real gloo processes: two ranks with accumulation give
the run one rank gives (sharded Muon, DDP no_sync, rank-sliced data and eval all on the path),
and a wall-clock cap stops both ranks at the same step."""

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from model.config import TrainConfig
from model.events import Eval
from model.trainer import train

torch.set_num_threads(1)


def config(**changes) -> TrainConfig:
    # 4 micro-steps of 2 sequences over all ranks: 1 rank runs 4 micro-steps, 2 ranks 2 each;
    # an eval forward is val_batch_size / (world * accum) = 256 tokens either way.
    settings = dict(iterations=6, warmup_steps=1, val_loss_every=2, train_log_every=0,
                    train_batch_tokens=1024, grad_accum_steps=4, val_max_tokens=2048,
                    val_batch_size=1024, warmdown_iters=2)
    return TrainConfig.preset("tiny", **{**settings, **changes})


def _rank_main(rank: int, world: int, port: int, values: dict, out: str) -> None:
    """One rank, as torchrun would start it; writes what it saw to out/rank{rank}.json."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    events = []
    final = train(TrainConfig.from_dict(values), events.append, Path(out) / "artifact")
    evals = [[e.step, e.val_loss] for e in events if isinstance(e, Eval)]
    Path(out, f"rank{rank}.json").write_text(json.dumps(
        dict(steps=final.steps, stopped_early=final.stopped_early, val_loss=final.val_loss,
             quant_val_loss=final.quant_val_loss, evals=evals)))


def run_ranks(cfg: TrainConfig, out: Path, world: int = 2) -> list[dict]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_rank_main, args=(world, port, cfg.to_dict(), str(out)), nprocs=world, join=True)
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]


def test_two_ranks_with_accumulation_match_one_rank(golf_data_dir, tmp_path):
    cfg = config()
    events = []
    one = train(cfg, events.append, tmp_path / "one")
    evals_one = [[e.step, e.val_loss] for e in events if isinstance(e, Eval)]
    rank0, rank1 = run_ranks(cfg, tmp_path)
    assert [s for s, _ in evals_one] == [s for s, _ in rank0["evals"]] == [0, 2, 4, 6]
    assert rank1["evals"] == []  # only rank 0 reports
    for (_, a), (_, b) in zip(evals_one, rank0["evals"]):
        assert a == pytest.approx(b, abs=1e-4)
    assert evals_one[-1][1] < evals_one[0][1] - 0.5  # it trained
    # every rank ends with the same weights: the round trip scores alike
    assert rank0["quant_val_loss"] == pytest.approx(rank1["quant_val_loss"], abs=1e-6)
    assert rank0["quant_val_loss"] == pytest.approx(one.quant_val_loss, abs=1e-4)


def test_wallclock_cap_stops_both_ranks_at_the_same_step(golf_data_dir, tmp_path):
    cfg = config(iterations=10_000, max_wallclock_seconds=1.5, val_loss_every=0, warmdown_iters=3)
    rank0, rank1 = run_ranks(cfg, tmp_path)
    assert rank0["stopped_early"] and rank1["stopped_early"]
    assert 1 <= rank0["steps"] == rank1["steps"] < 10_000


def test_world_size_that_does_not_divide_the_accumulation_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match="grad_accum_steps=4.*world size 3"):
        train(config(), lambda e: None, tmp_path)
