"""Each time-to-threshold test at the horizon its two variants share (the shorter of their follow-ups),
while the ranking keeps one horizon for the whole table: against lifelines, by simulation of its
error rate, and on the imported value-embedding collection whose runs have two step budgets."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from horizon_sim import p_values, table
from scipy import stats

from sweeper.report import analysis as report
from sweeper.report import table_view
from sweeper.report.survival import pair_horizon

FIXTURES = Path(__file__).resolve().parent / "fixtures"


# ---- the estimate and its variance at a pair's horizon, against lifelines ----

def _lifelines_rmst(times, reached, tau, variance_of_t=False):
    """(RMST, its Greenwood variance with the n / (n - 1) factor) up to tau, every piece from lifelines:
    its KM curve and event table (at risk, reached), its RMST; with variance_of_t, lifelines' own
    variance, of min(T, tau), appended (it takes lifelines ~1 s: a numerical integral)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time
    from scipy.integrate import IntegrationWarning
    km = KaplanMeierFitter().fit(times, reached)
    with warnings.catch_warnings():  # lifelines integrates the KM steps with quad: it warns, and lands within ~1e-6
        warnings.simplefilter("ignore", IntegrationWarning)
        out = restricted_mean_survival_time(km, tau, return_variance=variance_of_t)
    rmst, var_t = out if variance_of_t else (out, None)
    knots, surv = km.survival_function_.index.to_numpy(float), km.survival_function_.iloc[:, 0].to_numpy()

    def area(start):  # under lifelines' step curve from `start` to tau (S constant from one knot to the next)
        return float(np.sum(surv * np.diff(np.clip(np.r_[knots, tau], start, tau))))

    assert area(0.0) == pytest.approx(rmst, rel=1e-6)
    events = km.event_table[(km.event_table["observed"] > 0) & (km.event_table.index <= tau)]
    after = np.array([area(t) for t in events.index])  # A_j: area from t_j to tau
    y, d = events["at_risk"].to_numpy(float), events["observed"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > d, after ** 2 * d / (y * (y - d)), 0.0)
    n = len(times)
    return (rmst, terms.sum() * n / (n - 1)) + ((var_t,) if variance_of_t else ())


def _welch_p(ra, va, na, rb, vb, nb):
    """Two-sided p of ra - rb over sqrt(va + vb) against Student's t, Welch-Satterthwaite df."""
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return 2 * stats.t.sf(abs(ra - rb) / np.sqrt(va + vb), df)


def test_rmst_and_variance_at_the_pair_horizon_match_lifelines():
    rng = np.random.default_rng(7)
    tested = 0
    for n in (3, 5, 12):
        # a variant watched to its budget, and a baseline whose runs were cut short (mixed follow-up)
        t_v, t_b = rng.normal(1000, 30, n), rng.normal(1000, 30, n)
        end_v, end_b = rng.uniform(980, 1060, n), rng.uniform(950, 1020, n)
        v, b = (np.minimum(t_v, end_v), t_v <= end_v), (np.minimum(t_b, end_b), t_b <= end_b)
        tau = pair_horizon(end_v.max(), end_b.max())
        assert tau == min(end_v.max(), end_b.max())
        theirs = [_lifelines_rmst(*side, tau) for side in (v, b)]
        for side, (rmst, var) in zip((v, b), theirs):
            assert report.restricted_mean(*side, tau) == pytest.approx((rmst, var), rel=1e-6)
        p = report.rmst_test(*v, *b, tau)[0]
        ref = _welch_p(*theirs[0], n, *theirs[1], n)
        assert p == pytest.approx(ref, rel=1e-5, nan_ok=True)  # NaN where no run of either reached by tau
        tested += not np.isnan(p)
    assert tested >= 2
    # lifelines' own variance is Var(min(T, tau)) under the curve; where no run is censored before the
    # last crossing up to tau (here: censored at 50 s, after every crossing), the estimate's is it / (n - 1)
    times, reached = np.array([12.0, 30.0, 21.0, 50.0, 44.0]), np.array([True, True, True, False, True])
    rmst, var, var_t = _lifelines_rmst(times, reached, 48.0, variance_of_t=True)
    assert report.restricted_mean(times, reached, 48.0) == pytest.approx((rmst, var_t / 4), rel=1e-6)


# ---- error rate and power by simulation (a larger run: python bench/sim_horizon.py) ----

def test_per_pair_horizon_keeps_the_error_rate_and_gains_power_over_the_common_one():
    rng = np.random.default_rng(0)  # the first 600 tables of bench/sim_horizon.py's default run
    tables = 600
    null = [table(rng) for _ in range(tables)]  # baseline, 3 full variants, 1 cut short; no effect
    pair = np.array([p_values(t, per_pair=True) for t in null])
    common = np.array([p_values(t, per_pair=False)[0] for t in null])
    # one comparison per table (variant 1), so the draws are independent: a binomial count
    k = int(np.sum(pair[:, 0] < 0.05))
    fwer = sum(bool(np.any(report.adjust(p, "holm") < 0.05)) for p in pair)  # Holm over each table's 4
    print(f"\nno effect, alpha 0.05: per-pair horizon rejects {k}/{tables} = {k / tables:.1%}, common horizon "
          f"{np.sum(common < 0.05)}/{tables}; per-pair Holm FWER over 4: {fwer}/{tables} = {fwer / tables:.1%}")
    # the tolerance: a one-sided binomial test of "rate <= 5%" does not reject at 1% (<= 43/600 = 7.2%)
    assert stats.binomtest(k, tables, 0.05, alternative="greater").pvalue > 0.01
    assert stats.binomtest(fwer, tables, 0.05, alternative="greater").pvalue > 0.01
    assert k >= 10  # not a test that never rejects (the common horizon's, before most crossings, nearly never does)
    planted = [table(rng, shift=-20.0) for _ in range(200)]  # the 3 full variants 20 s (2/3 sd) faster
    found = {mode: np.mean([p_values(t, per_pair=mode)[:3] < 0.05 for t in planted]) for mode in (True, False)}
    print(f"power at 20 s: per-pair horizon {found[True]:.1%}, common horizon {found[False]:.1%}")
    assert found[True] > found[False] + 0.03


