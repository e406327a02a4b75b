"""Token shards, the parameter-golf / modded-nanogpt format (numpy only, no torch).

Layout: 256 little-endian int32 header words (magic, version, token count), then uint16 tokens.
Its own module so that both the loaders (model/data.py) and the corpus builder
(model/prepare.py) use it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARD_MAGIC = 20240520
SHARD_VERSION = 1
HEADER_WORDS = 256
HEADER_BYTES = HEADER_WORDS * 4


def write_shard(path: str | Path, tokens) -> None:
    """Write `tokens` (ids < 65536) as one shard; the header records the token count."""
    arr = np.asarray(tokens)
    if arr.size and (arr.min() < 0 or arr.max() >= 65536):
        raise ValueError(f"{path}: token ids must lie in [0, 65535] to fit a uint16 shard")
    header = np.zeros(HEADER_WORDS, dtype="<i4")
    header[0], header[1], header[2] = SHARD_MAGIC, SHARD_VERSION, arr.size
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(arr.astype("<u2").tobytes())


def read_shard(path: str | Path, vocab_size: int | None = None) -> np.ndarray:
    """Read one shard as uint16 tokens; corrupt shards raise ValueError naming the file."""
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise ValueError(f"{path}: {size} bytes, shorter than the {HEADER_BYTES}-byte shard header")
    header = np.fromfile(path, dtype="<i4", count=HEADER_WORDS)
    if header[0] != SHARD_MAGIC:
        raise ValueError(f"{path}: bad magic {header[0]}, expected {SHARD_MAGIC}")
    if header[1] != SHARD_VERSION:
        raise ValueError(f"{path}: unsupported shard version {header[1]}, expected {SHARD_VERSION}")
    count = int(header[2])
    if count == 0:  # a loader would wrap around it forever, never getting a token
        raise ValueError(f"{path}: shard holds no tokens (expected at least one)")
    expected = HEADER_BYTES + 2 * count
    if size != expected:
        raise ValueError(f"{path}: file is {size} bytes but the header's {count} tokens need {expected}")
    tokens = np.fromfile(path, dtype="<u2", count=count, offset=HEADER_BYTES)
    if vocab_size is not None and tokens.size and int(tokens.max()) >= vocab_size:
        raise ValueError(f"{path}: token id {int(tokens.max())} >= vocab size {vocab_size}")
    return tokens
