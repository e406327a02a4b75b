"""Issue 13: verdicts you can trust. The tests' size and power by simulation, the estimators against
lifelines / statsmodels, and one test per finding of the issue, through the real store and CLI."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sweeper.report import analysis as report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLF = [str(Path(sys.executable).parent / "golf")]


# ---- the tests of the tests, by simulation ----
# A run's crossing time ~ Normal(1000 s, 30 s); it is watched until ~ Uniform(980, 1060) s (its step
# budget and speed), so about a third of the runs are censored: the situation of a real sweep.

def _draw(rng, n, shift=0.0):
    t, end = rng.normal(1000 + shift, 30, n), rng.uniform(980, 1060, n)
    return np.minimum(t, end), t <= end, end


def _rmst_p(a, b):
    horizon = min(a[2].max(), b[2].max())  # the pair's shorter follow-up, where summarize tests
    return report.rmst_test(a[0], a[1], b[0], b[1], horizon)[0]


def _reached_only_welch_p(a, b):
    """The old report's p where not every run reached: Welch on the runs that reached only."""
    return report.welch(a[0][a[1]], b[0][b[1]])[0]


def _binomial_ok(k, n, low, high):
    """k of n draws is consistent with a rate in [low, high]: neither one-sided binomial test rejects
    at the 1% level (the tolerance: ~2.3 standard errors, 1.2 points at n=2000)."""
    return (stats.binomtest(k, n, low, alternative="less").pvalue > 0.01
            and stats.binomtest(k, n, high, alternative="greater").pvalue > 0.01)


def test_rmst_test_size_and_power_by_simulation():
    rng = np.random.default_rng(13)
    n, draws = 4, 2000
    null = np.array([_rmst_p(_draw(rng, n), _draw(rng, n)) for _ in range(draws)])
    rejected = int(np.sum(null < 0.05))
    print(f"\nsize: rmst_welch rejects {rejected}/{draws} = {rejected / draws:.2%} of null draws at alpha 0.05 "
          f"(n={n} vs {n}, {np.mean([_draw(rng, n)[1].mean() for _ in range(200)]):.0%} reached)")
    assert 0.03 <= rejected / draws <= 0.07
    # a real effect: 20 s faster (2/3 of the run-to-run sd), the same draws for both tests
    pairs = [(_draw(rng, n, -20.0), _draw(rng, n)) for _ in range(draws)]
    power = np.mean([_rmst_p(a, b) < 0.05 for a, b in pairs])
    old = np.mean([_reached_only_welch_p(a, b) < 0.05 for a, b in pairs])
    print(f"power at -20 s: rmst_welch {power:.1%}, old reached-only Welch {old:.1%}")
    assert power > old


def test_holm_keeps_the_family_wise_error_with_ten_null_variants():
    rng = np.random.default_rng(31)
    n, draws, variants = 4, 1000, 10
    any_false = 0
    for _ in range(draws):
        table = [_draw(rng, n) for _ in range(variants + 1)]  # [0] is the baseline all share, as in a report
        # the table's common horizon (summarize now tests each pair at its own: tests/test_horizon.py checks
        # Holm there; every variant here is watched alike, so the two horizons differ little)
        horizon = min(d[2].max() for d in table)
        est = np.array([report.restricted_mean(d[0], d[1], horizon) for d in table])  # (rmst, variance)
        p = report.difference_p(est[1:, 0], est[1:, 1], n, est[0, 0], est[0, 1], n)
        any_false += bool(np.any(report.adjust(p, "holm") < 0.05))
    print(f"\nfamily-wise error, 10 null variants vs one baseline, Holm: {any_false}/{draws} = {any_false / draws:.2%}")
    assert _binomial_ok(any_false, draws, 0.0, 0.05)  # <= 5% within the binomial tolerance


# ---- estimators against independent libraries ----

