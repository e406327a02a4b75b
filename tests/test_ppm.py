"""PPM-C: the fast kernel agrees with the plain reference, the textbook sums hold, mixing is exact at
w = 0 and w = 1, and the disk cache is reused and invalidated correctly."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppm_reference import ReferencePPMC, reference_target_probs  # noqa: E402

import model.ppm as ppm  # noqa: E402


@pytest.fixture(scope="module")
def real_text(golf_data_dir) -> np.ndarray:
    """Real tokenized text: the first 6000 ids of the prepared corpus's validation split (vocab 1024)."""
    from model.data import read_shard

    tokens = read_shard(golf_data_dir / "default" / "golf_val_000000.bin")[:6000].astype(np.int64)
    assert len(tokens) == 6000
    return tokens


def assert_agree(tokens, order, vocab):
    expected = np.array(reference_target_probs(tokens, order, vocab))
    got = ppm.ppm_target_probs(tokens, order, vocab)
    assert got.dtype == np.float64 and got.shape == (len(tokens) - 1,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


# ---- FAST == REFERENCE ----


@pytest.mark.parametrize("dense_order1", [True, False], ids=["dense-order1", "hashed-order1"])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_agrees_on_random_streams(order, dense_order1, monkeypatch):
    monkeypatch.setattr(ppm, "DENSE_ORDER1_MAX", 1 << 23 if dense_order1 else 0)
    rng = np.random.default_rng(order)
    assert_agree(rng.integers(0, 7, 2000), order, 7)  # small vocab: exclusion and saturation
    # Skewed over a larger vocab: long successor lists, many escapes to order -1.
    assert_agree(np.minimum(rng.zipf(1.3, 3000) - 1, 299), order, 300)


def test_agrees_when_the_successor_pool_and_tables_grow():
    # ~8 new successor slots per token at order 3 over a large vocab: several times the kernel's
    # initial pool and hash tables, so segment moves, pool growth and rehashing all happen.
    tokens = np.random.default_rng(11).integers(0, 1024, 40_000)
    assert_agree(tokens, 3, 1024)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_agrees_on_real_text(order, real_text):
    assert_agree(real_text, order, 1024)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_agrees_when_every_symbol_is_new(order):
    tokens = np.random.default_rng(5).permutation(500)
    assert_agree(tokens, order, 500)
    # Nothing repeats, so each target is the order -1 share after excluding what order 0 offered:
    # escape u/(n+u) = t/(2t) = 1/2, then 1/(V - t).
    probs = ppm.ppm_target_probs(tokens, order, 500)
    t = np.arange(1, 500)
    np.testing.assert_allclose(probs, 0.5 / (500 - t), rtol=1e-12)


# ---- TEXTBOOK SUMS ----


def test_reference_sums_to_one_until_all_seen_then_at_most_one():
    vocab = 4
    model = ReferencePPMC(order=2, vocab=vocab, exact=True)
    stream = [0, 1, 0, 1, 2, 0, 1, 2, 2, 3, 0, 1, 3, 3, 2, 1, 0]
    below_one = 0
    for tok in stream:
        dist = model.distribution()
        assert all(isinstance(p, Fraction) for p in dist)
        total = sum(dist)
        if len(model.counts[()]) < vocab:  # some symbol never seen: the model is a proper distribution
            assert total == 1
        else:  # the order-0 escape now pays for novelty that can no longer happen (textbook PPM-C)
            assert total <= 1
            below_one += total < 1
        model.update(tok)
    assert below_one > 0  # the documented deficit actually shows up


def test_first_target_is_uniform_and_probabilities_are_in_range(real_text):
    probs = ppm.ppm_target_probs(real_text, 2, 1024)
    # Only tokens[0] has been seen: order 0 offers it with 1/2, else escape 1/2 then 1/1023.
    expected_first = 0.5 if real_text[1] == real_text[0] else 0.5 / 1023
    assert probs[0] == pytest.approx(expected_first, rel=1e-15)
    assert np.all((probs > 0) & (probs < 1))


# ---- MIXING ----


def test_mixing_is_exact_at_the_ends(real_text):
    rng = np.random.default_rng(0)
    p_ppm = torch.from_numpy(ppm.ppm_target_probs(real_text, 2, 1024))
    # Network losses from near-certain (where exp/log round trips lose digits) to near-hopeless.
    nll = torch.from_numpy(10.0 ** rng.uniform(-8, 1.5, size=p_ppm.shape))

    assert torch.equal(ppm.mixed_nll(nll, p_ppm, 0.0), nll)  # plain, bit for bit
    assert torch.equal(ppm.mixed_nll(nll, p_ppm, 1.0), -torch.log(p_ppm))  # PPM alone, bit for bit
    # In between it is the probability-space blend (1 - w) p_net + w p_ppm.
    mid = ppm.mixed_nll(nll, p_ppm, 0.05)
    blend = 0.95 * torch.exp(-nll) + 0.05 * p_ppm
    torch.testing.assert_close(mid, -torch.log(blend), rtol=1e-12, atol=1e-15)
    nbytes = rng.integers(1, 6, size=p_ppm.shape)
    assert ppm.bpb_from_probs(blend.numpy(), nbytes) == pytest.approx(
        mid.sum().item() / np.log(2) / nbytes.sum(), rel=1e-12)
    assert ppm.bits_per_token(p_ppm.numpy()) == pytest.approx(
        ppm.loss_from_probs(p_ppm.numpy()) / np.log(2), rel=1e-15)


def test_bad_mixing_inputs_are_named():
    with pytest.raises(ValueError, match="weight"):
        ppm.mixed_nll(torch.ones(3), torch.ones(3), 1.5)
    with pytest.raises(ValueError, match="shape"):
        ppm.mixed_nll(torch.ones(3), torch.ones(4), 0.5)
    with pytest.raises(ValueError, match=r"ids in \[0, 10\).*12"):
        ppm.ppm_target_probs(np.array([1, 12, 3]), 2, 10)
    with pytest.raises(ValueError, match="order"):
        ppm.ppm_target_probs(np.array([1, 2]), 7, 50000)


# ---- DISK CACHE ----


def _stamp(path):
    """Identity of a cache file: a recomputation writes a new file (new inode) over it."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_cache_is_reused_and_invalidated(tmp_path, real_text):
    cache = tmp_path / "data"
    first = ppm.ppm_target_probs(real_text, 2, 1024, cache_dir=cache)
    [path] = cache.glob("ppm_c_*.npy")
    stamp = _stamp(path)

    second = ppm.ppm_target_probs(real_text, 2, 1024, cache_dir=cache)
    assert _stamp(path) == stamp  # read from disk, not recomputed
    np.testing.assert_array_equal(first, second)

    changed = real_text.copy()
    changed[3000] = (changed[3000] + 1) % 1024  # one validation token differs
    third = ppm.ppm_target_probs(changed, 2, 1024, cache_dir=cache)
    assert len(list(cache.glob("ppm_c_*.npy"))) == 2 and _stamp(path) == stamp
    assert not np.array_equal(third, first)
    np.testing.assert_array_equal(third[:2999], first[:2999])  # online model: the past is unchanged

    ppm.ppm_target_probs(real_text, 3, 1024, cache_dir=cache)  # another order is another entry
    assert len(list(cache.glob("ppm_c_*.npy"))) == 3


def test_corrupt_cache_file_is_recomputed(tmp_path, real_text):
    tokens = real_text[:500]
    path = ppm.cache_path(tokens, 2, 1024, tmp_path)
    path.write_bytes(b"not an npy file")
    stamp = _stamp(path)
    probs = ppm.ppm_target_probs(tokens, 2, 1024, cache_dir=tmp_path)
    assert _stamp(path) != stamp
    np.testing.assert_array_equal(np.load(path), probs)


def test_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch, real_text):
    tokens = real_text[:500]

    def save_half_then_die(f, arr):
        f.write(b"\x93NUMPY half a header")
        raise KeyboardInterrupt  # like a run stopped mid-write

    monkeypatch.setattr(np, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        ppm.ppm_target_probs(tokens, 2, 1024, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither a truncated cache file nor a stray temporary
    monkeypatch.undo()
    probs = ppm.ppm_target_probs(tokens, 2, 1024, cache_dir=tmp_path)
    np.testing.assert_array_equal(np.load(ppm.cache_path(tokens, 2, 1024, tmp_path)), probs)


def test_unwritable_cache_dir_falls_back_to_user_cache(tmp_path, monkeypatch, real_text):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "usercache"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, so no folder can be created here")
    tokens = real_text[:400]
    ppm.ppm_target_probs(tokens, 2, 1024, cache_dir=blocked / "sub")
    assert len(list((tmp_path / "usercache" / "golf" / "ppm").glob("ppm_c_*.npy"))) == 1


# ---- golf ppm ----


def run_golf(*args):
    import subprocess

    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)


def test_golf_ppm_prints_figures_and_saves_probabilities(tmp_path, real_text):
    ids, out = tmp_path / "val.npy", tmp_path / "probs.npy"
    np.save(ids, real_text)
    result = run_golf("ppm", str(ids), "--order", "2", "--limit", "3000", "--out", str(out))
    assert result.returncode == 0, result.stderr
    saved = np.load(out)
    np.testing.assert_array_equal(saved, ppm.ppm_target_probs(real_text[:3000], 2, 1024))
    assert "tokens:3000" in result.stdout
    bits = float(result.stdout.split("bits_per_token:")[1].split()[0])
    assert bits == pytest.approx(ppm.bits_per_token(saved), abs=1e-4)
    assert "tokens_per_s:" in result.stdout


def test_golf_ppm_names_bad_input(tmp_path, real_text):
    ids = tmp_path / "val.npy"
    np.save(ids, real_text)
    result = run_golf("ppm", str(ids), "--vocab", "10")
    assert result.returncode == 2
    assert "val.npy" in result.stderr and "[0, 10)" in result.stderr
    missing = run_golf("ppm", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "nope" in missing.stderr


def test_golf_ppm_on_a_prepared_data_folder(golf_data_dir, tmp_path):
    import sentencepiece as spm

    from model.data import build_bpb_luts, read_shard, target_bytes

    folder, out = golf_data_dir / "default", tmp_path / "probs.npy"
    result = run_golf("ppm", str(folder), "--out", str(out))
    assert result.returncode == 0, result.stderr
    figures = dict(item.split(":", 1) for line in result.stdout.splitlines()
                   for item in line.split() if ":" in item)
    tokens = np.concatenate([read_shard(f) for f in sorted(folder.glob("*_val_*.bin"))]).astype(np.int64)
    assert int(figures["tokens"]) == len(tokens) and int(figures["vocab"]) == 1024
    saved = np.load(out)
    assert saved.dtype == np.float64 and saved.shape == (len(tokens) - 1,)
    np.testing.assert_array_equal(saved, ppm.compute_ppm_probs(tokens, 2, 1024))
    assert float(figures["bits_per_token"]) == pytest.approx(ppm.bits_per_token(saved), abs=1e-4)
    ids = torch.from_numpy(tokens)
    nbytes = target_bytes(ids[:-1], ids[1:], build_bpb_luts(folder / "tokenizer.model", 1024)).numpy()
    assert float(figures["bpb"]) == pytest.approx(ppm.bpb_from_probs(saved, nbytes), abs=1e-4)
    # The byte count is the text's: decoding the targets gives about as many UTF-8 bytes.
    text = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model")).decode(tokens[1:].tolist())
    assert nbytes.sum() == pytest.approx(len(text.encode("utf-8")), rel=0.01)
    assert float(figures["tokens_per_s"]) > 0
