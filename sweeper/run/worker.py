"""A worker: claims runs from the store's queue and trains them one after another.

    python -m sweeper.run.worker --db URL [--sweep NAME] [--name NAME] [--exit-when-idle]
                                 [--threads N] [--train module:function]

One worker process owns one device (the launcher sets CUDA_VISIBLE_DEVICES) and lives for the
whole sweep, so torch is imported once, not once per run. For each claimed run it calls its train
function (`model.train(config, on_event, out_dir)`, or another with that signature given by
import path) in-process, or `torchrun -m model` when the config asks for `gpus_per_run > 1`.
Events go to a writer thread that batches eval rows into the store and renews
the run's lease, so the training loop never waits on the database.

Stopping: SIGINT / SIGTERM / SIGHUP give the running attempt back to the queue (its evals flushed
first) and exit; so does the death of the launcher with --exit-with-parent. A refused heartbeat
(the run was cancelled, or our lease expired and another worker took it) abandons the run without
writing anything more for it. A run that stops emitting events (sweeper.run.watchdog) is failed.
A store that stays unwritable for a lease's length ends the worker with exit code 1, after it
gives back its run if it still can.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from model.config import TrainConfig
from model.events import Final, TrainingError
from sweeper.errors import GolfError, StoreError
from sweeper.names import confined
from sweeper.run.attempt_writer import AttemptWriter, RunAborted
from sweeper.run.signals import STOP_SIGNALS, parent_gone, signal_me_when_parent_dies
from sweeper.run.watchdog import ProgressWatchdog
from sweeper.store import RunRecord, Store, default_db_url

log = logging.getLogger("golf.worker")

# model.train's signature: (config, on_event, out_dir) -> Final.
TrainFn = Callable[[TrainConfig, Callable, Path], Final]
DEFAULT_TRAIN = "model:train"


class WorkerStop(BaseException):
    """SIGINT/SIGTERM/SIGHUP: give the current run back and exit. BaseException so that no
    `except Exception` inside training swallows it."""


class TrainingStalled(BaseException):
    """The watchdog saw no training event for too long (raised in the training thread by SIGUSR1)."""


@dataclass
class WorkerOptions:
    db: str
    name: str
    sweep: Optional[str] = None
    lease_s: float = 60.0
    poll_s: float = 2.0
    flush_s: float = 1.0
    exit_when_idle: bool = False
    runs_dir: Path = Path(".golf/runs")
    exit_with_parent: bool = False  # started by a launcher: stop when it dies
    watchdog: Callable[[], ProgressWatchdog] = ProgressWatchdog
    stall_grace_s: float = 60.0  # after a stall, how long training may ignore SIGUSR1 before we exit


# ---- ways to train one run ----
def train_in_process(config: TrainConfig, on_event: Callable, out_dir: Path) -> Final:
    """The training core in this process (single device)."""
    from model.trainer import train

    return train(config, on_event, out_dir)


def train_with_torchrun(config: TrainConfig, on_event: Callable, out_dir: Path) -> Final:
    """`torchrun -m model` on `gpus_per_run` local devices; events come back as GOLF_EVENT lines."""
    from model.events import parse_event_line

    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / "config.json"
    config_path.write_text(json.dumps(config.to_dict()))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={config.gpus_per_run}", "-m", "model",
           "--config", f"@{config_path}", "--out", str(out_dir)]
    stderr_path = out_dir / "torchrun.log"
    final, failure = None, None
    with open(stderr_path, "w") as stderr:
        # Own session: on abort we signal the whole torchrun tree, not just the launcher.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True)
        try:
            for line in proc.stdout:
                event = parse_event_line(line)
                if event is None:
                    continue
                if event.kind == "final":
                    final = event
                elif event.kind == "failed":
                    failure = event.error
                on_event(event)
            proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    if proc.returncode != 0 or final is None:
        tail = stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise TrainingError(failure or f"torchrun exited with code {proc.returncode}: " + " | ".join(tail))
    return final


def import_train(path: str) -> TrainFn:
    """The train function named by `module:function` (e.g. model:train), or GolfError."""
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise GolfError(f"--train {path!r}: expected module:function, e.g. {DEFAULT_TRAIN}")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise GolfError(f"--train {path!r}: {exc}") from None
    if not callable(fn):
        raise GolfError(f"--train {path!r}: not a function")
    return fn


# ---- the worker loop ----
class Worker:
    """Claims and trains runs until stopped (or, with exit_when_idle, until the queue is empty
    and no other worker holds a run that might come back).

    `train` trains one single-device run (default: the training core in this process); runs with
    gpus_per_run > 1 always go to torchrun. `threads` sets torch's CPU thread count for this
    process (None: leave torch's default)."""

    def __init__(self, options: WorkerOptions, train: TrainFn = train_in_process, threads: Optional[int] = None):
        self.options = options
        self.train = train
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.store = Store(options.db)
        self.info = _environment_info()
        self.stopping = False
        self._interruptible = False
        self._parent: Optional[int] = None
        self._current: Optional[RunRecord] = None
        self.failure: Optional[str] = None  # why the worker gave up (the store failed it); exit 1

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True
        if self._interruptible:  # only while training or sleeping: never inside a store write
            self._interruptible = False
            raise WorkerStop(signal.Signals(signum).name)

    def _on_stall(self, _signum, _frame) -> None:
        if self._interruptible:
            self._interruptible = False
            raise TrainingStalled()

    def _install_handlers(self) -> dict:
        """Our handlers for the stop signals and the watchdog's SIGUSR1; returns the previous ones."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, *STOP_SIGNALS)}
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, self._on_stall)
        return previous

    def run(self) -> int:
        """Loop until stopped; returns the number of runs this worker finished. The caller's
        signal handlers are restored on return."""
        previous = self._install_handlers()
        if self.options.exit_with_parent:
            self._parent = signal_me_when_parent_dies(signal.SIGTERM)
        finished = 0
        log.info("worker %s up (%s), store %s", self.options.name, self.info.get("device"), self.store.url)
        try:
            while not self.stopping and not (self._parent and parent_gone(self._parent)):
                self.store.requeue_expired()
                run = self.store.claim(self.options.name, self.options.lease_s, self.options.sweep,
                                       info=self.info)
                if run is None:
                    if self.options.exit_when_idle and self._queue_drained():
                        break
                    self._sleep(self.options.poll_s)
                    continue
                if self.stopping:
                    self.store.release(run.id, run.attempts, "worker stopping")
                    break
                finished += self._execute(run)
        except WorkerStop:
            pass
        except StoreError as exc:
            self._give_up(exc)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        log.info("worker %s stops after %d finished run(s)", self.options.name, finished)
        self.store.close()
        return finished

    def run_one(self, run_id: str, timeout_s: float = 3600.0) -> str:
        """Train one given run (a launcher that schedules runs itself, e.g. a Ray task). Waits
        while another attempt holds it (e.g. a killed task whose lease has not expired yet), trains
        it again when its lease was lost mid-run, and returns the run's status at the end; a run
        that already ended is never run again. SIGINT/SIGTERM (Ray's task cancel is a SIGINT) give
        the running attempt back; the caller's handlers are restored on return, since the calling
        process (a Ray worker) outlives the call."""
        deadline = time.monotonic() + timeout_s
        previous = self._install_handlers()
        try:
            while time.monotonic() < deadline and not self.stopping:
                self.store.requeue_expired()
                run = self.store.claim(self.options.name, self.options.lease_s, info=self.info, run_id=run_id)
                if run is not None:
                    if self.stopping:
                        self.store.release(run.id, run.attempts, "worker stopping")
                        break
                    self._execute(run)
                    # Ended -> the next pass sees it and stops; lease lost mid-run -> claim it again
                    # (no other task of this launcher will). The wait limit counts from now.
                    deadline = time.monotonic() + timeout_s
                    continue
                current = self.store.get_run(run_id)
                if current is None or current.status not in ("queued", "running"):
                    break
                self._sleep(self.options.poll_s)
        except WorkerStop:
            pass
        except StoreError as exc:
            self._give_up(exc)
            return "unknown (store failed)"
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        current = self.store.get_run(run_id)
        return current.status if current else "missing"

    def _give_up(self, exc: StoreError) -> None:
        """The store refuses our writes: give back the run we hold if it still can, and stop."""
        self.failure = f"cannot write to the store: {exc}"
        log.error("worker %s: %s; exiting", self.options.name, self.failure)
        if self._current is not None:
            try:
                self.store.release(self._current.id, self._current.attempts, "worker lost the store")
            except StoreError as again:
                log.error("could not release run %s either (%s); its lease lapses", self._current.id, again)

    def _sleep(self, seconds: float) -> None:
        self._interruptible = True
        try:
            time.sleep(seconds)
        finally:
            self._interruptible = False

    def _queue_drained(self) -> bool:
        counts = self.store.status_counts(self.options.sweep)
        return not any(c.get("queued", 0) or c.get("running", 0) for c in counts.values())

    def _execute(self, run: RunRecord) -> int:
        """Train one claimed attempt and record its outcome. Returns 1 when it finished."""
        tag = f"run {run.id} ({run.sweep}/{run.variant} seed {run.seed}) attempt {run.attempts}"
        self._current = run
        try:
            return self._train_attempt(run, tag)
        finally:
            self._current = None

    def _train_attempt(self, run: RunRecord, tag: str) -> int:
        try:
            config = TrainConfig.from_dict(run.config)
            out_dir = confined(self.options.runs_dir, run.sweep, run.id, f"attempt{run.attempts}")
        except (TypeError, ValueError, GolfError) as exc:
            self.store.fail_attempt(run.id, run.attempts, f"invalid stored config: {exc}", retry=False)
            log.error("%s: invalid stored config: %s", tag, exc)
            return 0
        train = train_with_torchrun if config.gpus_per_run > 1 else self.train
        writer = AttemptWriter(self.store, run, self.options.lease_s, self.options.flush_s,
                                self.options.watchdog(), lambda: os.kill(os.getpid(), signal.SIGUSR1),
                                self.options.stall_grace_s)
        writer.start()
        log.info("%s: training on %s", tag, self.info.get("device"))
        self._interruptible = True
        try:
            try:
                final = train(config, writer.on_event, out_dir)
            finally:  # whatever happened: no more interrupts, and every eval received is written first
                self._interruptible = False
                writer.close()
        except WorkerStop:
            self.store.release(run.id, run.attempts, "worker interrupted (SIGINT/SIGTERM)")
            log.info("%s: interrupted, back in the queue", tag)
            raise
        except (RunAborted, TrainingStalled) as exc:
            if writer.store_error is not None:
                raise StoreError(f"writes failed for a whole lease ({writer.store_error})") from exc
            if writer.stalled is not None:
                self.store.fail_attempt(run.id, run.attempts, f"TrainingStalled: {writer.stalled}", retry=False)
                log.error("%s: failed: %s", tag, writer.stalled)
                return 0
            log.warning("%s: %s; dropped", tag, exc)
            return 0
        except Exception as exc:  # the run itself is broken (bad data, non-finite loss, OOM...)
            detail = str(exc) if isinstance(exc, TrainingError) else traceback.format_exc(limit=8)
            status = self.store.fail_attempt(run.id, run.attempts, f"{type(exc).__name__}: {detail}", retry=False)
            log.error("%s: failed (%s): %s", tag, status, exc)
            return 0
        if writer.lost.is_set():
            log.warning("%s: finished, but the store gave the run away meanwhile; result dropped", tag)
            return 0
        won = self.store.finish_run(run.id, run.attempts, asdict(final), info={"artifact_path": str(out_dir)})
        log.info("%s: %s val_loss %.4f", tag, "finished" if won else "finished but no longer ours;",
                 final.val_loss)
        return int(won)


def _environment_info() -> dict:
    """What the store records about where a run ran: host, device, versions, git commit."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import torch

    from model.hardware import device_label

    # NVML names the GPU: torch.cuda.get_device_name would open a CUDA context (~500 MiB) on the
    # run's GPU in a worker that may stay idle for the whole sweep.
    device = device_label(torch.get_num_threads())
    try:
        golf_version = version("golf")
    except PackageNotFoundError:
        golf_version = None
    return dict(host=socket.gethostname(), device=device, torch_version=torch.__version__,
                python_version=platform.python_version(), golf_version=golf_version,
                git_commit=_git_commit())


def _git_commit() -> Optional[str]:
    """HEAD of the source tree golf runs from, '+dirty' when tracked files differ from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        if not head:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of `python -m sweeper.run.worker` (what the launchers start)."""
    parser = argparse.ArgumentParser(prog="python -m sweeper.run.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="store URL (default: $GOLF_DB, which launchers use: argv is public)")
    parser.add_argument("--sweep", help="only claim runs of this sweep")
    parser.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}")
    parser.add_argument("--lease", type=float, default=60.0, help="lease seconds (renewed every lease/4)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between claims when idle")
    parser.add_argument("--runs-dir", type=Path, default=Path(".golf/runs"))
    parser.add_argument("--exit-when-idle", action="store_true")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the launcher dies")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--train", default=DEFAULT_TRAIN,
                        help=f"train function as module:function (default {DEFAULT_TRAIN})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.name} %(levelname)s %(message)s")
    try:
        train = import_train(args.train)
    except GolfError as exc:
        parser.error(str(exc))
    options = WorkerOptions(db=args.db or default_db_url(), name=args.name, sweep=args.sweep, lease_s=args.lease,
                            poll_s=args.poll, exit_when_idle=args.exit_when_idle, runs_dir=args.runs_dir,
                            exit_with_parent=args.exit_with_parent)
    try:
        worker = Worker(options, train, args.threads)
    except GolfError as exc:
        log.error("worker %s cannot start: %s", args.name, exc)
        return 2
    worker.run()
    return 1 if worker.failure else 0


if __name__ == "__main__":
    sys.exit(main())
