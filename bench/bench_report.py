"""Time `golf report`'s work on a synthetic store (default 5,000 runs x 200 evals, 50 variants).

    python bench/bench_report.py [--runs N] [--evals M] [--db PATH] [--repeat K]

Prints the time to build the store, then for `load` (runs + curves from the store), `summarize` (the
report table) and `render` (the rich table as `golf report` prints it): the best of K repeats in
wall-clock seconds and in CPU seconds of this process (steadier on a shared machine). The first
load is printed apart: it is what one `golf report` pays (a fresh process: imports included).
--db keeps the store in PATH and reuses it when it already holds the sweep (building takes ~20 s).
"""

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from sweeper.report import table_view as report_view
from sweeper.report.notebook import load
from sweeper.store import Store


def build(db: str, n_runs: int, n_evals: int) -> None:
    """Fill `db` with sweep 'bench': 50 variants of different speed, noisy loss curves."""
    store = Store(db)
    store.ensure_sweep("bench", threshold_metric="val_loss", threshold_value=3.3)
    rng = np.random.default_rng(0)
    steps = np.arange(1, n_evals + 1) * 10
    for i in range(n_runs):
        speed = 1.0 + 0.02 * (i % 50) + rng.normal(0, 0.01)
        times = steps * 0.1 * speed
        loss = 3.0 + 5.0 / np.sqrt(steps) + rng.normal(0, 0.005, n_evals)
        evals = [dict(step=int(s), train_time_s=float(t), val_loss=float(v)) for s, t, v in zip(steps, times, loss)]
        store.upsert_imported_run("bench", f"k{i}", "h", f"v{i % 50}", i // 50, evals,
                                  {"val_loss": float(loss[-1]), "val_bpb": float(loss[-1]) / 2}, "bench")
    store.close()


def timed(fn):
    """(result, wall seconds, CPU seconds) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def render(summary) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(report_view.to_rich_table(summary, title="bench"))
    return console.file.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--db", help="store file to build once and reuse (default: a new temporary file)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "bench.db"
    db = f"sqlite:///{path}"
    if not (path.exists() and Store(db).get_sweep("bench")):
        _, wall, _ = timed(lambda: build(db, args.runs, args.evals))
        print(f"build store {args.runs} runs x {args.evals} evals: {wall:.1f} s")
    res, wall, cpu = timed(lambda: load("bench", db))
    print(f"first load: {wall:.2f} s wall, {cpu:.2f} s CPU ({len(res.runs)} runs, {len(res.curves):,} eval rows)")
    best = {}
    for _ in range(args.repeat):
        res, *load_t = timed(lambda: load("bench", db))
        summary, *sum_t = timed(lambda: res.summary)
        _, *ren_t = timed(lambda: render(summary))
        for name, (wall, cpu) in (("load", load_t), ("summarize", sum_t), ("render", ren_t)):
            best[name] = (min(best.get(name, (wall, cpu))[0], wall), min(best.get(name, (wall, cpu))[1], cpu))
    total = tuple(sum(best[k][i] for k in best) for i in (0, 1))
    print("best of", args.repeat, "  ".join(f"{k}: {w:.2f} s ({c:.2f} CPU)" for k, (w, c) in best.items()),
          f"  total: {total[0]:.2f} s ({total[1]:.2f} CPU)  [{len(summary)} variants]")


if __name__ == "__main__":
    main()