def test_kaplan_meier_and_rmst_match_lifelines():
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import restricted_mean_survival_time
    rng = np.random.default_rng(5)
    for n in (3, 7, 20):
        times, reached, _ = _draw(rng, n)
        km = lifelines.KaplanMeierFitter().fit(times, reached)
        ours = report.KaplanMeier.fit(times, reached)
        # the median as the first time S <= 1/2, read off lifelines' curve (lifelines' own median
        # uses S < 1/2, which differs only where S is exactly 1/2 over an interval)
        sf = km.survival_function_.iloc[:, 0]
        below = sf.index[sf.to_numpy() <= 0.5 + 1e-12]
        assert ours.median() == pytest.approx(below[0]) if len(below) else np.isnan(ours.median())
        horizon = float(times.max())
        assert report.restricted_mean(times, reached, horizon)[0] == pytest.approx(
            restricted_mean_survival_time(km, horizon))
        grid = np.linspace(0, horizon, 50)
        assert ours.at(grid) == pytest.approx(km.survival_function_at_times(grid).to_numpy())


def test_rmst_variance_reduces_to_the_t_interval_and_welch_without_censoring():
    x, y = np.array([10.0, 12.5, 11.0, 13.0, 9.5]), np.array([12.0, 14.0, 13.5])
    rmst, lo, hi = report.restricted_mean_ci(x, np.ones(5, bool), 100.0)
    ref = stats.t.interval(0.95, 4, loc=x.mean(), scale=stats.sem(x))
    assert rmst == pytest.approx(x.mean()) and (lo, hi) == pytest.approx(ref)
    p = report.rmst_test(x, np.ones(5, bool), y, np.ones(3, bool), 100.0)[0]
    assert p == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue)


def test_rmst_interval_stays_within_zero_and_the_horizon_against_lifelines():
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time
    from scipy.integrate import IntegrationWarning
    # lifelines' variance is Var(min(T, tau)) under the KM curve, not the estimate's: without censoring
    # the estimate's (with the n / (n - 1) factor) is that over n - 1
    for x, horizon in (([5.0, 60.0, 95.0], 100.0),           # t-interval 52 +/- 113: below 0 and past the horizon
                       ([10.0, 12.5, 11.0, 13.0, 9.5], 100.0),  # well inside: the plain t-interval
                       ([30.0, 99.0], 100.0)):                 # 2 seeds: the whole range
        x = np.array(x)
        with warnings.catch_warnings():  # lifelines integrates the KM steps with quad: it warns, and lands within ~1e-6
            warnings.simplefilter("ignore", IntegrationWarning)
            mean, var = restricted_mean_survival_time(KaplanMeierFitter().fit(x, np.ones(len(x))), horizon,
                                                      return_variance=True)
        half = stats.t.ppf(0.975, len(x) - 1) * np.sqrt(var / (len(x) - 1))
        rmst, lo, hi = report.restricted_mean_ci(x, np.ones(len(x), bool), horizon)
        assert rmst == pytest.approx(mean)
        assert (lo, hi) == pytest.approx((max(mean - half, 0.0), min(mean + half, horizon)), rel=1e-4)  # lifelines integrates numerically
        assert 0.0 <= lo <= rmst <= hi <= horizon
    assert lo == 0.0 and hi == horizon
    # a censored run (at 4 s): Greenwood's interval, 30.7 +/- 61.7 s, clipped the same way
    rmst, var = report.restricted_mean([2.0, 45.0, 4.0], [True, True, False], 50.0)
    assert rmst - stats.t.ppf(0.975, 2) * np.sqrt(var) < 0 < 50 < rmst + stats.t.ppf(0.975, 2) * np.sqrt(var)
    assert report.restricted_mean_ci([2.0, 45.0, 4.0], [True, True, False], 50.0) == (rmst, 0.0, 50.0)


def test_adjustments_match_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.2, 0.001])
    ok = ~np.isnan(p)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        adjusted = report.adjust(p, ours)
        assert np.isnan(adjusted[1])
        assert adjusted[ok] == pytest.approx(multipletests(p[ok], method=theirs)[1])
    assert report.adjust(p, "none")[ok] == pytest.approx(p[ok])


