"""Names that become folder names (sweeps: .golf/logs/SWEEP, .golf/runs/SWEEP/...), and the proof
that a path built from them stays where it belongs.

A sweep name comes from a spec's `name:` or `--name`, so from anyone who can hand over a spec.
It is refused, not silently slugged, when it could leave its folder or hide in a listing: the
user sees the name they wrote, or an error naming what to change.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from sweeper.errors import GolfError

MAX_NAME_LENGTH = 200  # the store's sweeps.name column


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a folder under .golf/ (None when it can)."""
    if not name or not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it has {len(name)} characters (at most {MAX_NAME_LENGTH})"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if name.startswith("."):
        return "it starts with a dot"
    if name != name.strip():
        return "it starts or ends with white space"
    bad = next((c for c in name if unicodedata.category(c)[0] == "C"), None)
    if bad is not None:
        return f"it contains the control character {bad!r}"
    return None


def check_name(name: str, what: str = "sweep name") -> str:
    """`name` itself when it can name a folder; GolfError saying why not otherwise."""
    problem = name_problem(name)
    if problem:
        raise GolfError(f"{what} {name!r}: {problem} (expected letters, digits and - _ . [ ] = , "
                        "without a leading dot, e.g. remove_ve)")
    return name


def confined(root: Path, *parts: str) -> Path:
    """root/part/...: GolfError unless the resolved path lies inside the resolved root, whatever
    the parts hold (.., absolute paths, symlinks already on disk)."""
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise GolfError(f"{'/'.join(parts)!r} would leave {root}/ (expected a plain name)")
    return root.joinpath(*parts)
