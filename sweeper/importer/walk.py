"""Which files an import reads: files named, folders walked, globs expanded."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

# What a walked folder contributes: logs and markdown collections. Scripts, JSON and images in
# the same folders (a parameter-golf record holds train_gpt.py, submission.json, ...) are not runs.
LOG_SUFFIXES = (".log", ".txt", ".md", ".out")


@dataclass(frozen=True)
class Source:
    """A file to read; `walked` when it was found in a folder rather than named by the user (a
    walked file without any eval line is skipped, a named one is an error)."""

    path: Path
    walked: bool


def expand_paths(paths: Iterable[str]) -> list[Source]:
    """Named files; folders walked recursively (hidden entries skipped, symlinked folders not
    followed, sorted); glob matches. A missing path is kept so that reading it fails as that
    file's own error and the other files still import."""
    found: list[Source] = []
    for spec in paths:
        # an existing path as given, else its glob matches, else the missing path itself
        candidates = [spec] if Path(spec).exists() else (sorted(glob.glob(spec, recursive=True)) or [spec])
        for candidate in map(Path, candidates):
            if candidate.is_dir():
                found.extend(Source(f, True) for f in _walk(candidate))
            elif candidate.is_file() or not candidate.exists():
                found.append(Source(candidate, False))
    return found


def _walk(root: Path) -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(folder) / n for n in sorted(names)
                     if not n.startswith(".") and n.lower().endswith(LOG_SUFFIXES))
    return files