# ---- the findings, through the store and the CLI ----

def _golf(*args, ok=True):
    out = subprocess.run(GOLF + list(args), capture_output=True, text=True)
    assert (out.returncode == 0) == ok, out.stderr
    return out


@pytest.fixture
def bpb_store(tmp_path):
    """An imported-style sweep whose threshold is on val_bpb, with a first-listed reference variant
    'ref' (not named baseline), two seeds each, a duplicate curve and mixed budgets."""
    from sweeper.store import Store
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    store.ensure_sweep("bpb", threshold_metric="val_bpb", threshold_value=1.25, baseline="ref")
    rng = np.random.default_rng(0)
    plan = [("ref", 0, 1.0, 100), ("ref", 1, 1.0, 100), ("ref", 2, 1.0, 100), ("alpha", 0, 0.8, 100),
            ("alpha", 1, 0.8, 100), ("alpha", 2, 0.8, 120), ("solo", 0, 0.9, 100)]
    for variant, seed, speed, budget in plan:
        jitter = rng.uniform(0.97, 1.03)
        evals = [dict(step=k, train_time_s=k * speed * jitter, val_loss=4.0 - 0.02 * k, val_bpb=2.0 - 0.01 * k)
                 for k in range(0, 101, 10)]
        store.upsert_imported_run("bpb", f"{variant}-{seed}", "h", variant, seed, evals,
                                  {"val_loss": evals[-1]["val_loss"], "val_bpb": evals[-1]["val_bpb"]},
                                  "log.txt", config={"total_steps": budget})
    first = store.list_runs("bpb")[3]  # alpha seed 0, imported again under another name
    evals = store.run_detail(first.id)[3]
    store.upsert_imported_run("bpb", "copy", "h2", "alpha_copy", 0, evals, first.finals, "copy.txt")
    store.close()
    return url


def test_finding1_a_val_bpb_sweep_is_ranked_on_val_bpb_without_metric(bpb_store):
    rows = json.loads(_golf("report", "bpb", "--db", bpb_store, "--format", "json").stdout)
    assert {r["variant"] for r in rows if r["reached"]} >= {"ref", "alpha"}  # val_loss never gets to 1.25
    assert all(r["final_metric"] == "val_bpb" for r in rows)
    assert rows[0]["rank_key"] == "ttt_rmst_s" and rows[0]["adjust"] == "holm"
    bad = _golf("report", "bpb", "--db", bpb_store, "--metric", "nope", ok=False)
    assert "val_loss, val_bpb, ppm_val_loss, ppm_val_bpb" in bad.stderr


def test_finding3_4_7_baseline_in_file_order_one_run_na_duplicates_and_budgets(bpb_store):
    from sweeper.report.notebook import load
    res = load("bpb", bpb_store)
    s = res.summary.set_index("variant")
    assert s.attrs["baseline"] == "ref"  # stored; alphabetically 'alpha' would come first
    assert s.loc["solo", "p_value_note"] == "1 run" and np.isnan(s.loc["solo", "p_value_adj"])
    assert s.loc["alpha", "test"] == "rmst_welch" and s.loc["alpha", "p_value_adj"] >= s.loc["alpha", "p_value"]
    assert "alpha_copy" not in s.index or s.loc["alpha_copy", "runs"] == 0  # the duplicate is left out
    assert list(res.duplicates["duplicate_of"]) == [res.runs.set_index(["variant", "seed"]).loc[("alpha", 0), "run_id"]]
    assert any("pools runs with different step budgets: 100 (2 runs), 120 (1 run)" in w for w in res.warnings)
    table = _golf("report", "bpb", "--db", bpb_store).stdout
    assert "same curve as" in table and "different step budgets" in table and "ranked by ttt_rmst_s" in table


