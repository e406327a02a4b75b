"""Prints how long Store.runs_frame / curves_frame take on 5,000 runs x 200 evals (SQLite file)."""
import sys
import tempfile
import time
import uuid

from sqlalchemy import insert

from sweeper.store import Store, evals_t, runs_t


def main(n_runs: int = 5000, n_evals: int = 200) -> None:
    path = tempfile.mktemp(suffix=".db")
    store = Store(f"sqlite:///{path}")
    store.ensure_sweep("bench")
    ids = [uuid.uuid4().hex[:12] for _ in range(n_runs)]
    with store.engine.begin() as conn:
        conn.execute(insert(runs_t), [dict(id=i, sweep="bench", variant=f"v{k % 20}", seed=k, key=i, status="finished",
                                           attempts=1, max_attempts=1, source="golf", val_loss=3.0) for k, i in enumerate(ids)])
        conn.execute(insert(evals_t), [dict(run_id=i, attempt=1, step=s * 10, train_time_s=s * 1.0, val_loss=4.0 - s * 0.001,
                                            val_bpb=1.2) for i in ids for s in range(n_evals)])
    for name in ("runs_frame", "curves_frame"):
        t0 = time.perf_counter()
        df = getattr(store, name)("bench")
        print(f"{name}: {len(df):,} rows in {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
