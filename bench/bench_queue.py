"""Queue throughput: N real worker processes drain M no-op runs from one store.

    python bench/bench_queue.py [--runs 400] [--workers 1 4] [--db sqlite|URL]

Training is replaced by `no_training` below (workers get `--train bench_queue:no_training`), so
what is measured is the store's cost per run: claim, attempt row, eval batch, heartbeat, finish (about 5 transactions).
Prints runs/s per worker count and the ratio to one worker; worker start-up (torch import) is
excluded by timing from the first claim to the last finish recorded in the store.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from model.config import TrainConfig  # noqa: E402
from model.events import Eval, Final  # noqa: E402
from sweeper.store import Store  # noqa: E402


def no_training(config: TrainConfig, on_event, out_dir) -> Final:
    """model.train's contract at no cost: one eval and the final metrics."""
    on_event(Eval(1, 1, 0.0, 7.0, 3.5, 1000))
    final = Final(1, 0.0, 0.0, 1, 0.0, 7.0, 3.5, 7.0, 3.5, 1, False)
    on_event(final)
    return final


def drain(url: str, runs: int, workers: int) -> tuple[float, float]:
    """(seconds from first start to last finish, wall seconds including process start-up)."""
    store = Store(url)
    sweep = f"bench{workers}-{time.time_ns()}"
    config = TrainConfig.preset("tiny", iterations=1, val_loss_every=1)
    store.enqueue_many(sweep, [dict(variant="v", seed=i, key=f"k{i}", config=config.replace(seed=i).to_dict())
                               for i in range(runs)])
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'bench'}", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "sweeper.run.worker", "--db", url, "--name", f"b{i}",
                               "--sweep", sweep, "--exit-when-idle", "--poll", "0.1",
                               "--train", "bench_queue:no_training"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - start
    counts = store.status_counts(sweep)[sweep]
    assert counts == {"finished": runs}, counts
    attempts = [a for r in store.list_runs(sweep) for a in store.run_detail(r.id)[2]]
    first = min(datetime.fromisoformat(a["started_at"]) for a in attempts)
    last = max(datetime.fromisoformat(a["ended_at"]) for a in attempts)
    return max((last - first).total_seconds(), 1.0), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a temp file) or a store URL")
    args = parser.parse_args()
    base = None
    for n in args.workers:
        url = args.db if args.db != "sqlite" else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        busy_s, wall_s = drain(url, args.runs, n)
        rate = args.runs / busy_s
        base = base or rate
        print(f"workers={n} runs={args.runs} drain={busy_s:.1f}s ({rate:.0f} runs/s, x{rate / base:.2f} vs "
              f"{args.workers[0]} worker) wall incl. start-up={wall_s:.1f}s")


if __name__ == "__main__":
    main()
