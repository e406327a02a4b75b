"""PPM-C over token ids, for blending a classical compressor with the network at evaluation.

The model is the textbook PPM with escape method C (Moffat 1990), run online over one token stream:

- Orders k, k-1, ..., 0 are tried in turn, then a uniform order -1 over the vocabulary. At position t
  the highest usable order is min(k, t+1) (there are only t+1 tokens of history).
- Method C: a context seen n times with u distinct successors gives a seen symbol `c / (n + u)` and
  the escape `u / (n + u)`. A context never seen (n = 0) is skipped with escape probability 1.
- Exclusion: symbols offered by a higher order are removed from every lower order (their counts
  leave n, they leave u, and they leave order -1's uniform share `1 / (V - |excluded|)`). With full
  update a lower-order context has seen every successor of the higher-order context that contains
  it, so the excluded set is exactly the successor set of the last non-empty context escaped from.
  If exclusion leaves a context offering nothing new it is skipped with escape probability 1.
- Score first: each token is scored before the counts see it, so the model never sees what it
  predicts. Then its count is incremented in the context of every order (full update, no update
  exclusion). Counts are never reset or rescaled.
- Textbook behaviour kept on purpose: the order-0 context keeps paying its escape `u / (n + u)` even
  once all V symbols have been seen, although order -1 then has nothing left to offer. So the
  probabilities at a position sum to exactly 1 while some symbol is still unseen, and to less than 1
  after that (the escape mass is spent on novelty that can no longer happen).

`ppm_target_probs` is the entry point; it caches its result on disk keyed by a hash of the tokens,
because the PPM probability of each target depends only on the token stream, never on the network.
`mixed_nll` blends those probabilities with the network's, one eval batch at a time.
The kernel is compiled with numba (`cache=True`: numba stores it next to this file, or in its user
cache directory when that is not writable, or in $NUMBA_CACHE_DIR when set).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:  # the kernel runs without torch; only mixed_nll takes tensors
    import torch

# Bump when the model or the cache file format changes, so stale cached results are never reused.
ALGORITHM_VERSION = 1  # unchanged by layout work: the probabilities are the same

# Order-1 counts are a dense V x V array up to this many cells (8M int64 = 64 MB; vocab 1024 = 8 MB).
DENSE_ORDER1_MAX = 1 << 23


# ---- HASH TABLES ----
# Open addressing with linear probing over int64 keys; key 0 marks an empty slot, so every stored key
# is >= 1. Tables double when half full, which keeps probes short at ~62M validation tokens.

_GOLDEN = np.int64(-7046029254386353131)  # 0x9E3779B97F4A7C15 as a signed int64 (Fibonacci hashing)


@njit(cache=True, inline="always")
def _slot(key, mask):
    h = key * _GOLDEN
    h ^= h >> 29
    return h & mask


@njit(cache=True)
def _find(table, key):
    """Value stored under `key`, or -1. table is (capacity, 2): key and value share a cache line."""
    mask = table.shape[0] - 1
    i = _slot(key, mask)
    while True:
        k = table[i, 0]
        if k == key:
            return table[i, 1]
        if k == 0:
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def _insert(table, key, val):
    """Store `key -> val`; the key must not be present and the table must have a free slot."""
    mask = table.shape[0] - 1
    i = _slot(key, mask)
    while table[i, 0] != 0:
        i = (i + 1) & mask
    table[i, 0] = key
    table[i, 1] = val


@njit(cache=True)
def _grow_table(table):
    bigger = np.zeros((table.shape[0] * 2, 2), np.int64)
    for i in range(table.shape[0]):
        if table[i, 0] != 0:
            _insert(bigger, table[i, 0], table[i, 1])
    return bigger


@njit(cache=True)
def _grow(rows):
    out = np.empty((rows.shape[0] * 2,) + rows.shape[1:], rows.dtype)
    out[: rows.shape[0]] = rows
    return out


# ---- PPM-C KERNEL ----
# Contexts of order 1..k are keyed by their tokens packed in base V+1 (digits token+1, so contexts of
# different lengths never collide); context id 0 is the order-0 context. Each context keeps its total
# count n, its distinct-successor count u and a contiguous segment of a shared symbol pool listing its
# successors (doubled and moved to the pool's end when full), so the exclusion sums walk only the
# symbols actually offered, in order in memory: a linked list here cost a cache miss per symbol.
# Entry counts are found by the key context_id * V + symbol + 1; order-0 counts are a dense array.


@njit(cache=True)
def _ppm_kernel(tokens, order, vocab, dense1):
    n_tok = tokens.shape[0]
    out = np.empty(max(n_tok - 1, 0), np.float64)
    base = np.int64(vocab + 1)

    # Start near the final size (about one new context and entry per token at order 2 on text) so
    # growth rarely rehashes; capped so a huge stream does not reserve memory it may never use.
    cap = 1 << 16
    while cap < 2 * n_tok and cap < (1 << 24):
        cap *= 2
    ctx_table = np.zeros((cap, 2), np.int64)
    ctx = np.zeros((cap // 2, 4), np.int64)  # per context: n, u, start and capacity of its pool segment
    pool = np.empty(cap, np.int32)  # successor symbols, one segment per context
    pool_end = 0
    n_ctx = 1  # id 0 = order-0 context
    # With dense1, the order-1 context after token a is id 1 + a and its counts live in a dense V x V
    # array, so the hottest exclusion sums (order 2 escaping to order 1) need no hashing.
    order1 = np.zeros(vocab * vocab if dense1 else 1, np.int64)
    # ... and their successor lists are rows of a dense array: a contiguous walk, not a linked list.
    succ1 = np.empty((vocab, vocab) if dense1 else (1, 1), np.int32)
    if dense1 and order >= 1:
        while ctx.shape[0] < vocab + 1:
            ctx = _grow(ctx)
        ctx[: vocab + 1] = 0
        n_ctx = vocab + 1
    last1 = vocab + 1 if dense1 else 1  # ids below this are dense contexts (orders 0 and 1)
    ent_table = np.zeros((cap, 2), np.int64)
    ent = np.zeros(cap // 2, np.int64)  # per entry: its count
    n_ent = 0
    order0 = np.zeros(vocab, np.int64)  # dense order-0 counts (no entries: no exclusion ever walks order 0)
    ids = np.empty(order + 1, np.int64)  # context id per order at this position
    hits = np.empty(order + 1, np.int64)  # entry of the target per order when scoring looked it up (-2: not looked up)

    for t in range(n_tok):
        sym = tokens[t]
        top = min(order, t)  # orders usable to predict tokens[t] from tokens[0..t-1]

        # Find (or create, empty) the context of each order 1..top ending at t-1.
        ids[0] = 0
        key = np.int64(0)
        scale = np.int64(1)
        for j in range(1, top + 1):
            key += (tokens[t - j] + 1) * scale
            scale *= base
            if j == 1 and dense1:
                ids[1] = 1 + tokens[t - 1]
                continue
            c = _find(ctx_table, key)
            if c < 0:
                if 2 * (n_ctx + 1) > ctx_table.shape[0]:
                    ctx_table = _grow_table(ctx_table)
                if n_ctx >= ctx.shape[0]:
                    ctx = _grow(ctx)
                c = n_ctx
                n_ctx += 1
                ctx[c] = 0
                _insert(ctx_table, key, c)
            ids[j] = c

        hits[:] = -2
        # Score tokens[t] (t >= 1): walk down the orders with exclusion.
        if t >= 1:
            p_escape = 1.0
            excl = -1  # context whose successor set is the excluded set
            prob = -1.0
            for j in range(top, -1, -1):
                c = ids[j]
                n = ctx[c, 0]
                if n == 0:
                    continue
                u = ctx[c, 1]
                if 0 < excl < last1:
                    for i in range(ctx[excl, 1]):  # excl is a dense order-1 context, c is order 0
                        n -= order0[succ1[excl - 1, i]]
                    u -= ctx[excl, 1]
                elif excl >= 0:
                    start = ctx[excl, 2]
                    for i in range(start, start + ctx[excl, 1]):
                        s = pool[i]
                        if c == 0:
                            n -= order0[s]
                        elif c < last1:
                            n -= order1[(c - 1) * vocab + s]
                        else:
                            n -= ent[_find(ent_table, c * vocab + s + 1)]
                    u -= ctx[excl, 1]
                if u == 0:
                    excl = c
                    continue
                if c == 0:
                    cnt = order0[sym]
                elif c < last1:
                    cnt = order1[(c - 1) * vocab + sym]
                else:
                    hit = _find(ent_table, c * vocab + sym + 1)
                    hits[j] = hit
                    cnt = ent[hit] if hit >= 0 else 0
                if cnt > 0:
                    prob = p_escape * cnt / (n + u)
                    break
                p_escape *= u / (n + u)
                excl = c
            if prob < 0.0:
                n_excluded = ctx[excl, 1] if excl >= 0 else 0
                prob = p_escape / (vocab - n_excluded)
            out[t - 1] = prob

        # Full update: count tokens[t] in the context of every order 0..top.
        for j in range(top + 1):
            c = ids[j]
            ctx[c, 0] += 1
            if c == 0:  # order 0 is counted in order0 below; only its distinct count u is read
                if order0[sym] == 0:
                    ctx[0, 1] += 1
                continue
            if c < last1:  # dense order-1 context: a new symbol joins its row
                cell = (c - 1) * vocab + sym
                if order1[cell] == 0:
                    succ1[c - 1, ctx[c, 1]] = sym
                    ctx[c, 1] += 1
                order1[cell] += 1
                continue
            ekey = c * vocab + sym + 1
            hit = hits[j] if hits[j] != -2 else _find(ent_table, ekey)
            if hit < 0:
                if 2 * (n_ent + 1) > ent_table.shape[0]:
                    ent_table = _grow_table(ent_table)
                if n_ent >= ent.shape[0]:
                    ent = _grow(ent)
                hit = n_ent
                n_ent += 1
                ent[hit] = 0
                _insert(ent_table, ekey, hit)
                u = ctx[c, 1]
                if u == ctx[c, 3]:  # segment full: move it to the pool's end with twice the room
                    room = max(4, 2 * u)
                    while pool_end + room > pool.shape[0]:
                        pool = _grow(pool)
                    pool[pool_end: pool_end + u] = pool[ctx[c, 2]: ctx[c, 2] + u]
                    ctx[c, 2] = pool_end
                    ctx[c, 3] = room
                    pool_end += room
                pool[ctx[c, 2] + u] = sym
                ctx[c, 1] = u + 1
            ent[hit] += 1
        order0[sym] += 1
    return out


# ---- PUBLIC API ----


def _check_stream(tokens: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """Validate arguments and return the tokens as a contiguous int64 array."""
    if order < 0:
        raise ValueError(f"ppm order: expected an integer >= 0, got {order}")
    if vocab_size < 1:
        raise ValueError(f"ppm vocab_size: expected an integer >= 1, got {vocab_size}")
    # Contexts are packed in base V+1 into an int64, and entry keys are context_id * V + symbol + 1.
    if (vocab_size + 1) ** order >= 2**62:
        raise ValueError(
            f"ppm order {order} with vocab {vocab_size}: (vocab+1)**order must stay below 2**62 "
            f"(contexts are packed into 64-bit keys); use a lower order"
        )
    arr = np.ascontiguousarray(np.asarray(tokens), dtype=np.int64).reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        bad = int(arr[(arr < 0) | (arr >= vocab_size)][0])
        raise ValueError(f"ppm tokens: expected ids in [0, {vocab_size}), found {bad}")
    return arr


def compute_ppm_probs(tokens: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """PPM-C probability of each target, no cache: position i = P(tokens[i+1] | tokens[0..i])."""
    return _compute(_check_stream(tokens, order, vocab_size), order, vocab_size)


def _compute(arr: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """The kernel on an already checked stream (see _check_stream)."""
    dense1 = vocab_size * vocab_size <= DENSE_ORDER1_MAX
    return _ppm_kernel(arr, order, vocab_size, dense1)


def stream_digest(tokens: np.ndarray, order: int, vocab_size: int) -> str:
    """Hex digest naming (token stream, order, vocab, algorithm version) for the disk cache."""
    arr = np.ascontiguousarray(np.asarray(tokens), dtype=np.int64).reshape(-1)
    h = hashlib.sha256(f"ppm-c v{ALGORITHM_VERSION} order={order} vocab={vocab_size} ".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "golf" / "ppm"


def _writable_dir(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.access(folder, os.W_OK)
    except OSError:
        return False


def cache_path(tokens: np.ndarray, order: int, vocab_size: int, cache_dir: Path) -> Path:
    """Where the cached probabilities for this stream live (the user cache if cache_dir is read-only)."""
    name = f"ppm_c_o{order}_v{vocab_size}_{stream_digest(tokens, order, vocab_size)[:24]}.npy"
    folder = Path(cache_dir)
    if not _writable_dir(folder) and not (folder / name).exists():
        folder = _user_cache_dir()
    return folder / name


def ppm_target_probs(
    tokens: np.ndarray, order: int, vocab_size: int, cache_dir: Path | None = None
) -> np.ndarray:
    """PPM-C probability of every target, float64 of length len(tokens)-1.

    Position i is P(tokens[i+1] | tokens[0..i]) with the model updated online (see module docstring).
    With `cache_dir`, the result is read from / written to a .npy file there named by a hash of the
    tokens, order and vocab (falling back to ~/.cache/golf/ppm when the folder is not writable), so a
    changed token stream never reuses a stale file. A computed result replaces the file through a
    rename (a new file); a cache hit leaves the file as it was.
    """
    if cache_dir is None:
        return compute_ppm_probs(tokens, order, vocab_size)
    arr = _check_stream(tokens, order, vocab_size)
    path = cache_path(arr, order, vocab_size, cache_dir)
    expected = max(arr.size - 1, 0)
    if path.exists():
        try:
            cached = np.load(path)
            if cached.dtype == np.float64 and cached.shape == (expected,):
                return cached
        except (OSError, ValueError):
            pass  # unreadable or truncated: recompute and overwrite below
    probs = _compute(arr, order, vocab_size)
    _save_atomically(path, probs)
    return probs


def _save_atomically(path: Path, probs: np.ndarray) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written cache file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, probs)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; other users' runs may read the cache too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---- MIXING AND METRICS ----
# p = (1 - w) p_net + w p_ppm per target, computed in log space: log p = logaddexp(log(1-w) - nll_net,
# log w + log p_ppm). With w = 0 the second term is -inf and logaddexp(a, -inf) == a exactly, so the
# mixed loss equals the plain loss bit for bit (likewise w = 1 gives -log p_ppm); the plain
# probability-space formula would round-trip nll through exp and log and miss by an ulp.


def mixed_nll(nll_net: torch.Tensor, p_ppm: torch.Tensor, weight: float) -> torch.Tensor:
    """Per target -log((1 - weight) * exp(-nll_net) + weight * p_ppm); exact at weight 0 and 1.

    nll_net is the network's cross-entropy of each target (nats), p_ppm the PPM-C probability of the
    same targets; pass float64 tensors of one shape (the eval pass mixes one batch at a time).
    """
    import torch  # here, not at the top: the PPM kernel and `golf ppm` need only numpy

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"ppm weight: expected a value in [0, 1], got {weight}")
    if nll_net.shape != p_ppm.shape:
        raise ValueError(f"mixed_nll: nll_net shape {tuple(nll_net.shape)} != p_ppm shape {tuple(p_ppm.shape)}")
    log_keep = math.log1p(-weight) if weight < 1.0 else -math.inf  # log(1 - w); math.log1p(-1) raises
    log_weight = math.log(weight) if weight > 0.0 else -math.inf
    return -torch.logaddexp(log_keep - nll_net, log_weight + torch.log(p_ppm))


def loss_from_probs(probs: np.ndarray) -> float:
    """Mean cross-entropy in nats per token from the probabilities given to the targets."""
    probs = np.asarray(probs, dtype=np.float64)
    return float(-np.log(probs).mean())


def bpb_from_probs(probs: np.ndarray, target_bytes: np.ndarray) -> float:
    """Bits per byte: total -log2 p over the targets divided by the bytes those targets decode to."""
    probs = np.asarray(probs, dtype=np.float64)
    nbytes = np.asarray(target_bytes, dtype=np.float64)
    if nbytes.shape != probs.shape:
        raise ValueError(f"bpb_from_probs: {nbytes.shape} byte counts for {probs.shape} targets")
    return float(-np.log2(probs).sum() / nbytes.sum())


def bits_per_token(probs: np.ndarray) -> float:
    """Mean -log2 p over the targets."""
    return loss_from_probs(probs) / float(np.log(2.0))
