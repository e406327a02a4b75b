"""PPM-C through `train`: a real tiny run reports the mixed metrics beside the plain ones (pre- and
post-quantization), the PPM probabilities are cached next to the data and reused, and the mix is
exact at its ends (weight 0 = plain, weight 1 = PPM alone)."""

from __future__ import annotations

import math
import shutil
from contextlib import nullcontext

import numpy as np
import pytest
import torch

import model.ppm as ppm
from model.config import TrainConfig
from model.data import read_shard, resolve_data, target_bytes
from model.events import Eval, Final
from model.gpt import GPT
from model.trainer import _Evaluator, train

torch.set_num_threads(1)

WEIGHT = 0.05  # the published test: order 2, w = 0.05


@pytest.fixture(scope="module")
def data_copy(golf_data_dir, tmp_path_factory):
    """A private copy of the session's prepared corpus, so cache files and counts are this module's."""
    return shutil.copytree(golf_data_dir / "default", tmp_path_factory.mktemp("ppm") / "data")


def config(data_dir, **changes) -> TrainConfig:
    settings = dict(data_path=str(data_dir), iterations=2, warmup_steps=0, val_loss_every=1,
                    train_log_every=1, val_max_tokens=2048, train_batch_tokens=1024,
                    val_batch_size=1024, warmdown_iters=1,
                    ppm_c=True, ppm_c_order=2, ppm_c_weight=WEIGHT)
    return TrainConfig.preset("tiny", **{**settings, **changes})


@pytest.fixture(scope="module")
def ppm_run(data_copy, tmp_path_factory):
    """One real training run with PPM-C mixing; its events and the PPM cache files it left."""
    events = []
    train(config(data_copy), events.append, out_dir=tmp_path_factory.mktemp("run"))
    return events, sorted(data_copy.glob("ppm_c_*.npy"))


def _stamp(path):
    """Identity of a cache file: a recomputation writes a new file (new inode) over it."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def evaluator(cfg: TrainConfig) -> _Evaluator:
    return _Evaluator(cfg, resolve_data(cfg), torch.device("cpu"), 0, 1)


# ---- METRICS IN EVENTS ----


def test_every_eval_and_the_final_carry_ppm_metrics_beside_plain(ppm_run):
    events, _ = ppm_run
    evals = [e for e in events if isinstance(e, Eval)]
    final = events[-1]
    assert [e.step for e in evals] == [0, 1, 2] and isinstance(final, Final)
    for e in evals:
        assert e.ppm_val_loss is not None and math.isfinite(e.ppm_val_loss)
        # Same targets and bytes, so loss and bpb scale alike for the plain and the mixed values.
        assert e.ppm_val_bpb / e.ppm_val_loss == pytest.approx(e.val_bpb / e.val_loss, rel=1e-9)
        # The mixture gives each target at least (1 - w) p_net: never worse than plain + -log(1 - w).
        assert e.ppm_val_loss <= e.val_loss - math.log(1 - WEIGHT) + 1e-9
    # At step 0 the network is near uniform over 1024 ids; PPM-C is far better, so the mix helps.
    assert evals[0].ppm_val_loss < evals[0].val_loss - 1.0
    assert (final.ppm_val_loss, final.ppm_val_bpb) == (evals[-1].ppm_val_loss, evals[-1].ppm_val_bpb)
    for name in ("quant_ppm_val_loss", "quant_ppm_val_bpb"):
        assert math.isfinite(getattr(final, name))
    assert final.quant_ppm_val_bpb / final.quant_ppm_val_loss == pytest.approx(
        final.quant_val_bpb / final.quant_val_loss, rel=1e-9)


# ---- DISK CACHE ----


def test_ppm_is_computed_once_cached_next_to_the_data_and_reused(ppm_run, data_copy):
    _, files = ppm_run
    assert [f.name[:15] for f in files] == ["ppm_c_o2_v1024_"]  # four evals, one cache entry
    stamp = _stamp(files[0])

    evaluator(config(data_copy))  # a later run over the same validation set
    assert _stamp(files[0]) == stamp  # read, not recomputed
    evaluator(config(data_copy, val_max_tokens=1024))  # a changed validation set
    evaluator(config(data_copy, ppm_c_order=1))  # another order
    assert len(list(data_copy.glob("ppm_c_*.npy"))) == 3 and _stamp(files[0]) == stamp
    assert not list(data_copy.glob("*.tmp"))  # written through a temporary file and a rename


# ---- MIXING ENDS ----


def test_weight_0_is_plain_and_weight_1_is_ppm_alone(data_copy):
    cfg = config(data_copy)
    torch.manual_seed(0)
    net = GPT(cfg)
    plain = evaluator(cfg.replace(ppm_c=False))(net, nullcontext)
    assert plain[2:] == (None, None)

    # TrainConfig rejects weights 0 and 1 as ablations (they are no mix), so set the evaluator's own.
    mixed = evaluator(cfg)
    mixed.ppm_weight = 0.0
    loss, bpb, ppm_loss, ppm_bpb = mixed(net, nullcontext)
    assert (loss, bpb) == plain[:2]  # turning PPM on leaves the plain values alone
    assert (ppm_loss, ppm_bpb) == (loss, bpb)  # exactly, not approximately

    mixed.ppm_weight = 1.0
    _, _, ppm_loss, ppm_bpb = mixed(net, nullcontext)
    tokens = read_shard(next(data_copy.glob("*_val_*.bin"))).astype(np.int64)[: cfg.val_max_tokens + 1]
    p_ppm = ppm.compute_ppm_probs(tokens, cfg.ppm_c_order, cfg.vocab_size)
    ids = torch.from_numpy(tokens)
    nbytes = target_bytes(ids[:-1], ids[1:], mixed.luts).numpy()
    assert ppm_loss == pytest.approx(ppm.loss_from_probs(p_ppm), rel=1e-12)
    assert ppm_bpb == pytest.approx(ppm.bpb_from_probs(p_ppm, nbytes), rel=1e-12)
