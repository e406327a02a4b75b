"""Why a sweep's workers all exited while runs of it are left: said, not hidden behind exit 0."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from sweeper.errors import StoreError
from sweeper.store import Store


def unfinished_runs(store: Store, sweep: str, codes: list[int], log_dir: Optional[Path]) -> Optional[str]:
    """None when no run of `sweep` is queued or running; else one line: how many are left, the
    workers' exit codes and the last error any of them logged."""
    try:
        counts = store.status_counts(sweep).get(sweep, {})
    except StoreError as exc:
        return f"the workers exited (codes {codes}) and the store cannot be read: {exc}"
    left = counts.get("queued", 0) + counts.get("running", 0)
    if not left:
        return None
    last = last_error(log_dir) if log_dir is not None else None
    why = f"; last worker error: {last}" if last else ""
    where = f"see {log_dir}/ and " if log_dir is not None else ""
    return (f"{left} run(s) of {sweep!r} left unfinished: the workers exited with codes {codes}{why}; "
            f"{where}run the same command to resume")


def last_error(log_dir: Path) -> Optional[str]:
    """The newest ERROR line in the workers' logs (their format: time name LEVEL message)."""
    found = []
    for log in sorted(log_dir.glob("*.log")):
        try:
            lines = log.read_text(errors="replace").splitlines()[-200:]
        except OSError:
            continue
        found += [line for line in lines if " ERROR " in line]
    return max(found).split(" ERROR ", 1)[1].strip() if found else None
