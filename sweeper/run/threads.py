"""Sharing one machine's CPU cores among every golf worker on it.

Each launcher used to size its workers' threads to all the cores; two sweeps (or three
`golf worker`) on a 2-core machine then ran 6 threads on 2 cores and a tiny step went from 0.35 s
to 24 s. The store knows what the other workers on this host hold: each running run records its
host and its device ('cpu x2' = two threads), so a new launcher takes only the cores left.

Workers that are started but idle (no run claimed yet) hold nothing in the store; two launchers
started in the same second may still both see every core free.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Optional

from sweeper.store import Store

_CPU_THREADS = re.compile(r"^cpu x(\d+)$")


def cores_held(devices: list[str]) -> int:
    """Threads held by runs on CPU devices ('cpu x2' -> 2); GPU runs hold no cores here."""
    return sum(int(m.group(1)) for d in devices if (m := _CPU_THREADS.match(d.strip())))


def free_cores(store: Store, host: Optional[str] = None, total: Optional[int] = None) -> tuple[int, int]:
    """(cores left for new workers on `host` (at least 1), cores its running runs hold)."""
    total = total or os.cpu_count() or 1
    held = cores_held(store.running_devices(host or socket.gethostname()))
    return max(total - held, 1), held
