"""Build golf's embedded default corpus: stdlib docstrings -> SentencePiece BPE -> shards."""

from __future__ import annotations

import importlib
import inspect
import sys
import warnings
from pathlib import Path

import numpy as np

from model.shards import write_shard

TRAIN_TOKENS_PER_SHARD = 1 << 20


def stdlib_prose(max_chars: int = 4_000_000) -> str:
    """Docstrings of the stdlib modules (sorted, so the corpus is deterministic)."""
    parts, total = [], 0
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in {"antigravity", "this", "idlelib", "tkinter", "turtle"}:
            continue
        try:
            with warnings.catch_warnings():  # deprecated modules still carry useful prose
                warnings.simplefilter("ignore")
                mod = importlib.import_module(name)
        except Exception:  # platform-specific modules; skipping them keeps the corpus portable
            continue
        for _, obj in sorted(inspect.getmembers(mod), key=lambda kv: kv[0]):
            doc = inspect.getdoc(obj) if getattr(obj, "__module__", name) == name else None
            if doc and len(doc) > 80:
                parts.append(doc)
                total += len(doc)
        if total >= max_chars:
            break
    return "\n\n".join(parts)[:max_chars]


def _clean_stdlib_prose() -> str:
    """stdlib_prose() in a fresh isolated interpreter: modules the caller has already imported or
    patched (pytest, numba, ...) change what getmembers sees, and the corpus must not depend on
    who asked for it. It still depends on the Python minor version, whose docstrings differ."""
    import subprocess
    code = "import sys; from model.prepare import stdlib_prose; sys.stdout.write(stdlib_prose())"
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {root!r}); {code}"],
                          check=True, capture_output=True, encoding="utf-8")
    return done.stdout


def prepare(out: Path, texts: list[Path] | None = None, vocab: int = 1024) -> dict:
    """Train the tokenizer and write golf_{train,val}_*.bin + tokenizer.model into `out`."""
    import sentencepiece as spm
    out.mkdir(parents=True, exist_ok=True)
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in texts) if texts else _clean_stdlib_prose()
    docs = [d for d in text.split("\n\n") if d.strip()]
    corpus = out / "corpus.txt"
    corpus.write_text("\n".join(d.replace("\n", " ") for d in docs), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(out / "tokenizer"), model_type="bpe", vocab_size=vocab,
        byte_fallback=True, split_digits=True, add_dummy_prefix=False, pad_id=0, bos_id=1, eos_id=2,
        unk_id=3, character_coverage=0.999, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    ids = []
    for d in docs:
        ids.append(1)  # bos separates documents
        ids.extend(sp.encode(d.replace("\n", " ")))
    tokens = np.asarray(ids, dtype=np.uint16)
    n_val = max(len(tokens) // 10, 1)
    write_shard(out / "golf_val_000000.bin", tokens[:n_val])
    train = tokens[n_val:]
    for i in range(0, max(len(train), 1), TRAIN_TOKENS_PER_SHARD):
        write_shard(out / f"golf_train_{i // TRAIN_TOKENS_PER_SHARD:06d}.bin",
                    train[i:i + TRAIN_TOKENS_PER_SHARD])
    corpus.unlink()
    return {"train_tokens": int(train.size), "val_tokens": int(n_val), "out": str(out)}


def default_data_dir() -> Path:
    """Prepare golf's embedded corpus once (file lock + atomic rename) and return its folder."""
    import fcntl
    import os
    import shutil
    import tempfile
    base = Path(os.environ.get("GOLF_DATA_DIR") or Path.home() / ".cache" / "golf" / "data")
    base.mkdir(parents=True, exist_ok=True)
    final = base / "default"
    with open(base / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other workers wait here, then find it ready
        if not final.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
            try:
                prepare(tmp)
                os.rename(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return final
