"""Pure analysis for `golf report`: time-to-threshold per run, per-variant statistics, ranking.

Works on the DataFrames from `Store.runs_frame` / `Store.curves_frame`; no SQL, no I/O.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

ARTIFACT_LIMIT_BYTES = 16_000_000


def time_to_threshold(curves: pd.DataFrame, value: float, metric: str = "val_loss",
                      x: str = "train_time_s") -> pd.DataFrame:
    """Per run: first crossing of `metric <= value`, linearly interpolated in `x` between the
    bracketing evals (first eval already below -> its x; exact touch counts). Runs that never
    cross are censored at their last eval. Returns run_id, variant, reached, ttt (x units)."""
    df = curves.dropna(subset=[metric, x]).sort_values(["run_id", x], kind="stable").reset_index(drop=True)
    if df.empty:
        return pd.DataFrame(columns=["run_id", "variant", "reached", "ttt"])
    hit = df[metric].to_numpy() <= value
    first_hit = df[hit].groupby("run_id", sort=False).head(1).index.to_numpy()
    last = df.groupby("run_id", sort=False).tail(1)
    out = pd.DataFrame({"run_id": last["run_id"].to_numpy(), "variant": last["variant"].to_numpy(),
                        "reached": False, "ttt": last[x].to_numpy(dtype=float)}).set_index("run_id")
    if len(first_hit):
        prev = first_hit - 1
        # the bracketing eval must belong to the same run; otherwise the first eval was already below
        has_prev = (prev >= 0) & (df["run_id"].to_numpy()[np.maximum(prev, 0)] == df["run_id"].to_numpy()[first_hit])
        x1, y1 = df[x].to_numpy(float)[first_hit], df[metric].to_numpy(float)[first_hit]
        x0 = np.where(has_prev, df[x].to_numpy(float)[np.maximum(prev, 0)], x1)
        y0 = np.where(has_prev, df[metric].to_numpy(float)[np.maximum(prev, 0)], y1)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(y0 > y1, (y0 - value) / (y0 - y1), 1.0)
        t = x0 + np.clip(frac, 0.0, 1.0) * (x1 - x0)
        ids = df["run_id"].to_numpy()[first_hit]
        out.loc[ids, "ttt"] = t
        out.loc[ids, "reached"] = True
    return out.reset_index()


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-distribution confidence interval (NaN bounds with fewer than 2 values)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if len(v) < 2:
        return (m, np.nan, np.nan)
    half = stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return (m, m - half, m + half)


def km_estimates(times, reached) -> tuple[float, float]:
    """Kaplan-Meier median and restricted mean (up to the last observed time) of time-to-threshold."""
    times, reached = np.asarray(times, float), np.asarray(reached, bool)
    if len(times) == 0:
        return (np.nan, np.nan)
    if not reached.any():
        return (np.nan, float(times.max()))
    data = stats.CensoredData(uncensored=times[reached], right=times[~reached])
    sf = stats.ecdf(data).sf
    q, p = sf.quantiles, sf.probabilities
    below = np.nonzero(p <= 0.5)[0]
    median = float(q[below[0]]) if len(below) else np.nan
    grid = np.concatenate([[0.0], q, [times.max()]])
    surv = np.concatenate([[1.0], p])
    rmst = float(np.sum(surv * np.diff(grid)))
    return (median, rmst)


def _first_crossing(xs: np.ndarray, ys: np.ndarray, value: float) -> float:
    """First x where one curve reaches `ys <= value`, interpolated as in time_to_threshold (NaN if never)."""
    hit = np.nonzero(ys <= value)[0]
    if len(hit) == 0:
        return np.nan
    i = hit[0]
    if i == 0 or ys[i - 1] <= ys[i]:
        return float(xs[i])
    frac = (ys[i - 1] - value) / (ys[i - 1] - ys[i])
    return float(xs[i - 1] + min(max(frac, 0.0), 1.0) * (xs[i] - xs[i - 1]))


def _grid_mean_crossing(curves: pd.DataFrame, metric: str, value: float, x: str, points: int = 400) -> float:
    """Crossing of the seed-averaged curve: each run interpolated onto a common grid of `x`
    (only where every run has data), averaged, then first crossing interpolated."""
    df = curves.dropna(subset=[metric, x]).sort_values(["run_id", x], kind="stable")
    if df.empty:
        return np.nan
    span = df.groupby("run_id", sort=False)[x].agg(["min", "max"])
    lo, hi = span["min"].max(), span["max"].min()
    if hi < lo:
        return np.nan
    grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
    xs, ys = df[x].to_numpy(float), df[metric].to_numpy(float)
    bounds = np.r_[0, np.cumsum(df.groupby("run_id", sort=False).size().to_numpy())]
    mean = np.mean([np.interp(grid, xs[s:e], ys[s:e]) for s, e in zip(bounds[:-1], bounds[1:])], axis=0)
    return _first_crossing(grid, mean, value)


def _step_mean_crossing(curves: pd.DataFrame, metric: str, value: float) -> float:
    """The step-aligned average researchers use today: mean metric and mean time at each step."""
    g = curves.dropna(subset=[metric]).groupby("step")[["train_time_s", metric]].mean()
    if g.empty:
        return np.nan
    return _first_crossing(g["train_time_s"].to_numpy(float), g[metric].to_numpy(float), value)


def summarize(runs: pd.DataFrame, curves: pd.DataFrame, threshold: float, metric: str = "val_loss",
              baseline: str | None = None, by: str = "time") -> pd.DataFrame:
    """One row per variant (ranked) with TTT, final-metric and baseline-comparison statistics."""
    finished = runs[runs["status"] == "finished"]
    cur = curves[curves["current"].astype(bool) & curves["run_id"].isin(finished["run_id"])]
    ttt = time_to_threshold(cur, threshold, metric)
    sts = time_to_threshold(cur, threshold, metric, x="step").rename(columns={"ttt": "sts"})
    variants = list(dict.fromkeys(finished["variant"]))
    if not variants:
        return pd.DataFrame()
    base = baseline or ("baseline" if "baseline" in variants else variants[0])
    base_ttt = ttt[ttt["variant"] == base]
    base_final = finished.loc[finished["variant"] == base, "val_loss"].dropna().to_numpy(float)
    rows = []
    # split each frame by variant once (not one boolean mask over all rows per variant)
    ttt_by, sts_by = dict(tuple(ttt.groupby("variant"))), dict(tuple(sts.groupby("variant")))
    fin_by, cur_by = dict(tuple(finished.groupby("variant"))), dict(tuple(cur.groupby("variant")))
    empty_t, empty_c = ttt.iloc[:0], cur.iloc[:0]
    for v in variants:
        t, s = ttt_by.get(v, empty_t), sts_by.get(v, sts.iloc[:0])
        f, cv = fin_by[v], cur_by.get(v, empty_c)
        m, lo, hi = mean_ci(t.loc[t["reached"], "ttt"])
        km_med, rmst = km_estimates(t["ttt"], t["reached"])
        fl, fl_lo, fl_hi = mean_ci(f["val_loss"])
        fb = mean_ci(f["val_bpb"])
        row = dict(variant=v, runs=len(f), reached=int(t["reached"].sum()), ttt_mean_s=m, ttt_ci_low_s=lo,
                   ttt_ci_high_s=hi, ttt_km_median_s=km_med, ttt_rmst_s=rmst,
                   steps_to_threshold_mean=float(s.loc[s["reached"], "sts"].mean()) if s["reached"].any() else np.nan,
                   mean_curve_ttt_s=_grid_mean_crossing(cv, metric, threshold, "train_time_s"),
                   step_mean_curve_ttt_s=_step_mean_crossing(cv, metric, threshold),
                   final_val_loss_mean=fl, final_val_loss_std=float(f["val_loss"].std()) if len(f) > 1 else np.nan,
                   final_val_loss_ci_low=fl_lo, final_val_loss_ci_high=fl_hi, final_val_bpb_mean=fb[0],
                   quant_val_bpb_mean=float(f["quant_val_bpb"].mean()) if "quant_val_bpb" in f else np.nan,
                   artifact_bytes_max=float(f["artifact_bytes"].max()) if "artifact_bytes" in f else np.nan)
        row["artifact_headroom_bytes"] = ARTIFACT_LIMIT_BYTES - row["artifact_bytes_max"]
        row["p_value"], row["test"] = np.nan, None
        row["final_p_value"] = np.nan
        if v != base:
            if len(t) and len(base_ttt) and t["reached"].all() and base_ttt["reached"].all():
                if len(t) > 1 and len(base_ttt) > 1:
                    row["p_value"] = float(stats.ttest_ind(t["ttt"], base_ttt["ttt"], equal_var=False).pvalue)
                    row["test"] = "welch_t"
            elif len(t) and len(base_ttt) and (t["reached"].any() or base_ttt["reached"].any()):
                # log-rank is undefined (0/0) when neither group has a single crossing: leave p as NaN
                with warnings.catch_warnings():  # degenerate (zero-variance) cases give NaN p, reported as null
                    warnings.simplefilter("ignore", RuntimeWarning)
                    res = stats.logrank(
                        stats.CensoredData(uncensored=t.loc[t["reached"], "ttt"].to_numpy(float),
                                           right=t.loc[~t["reached"], "ttt"].to_numpy(float)),
                        stats.CensoredData(uncensored=base_ttt.loc[base_ttt["reached"], "ttt"].to_numpy(float),
                                           right=base_ttt.loc[~base_ttt["reached"], "ttt"].to_numpy(float)))
                row["p_value"], row["test"] = float(res.pvalue), "logrank"
            fv = f["val_loss"].dropna().to_numpy(float)
            if len(fv) > 1 and len(base_final) > 1:
                row["final_p_value"] = float(stats.ttest_ind(fv, base_final, equal_var=False).pvalue)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["reached_frac"] = out["reached"] / out["runs"].clip(lower=1)
    key = {"time": "ttt_mean_s", "steps": "steps_to_threshold_mean", "final": "final_val_loss_mean"}[by]
    all_reached = out["reached"] == out["runs"]
    if by == "final":
        out = out.sort_values(key, na_position="last")
    else:  # not-reached variants after all reached ones, by fraction reached
        out = out.assign(_g=~all_reached).sort_values(["_g", "reached_frac", key], ascending=[True, False, True],
                                                       na_position="last").drop(columns="_g")
    out.attrs["baseline"] = base
    return out.reset_index(drop=True)


def apply_rule(summary: pd.DataFrame, runs: pd.DataFrame, curves: pd.DataFrame, rule: str,
               target: float | None = None, alpha: float = 0.01, margin: float = 0.005) -> pd.DataFrame:
    """Add verdict columns for a record rule.

    speedrun: mean final val_loss <= target with one-sided t-test p < alpha (H1: mean < target), plus the
    first step at which the step-aligned seed-mean curve passes the target.
    golf: beats the baseline by >= margin nats of val_loss, one-sided Welch p < alpha.
    """
    out = summary.copy()
    finished = runs[runs["status"] == "finished"]
    base = summary.attrs.get("baseline")
    verdicts, pvals, extra = [], [], []
    for v in out["variant"]:
        fv = finished.loc[finished["variant"] == v, "val_loss"].dropna().to_numpy(float)
        if rule == "speedrun":
            if target is None:
                raise ValueError("the speedrun rule needs a target val_loss")
            p = float(stats.ttest_1samp(fv, target, alternative="less").pvalue) if len(fv) > 1 else np.nan
            ok = len(fv) > 0 and fv.mean() <= target and p < alpha
            c = curves[curves["current"].astype(bool) & (curves["variant"] == v)].dropna(subset=["val_loss"])
            m = c.groupby("step")["val_loss"].mean()
            passed = m[m <= target]
            extra.append(float(passed.index[0]) if len(passed) else np.nan)
            verdicts.append(f"{'record' if ok else 'no'} (mean {fv.mean():.4f} vs target {target}, p={p:.3g})"
                            if len(fv) else "no runs")
        elif rule == "golf":
            bf = finished.loc[finished["variant"] == base, "val_loss"].dropna().to_numpy(float)
            p = (float(stats.ttest_ind(fv, bf - margin, equal_var=False, alternative="less").pvalue)
                 if len(fv) > 1 and len(bf) > 1 and v != base else np.nan)
            gain = bf.mean() - fv.mean() if len(fv) and len(bf) else np.nan
            ok = v != base and gain >= margin and p < alpha
            extra.append(gain)
            verdicts.append("baseline" if v == base else
                            f"{'record' if ok else 'no'} (gain {gain:.4f} nats vs margin {margin}, p={p:.3g})")
        else:
            raise ValueError(f"unknown rule {rule!r}: expected speedrun or golf")
        pvals.append(p)
    out["rule_p_value"] = pvals
    out["verdict"] = verdicts
    out["target_first_step" if rule == "speedrun" else "gain_nats"] = extra
    return out
