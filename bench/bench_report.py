"""Time `golf report`'s load + analysis on a synthetic store (default 5,000 runs x 200 evals).

Usage: python bench/bench_report.py [RUNS] [EVALS]   -- prints build, load and summarize times.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sweeper import report
from sweeper.results import load
from sweeper.store import Store


def main(n_runs: int = 5000, n_evals: int = 200) -> None:
    db = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    store = Store(db)
    store.ensure_sweep("bench", threshold_metric="val_loss", threshold_value=3.3)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    steps = np.arange(1, n_evals + 1) * 10
    for i in range(n_runs):
        speed = 1.0 + 0.02 * (i % 50) + rng.normal(0, 0.01)
        times = steps * 0.1 * speed
        loss = 3.0 + 5.0 / np.sqrt(steps) + rng.normal(0, 0.005, n_evals)
        evals = [dict(step=int(s), train_time_s=float(t), val_loss=float(v)) for s, t, v in zip(steps, times, loss)]
        store.upsert_imported_run("bench", f"k{i}", "h", f"v{i % 50}", i // 50, evals,
                                  {"val_loss": float(loss[-1]), "val_bpb": float(loss[-1]) / 2}, "bench")
    print(f"build store {n_runs} runs x {n_evals} evals: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    res = load("bench", db)
    t1 = time.perf_counter()
    summary = res.summary
    t2 = time.perf_counter()
    print(f"load: {t1 - t0:.2f} s  summarize: {t2 - t1:.2f} s  total: {t2 - t0:.2f} s  "
          f"({len(res.curves)} eval rows, {len(summary)} variants)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
