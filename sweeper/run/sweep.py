"""A sweep from spec to workers: its name, its runs in seed-major order, what is left to train, the
launcher that trains them, and the cost estimate. `golf sweep` (cli.py) only parses, asks and
renders around these.

    plan = plan_sweep(store, spec, expansion, spec_text, base, name)   # refuses another spec's name
    launcher = open_launcher("local", store, plan, workers=None, lease_s=60.0)
    estimate = estimate_cost(plan, launcher)
    enqueue(store, plan); launcher.start(); ...; launcher.wait()
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol

from sweeper.names import check_name, confined
from sweeper.run.estimate import Estimate, estimate_sweep, is_gpu_sized
from sweeper.run.local_launcher import LocalLauncher, WorkerSlot, plan_slots
from sweeper.run.spec_binding import check_same_spec
from sweeper.run.worker import import_train
from sweeper.spec import Expansion, RunPlan, Spec
from sweeper.store import Store

# Where `golf sweep` keeps the logs of its local workers, one folder per sweep.
LOG_ROOT = Path(".golf/logs")


class Launcher(Protocol):
    """Starts the workers that train a sweep's queued runs and watches them (local processes,
    Ray tasks). The store's queue stays the single source of truth for which run is whose."""

    log_dir: Path

    def connect(self) -> list[WorkerSlot]:
        """The slots that train runs at the same time (connecting to a cluster if need be)."""

    def describe(self) -> str:
        """One line for the terminal: where the runs go and where their logs are."""

    def start(self) -> None:
        """Start training."""

    def add_runs(self) -> int:
        """Train the runs queued since start() too (adaptive seeds add them while the sweep runs);
        returns how many were handed to workers here (0 where workers claim from the queue)."""

    def alive(self) -> int:
        """How many workers (or tasks) have not ended yet."""

    def wait(self) -> list[int]:
        """Wait for every worker; one exit code each (0 = fine)."""

    def stop(self, timeout_s: float = 60.0) -> int:
        """Ctrl-C: make every worker give its run back; returns runs released by the launcher."""


def sweep_name(spec: Spec, base: Optional[str], name: Optional[str] = None) -> str:
    """The spec's name; with a --base other than the spec's, NAME-BASE: another base is another
    experiment, and its runs must never be averaged with the spec's own. A --name must be usable as
    a folder name (it names the sweep's log and artifact folders)."""
    if name is not None:
        return check_name(name, "--name")
    return spec.name if base in (None, spec.base) else f"{spec.name}-{base}"


@dataclass
class SweepPlan:
    """What a sweep will do: `plans` in seed-major order (every variant's first seed before any
    second seed, so a sweep stopped half-way already compares all variants) and the status of
    each run key the store already holds."""
    name: str
    spec_text: str
    expansion: Expansion
    plans: list[RunPlan]
    stored: dict[str, str] = field(default_factory=dict)
    # adaptive seeds (sweeper.run.adaptive_sweep.AdaptiveSweep): `plans` holds the stored runs and
    # those the policy starts with; it adds seeds while the sweep runs
    seeds_policy: Optional[object] = None

    @property
    def pending(self) -> list[RunPlan]:
        """Runs still to train: new ones and those queued or running."""
        return [p for p in self.plans if self.stored.get(p.key, "queued") in ("queued", "running")]

    @property
    def new(self) -> int:
        """Runs the store does not hold yet."""
        return sum(p.key not in self.stored for p in self.plans)

    @property
    def gpus_per_run(self) -> int:
        return max(p.config.gpus_per_run for p in self.plans)


def plan_sweep(store: Store, spec: Spec, expansion: Expansion, spec_text: str, base: Optional[str] = None,
               name: Optional[str] = None) -> SweepPlan:
    """The sweep of an expanded spec, against what `store` already holds. A sweep name already
    bound to another spec is refused (GolfError suggesting --name); the same spec resumes."""
    sweep = sweep_name(spec, base, name)
    plans = sorted(expansion.plans, key=lambda p: p.seed)
    stored_runs = store.list_runs(sweep)
    check_same_spec(sweep, store.get_sweep(sweep), stored_runs, plans, expansion.threshold)
    stored = {r.key: r.status for r in stored_runs}
    policy = None
    if expansion.adaptive is not None:
        from sweeper.run.adaptive_sweep import AdaptiveSweep
        policy = AdaptiveSweep(store, sweep, expansion)
        plans = [p for p in plans if p.key in stored] + policy.next_plans()
    return SweepPlan(sweep, spec_text, expansion, plans, stored, policy)


def enqueue(store: Store, plan: SweepPlan) -> int:
    """Record the sweep (spec text, threshold, baseline, adaptive design) and queue its runs;
    returns runs added."""
    threshold = plan.expansion.threshold
    # "null": fixed seeds (a resumed sweep that was adaptive before is not any more)
    design = plan.seeds_policy.design_json() if plan.seeds_policy is not None else "null"
    store.ensure_sweep(plan.name, plan.spec_text, threshold.metric if threshold else None,
                       threshold.value if threshold else None, baseline=plan.expansion.baseline,
                       adaptive_design=design)
    return store.enqueue_many(plan.name, [dict(variant=p.variant, seed=p.seed, key=p.key, config=p.config.to_dict())
                                          for p in plan.plans])


def open_launcher(kind: str, store: Store, plan: SweepPlan, workers: Optional[int] = None, lease_s: float = 60.0,
                  ray_address: Optional[str] = None, train: Optional[str] = None, cores: Optional[int] = None,
                  threads: Optional[int] = None) -> Launcher:
    """The launcher for `kind` (local | ray), connected: its slots are known. `train` is the
    workers' train function as module:function (None: model.train), checked here so that a bad
    one is one error, not one per worker. `cores`: the CPU cores the local workers may share
    (sweeper.run.threads: what other golf workers here leave); `threads`: per CPU worker. The
    workers get the store's real URL (with its password) through their environment only."""
    db_url = store.connect_url
    if train is not None:
        import_train(train)
    if kind == "ray":
        from sweeper.run.ray_launcher import RayLauncher
        launcher: Launcher = RayLauncher(db_url, plan.name, address=ray_address, gpus_per_run=plan.gpus_per_run,
                                         lease_s=lease_s, train=train, store=store)
    elif kind == "local":
        launcher = LocalLauncher(db_url, plan_slots(workers, plan.gpus_per_run, cores=cores, threads=threads),
                                 plan.name, lease_s=lease_s, log_dir=confined(LOG_ROOT, plan.name), train=train,
                                 # adaptive: workers wait for the seeds the policy adds; the sweep stops them
                                 exit_when_idle=plan.seeds_policy is None)
    else:
        raise ValueError(f"launcher must be local or ray, got {kind!r}")
    launcher.connect()
    return launcher


def estimate_cost(plan: SweepPlan, launcher: Launcher) -> Estimate:
    """Expected time per run and for the pending runs on the launcher's slots (times a few steps)."""
    slots = launcher.connect()
    return estimate_sweep(plan.pending[0].config, len(plan.pending), len(slots), slots[0].threads or 1,
                          env=slots[0].env)


def gpu_sized_on_cpu(plan: SweepPlan, launcher: Launcher) -> bool:
    """A GPU-sized preset about to train on CPU slots only (worth asking first)."""
    on_cpu = all(s.device.startswith("cpu") for s in launcher.connect())
    return on_cpu and is_gpu_sized(plan.expansion.base_name)
