"""Build golf's embedded default corpus: stdlib docstrings -> SentencePiece BPE -> shards."""

from __future__ import annotations

import importlib
import inspect
import os
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
    """Train the tokenizer and write golf_{train,val}_*.bin + tokenizer.model into `out`.

    Bad options raise ValueError naming the option or file. The folder is built next to `out` and
    renamed into place, so an interrupted or failed run never leaves a half-written `out`; an
    earlier golf data folder there is replaced, any other non-empty folder is refused."""
    import shutil
    import tempfile
    if not 1 <= vocab <= 65536:
        raise ValueError(f"--vocab: got {vocab} (expected 1..65536: token ids are stored as uint16)")
    text = _read_texts(texts) if texts else _clean_stdlib_prose()
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        info = _build(work, text, vocab)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / out.name)  # out.parent is one file system: both renames are atomic
            os.rename(work, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**info, "out": str(out)}


# What a golf data folder holds; a folder with anything else is not ours to replace.
_OURS = ("tokenizer.model", "tokenizer.vocab", "golf_train_*.bin", "golf_val_*.bin", "corpus.txt", "ppm_c_*.npy*",
         "corpus_version")


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder (expected a folder to write the data into)")
    if out.is_dir():
        other = [p.name for p in out.iterdir() if not any(p.match(pattern) for pattern in _OURS)]
        if other:
            raise ValueError(f"--out {out}: holds files golf did not write ({', '.join(sorted(other)[:3])}); "
                             "expected an empty folder or an earlier golf data folder")


def _read_texts(texts: list[Path]) -> str:
    parts = []
    for p in texts:
        try:
            parts.append(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"--text {p}: not UTF-8 text (byte {exc.start}: {exc.reason}); expected UTF-8") from None
        except OSError as exc:
            raise ValueError(f"--text {p}: cannot read it ({exc.strerror or exc})") from None
    return "\n\n".join(parts)


def _build(out: Path, text: str, vocab: int) -> dict:
    import sentencepiece as spm
    docs = [d for d in text.split("\n\n") if d.strip()]
    if not docs:
        raise ValueError("--text: the text is empty (expected some prose to train a tokenizer on)")
    corpus = out / "corpus.txt"
    corpus.write_text("\n".join(d.replace("\n", " ") for d in docs), encoding="utf-8")
    try:
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(out / "tokenizer"), model_type="bpe", vocab_size=vocab,
            byte_fallback=True, split_digits=True, add_dummy_prefix=False, pad_id=0, bos_id=1, eos_id=2,
            unk_id=3, character_coverage=0.999, num_threads=1, minloglevel=2)
    except RuntimeError as exc:  # SentencePiece's checks: "INTERNAL: file(line) [condition] message"
        raise ValueError(f"--vocab {vocab}: {str(exc).split('] ', 1)[-1].strip()}") from None
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    ids = []
    for d in docs:
        ids.append(1)  # bos separates documents
        ids.extend(sp.encode(d.replace("\n", " ")))
    tokens = np.asarray(ids, dtype=np.uint16)
    n_val = max(len(tokens) // 10, 1)
    train = tokens[n_val:]
    if train.size == 0:
        raise ValueError(f"--text: only {len(tokens)} tokens (expected enough text for a train and a val split)")
    write_shard(out / "golf_val_000000.bin", tokens[:n_val])
    for i in range(0, len(train), TRAIN_TOKENS_PER_SHARD):
        write_shard(out / f"golf_train_{i // TRAIN_TOKENS_PER_SHARD:06d}.bin",
                    train[i:i + TRAIN_TOKENS_PER_SHARD])
    corpus.unlink()
    return {"train_tokens": int(train.size), "val_tokens": int(n_val)}


# The embedded corpus's version, recorded in the prepared folder: a folder cached by a golf whose
# corpus differed is rebuilt, never trained on silently. Bump it (and TRAIN_CORE_VERSION) when the
# corpus changes. 2: the corpus interpreter no longer imports torch (model.prepare stopped
# importing model.data), which changes the stdlib members it sees.
CORPUS_VERSION = 2
_VERSION_FILE = "corpus_version"  # in _OURS above: a folder holding it is golf's to replace


def default_data_dir() -> Path:
    """Prepare golf's embedded corpus once (under a file lock; `prepare` renames it into place
    atomically) and return its folder; a folder prepared for another CORPUS_VERSION is rebuilt."""
    import fcntl
    base = Path(os.environ.get("GOLF_DATA_DIR") or Path.home() / ".cache" / "golf" / "data")
    base.mkdir(parents=True, exist_ok=True)
    final = base / "default"
    marker = final / _VERSION_FILE
    with open(base / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other workers wait here, then find it ready
        if not (marker.is_file() and marker.read_text().strip() == str(CORPUS_VERSION)):
            prepare(final)  # replaces an older golf's folder in one rename
            marker.write_text(f"{CORPUS_VERSION}\n")  # last: a crash before it only means a rebuild
    return final
