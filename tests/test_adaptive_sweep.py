"""`golf sweep` with adaptive seeds, for real: tiny runs on CPU workers, a variant with a learning rate
30x too high stops at `min` seeds while an undecided one gets another seed."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sweeper.store import Store

REPO = Path(__file__).resolve().parent.parent
# A 4-layer tiny model for 20 steps (~5-10 s a run on one core): val_loss ~9.4 with seed SD ~0.08;
# matrix_lr 1.2 (30x) ends ~2.3 nats worse, matrix_lr 0.08 ~0.15 better.
FAST = dict(num_layers=4, train_batch_tokens=2048, iterations=20, warmdown_iters=5, val_loss_every=20,
            train_log_every=10, val_max_tokens=4096, val_batch_size=4096, warmup_steps=0)


def test_hopeless_variant_stops_at_min_seeds_while_an_undecided_one_goes_on(tmp_path, golf_data_dir):
    spec = tmp_path / "lr.yaml"
    spec.write_text(json.dumps({
        "name": "lr", "base": "tiny", "config": FAST, "seeds": {"min": 2, "max": 3, "until": "decided", "baseline_ratio": 1},
        "min_effect": 0.3,
        "variants": {"baseline": {}, "hot": {"matrix_lr": 1.2}, "warmer": {"matrix_lr": 0.08}}}))
    url = f"sqlite:///{tmp_path / 'r.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "cli", "sweep", str(spec), "--db", url, "--workers", "2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    seeds = {}
    for r in Store(url).list_runs("lr"):
        assert r.status == "finished", r
        seeds.setdefault(r.variant, []).append(r.seed)
    assert sorted(seeds["hot"]) == [0, 1]  # decided at its first look
    assert sorted(seeds["warmer"]) == [0, 1, 2]  # undecided after 2: one more seed, then out of seeds at max
    assert sorted(seeds["baseline"]) == [0, 1, 2]  # as many as the furthest comparison
    assert "hot: worse after 2 seeds" in done.stdout or "hot: futile after 2 seeds" in done.stdout
    assert "seeds_state" in done.stdout  # the ranking says each variant's state
    # Later, `golf report` replays the decisions from the design stored with the sweep: the same states.
    from typer.testing import CliRunner

    from cli import app
    shown = CliRunner().invoke(app, ["report", "lr", "--db", url, "--threshold", "val_loss=9.9", "--format", "json"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    rows = {r["variant"]: r for r in json.loads(shown.stdout)}
    assert rows["baseline"]["seeds_state"] == "baseline"
    assert rows["hot"]["seeds_state"] in ("worse", "futile")
    assert f"hot: {rows['hot']['seeds_note']}" in done.stdout  # word for word what the sweep printed
    assert rows["warmer"]["seeds_state"] in ("better", "worse", "out of seeds")  # decided at its last look
    table = CliRunner().invoke(app, ["report", "lr", "--db", url, "--threshold", "val_loss=9.9"], env={"COLUMNS": "250"})
    assert "seeds_state" in table.stdout and rows["warmer"]["seeds_state"] in table.stdout
