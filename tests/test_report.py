"""Analysis tests on hand-built frames, statistics against scipy, and the fixture through the store."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sweeper import report

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def _curves(rows):
    return pd.DataFrame(rows, columns=["run_id", "variant", "step", "train_time_s", "val_loss"]).assign(current=True)


def test_interpolation_first_below_exact_touch_nonmonotone_and_censoring():
    c = _curves([
        ("a", "v", 0, 0.0, 4.0), ("a", "v", 10, 10.0, 3.0), ("a", "v", 20, 20.0, 2.0),   # crosses 2.5 at 15
        ("b", "v", 0, 5.0, 2.0), ("b", "v", 10, 10.0, 1.0),                               # already below at 5
        ("c", "v", 0, 0.0, 3.0), ("c", "v", 10, 10.0, 2.5),                               # exact touch at 10
        ("d", "v", 0, 0.0, 3.0), ("d", "v", 10, 10.0, 2.6), ("d", "v", 20, 20.0, 2.9),
        ("d", "v", 30, 30.0, 2.4),                                                        # non-monotone: 20->30
        ("e", "v", 0, 0.0, 3.0), ("e", "v", 10, 12.0, 2.8),                               # never: censored at 12
    ])
    t = report.time_to_threshold(c, 2.5).set_index("run_id")
    assert t.loc["a", "ttt"] == pytest.approx(15.0)
    assert t.loc["b", "ttt"] == pytest.approx(5.0)
    assert t.loc["c", "ttt"] == pytest.approx(10.0)
    assert t.loc["d", "ttt"] == pytest.approx(20 + 10 * 0.4 / 0.5)
    assert not t.loc["e", "reached"] and t.loc["e", "ttt"] == 12.0
    assert t["reached"].sum() == 4
    s = report.time_to_threshold(c, 2.5, x="step").set_index("run_id")
    assert s.loc["a", "ttt"] == pytest.approx(15.0)


def test_grid_average_with_different_eval_times():
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 1, 10.0, 2.0),
                 ("b", "v", 0, 0.0, 4.0), ("b", "v", 1, 4.0, 3.2), ("b", "v", 2, 10.0, 2.0)])
    # mean curve at t: a=4-0.2t; b=4-0.2t up to 4 then 3.2-0.2(t-4) -> identical lines; mean crosses 3.0 at 5
    assert report._grid_mean_crossing(c, "val_loss", 3.0, "train_time_s") == pytest.approx(5.0, abs=0.05)


def test_statistics_match_scipy():
    vals = np.array([10.0, 12.0, 11.0, 13.5])
    m, lo, hi = report.mean_ci(vals)
    ref = stats.t.interval(0.95, len(vals) - 1, loc=vals.mean(), scale=stats.sem(vals))
    assert m == pytest.approx(vals.mean()) and (lo, hi) == pytest.approx(ref)
    med, _ = report.km_estimates([1, 2, 3, 4, 5], [True] * 5)
    assert med == pytest.approx(3.0)


def _hand_store_frames():
    rows, runs = [], []
    for v, speed, finals in (("baseline", 1.0, [3.0, 3.01, 2.99]), ("fast", 0.8, [2.9, 2.91, 2.92])):
        for seed, fl in enumerate(finals):
            rid = f"{v}{seed}"
            runs.append(dict(run_id=rid, variant=v, seed=seed, status="finished", val_loss=fl, val_bpb=fl / 2,
                             quant_val_bpb=np.nan, artifact_bytes=np.nan))
            for k in range(6):
                rows.append((rid, v, k * 10, (k * 10 + seed) * speed, 4.0 - 0.25 * k))
    return pd.DataFrame(runs), _curves(rows)


def test_summary_welch_and_ranking():
    runs, curves = _hand_store_frames()
    s = report.summarize(runs, curves, 3.2)
    assert list(s["variant"]) == ["fast", "baseline"]
    fast = s.set_index("variant").loc["fast"]
    t = report.time_to_threshold(curves, 3.2).set_index("run_id")["ttt"]
    ref = stats.ttest_ind(t[["fast0", "fast1", "fast2"]], t[["baseline0", "baseline1", "baseline2"]], equal_var=False)
    assert fast["test"] == "welch_t" and fast["p_value"] == pytest.approx(ref.pvalue)
    # baseline never reaches 2.9 (last eval dropped) -> censored -> log-rank against scipy
    cut = curves[~(curves["variant"].eq("baseline") & curves["step"].eq(50))]
    s2 = report.summarize(runs, cut, 2.9).set_index("variant")
    assert s2.loc["baseline", "reached"] == 0 and s2.loc["fast", "reached"] == 3
    assert s2.loc["fast", "test"] == "logrank"
    tt = report.time_to_threshold(cut, 2.9)
    f, b = tt[tt["variant"] == "fast"], tt[tt["variant"] == "baseline"]
    ref = stats.logrank(stats.CensoredData(uncensored=f["ttt"].to_numpy()), stats.CensoredData(right=b["ttt"].to_numpy()))
    assert s2.loc["fast", "p_value"] == pytest.approx(ref.pvalue)
    assert list(s2.index) == ["fast", "baseline"]  # not-reached after reached


def test_fixture_crossing_times_through_store_and_cli(tmp_path):
    md = FIXTURES / "modded-nanogpt-value-embeddings" / "results.md"
    assert md.exists(), f"fixture missing: {md}"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    golf = [str(Path(sys.executable).parent / "golf")]
    subprocess.run(golf + ["import", str(md), "--sweep", "ve", "--db", db], check=True, capture_output=True)
    from sweeper.results import load
    res = load("ve", db)
    t = report.time_to_threshold(res.curves[res.curves["current"]], 2.92)
    t = t.merge(res.runs[["run_id", "seed"]], on="run_id").set_index(["variant", "seed"])
    # the fixture README's crossing times (header `## 13-1` -> variant 13, seed 1)
    expected = {("16", 0): 1410.6, ("15", 0): 1422.4, ("19", 0): 1424.7, ("17", 0): 1428.2,
                ("13", 0): 1435.6, ("18", 0): 1444.0, ("13", 1): 1428.0}
    for key, secs in expected.items():
        assert t.loc[key, "reached"], key
        assert t.loc[key, "ttt"] == pytest.approx(secs, abs=0.5), key
    for v in range(2, 13):
        assert not t.loc[str(v), "reached"].any(), v
    for fmt in ("json", "csv", "markdown", "table"):
        out = subprocess.run(golf + ["report", "ve", "--threshold", "2.92", "--format", fmt, "--db", db],
                             check=True, capture_output=True, text=True).stdout
        assert out.strip()
        if fmt == "json":
            data = json.loads(out)
            assert {"variant", "runs", "reached", "ttt_mean_s", "p_value", "test"} <= set(data[0])


def test_rules_and_plot(tmp_path):
    runs, curves = _hand_store_frames()
    s = report.summarize(runs, curves, 3.2)
    g = report.apply_rule(s, runs, curves, "golf", alpha=0.05, margin=0.005).set_index("variant")
    fast = runs[runs.variant == "fast"].val_loss.to_numpy()
    base = runs[runs.variant == "baseline"].val_loss.to_numpy()
    ref = stats.ttest_ind(fast, base - 0.005, equal_var=False, alternative="less").pvalue
    assert g.loc["fast", "rule_p_value"] == pytest.approx(ref) and g.loc["fast", "verdict"].startswith("record")
    sp = report.apply_rule(s, runs, curves, "speedrun", target=2.95, alpha=0.05).set_index("variant")
    assert sp.loc["fast", "verdict"].startswith("record") and sp.loc["baseline", "verdict"].startswith("no")
    assert sp.loc["fast", "target_first_step"] is not None
    from sweeper.plots import plot_curves
    out = tmp_path / "c.png"
    plot_curves(curves, str(out), threshold=3.2)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_results_load_through_store(tmp_path):
    from sweeper.results import load
    from sweeper.store import Store
    db = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(db)
    store.ensure_sweep("s", threshold_metric="val_loss", threshold_value=3.2)
    runs, curves = _hand_store_frames()
    for r in runs.to_dict("records"):
        ev = curves[curves.run_id == r["run_id"]][["step", "train_time_s", "val_loss"]].to_dict("records")
        store.upsert_imported_run("s", r["run_id"], "h", r["variant"], r["seed"], ev,
                                  {"val_loss": r["val_loss"], "val_bpb": r["val_bpb"]}, "test")
    res = load("s", db)
    assert len(res.runs) == 6 and len(res.curves) == 36
    assert list(res.summary["variant"]) == ["fast", "baseline"]
    from sweeper.errors import GolfError
    with pytest.raises(GolfError, match="no sweep"):
        load("missing", db)
