"""Loaders over token shards (model/shards.py) and bits-per-byte accounting."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.shards import read_shard, write_shard  # noqa: F401  (the shard format, re-exported)


def _shard_files(pattern: str) -> list[Path]:
    files = sorted(Path(p) for p in glob.glob(pattern))
    if not files:
        raise ValueError(f"no shard files match {pattern!r}")
    return files


@dataclass
class DataFiles:
    root: Path
    train_pattern: str
    val_pattern: str
    tokenizer_path: Path


class TokenLoader:
    """Streams shards in order (wrapping around); each rank takes its own slice of every batch."""

    def __init__(self, pattern: str, rank: int = 0, world_size: int = 1, device="cpu",
                 vocab_size: int | None = None):
        self.files = _shard_files(pattern)
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)
        self.file_index = 0
        self.vocab_size = vocab_size  # each shard is checked against it as it is read
        self.tokens = read_shard(self.files[0], vocab_size)
        self.pos = 0

    def _take(self, n: int) -> np.ndarray:
        chunks, left = [], n
        while left > 0:
            avail = self.tokens.size - self.pos
            if avail <= 0:
                self.file_index = (self.file_index + 1) % len(self.files)
                self.tokens, self.pos = read_shard(self.files[self.file_index], self.vocab_size), 0
                continue
            k = min(left, avail)
            chunks.append(self.tokens[self.pos:self.pos + k])
            self.pos += k
            left -= k
        return np.concatenate(chunks)

    def next_batch(self, global_tokens: int, seq_len: int, grad_accum_steps: int = 1):
        """Return (x, y) int64 of shape (global_tokens // (world*accum*seq_len), seq_len)."""
        local = global_tokens // (self.world_size * grad_accum_steps)
        rows = local // seq_len
        if rows < 1:
            raise ValueError(f"global_tokens {global_tokens} too small for seq_len {seq_len}")
        span = rows * seq_len + 1
        chunk = self._take(span * self.world_size)
        mine = torch.from_numpy(chunk[self.rank * span:(self.rank + 1) * span].astype(np.int64))
        x = mine[:-1].reshape(rows, seq_len)
        y = mine[1:].reshape(rows, seq_len)
        # non-blocking, as the reference: the host goes on queuing work while the copy runs
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def load_validation_tokens(pattern: str, seq_len: int, max_tokens: int = 0,
                           vocab_size: int | None = None) -> torch.Tensor:
    """All validation shards concatenated, trimmed to k*seq_len+1 tokens (k >= 1)."""
    files = _shard_files(pattern)
    tokens = np.concatenate([read_shard(f, vocab_size) for f in files])
    if max_tokens > 0:
        tokens = tokens[:max_tokens + 1]
    k = (tokens.size - 1) // seq_len
    if k < 1:
        names = ", ".join(str(f) for f in files)
        raise ValueError(f"validation split ({names}) has {tokens.size} tokens, fewer than one "
                         f"sequence of {seq_len}+1")
    return torch.from_numpy(tokens[:k * seq_len + 1].astype(np.int64))


def resolve_data(config) -> DataFiles:
    """Locate the train/val shards and tokenizer named by config.data_path (FineWeb sp layout)."""
    from model.prepare import default_data_dir

    root = Path(config.data_path).expanduser() if config.data_path else default_data_dir()
    if not root.is_dir():
        raise ValueError(f"data_path {root}: not a folder")
    if config.tokenizer_path:
        tok = Path(config.tokenizer_path).expanduser()
    else:
        models = sorted(root.glob("*.model"))
        if len(models) != 1:
            raise ValueError(f"data_path {root}: expected exactly one SentencePiece .model, found "
                             f"{len(models)}; set tokenizer_path")
        tok = models[0]
    files = DataFiles(root, str(root / "*_train_*.bin"), str(root / "*_val_*.bin"), tok)
    _shard_files(files.train_pattern), _shard_files(files.val_pattern)
    import sentencepiece as spm
    vocab = spm.SentencePieceProcessor(model_file=str(tok)).vocab_size()
    if vocab != config.vocab_size:
        raise ValueError(f"tokenizer {tok} has vocab {vocab} but config vocab_size is {config.vocab_size}")
    return files


@dataclass
class BpbLuts:
    base_bytes: torch.Tensor          # int16: UTF-8 bytes of each piece without its leading "▁"
    has_leading_space: torch.Tensor   # bool: piece starts with "▁" (one more byte, a space)
    is_boundary_token: torch.Tensor   # bool: control/unknown pieces (no space added after them)


def build_bpb_luts(tokenizer_path, vocab_size: int, device="cpu") -> BpbLuts:
    """Per-token byte lookup tables for bits-per-byte, sized to vocab_size."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_path))
    n = max(vocab_size, sp.vocab_size())
    base = np.zeros(n, dtype=np.int16)
    space = np.zeros(n, dtype=np.bool_)
    boundary = np.ones(n, dtype=np.bool_)
    for i in range(sp.vocab_size()):
        if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i):
            continue
        boundary[i] = False
        if sp.is_byte(i):
            base[i] = 1
            continue
        piece = sp.id_to_piece(i)
        if piece.startswith("\u2581"):
            space[i], piece = True, piece[1:]
        base[i] = len(piece.encode("utf-8"))
    dev = torch.device(device)
    return BpbLuts(torch.from_numpy(base).to(dev), torch.from_numpy(space).to(dev),
                   torch.from_numpy(boundary).to(dev))


def target_bytes(prev_ids: torch.Tensor, target_ids: torch.Tensor, luts: BpbLuts) -> torch.Tensor:
    """Bytes each target token decodes to (leading space counted unless after a boundary token)."""
    nbytes = luts.base_bytes[target_ids].to(torch.int32)
    nbytes = nbytes + (luts.has_leading_space[target_ids] & ~luts.is_boundary_token[prev_ids]).to(torch.int32)
    return nbytes
