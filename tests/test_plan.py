"""`golf plan` on real imported runs: the seed noise and power figures match independent numbers."""

import json
import os
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats
from statsmodels.stats.power import TTestIndPower

from sweeper.importer import parse_file

REPO = Path(__file__).resolve().parents[1]
VE = REPO / "tests" / "fixtures" / "modded-nanogpt-value-embeddings"


def golf(*args: str) -> subprocess.CompletedProcess:
    """The real command line in a child process (exit codes, error lines)."""
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "COLUMNS": "250"})


def golf_here(*args: str):
    """The same commands in this process: one interpreter start for the whole module."""
    from typer.testing import CliRunner

    from cli import app
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def ttest_db(tmp_path_factory):
    """The 28 + 37 repeated-seed runs of two modded-nanogpt configs, imported with `golf import`."""
    db = f"sqlite:///{tmp_path_factory.mktemp('plan') / 'results.db'}"
    done = golf_here("import", str(VE / "t-test-results.md"), "--sweep", "tt", "--db", db)
    assert done.exit_code == 0, done.output
    return db


def _finals() -> dict[str, np.ndarray]:
    runs = parse_file(VE / "t-test-results.md").runs
    return {v: np.array([r.final["val_loss"] for r in runs if r.variant == v]) for v in ("25", "26")}


def _power_by_quadrature(d: float, n: int, alpha: float) -> float:
    """Two-sided two-sample t-test power with n per arm, integrating over the variance estimate."""
    df, ncp = 2 * n - 2, d * math.sqrt(n / 2)
    c = stats.t.ppf(1 - alpha / 2, df)
    f = lambda v: (stats.norm.sf(c * math.sqrt(v / df) - ncp) + stats.norm.cdf(-c * math.sqrt(v / df) - ncp)) \
        * stats.chi2.pdf(v, df)
    return integrate.quad(f, 0, np.inf, limit=200)[0]


def test_plan_json_matches_statsmodels_and_scipy(ttest_db):
    done = golf_here("plan", "tt", "--db", ttest_db, "--format", "json", "--effect", "0.001", "--alpha", "0.01",
                "--baseline", "25")
    assert done.exit_code == 0, done.output
    final = json.loads(done.output)[0]
    assert set(final) >= {"metric", "sd", "sd_runs", "mde", "seeds_needed"}
    finals = _finals()
    assert [len(v) for v in finals.values()] == [28, 37]
    # Pooled within-variant SD, computed here from the parsed logs: sum of squares over 65 - 2 df.
    ss = sum(((v - v.mean()) ** 2).sum() for v in finals.values())
    sd = math.sqrt(ss / 63)
    assert final["metric"] == "val_loss" and final["sd_runs"] == 65
    assert final["sd"] == pytest.approx(sd, rel=1e-9)
    assert final["baseline_sd"] == pytest.approx(finals["25"].std(ddof=1), rel=1e-9)
    power = TTestIndPower()
    assert _power_by_quadrature(10.0, 2, 0.01) == pytest.approx(power.power(10.0, 2, 0.01), abs=1e-9)
    for n in (3, 5, 10, 20):
        d = power.solve_power(effect_size=None, nobs1=n, alpha=0.01, power=0.8, ratio=1.0)
        assert final["mde"][str(n)] == pytest.approx(d * sd, rel=1e-5)
    for n in (2, 3, 5, 10, 20):
        # The t-test's power at the printed MDE is the 0.8 asked for (statsmodels' solve_power
        # cannot say so at 2 seeds: it stops at d = 10, where the power is 0.63).
        assert _power_by_quadrature(final["mde"][str(n)] / sd, n, 0.01) == pytest.approx(0.8, abs=1e-6)
    n_needed = power.solve_power(effect_size=0.001 / sd, nobs1=None, alpha=0.01, power=0.8, ratio=1.0)
    assert final["seeds_needed"] == math.ceil(n_needed)


def test_plan_table_and_time_to_threshold(ttest_db):
    done = golf_here("plan", "tt", "--db", ttest_db, "--threshold", "2.92", "--effect-s", "10", "--format", "json")
    assert done.exit_code == 0, done.output
    final, ttt = json.loads(done.output)
    assert ttt["metric"] == "ttt_s(val_loss<=2.92)"
    # Censoring-aware: larger than the SD of the reached runs alone, which leaves out the slow ones.
    assert "censoring" in ttt["method"] and 10 < ttt["sd"] < 20
    table = golf_here("plan", "tt", "--db", ttest_db, "--threshold", "2.92")
    assert table.exit_code == 0, table.output
    assert "MDE ttt_s(val_loss<=2.92)" in table.output and "censoring" in table.output


def test_plan_noise_lines_stay_indented_when_wrapped_at_80_columns(ttest_db):
    out = subprocess.run([sys.executable, str(REPO / "cli.py"), "plan", "tt", "--db", ttest_db, "--threshold", "2.92"],
                         capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, "COLUMNS": "80"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    noise = lines[lines.index(next(x for x in lines if x.startswith("  val_loss: sd"))):
                  lines.index(next(x for x in lines if x.startswith("┏")))]
    assert len(noise) > 2 and all(x.startswith("  ") and len(x) <= 80 for x in noise), noise


def test_plan_with_too_few_runs_says_how_many_it_needs(tmp_path):
    # Two runs of one config (df 1): the first two sections of the t-test collection.
    text = (VE / "t-test-results.md").read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(text) if line.startswith("## 25 ")]
    log = tmp_path / "two.md"
    log.write_text("".join(text[starts[0]:starts[2]]))
    db = f"sqlite:///{tmp_path / 'few.db'}"
    assert golf_here("import", str(log), "--sweep", "two", "--db", db).exit_code == 0
    done = golf_here("plan", "two", "--db", db, "--format", "json")
    assert done.exit_code == 0, done.output
    final = json.loads(done.output)[0]
    assert final["sd"] is None and final["mde"]["5"] is None and final["sd_runs"] == 2
    assert "need 3" in final["note"] and "run 2 more seed(s)" in final["note"]
    bad = golf("plan", "two", "--db", db, "--metric", "loss")
    assert bad.returncode == 2 and "--metric 'loss'" in bad.stderr


def test_sweep_dry_run_estimates_noise_from_stored_runs_of_the_baseline_config(tmp_path):
    """`golf sweep SPEC --dry-run` beside a store that holds finished runs of the spec's baseline
    config (under another sweep): the noise table, not a traceback (found on a fresh walkthrough:
    it called a Store method that no longer existed whenever ./results.db was there)."""
    from sweeper.spec import expand, load_spec
    from sweeper.store import Store
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nbase: tiny\nseeds: 4\nvariants:\n  baseline: {}\n  vr: {value_residual: true}\n")
    db = f"sqlite:///{tmp_path / 'results.db'}"
    store = Store(db)
    base = [p for p in expand(load_spec(spec)).plans if p.variant == "baseline"]
    store.enqueue_many("earlier", [dict(variant="baseline", seed=p.seed, key=p.key, config=p.config.to_dict())
                                   for p in base])
    for i in range(len(base)):
        run = store.claim("w")
        store.finish_run(run.id, 1, {"val_loss": 4.80 + 0.01 * i, "steps": 40})
    out = subprocess.run([sys.executable, str(REPO / "cli.py"), "sweep", str(spec), "--dry-run", "--db", db],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "COLUMNS": "120"})
    assert out.returncode == 0, out.stderr
    assert "4 stored run(s) of this spec's baseline config" in out.stdout and "MDE val_loss" in out.stdout
