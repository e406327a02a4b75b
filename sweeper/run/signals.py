"""Signals that must stop golf's processes cleanly, not just Ctrl-C.

`timeout`, systemd, Kubernetes and SLURM stop a job with SIGTERM; a closed SSH session sends SIGHUP.
Their default action kills the launcher at once and leaves its workers (in their own sessions, so
that a terminal's Ctrl-C reaches them only through the launcher) training for nobody. Launchers
therefore turn both into the Ctrl-C path; workers ask the kernel to signal them when their
launcher dies, however it dies (SIGKILL included).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP seen by a launcher: handled like Ctrl-C; the exit code names the signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


@contextmanager
def stop_signals_interrupt():
    """Inside the block SIGTERM and SIGHUP raise Terminated (a KeyboardInterrupt) in the main thread."""
    def interrupt(signum, _frame):
        raise Terminated(signum)

    previous = {s: signal.signal(s, interrupt) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal that interrupted: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return getattr(exc, "exit_code", 128 + signal.SIGINT)


def signal_me_when_parent_dies(signum: int = signal.SIGTERM) -> int:
    """Have the kernel send `signum` to this process when its parent exits (Linux prctl
    PR_SET_PDEATHSIG; elsewhere callers poll `parent_gone`). Returns the parent's pid as seen now."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    if os.getppid() != parent:  # it died before the request was in place
        os.kill(os.getpid(), signum)
    return parent


def parent_gone(parent: int) -> bool:
    """The process that started us has exited (we were re-parented)."""
    return os.getppid() != parent