# ---- through the report, on the imported collection with budgets 5,820 and 5,960 ----

@pytest.fixture(scope="module")
def value_embeddings(tmp_path_factory):
    from sweeper.importer import import_paths
    from sweeper.report.notebook import load
    from sweeper.store import Store
    db = f"sqlite:///{tmp_path_factory.mktemp('horizon') / 'r.db'}"
    store = Store(db)
    import_paths(store, "ve", [str(FIXTURES / "modded-nanogpt-value-embeddings" / "results.md")])
    store.ensure_sweep("ve", threshold_metric="val_loss", threshold_value=2.92, baseline="0")  # as `golf import` stores
    store.close()
    return load("ve", db)


def test_report_tests_each_variant_at_its_pair_horizon(value_embeddings):
    res = value_embeddings
    s = res.summary.set_index("variant")
    cur = res.curves[res.curves["current"].to_numpy(bool)]
    runs = res.runs[(res.runs["status"] == "finished") & ~res.runs["run_id"].isin(res.duplicates["run_id"])]
    followup = cur[cur["run_id"].isin(runs["run_id"])].groupby("variant")["train_time_s"].max()
    base = s.attrs["baseline"]
    assert s["horizon_s"].nunique() == 1 and s["horizon_s"].iloc[0] == followup.min()  # the ranking's: unchanged
    tested = s[s["p_value"].notna()]
    assert np.isnan(s.loc[base, "comparison_horizon_s"]) and (s["comparison_horizon_s"].dropna() >= s["horizon_s"].iloc[0]).all()
    assert (tested["comparison_horizon_s"] > s["horizon_s"].iloc[0]).sum() >= 4  # the short variant no longer binds them
    by = {v: g for v, g in runs.groupby("variant")}
    b = (by[base]["ttt_s"].to_numpy(float), by[base]["reached"].to_numpy(bool))
    for v, row in tested.iterrows():
        assert row["comparison_horizon_s"] == min(followup[v], followup[base])
        x = (by[v]["ttt_s"].to_numpy(float), by[v]["reached"].to_numpy(bool))
        lv, lb = _lifelines_rmst(*x, row["comparison_horizon_s"]), _lifelines_rmst(*b, row["comparison_horizon_s"])
        assert row["p_value"] == pytest.approx(_welch_p(*lv, len(x[0]), *lb, len(b[0])), rel=1e-5)
    notes = " ".join(table_view.notes(res.summary))
    assert "the shorter follow-up of the variant and the baseline (comparison_horizon_s: " in notes
    assert f"up to {s['horizon_s'].iloc[0]:.1f} s, the shortest follow-up: " in notes


def test_the_pair_horizon_is_the_common_one_where_every_variant_was_watched_as_long():
    runs, curves = _two_variants(last_b=50.0)
    s = report.summarize(runs, curves, 2.5).set_index("variant")
    assert s.loc["b", "comparison_horizon_s"] == s.loc["b", "horizon_s"] == 50.0
    assert "difference of restricted means up to 50.0 s (Welch t" in " ".join(table_view.notes(s.reset_index()))
    # a third variant watched only to 30 s: the ranking's horizon drops to 30 s, b's test stays at 50 s
    runs3, curves3 = _two_variants(last_b=50.0, short=30.0)
    s3 = report.summarize(runs3, curves3, 2.5).set_index("variant")
    assert s3.loc["b", "horizon_s"] == 30.0 and s3.loc["b", "comparison_horizon_s"] == 50.0
    assert s3.loc["b", "p_value"] == pytest.approx(s.loc["b", "p_value"])
    assert s3.loc["short", "comparison_horizon_s"] == 30.0


def _two_variants(last_b: float, short: float | None = None):
    """Baseline 'a' and variant 'b', 3 runs each crossing 2.5 at different times, watched to 50 s (b to
    last_b); optionally a variant 'short' whose 3 runs stop at `short` s."""
    rows, runs = [], []
    plan = {"a": [(20.0, 50.0), (26.0, 50.0), (31.0, 50.0)], "b": [(35.0, last_b), (41.0, last_b), (29.0, last_b)]}
    if short is not None:
        plan["short"] = [(24.0, short), (28.0, short), (99.0, short)]
    for variant, specs in plan.items():
        for i, (cross, last) in enumerate(specs):
            rid = f"{variant}{i}"
            runs.append(dict(run_id=rid, variant=variant, seed=i, status="finished", val_loss=2.0))
            for t in np.arange(0.0, last + 1e-9, 1.0):  # loss falls linearly through 2.5 at `cross`
                rows.append((rid, variant, int(t), t, 3.0 - 0.5 * t / cross + 1e-4 * i))
    curves = pd.DataFrame(rows, columns=["run_id", "variant", "step", "train_time_s", "val_loss"]).assign(current=True)
    return pd.DataFrame(runs), curves
