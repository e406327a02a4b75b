"""The local launcher: one worker process per GPU group (or per CPU slot), all on one store.

Workers are `python -m sweeper.run.worker` processes in their own session, so a Ctrl-C reaches them
only through `stop()`, which forwards it, waits for each worker to give its run back, and releases
whatever a worker that died could not. They get the store URL in their environment ($GOLF_DB), not
their argv, which any user can read with `ps`; and they stop by themselves when the launcher dies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sweeper.errors import GolfError, StoreError
from sweeper.store import Store


@dataclass(frozen=True)
class WorkerSlot:
    """One worker process to start: its name, the environment that pins its device(s), and the
    CPU threads its torch may use (None: torch's default, as on a GPU)."""
    name: str
    device: str  # e.g. "gpu 0", "gpus 0,1", "cpu x2"
    env: dict = field(default_factory=dict)
    threads: Optional[int] = None


def visible_gpus() -> list[str]:
    """GPU indices this process may use: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi
    lists (no torch import: the launcher stays light), else none."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [g.strip() for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def plan_slots(workers: Optional[int] = None, gpus_per_run: int = 1, gpus: Optional[list[str]] = None,
               host: Optional[str] = None, cpu: bool = False, cores: Optional[int] = None,
               threads: Optional[int] = None) -> list[WorkerSlot]:
    """Worker slots for this machine: GPUs split into groups of `gpus_per_run` (one worker each,
    at most `workers`), or, with no GPU (or cpu=True), `workers` CPU slots sharing `cores` (default:
    all of them; sweeper.run.threads counts those other workers hold), `threads` each (default:
    one slot per `gpus_per_run` cores, so each run gets whole cores)."""
    # The launcher's pid keeps names unique when two sweeps run on one machine.
    host = f"{host or socket.gethostname()}-{os.getpid()}"
    gpus = [] if cpu else (visible_gpus() if gpus is None else gpus)
    if gpus:
        groups = [gpus[i:i + gpus_per_run] for i in range(0, len(gpus) - gpus_per_run + 1, gpus_per_run)]
        if not groups:
            raise GolfError(f"runs ask for gpus_per_run={gpus_per_run} but only {len(gpus)} GPU(s) are "
                            f"visible ({','.join(gpus)})")
        groups = groups[:workers] if workers else groups
        return [WorkerSlot(f"{host}-gpu{'_'.join(g)}", ("gpus " if len(g) > 1 else "gpu ") + ",".join(g),
                           {"CUDA_VISIBLE_DEVICES": ",".join(g)}) for g in groups]
    cores = max(cores if cores is not None else (os.cpu_count() or 1), 1)
    n = workers or max(cores // (gpus_per_run * (threads or 1)), 1)
    threads = threads or max(cores // (n * gpus_per_run), 1)
    # CUDA hidden so a CPU slot never grabs a GPU that another process owns; OMP_NUM_THREADS for
    # the OpenMP libraries the child loads, --threads (from `threads`) for torch itself.
    return [WorkerSlot(f"{host}-cpu{i}", f"cpu x{threads}",
                       {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads)}, threads) for i in range(n)]


class LocalLauncher:
    """Starts, watches and stops the worker processes of one machine."""

    def __init__(self, db: str, slots: list[WorkerSlot], sweep: Optional[str] = None, lease_s: float = 60.0,
                 log_dir: Optional[Path] = None, runs_dir: Path = Path(".golf/runs"), exit_when_idle: bool = True,
                 train: Optional[str] = None):
        self.db, self.slots, self.sweep, self.lease_s = db, slots, sweep, lease_s
        self.log_dir, self.runs_dir, self.exit_when_idle = log_dir, runs_dir, exit_when_idle
        self.train = train  # module:function for the workers (None: model.train)
        self.procs: list[subprocess.Popen] = []

    def connect(self) -> list[WorkerSlot]:
        """This machine's slots (fixed when the launcher was made)."""
        return self.slots

    def describe(self) -> str:
        """One line for the terminal: the workers' devices and where their logs are."""
        logs = f"; logs in {self.log_dir}/" if self.log_dir is not None else ""
        return f"{len(self.slots)} worker(s): {', '.join(s.device for s in self.slots)}{logs}"

    def start(self) -> None:
        """Start one worker process per slot (logs under log_dir, else this terminal)."""
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        for slot in self.slots:
            cmd = [sys.executable, "-m", "sweeper.run.worker", "--name", slot.name, "--exit-with-parent",
                   "--lease", str(self.lease_s), "--runs-dir", str(self.runs_dir)]
            cmd += ["--sweep", self.sweep] if self.sweep else []
            cmd += ["--exit-when-idle"] if self.exit_when_idle else []
            cmd += ["--threads", str(slot.threads)] if slot.threads else []
            cmd += ["--train", self.train] if self.train else []
            out = open(self.log_dir / f"{slot.name}.log", "a") if self.log_dir is not None else None
            try:
                env = {**os.environ, **slot.env, "GOLF_DB": self.db}
                self.procs.append(subprocess.Popen(cmd, env=env, stdout=out,
                                                   stderr=subprocess.STDOUT if out else None,
                                                   start_new_session=True))
            finally:
                if out is not None:
                    out.close()  # the child holds its own descriptor

    def alive(self) -> int:
        """How many workers are still running."""
        return sum(p.poll() is None for p in self.procs)

    def add_runs(self) -> int:
        """Runs queued since start() need nothing here: the workers claim them from the queue."""
        return 0

    def wait(self) -> list[int]:
        """Wait for every worker to exit; their exit codes."""
        return [p.wait() for p in self.procs]

    def stop(self, timeout_s: float = 60.0) -> int:
        """Ctrl-C path: SIGINT every worker (each gives its run back to the queue and exits), wait,
        SIGKILL stragglers, then release what a killed worker still held. Returns runs released here."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        try:
            for p in self.procs:
                try:
                    p.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        try:
            store = Store(self.db)
            try:
                return store.release_worker_runs([s.name for s in self.slots], "launcher stopped")
            finally:
                store.close()
        except StoreError as exc:
            raise StoreError(f"workers stopped, but their runs could not be released ({exc}); they go back "
                             "to the queue when their lease lapses") from exc