def test_finding8_load_of_an_imported_sweep_with_a_threshold(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    md = FIXTURES / "modded-nanogpt-value-embeddings" / "results.md"
    _golf("import", str(md), "--sweep", "ve", "--db", db, "--threshold", "val_loss=2.92")
    from sweeper.report.notebook import load
    res = load("ve", db)
    assert str(res.threshold) == "val_loss <= 2.92" and res.baseline == res.runs["variant"].iloc[0]
    summary = res.summary
    assert len(summary) == res.runs["variant"].nunique() and summary["horizon_s"].nunique() == 1
    runs = res.runs.set_index("source_section")
    assert runs.loc["16", "ttt_s"] == pytest.approx(1410.6, abs=0.5) and runs.loc["16", "reached"]
    assert runs.loc["16", "step_budget"] > 0 and runs.loc["16", "source_file"].endswith("results.md")
    view = pd.read_sql("select run_id, reached, ttt_s, step_budget from run_summary where sweep = 've'", db)
    merged = view.merge(res.runs[["run_id", "ttt_s", "reached"]], on="run_id", suffixes=("_view", ""))
    assert merged["ttt_s_view"].to_numpy() == pytest.approx(merged["ttt_s"].to_numpy())  # the view agrees
    assert (merged["reached_view"].astype(bool) == merged["reached"].astype(bool)).all()


def test_per_preset_threshold_and_spec_baseline():
    from sweeper.spec import expand, load_spec, parse_spec
    exp = expand(load_spec(Path(__file__).resolve().parent.parent / "ablations/remove_ve.yaml"), "tiny")
    assert str(exp.threshold) == "val_loss <= 5.06" and exp.baseline == "baseline"
    assert str(expand(load_spec(Path(__file__).resolve().parent.parent / "ablations/remove_ve.yaml")).threshold) \
        == "val_loss <= 2.92"
    spec = parse_spec("name: x\nbase: tiny\nbaseline: b\nvariants:\n  a: {}\n  b: {value_residual: true}\n")
    assert expand(spec).baseline == "b"
    with pytest.raises(Exception, match=r"f.yaml:2: baseline: got 'zz' \(expected the name of a variant: a\)"):
        parse_spec("name: x\nbaseline: zz\nvariants:\n  a: {}\n", "f.yaml")


def test_seed_mean_crossing_says_why_and_step_average_uses_common_steps():
    c = pd.DataFrame([("a", "v", 0, 0.0, 4.0), ("a", "v", 10, 10.0, 3.0), ("a", "v", 20, 20.0, 2.0),
                      ("b", "v", 0, 0.0, 4.0), ("b", "v", 10, 10.0, 3.2)],
                     columns=["run_id", "variant", "step", "train_time_s", "val_loss"]).assign(current=True)
    runs = pd.DataFrame([dict(run_id=r, variant="v", seed=i, status="finished", val_loss=2.0) for i, r in enumerate("ab")])
    s = report.summarize(runs, c, 2.5).iloc[0]
    assert np.isnan(s["mean_curve_ttt_s"]) and s["mean_curve_note"] == "v seed 1 stops at 10 s, before the mean crosses"
    assert np.isnan(s["step_mean_curve_ttt_s"])  # step 20 is a's alone: not averaged, so no crossing there


def test_run_summary_view_agrees_with_load_on_both_backends(store_url):
    from test_report import _store_with_hand_runs  # a sweep at threshold val_loss 3.2, with a killed attempt

    from sweeper.report.notebook import load
    _store_with_hand_runs(store_url).close()
    res = load("s", store_url)
    view = pd.read_sql("select run_id, reached, ttt_s, step_budget from run_summary where sweep = 's'",
                       store_url.replace("postgresql://", "postgresql+psycopg://"))
    merged = view.merge(res.runs[["run_id", "ttt_s", "reached"]], on="run_id", suffixes=("_view", ""))
    assert len(merged) == 6 and merged["reached"].all() and (merged["reached_view"] == 1).all()
    assert merged["ttt_s_view"].to_numpy() == pytest.approx(merged["ttt_s"].to_numpy())
