"""The Ray launcher: every queued run of a sweep becomes one Ray task, so Ray places runs across
the nodes of a cluster while all of them write to one shared store.

    golf sweep SPEC --launcher ray [--ray-address auto] --db postgresql+psycopg://...

Each task asks Ray for the run's GPUs (`gpus_per_run`; CPUs on a cluster without GPUs), builds a
`Worker` on the node it lands on and calls `Worker.run_one(run_id)`, which claims that one run in
the store. The store's claim and lease stay the single source of truth: when a task's worker
process dies, Ray retries the task, and the retry waits for the dead attempt's lease to expire
before it claims the next attempt, or returns at once when the run already ended. A run is never
finished twice, whatever Ray retries.

Ray is imported only here, and only when this launcher is used (`pip install 'golf[ray]'`); the
local launcher never imports it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import Counter
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import make_url

from sweeper.errors import GolfError
from sweeper.run.local_launcher import WorkerSlot
from sweeper.run.worker import DEFAULT_TRAIN
from sweeper.store import Store

log = logging.getLogger("golf.ray")

# How long a task waits while another attempt holds its run (a dead attempt's lease, or a
# `golf worker` elsewhere training it) before giving up.
DEFAULT_WAIT_S = 3600.0


def import_ray():
    """The `ray` module, or a GolfError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise GolfError(f"the Ray launcher needs Ray ({exc}): pip install 'golf[ray]'") from exc
    return ray


def absolute_db_url(db: str) -> str:
    """The store URL with a relative SQLite path made absolute: Ray workers do not run in the
    driver's working directory, and would otherwise open (and create) another file."""
    url = make_url(db)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return db
    return url.set(database=str(Path(url.database).resolve())).render_as_string(hide_password=False)


# ---- the task body: runs on a cluster node ----
def train_run_task(db: str, run_id: str, name_prefix: str, lease_s: float, poll_s: float, runs_dir: str,
                   wait_s: float, threads: Optional[int], train: str) -> str:
    """Train one run through the store's queue inside a Ray worker process, with the train
    function at import path `train`; returns the run's final status. The worker's name ends with
    this process's pid, so `golf runs` (and tests) can tell which process holds a run."""
    from sweeper.run.worker import Worker, WorkerOptions, import_train

    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name_prefix} %(levelname)s %(message)s")
    name = f"{name_prefix}-{socket.gethostname()}-{os.getpid()}"
    worker = Worker(WorkerOptions(db=db, name=name, lease_s=lease_s, poll_s=poll_s, runs_dir=Path(runs_dir)),
                    import_train(train), threads)
    try:
        # ray.cancel() reaches the task as SIGINT, which run_one turns into giving the run back.
        return worker.run_one(run_id, wait_s)
    finally:
        worker.store.close()


