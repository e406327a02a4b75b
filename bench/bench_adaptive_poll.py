"""What one tick of `golf sweep --adaptive` reads from the store: the sweep's runs, polled once a second.

    python bench/bench_adaptive_poll.py [--runs 1000]

Queues `--runs` tiny configs in a fresh SQLite file and times the full `list_runs` (every column, config
JSON parsed; what each tick read twice before) against `run_outcomes` (variant, seed, status, one final
metric: what it reads once now).
"""

import argparse
import tempfile
import time
from pathlib import Path

from model.config import TrainConfig
from sweeper.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--reads", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'poll.db'}")
        configs = [TrainConfig.preset("tiny", seed=i % 100, matrix_lr=0.01 * (1 + i // 100)) for i in range(args.runs)]
        store.enqueue_many("poll", [dict(variant=f"v{i // 100}", seed=c.seed, key=c.run_key(), config=c.to_dict())
                                    for i, c in enumerate(configs)])
        for name, read in (("list_runs", lambda: store.list_runs("poll")),
                           ("run_outcomes", lambda: store.run_outcomes("poll", "val_loss"))):
            read()
            start = time.perf_counter()
            for _ in range(args.reads):
                read()
            print(f"{name:>13}: {(time.perf_counter() - start) / args.reads * 1000:.1f} ms per read of {args.runs} runs")
        store.close()


if __name__ == "__main__":
    main()
