"""The seed of a log that prints none (MLX trainers, thinned or hand-made logs).

Storing such a run as seed 0 made it the same as a real seed 0 of its variant, and two seedless
logs of one variant looked like one seed run twice. The file name often says the seed
(`train_seed42.log`, `run_s7.log`); otherwise the run gets a stand-in seed: negative, so that it
never equals a seed a log prints (those are non-negative), and derived from the file path, so that
importing the file again gives the same one and two files of a variant get different ones.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sweeper.importer.fields import INT64_MAX

# `seed42`, `seed_42`, `seed-42`, `seed=42`, or `s7` between separators (`run_s7`, `base-s7-x`).
_NAMED_SEED = re.compile(r"(?:^|[^a-z0-9])seed[_\-=]?(\d+)(?![0-9a-z])", re.I)
_SHORT_SEED = re.compile(r"(?:^|[_\-.])s(\d+)(?=$|[_\-.])", re.I)


def seed_from_file_name(path: str) -> int | None:
    """The seed a log's file name states (`seed42`, `seed_42`, `_s7`), or None."""
    stem = Path(path).stem
    m = _NAMED_SEED.search(stem) or _SHORT_SEED.search(stem)
    if m is None or int(m.group(1)) > INT64_MAX:
        return None
    return int(m.group(1))


def stand_in_seed(path: str) -> int:
    """A negative seed derived from the file path: stable across imports, distinct per file."""
    return -1 - int(hashlib.sha256(path.encode()).hexdigest()[:8], 16) % 2**31


def seed_for_seedless_log(path: str, notes: list[str]) -> int:
    """The seed of a log without a seed line: from its file name, else a stand-in; said in `notes`."""
    seed = seed_from_file_name(path)
    if seed is not None:
        notes.append(f"no seed line in the log: seed {seed} taken from the file name")
        return seed
    seed = stand_in_seed(path)
    notes.append(f"no seed line in the log or its file name: stored as seed {seed} (a stand-in derived from "
                 f"the file path; negative, so it never equals a real seed)")
    return seed
