"""Analysis tests on hand-built frames, statistics against scipy, and the fixture through the store."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sweeper.report import analysis as report, table_view as report_view
from sweeper.errors import GolfError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLF = [str(Path(sys.executable).parent / "golf")]
# The JSON keys promised by the report's issue (item 5).
JSON_KEYS = {"variant", "runs", "reached", "ttt_mean_s", "ttt_ci_low_s", "ttt_ci_high_s", "mean_curve_ttt_s",
             "final_val_loss_mean", "p_value", "test", "p_value_adj", "final_p_value_adj", "adjust", "ttt_rmst_s",
             "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s", "horizon_s", "rank_key"}


def _curves(rows):
    return pd.DataFrame(rows, columns=["run_id", "variant", "step", "train_time_s", "val_loss"]).assign(current=True)


def _runs(finals: dict, **extra):
    """runs frame: {run_id: (variant, final val_loss)}."""
    return pd.DataFrame([dict(run_id=r, variant=v, seed=i, status="finished", val_loss=fl, val_bpb=fl / 2, **extra)
                         for i, (r, (v, fl)) in enumerate(finals.items())])


# ---- time-to-threshold of one run ----

def test_interpolation_first_below_exact_touch_nonmonotone_and_censoring():
    c = _curves([
        ("a", "v", 0, 0.0, 4.0), ("a", "v", 10, 10.0, 3.0), ("a", "v", 20, 20.0, 2.0),   # crosses 2.5 at 15
        ("b", "v", 0, 5.0, 2.0), ("b", "v", 10, 10.0, 1.0),                               # already below at 5
        ("c", "v", 0, 0.0, 3.0), ("c", "v", 10, 10.0, 2.5),                               # exact touch at 10
        ("d", "v", 0, 0.0, 3.0), ("d", "v", 10, 10.0, 2.6), ("d", "v", 20, 20.0, 2.9),
        ("d", "v", 30, 30.0, 2.4),                                                        # non-monotone: 20->30
        ("e", "v", 0, 0.0, 3.0), ("e", "v", 10, 12.0, 2.8),                               # never: censored at 12
        ("f", "v", 0, 0.0, 3.0), ("f", "v", 10, 10.0, 2.0), ("f", "v", 20, 20.0, 2.7),
        ("f", "v", 30, 30.0, 2.2),                                                        # dips, rises, dips: first
        ("g", "v", 0, 3.0, 2.5), ("g", "v", 10, 9.0, 2.6),                                # touches at its first eval
    ])
    t = report.time_to_threshold(c, 2.5).set_index("run_id")
    assert t.loc["a", "ttt"] == pytest.approx(15.0)
    assert t.loc["b", "ttt"] == pytest.approx(5.0)
    assert t.loc["c", "ttt"] == pytest.approx(10.0)
    assert t.loc["d", "ttt"] == pytest.approx(20 + 10 * 0.4 / 0.5)
    assert not t.loc["e", "reached"] and t.loc["e", "ttt"] == 12.0
    assert t.loc["f", "ttt"] == pytest.approx(5.0)
    assert t.loc["g", "ttt"] == 3.0
    assert t["reached"].sum() == 6 and list(t.index) == sorted(t.index)
    s = report.time_to_threshold(c, 2.5, x="step").set_index("run_id")
    assert s.loc["a", "ttt"] == pytest.approx(15.0)
    # row order does not matter: shuffled rows (runs interleaved, evals out of order) give the same result
    shuffled = report.time_to_threshold(c.sample(frac=1.0, random_state=0), 2.5).set_index("run_id")
    pd.testing.assert_frame_equal(shuffled, t)


def test_rows_missing_the_metric_are_skipped_not_read_as_crossings():
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 10, 10.0, np.nan), ("a", "v", 20, 20.0, 2.0),
                 ("b", "v", 0, 0.0, np.nan)])
    t = report.time_to_threshold(c, 3.0).set_index("run_id")
    assert t.loc["a", "ttt"] == pytest.approx(10.0)  # bracketed by evals 0 and 20
    assert "b" not in t.index  # no eval with the metric: nothing to report for it


def test_kaplan_meier_with_censoring_by_hand():
    # S(10)=4/5, S(20)=3/5, 30 censored, S(40)=3/5*1/2, 50 censored -> median 40
    times, reached = [10, 20, 30, 40, 50], [True, True, False, True, False]
    assert report.KaplanMeier.fit(times, reached).median() == pytest.approx(40.0)
    rmst, _ = report.restricted_mean(times, reached, 50.0)
    assert rmst == pytest.approx(10 * 1 + 10 * 0.8 + 20 * 0.6 + 10 * 0.3)  # area under S up to the horizon
    assert np.isnan(report.KaplanMeier.fit([5, 7], [False, False]).median())
    assert report.restricted_mean([5, 7], [False, False], 6.0) == (6.0, 0.0)  # nobody reached: S = 1


def test_censored_runs_stay_in_the_summary():
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 10, 10.0, 2.0),
                 ("b", "v", 0, 0.0, 4.0), ("b", "v", 10, 8.0, 3.5)])  # b never reaches 3.0
    s = report.summarize(_runs({"a": ("v", 2.0), "b": ("v", 3.5)}), c, 3.0).iloc[0]
    assert (s["runs"], s["reached"]) == (2, 1)
    assert s["ttt_mean_s"] == pytest.approx(5.0)  # the mean is over reached runs only...
    # ...the KM restricted mean keeps b: S = 1 to 5 s, 1/2 after (b still out at 8 s), horizon 10 s (a's last eval)
    assert s["horizon_s"] == 10.0 and s["ttt_rmst_s"] == pytest.approx(5.0 * 1 + 5.0 * 0.5)


# ---- averaging curves ----

def test_grid_average_with_different_eval_times():
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 1, 10.0, 2.0),
                 ("b", "v", 0, 0.0, 4.0), ("b", "v", 1, 4.0, 3.2), ("b", "v", 2, 10.0, 2.0)])
    # mean curve at t: a=4-0.2t; b=4-0.2t up to 4 then 3.2-0.2(t-4) -> identical lines; mean crosses 3.0 at 5
    assert report._grid_mean_crossing(c, "val_loss", 3.0, "train_time_s") == pytest.approx(5.0, abs=0.05)


def test_grid_average_by_hand_on_the_common_span_only():
    # a: 4 - 0.2 t on [0, 10]; b: evals at 0, 2, 6, 12 (5, 4, 2.5, 1.0); c starts late (t=1) and sets the span
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 1, 10.0, 2.0),
                 ("b", "v", 0, 0.0, 5.0), ("b", "v", 1, 2.0, 4.0), ("b", "v", 2, 6.0, 2.5), ("b", "v", 3, 12.0, 1.0),
                 ("c", "v", 0, 1.0, 3.8), ("c", "v", 1, 10.0, 2.0)])
    blocks = report.RunBlocks.build(c, "val_loss", "train_time_s")
    grid, values = blocks.grid_curves(np.arange(3), points=10)
    assert grid[0] == 1.0 and grid[-1] == 10.0  # from the latest first eval to the earliest last eval
    assert values[1, -1] == pytest.approx(2.5 - 1.5 * 4 / 6)  # b interpolated between its own evals
    # on [2, 6]: a = 4 - 0.2t, b = 4 - 0.375(t - 2), c = 3.8 - 0.2(t - 1); mean = 3 at t = 11.35 / 2.325
    expected = (4 + 4 + 0.75 + 3.8 + 0.2 - 9) / (0.2 + 0.375 + 0.2)
    assert report._grid_mean_crossing(c, "val_loss", 3.0, "train_time_s") == pytest.approx(expected, abs=1e-9)


def test_step_aligned_average_is_reported_next_to_the_grid_one():
    # same steps, different wall-clock per step: step-averaging mixes times, the grid averages losses at one time
    c = _curves([("a", "v", 0, 0.0, 4.0), ("a", "v", 1, 10.0, 2.0),
                 ("b", "v", 0, 0.0, 4.0), ("b", "v", 1, 30.0, 2.0)])
    s = report.summarize(_runs({"a": ("v", 2.0), "b": ("v", 2.0)}), c, 3.0).iloc[0]
    assert s["step_mean_curve_ttt_s"] == pytest.approx(10.0)  # mean time 20 at step 1, mean loss 3 halfway
    # grid on [0, 10]: a = 4 - 0.2t, b = 4 - t/15 -> mean 3 at t = 2 / (0.2 + 1/15) = 7.5
    assert s["mean_curve_ttt_s"] == pytest.approx(7.5, abs=1e-9)


# ---- statistics against scipy ----

def test_statistics_match_scipy():
    vals = np.array([10.0, 12.0, 11.0, 13.5])
    m, lo, hi = report.mean_ci(vals)
    ref = stats.t.interval(0.95, len(vals) - 1, loc=vals.mean(), scale=stats.sem(vals))
    assert m == pytest.approx(vals.mean()) and (lo, hi) == pytest.approx(ref)
    assert report.KaplanMeier.fit([1, 2, 3, 4, 5], [True] * 5).median() == pytest.approx(3.0)
    a, b = [2.90, 2.91, 2.93], [3.0, 2.98, 3.01, 2.99]
    assert report.welch(a, b)[0] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert report.one_sample_t(a, 2.95)[0] == pytest.approx(stats.ttest_1samp(a, 2.95, alternative="less").pvalue)


def test_undefined_p_values_say_why_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's RuntimeWarnings on degenerate samples must not escape
        assert report.welch([3.0], [3.0, 3.1]) == (pytest.approx(np.nan, nan_ok=True), "1 run")
        assert report.welch([3.0, 3.1], [3.0]) == (pytest.approx(np.nan, nan_ok=True), "baseline: 1 run")
        assert report.welch([3.0, 3.0], [3.0, 3.0])[1] == "zero variance"
        assert report.welch([3.0, 3.0], [3.0, 3.2])[1] is None  # one constant sample is fine for Welch
        assert report.one_sample_t([2.9, 2.9], 3.0)[1] == "zero variance"
        assert report.rmst_test([5, 6], [False, False], [6, 7], [False, False], 6.0)[1] == "none reached by the horizon"
        assert report.rmst_test([5], [True], [6, 7], [True, True], 9.0)[1] == "1 run"
        runs = _runs({"b0": ("baseline", 3.0), "b1": ("baseline", 3.0), "x0": ("solo", 2.9)})
        c = _curves([(r, v, k, float(k), 4.0 - k + 0.01 * i)  # distinct curves: equal ones would count once
                     for i, (r, v) in enumerate((("b0", "baseline"), ("b1", "baseline"), ("x0", "solo")))
                     for k in range(3)])
        s = report.summarize(runs, c, 2.5).set_index("variant")
        golf = report.apply_rule(report.summarize(runs, c, 2.5), runs, c, "golf")
        speedrun = report.apply_rule(report.summarize(runs, c, 2.5), runs, c, "speedrun", target=3.5)
    solo = s.loc["solo"]
    assert np.isnan(solo["p_value"]) and solo["test"] is None and solo["p_value_note"] == "1 run"
    assert np.isnan(solo["final_p_value"]) and solo["final_p_value_note"] == "1 run"
    assert s.loc["baseline", "p_value_note"] == "baseline"
    assert "p=n/a (1 run)" in golf.set_index("variant").loc["solo", "verdict"]
    assert "p=n/a (zero variance)" in speedrun.set_index("variant").loc["baseline", "verdict"]
    table = report_view.to_markdown(s.reset_index())
    assert "n/a (1 run)" in table and "nan" not in table.lower()
    row = {r["variant"]: r for r in json.loads(report_view.to_json(s.reset_index()))}["solo"]
    assert row["p_value"] is None and row["p_value_note"] == "1 run"


# ---- the report table ----

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


def test_summary_rmst_test_and_ranking():
    runs, curves = _hand_store_frames()
    s = report.summarize(runs, curves, 3.2)
    assert list(s["variant"]) == ["fast", "baseline"]
    fast = s.set_index("variant").loc["fast"]
    t = report.time_to_threshold(curves, 3.2).set_index("run_id")["ttt"]
    # every run reached before the horizon: the RMST difference test is Welch's t on the crossing times
    ref = stats.ttest_ind(t[["fast0", "fast1", "fast2"]], t[["baseline0", "baseline1", "baseline2"]], equal_var=False)
    assert fast["test"] == "rmst_welch" and fast["p_value"] == pytest.approx(ref.pvalue)
    assert fast["p_value_adj"] == pytest.approx(ref.pvalue)  # one comparison: Holm changes nothing
    ref = stats.ttest_ind([2.9, 2.91, 2.92], [3.0, 3.01, 2.99], equal_var=False)
    assert fast["final_test"] == "welch_t" and fast["final_p_value"] == pytest.approx(ref.pvalue)
    # baseline never reaches 2.9 (last eval dropped): censored, S = 1, RMST = horizon with no variance
    cut = curves[~(curves["variant"].eq("baseline") & curves["step"].eq(50))]
    s2 = report.summarize(runs, cut, 2.9).set_index("variant")
    assert s2.loc["baseline", "reached"] == 0 and s2.loc["fast", "reached"] == 3
    horizon = s2.loc["fast", "horizon_s"]
    assert horizon == pytest.approx(min(50 * 0.8 + 2 * 0.8, 40 + 2))  # shortest follow-up: fast's last eval
    assert s2.loc["baseline", "ttt_rmst_s"] == pytest.approx(horizon)
    ft = report.time_to_threshold(cut, 2.9).set_index("run_id")["ttt"][["fast0", "fast1", "fast2"]].to_numpy()
    tstat = (ft.mean() - horizon) / (ft.std(ddof=1) / np.sqrt(3))  # df = n - 1 when one side has no variance
    assert s2.loc["fast", "p_value"] == pytest.approx(2 * stats.t.sf(abs(tstat), 2))
    assert list(s2.index) == ["fast", "baseline"]
    with pytest.raises(GolfError, match="baseline 'nope' is not a variant"):
        report.summarize(runs, curves, 3.2, baseline="nope")


def test_table_keeps_the_columns_that_fit_a_narrow_terminal():
    from rich.console import Console
    s = report.summarize(*_hand_store_frames(), 3.2)
    every = report_view.fitting_columns(s, None)
    decision = ["variant", "ttt_rmst_s", "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s", "p_value_adj"]
    for width in (60, 80, 100):  # the decision columns survive narrowing first, whatever else fits
        narrow = report_view.fitting_columns(s, width)
        assert [c for c in narrow if c in decision] == decision and len(narrow) < len(every)
    assert set(narrow) <= set(every) and report_view.fitting_columns(s, 10_000) == every
    console = Console(width=80, record=True)
    console.print(report_view.to_rich_table(s, title="t", width=80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "p_value_adj" in text and "ttt_rmst_95ci_s" in text and "steps_rmst" not in text
    assert f"{len(every) - len(report_view.fitting_columns(s, 80 - 4))} more column(s)" in text  # 4: the rank column
    # a rule's verdict is a sentence: at 80 columns it keeps its first word, and the caption says so
    ruled = report.apply_rule(s, *_hand_store_frames(), "golf", alpha=0.05, margin=0.005)
    console = Console(width=80, record=True)
    console.print(report_view.to_rich_table(ruled, title="t", width=80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80 and "verdict" in text and "p_value_adj" in text
    assert "record " in text and "record (gain" not in text and "verdict: cut before '('" in text
    never = report.summarize(*_hand_store_frames(), 0.1)  # no run reaches: time columns are all dashes
    shown = report_view.fitting_columns(never, None)
    assert "ttt_mean_s" not in shown and "ttt_rmst_s" not in shown and {"reached", "final_mean", "p_value"} <= set(shown)
    assert "ttt_mean_s" in json.loads(report_view.to_json(never))[0]


def test_when_no_run_reaches_the_ranking_falls_back_to_final_loss():
    runs, curves = _hand_store_frames()  # fast ends at ~2.91, baseline at ~3.0
    s = report.summarize(runs, curves, 0.1)
    assert list(s["reached"]) == [0, 0] and list(s["variant"]) == ["fast", "baseline"]
    fast = s.set_index("variant").loc["fast"]
    assert fast["final_test"] == "welch_t" and fast["test"] is None
    one_seed = runs[runs["seed"] == 0]
    s1 = report.summarize(one_seed, curves[curves["run_id"].isin(one_seed["run_id"])], 0.1).set_index("variant")
    assert s1.loc["fast", "final_p_value_note"] == "1 run" and s1.loc["fast", "final_test"] is None


def test_ranking_by_time_steps_final_and_fraction_reached():
    # quick: fast in wall-clock but slow per step and worst at the end; steady: the opposite
    rows = []
    for v, sec_per_step, drop_per_step, n in (("quick", 0.5, 0.1, 3), ("steady", 2.0, 0.2, 3)):
        rows += [(f"{v}{i}", v, k, k * sec_per_step * (1 + 0.01 * i), 4.0 - drop_per_step * k)
                 for i in range(n) for k in range(0, 21, 2)]
    # part2: 2 of 3 runs reach 3.0 (and fast); part1: 1 of 3 does (fastest of all)
    for v, k_reached, never in (("part2", 2, 3.5), ("part1", 1, 3.6)):  # distinct curves: equal ones count once
        for i in range(3):
            end = 2.0 if i < k_reached else never
            rows += [(f"{v}{i}", v, 0, 0.0, 4.0), (f"{v}{i}", v, 10, 1.0 + i, end)]
            if v == "part1":  # watched longer than part2 (and so not the same curves as part2's)
                rows.append((f"{v}{i}", v, 20, 4.0 + i, end - 0.1))
    curves = _curves(rows)
    finals = {"quick": 2.0, "steady": 1.0, "part2": 2.5, "part1": 3.0}
    runs = _runs({r: (v, finals[v]) for r, v in dict.fromkeys(zip(curves["run_id"], curves["variant"]))})
    order = {by: list(report.summarize(runs, curves, 3.0, baseline="steady", by=by)["variant"])
             for by in ("time", "steps", "final")}
    # time: part1/part2 were watched only 3 s, so every restricted mean stops there. Up to 3 s, part2
    # (S 1 -> 2/3 at 0.5 -> 1/3 at 1.0: 1.5 s) and part1 (2/3 from 0.5 on: 2.17 s) beat quick and steady
    # (nobody before 3 s: a tie at 3.0, broken by final loss). The old rule ranked quick first.
    s = report.summarize(runs, curves, 3.0, baseline="steady").set_index("variant")
    assert s.loc["part2", "ttt_rmst_s"] == pytest.approx(0.5 + 0.5 * 2 / 3 + 2.0 / 3)
    assert s.loc["part1", "ttt_rmst_s"] == pytest.approx(0.5 + 2.5 * 2 / 3)
    assert order["time"] == ["part2", "part1", "steady", "quick"]
    # steps: horizon step 10; steady 5, part2 5 + 5/3, part1 5 + 5 * 2/3, quick reaches at 10
    assert order["steps"] == ["steady", "part2", "part1", "quick"]
    assert order["final"] == ["steady", "quick", "part2", "part1"]
    out = subprocess.run(GOLF + ["report", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--by" in out and "time|steps|final" in out


def test_artifact_headroom_under_16mb():
    runs, curves = _hand_store_frames()
    runs["artifact_bytes"] = np.where(runs["variant"] == "fast", 15_815_847, 16_100_000)
    runs["quant_val_bpb"] = 1.2244
    s = report.summarize(runs, curves, 3.2).set_index("variant")
    assert s.loc["fast", "artifact_headroom_bytes"] == 16_000_000 - 15_815_847
    assert s.loc["baseline", "artifact_headroom_bytes"] == -100_000  # over the limit: negative headroom
    assert "artifact_headroom_bytes" in report_view.to_markdown(s.reset_index())
    plain = report.summarize(*_hand_store_frames(), 3.2)  # no export in these runs: the column is left out
    assert "artifact_headroom_bytes" not in report_view.to_markdown(plain)


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
    assert sp.loc["fast", "rule_p_value"] == pytest.approx(stats.ttest_1samp(fast, 2.95, alternative="less").pvalue)
    assert sp.loc["fast", "target_first_step"] == 50  # seed-mean loss first <= 2.95 at step 50 (2.75)
    from sweeper.report.plots import plot_curves
    out = tmp_path / "c.png"
    fig = plot_curves(curves, str(out), threshold=3.2)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert [ax.get_xlabel() for ax in fig.axes] == ["train time (s)", "step", "train time (s)"]
    for ax in fig.axes[:2]:  # the threshold is drawn in both curve panels
        assert any(list(line.get_ydata()) == [3.2, 3.2] for line in ax.get_lines())


# ---- through the store ----

def test_fixture_crossing_times_through_store_and_cli(tmp_path):
    md = FIXTURES / "modded-nanogpt-value-embeddings" / "results.md"
    assert md.exists(), f"fixture missing: {md}"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    subprocess.run(GOLF + ["import", str(md), "--sweep", "ve", "--db", db], check=True, capture_output=True)
    from sweeper.report.notebook import load
    res = load("ve", db)
    # no stored threshold: the README's `res.summary` ranks by final metric, as `golf report` does
    assert res.threshold is None and set(res.summary["rank_key"]) == {"final_mean"}
    t = report.time_to_threshold(res.curves[res.curves["current"]], 2.92)
    t = t.merge(res.runs[["run_id", "seed"]], on="run_id").set_index(["variant", "seed"]).sort_index()
    # the fixture README's crossing times (header `## 13-1` -> variant 13, seed 1)
    expected = {("16", 0): 1410.6, ("15", 0): 1422.4, ("19", 0): 1424.7, ("17", 0): 1428.2,
                ("13", 0): 1435.6, ("18", 0): 1444.0, ("13", 1): 1428.0}
    for key, secs in expected.items():
        assert t.loc[[key], "reached"].item(), key
        assert t.loc[[key], "ttt"].item() == pytest.approx(secs, abs=0.5), key
    for v in range(2, 13):
        assert not t.loc[str(v), "reached"].any(), v
    png = tmp_path / "curves.png"
    for fmt in ("json", "csv", "markdown", "table"):
        plot = ["--plot", str(png)] if fmt == "json" else []
        out = subprocess.run(GOLF + ["report", "ve", "--threshold", "2.92", "--format", fmt, "--db", db, *plot],
                             check=True, capture_output=True, text=True).stdout
        assert out.strip()
        if fmt == "json":
            data = json.loads(out)
            assert isinstance(data, list) and len(data) == res.runs["variant"].nunique()
            assert all(JSON_KEYS <= set(row) for row in data)
            by_variant = {row["variant"]: row for row in data}
            assert by_variant["16"]["ttt_mean_s"] == pytest.approx(1410.6, abs=0.5)
            assert by_variant["10"]["reached"] == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def _store_with_hand_runs(url):
    """A real store holding _hand_store_frames' runs, plus the cases the fast reader must get right:
    a NULL and a 0.0 in one column, a killed older attempt (current False) and a second sweep."""
    from sweeper.store import Store
    store = Store(url)
    store.ensure_sweep("s", threshold_metric="val_loss", threshold_value=3.2)
    runs, curves = _hand_store_frames()
    for r in runs.to_dict("records"):
        ev = [{**e, "val_bpb": e["val_loss"] / 2}
              for e in curves[curves.run_id == r["run_id"]][["step", "train_time_s", "val_loss"]].to_dict("records")]
        ev[0]["val_bpb"], ev[1]["val_bpb"] = 0.0, None
        store.upsert_imported_run("s", r["run_id"], "h", r["variant"], r["seed"], ev,
                                  {"val_loss": r["val_loss"], "val_bpb": r["val_bpb"]}, "test")
    run_id = store.list_runs("s")[0].id
    store.add_evals(run_id, 0, [{"step": 5, "train_time_s": 0.5, "val_loss": 9.0}])
    store.upsert_imported_run("other", "x", "h", "baseline", 0, [{"step": 1, "val_loss": 1.0}], {}, "test")
    return store


def test_results_load_through_store(store_url):
    from sweeper.report.notebook import load
    _store_with_hand_runs(store_url).close()
    res = load("s", store_url)
    assert len(res.runs) == 6 and len(res.curves) == 37 and (~res.curves["current"]).sum() == 1
    assert list(res.summary["variant"]) == ["fast", "baseline"]
    assert res.curves["val_bpb"].isna().sum() == 7 and (res.curves["val_bpb"] == 0.0).sum() == 6
    if store_url.startswith("sqlite"):
        # A SQLite file's curves are read by connectorx; a file: URI goes through the stdlib driver
        # instead, and both must read exactly the same frame.
        driver = load("s", store_url.replace("sqlite:///", "sqlite:///file:") + "?uri=true")
        pd.testing.assert_frame_equal(driver.curves, res.curves)
        pd.testing.assert_frame_equal(driver.summary, res.summary)
    with pytest.raises(GolfError, match="no sweep"):
        load("missing", store_url)


def test_columnar_reader_only_for_plain_sqlite_files(tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url

    from sweeper.store.frames import sqlite_file
    monkeypatch.chdir(tmp_path)
    assert sqlite_file(make_url("sqlite:////tmp/x.db")) == "/tmp/x.db"
    assert sqlite_file(make_url("sqlite:///results.db")) == str(tmp_path / "results.db")
    assert sqlite_file(make_url("sqlite://")) is None
    assert sqlite_file(make_url("sqlite:///file:x.db?mode=ro&uri=true")) is None
    assert sqlite_file(make_url("postgresql+psycopg://u@h/db")) is None


def test_reached_counts_only_runs_with_a_curve_and_says_how_many_have_none(tmp_path):
    """A finals-only import (no evals) is in `runs` but cannot reach: `reached` reads 2/2 (+1 no
    curve), cut to 2/2 on a narrow terminal; csv/json keep their columns (reached 2, runs 3)."""
    from rich.console import Console

    from sweeper.report import load
    from sweeper.store import Store
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.ensure_sweep("fo", threshold_metric="val_loss", threshold_value=3.0, baseline="base")
    for variant, seed, offset in (("base", 0, 0.0), ("base", 1, 0.01), ("vr", 0, -0.02), ("vr", 1, -0.01)):
        curve = [{"step": s, "train_time_s": float(s), "val_loss": 4 - s / 10 + offset} for s in range(15)]
        store.upsert_imported_run("fo", f"{variant}{seed}", f"h{variant}{seed}", variant, seed, curve,
                                  {"val_loss": 2.6 + offset}, "test")
    store.upsert_imported_run("fo", "vr7", "hvr7", "vr", 7, [], {"val_loss": 2.55}, "finals.log")
    summary = load("fo", store).report()

    def render(width):
        console = Console(width=width, record=True, color_system=None)
        console.print(report_view.to_rich_table(summary, title="fo", width=width))
        return console.export_text()

    wide, narrow = render(160), render(80)
    vr_row = next(line for line in wide.splitlines() if " vr " in line)
    assert "2/2 (+1 no curve)" in vr_row, wide
    assert "2/2 (+1" not in narrow and "reached: cut before '('" in narrow, narrow
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "| 2/2 (+1 no curve) |" in report_view.to_markdown(summary)
    row = json.loads(report_view.to_json(summary))[[*summary["variant"]].index("vr")]
    assert (row["runs"], row["reached"]) == (3, 2) and "_runs_without_curve" not in report_view.to_csv(summary)