# ---- the driver side ----
class RayLauncher:
    """Runs a sweep's queued runs as Ray tasks: the same start / alive / wait / stop interface as
    the local launcher, so `golf sweep` keeps its live view, Ctrl-C and ranking."""

    def __init__(self, db: str, sweep: str, run_ids: Optional[list[str]] = None, address: Optional[str] = None,
                 gpus_per_run: int = 1, cpus_per_run: Optional[int] = None, lease_s: float = 60.0,
                 poll_s: float = 2.0, runs_dir: Path = Path(".golf/runs"), max_retries: int = 3,
                 wait_s: float = DEFAULT_WAIT_S, train: Optional[str] = None, store: Optional[Store] = None):
        self.db, self.sweep, self.run_ids, self.address = absolute_db_url(db), sweep, run_ids, address
        self.gpus_per_run, self.cpus_per_run = gpus_per_run, cpus_per_run or max(gpus_per_run, 1)
        self.lease_s, self.poll_s, self.runs_dir = lease_s, poll_s, Path(runs_dir).resolve()
        self.max_retries, self.wait_s = max_retries, wait_s
        self.train = train or DEFAULT_TRAIN  # module:function, imported by each task
        self.store = store  # golf sweep's own, to read which runs need a task (None: one per read)
        # Names the workers of this launcher's tasks, so stop() releases only runs they hold.
        self.name_prefix = f"ray-{uuid.uuid4().hex[:6]}"
        self.refs: dict = {}  # ObjectRef -> run id
        self.results: dict[str, object] = {}  # run id -> final status, or the task's error
        self.slots: Optional[list[WorkerSlot]] = None
        self.use_gpus = False
        self.log_dir = Path("/tmp/ray/session_latest/logs")  # Ray's default, on every node
        self._ray = None
        self._owns_ray = False
        self._codes: Optional[list[int]] = None  # per task, once collected (wait, or stop)

    # ---- cluster ----
    def connect(self) -> list[WorkerSlot]:
        """Join the cluster at `address` (start a local one when None, reuse a `ray.init` already
        done in this process) and return one slot per run it can hold at once."""
        if self.slots is not None:
            return self.slots
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise GolfError(f"cannot reach the Ray cluster at {self.address!r}: {exc} "
                                "(start one with `ray start --head`, or leave out --ray-address)") from exc
            self._owns_ray = True
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        if len(nodes) > 1 and make_url(self.db).get_backend_name() == "sqlite":
            raise GolfError(f"the Ray cluster has {len(nodes)} nodes but the store is a SQLite file "
                            f"({self.db}) that only this machine can reach: use --db postgresql+psycopg://...")
        self.use_gpus = any(n["Resources"].get("GPU", 0) > 0 for n in nodes)
        need, per_run = ("GPU", self.gpus_per_run) if self.use_gpus else ("CPU", self.cpus_per_run)
        threads = max(self.cpus_per_run // max(self.gpus_per_run, 1), 1)
        slots = []
        for n in nodes:
            where = n.get("NodeManagerAddress", "?")
            device = (("gpus x%d" % per_run if per_run > 1 else "gpu") if self.use_gpus else f"cpu x{threads}")
            for i in range(int(n["Resources"].get(need, 0) // per_run)):
                slots.append(WorkerSlot(f"{where}/{i}", f"{device} @{where}", threads=threads))
        if not slots:
            have = ", ".join(f"{n.get('NodeManagerAddress')}: {n['Resources'].get(need, 0):g}" for n in nodes)
            raise GolfError(f"runs ask for {per_run} {need}(s) each but no node of the Ray cluster has that many "
                            f"({have or 'no alive nodes'})")
        self.slots = slots
        return slots

    def describe(self) -> str:
        """One line for the terminal: where the runs go and where their logs are."""
        slots = self.connect()
        kinds = ", ".join(f"{n} x {d}" for d, n in Counter(s.device.split(" @")[0] for s in slots).items())
        nodes = len({s.device.split(" @")[1] for s in slots})
        target = self.address or "a local Ray instance"
        return (f"Ray ({target}): {len(slots)} run(s) at a time on {nodes} node(s) ({kinds}); "
                f"task logs in {self.log_dir}/ on each node")

    # ---- tasks ----
    def _runs(self, status: Optional[str] = None) -> list:
        """The sweep's runs, read through the driver's store when it was given one: a second
        SQLite connection pool in this process would lose its locks when the live page reads the
        file through connectorx (see sweeper.store.frames)."""
        store = self.store or Store(self.db)
        try:
            return store.list_runs(self.sweep, status)
        finally:
            if store is not self.store:
                store.close()

    def start(self) -> None:
        """Submit one task per run (default: every queued or running run of the sweep)."""
        self.connect()
        if self.run_ids is None:
            self.run_ids = [r.id for r in self._runs() if r.status in ("queued", "running")]
        self._submit(self.run_ids)

    def add_runs(self) -> int:
        """Submit a task for each run queued since start() (adaptive seeds add them while the sweep
        runs); a run that has a task already, finished or not, gets none: its task trains every
        attempt of it. Returns the tasks submitted."""
        submitted = set(self.refs.values())
        new = [r.id for r in self._runs("queued") if r.id not in submitted]
        self._submit(new)
        return len(new)

    def _submit(self, run_ids: list[str]) -> None:
        if not run_ids:
            return
        ray = self._ray
        resources = (dict(num_gpus=self.gpus_per_run, num_cpus=1) if self.use_gpus
                     else dict(num_gpus=0, num_cpus=self.cpus_per_run))
        threads = self.slots[0].threads
        # retry_exceptions stays off: a run's own failure is recorded by the worker, never retried
        # by Ray; only a dead worker process (or node) makes Ray run the task again.
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False, **resources)(train_run_task)
        for run_id in run_ids:
            ref = task.options(name=f"golf:{self.sweep}:{run_id}").remote(
                self.db, run_id, self.name_prefix, self.lease_s, self.poll_s, str(self.runs_dir), self.wait_s,
                threads, self.train)
            self.refs[ref] = run_id

    def _pending(self) -> list:
        if not self.refs:
            return []
        _, pending = self._ray.wait(list(self.refs), num_returns=len(self.refs), timeout=0, fetch_local=False)
        return pending

    def alive(self) -> int:
        """How many tasks have not ended yet (the live view polls this)."""
        return len(self._pending())

    def wait(self) -> list[int]:
        """Wait for every task; 0 per task that returned, 1 per task that Ray gave up on or that
        stop() cancelled (its error is logged and kept in `results`). Disconnects afterwards."""
        if self._codes is None:  # stop() collects them before it disconnects
            try:
                self._codes = self._collect()
            finally:
                self.close()
        return self._codes

    def _collect(self, ended_only: bool = False) -> list[int]:
        """0 or 1 per task as wait() says; `ended_only`: a task still going counts as 1, unwaited."""
        ray = self._ray
        going = set(self._pending()) if ended_only else set()
        codes = []
        for ref, run_id in self.refs.items():
            if ref in going:
                codes.append(1)
                continue
            try:
                self.results[run_id] = ray.get(ref)
                codes.append(0)
            except ray.exceptions.RayError as exc:
                self.results[run_id] = exc
                log.error("Ray task of run %s ended with %s", run_id, exc)
                codes.append(1)
        return codes

    def stop(self, timeout_s: float = 60.0) -> int:
        """Ctrl-C path: cancel every task (each gives its run back to the queue), wait, force-cancel
        stragglers, then release what a killed task still held. Returns runs released here."""
        ray = self._ray
        if ray is None:
            return 0
        pending = self._pending()
        try:
            for ref in pending:
                ray.cancel(ref)
            if pending:
                _, pending = ray.wait(pending, num_returns=len(pending), timeout=timeout_s, fetch_local=False)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            pass
        for ref in pending:
            ray.cancel(ref, force=True)
        store = Store(self.db)
        try:  # what a force-cancelled task still held
            return store.release_worker_runs(reason="launcher stopped", name_prefix=self.name_prefix)
        finally:
            store.close()
            try:  # every task has ended: what each ended with, for a wait() after the disconnect
                self._codes = self._collect(ended_only=True)
            finally:
                self.close()

    def close(self) -> None:
        """Disconnect; a local cluster started by connect() goes down with it."""
        if self._owns_ray and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False
