import numpy as np
import pytest
import torch

from model.data import TokenLoader, load_validation_tokens, read_shard, write_shard


def test_round_trip(tmp_path):
    toks = np.arange(1000) % 1024
    write_shard(tmp_path / "a.bin", toks)
    assert (read_shard(tmp_path / "a.bin") == toks).all()


def test_corrupt_shards_named(tmp_path):
    p = tmp_path / "x_train_000000.bin"
    write_shard(p, np.arange(10))
    raw = bytearray(p.read_bytes())
    (tmp_path / "short.bin").write_bytes(bytes(raw[:-2]))
    with pytest.raises(ValueError, match="short.bin.*bytes"):
        read_shard(tmp_path / "short.bin")
    raw[0] = 0
    (tmp_path / "magic.bin").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic.bin.*magic"):
        read_shard(tmp_path / "magic.bin")
    with pytest.raises(ValueError, match="x_train_000000.bin.*vocab"):
        read_shard(p, vocab_size=5)


def test_loader_shapes_and_ranks(tmp_path):
    write_shard(tmp_path / "d_train_000000.bin", np.arange(100))
    write_shard(tmp_path / "d_train_000001.bin", np.arange(100, 200))
    l0 = TokenLoader(str(tmp_path / "d_train_*.bin"), 0, 2)
    l1 = TokenLoader(str(tmp_path / "d_train_*.bin"), 1, 2)
    x0, y0 = l0.next_batch(64, 8, 2)
    x1, _ = l1.next_batch(64, 8, 2)
    assert x0.shape == (2, 8) and x0.dtype == torch.int64
    assert torch.equal(y0[:, :-1], x0[:, 1:])
    assert x1[0, 0] == 17  # rank 1 starts after rank 0's 2*8+1 tokens
    for _ in range(10):  # wraps around the shards
        l0.next_batch(64, 8, 2)


def test_validation_trim(tmp_path):
    write_shard(tmp_path / "d_val_000000.bin", np.arange(50))
    v = load_validation_tokens(str(tmp_path / "d_val_*.bin"), 8)
    assert v.numel() == 49
    assert load_validation_tokens(str(tmp_path / "d_val_*.bin"), 8, max_tokens=20).numel() == 17
    with pytest.raises(ValueError, match="d_val_000000.bin"):
        load_validation_tokens(str(tmp_path / "d_val_*.bin"), 64)


def test_default_data_resolves(golf_data_dir):
    from model.config import TrainConfig
    from model.data import resolve_data
    files = resolve_data(TrainConfig())
    assert load_validation_tokens(files.val_pattern, 1024).numel() >= 32_000
    assert TokenLoader(files.train_pattern).next_batch(8192, 1024)[0].shape == (8, 1024)
