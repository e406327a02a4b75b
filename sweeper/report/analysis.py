"""Pure analysis for `golf report`: time-to-threshold per run, per-variant statistics, ranking.

Works on the DataFrames from `Store.runs_frame` / `Store.curves_frame`; no SQL, no I/O.
A report reads up to millions of eval rows, so per-run work is done on whole numpy arrays: the rows
of each run form one contiguous block (`RunBlocks`), and crossings are found for all runs at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sweeper.errors import GolfError

ARTIFACT_LIMIT_BYTES = 16_000_000


# ---- RUN BLOCKS ----
# The store returns each run's evals together and in step order, so the common case needs no sort:
# a check that each run is one block with x ascending is enough. Anything else is sorted stably.

@dataclass(frozen=True)
class RunBlocks:
    """The rows of each run with `metric` and `x` present, as contiguous x-ascending blocks.
    Per-run arrays are in run_id order; `start`/`stop` index the row arrays `x`, `y` and `rows`."""
    run_id: np.ndarray   # (R,) object
    variant: np.ndarray  # (R,) object
    start: np.ndarray    # (R,) first row of each run
    stop: np.ndarray     # (R,) one past its last row
    x: np.ndarray        # (N,) float
    y: np.ndarray        # (N,) float
    rows: np.ndarray     # (N,) position of each row in the frame the blocks were built from

    @classmethod
    def build(cls, curves: pd.DataFrame, metric: str, x: str) -> "RunBlocks":
        """Blocks of `curves` (columns run_id, variant, x, metric); rows missing x or metric are left out."""
        keep = (curves[metric].notna() & curves[x].notna()).to_numpy()
        rows = np.flatnonzero(keep)
        ids = curves["run_id"].to_numpy(object)[rows]
        xs, ys = curves[x].to_numpy(float)[rows], curves[metric].to_numpy(float)[rows]
        new = np.ones(len(ids), bool)
        new[1:] = ids[1:] != ids[:-1]
        starts = np.flatnonzero(new)
        contiguous = len(set(ids[starts])) == len(starts)
        if not (contiguous and np.all((np.diff(xs) >= 0) | new[1:])):
            codes = pd.factorize(ids)[0]
            order = np.lexsort((xs, codes))  # stable: equal x keep their order, as in a stable sort
            rows, ids, xs, ys = rows[order], ids[order], xs[order], ys[order]
            new[1:] = ids[1:] != ids[:-1]
            starts = np.flatnonzero(new)
        stops = np.append(starts[1:], len(ids))[:len(starts)]  # each block ends where the next starts
        by_id = np.argsort(ids[starts], kind="stable")
        variants = curves["variant"].to_numpy(object)[rows[stops - 1]] if len(ids) else np.array([], object)
        return cls(ids[starts][by_id], variants[by_id], starts[by_id], stops[by_id], xs, ys, rows)

    def run_of_row(self) -> np.ndarray:
        """(N,) index of the run each row belongs to."""
        in_row_order = np.argsort(self.start)
        return np.repeat(in_row_order, (self.stop - self.start)[in_row_order])

    def crossings(self, value: float) -> tuple[np.ndarray, np.ndarray]:
        """Per run: (reached, x of the first crossing of y <= value, or of the last eval if never)."""
        ttt = self.x[self.stop - 1]
        reached = np.zeros(len(self.start), bool)
        hits = np.flatnonzero(self.y <= value)
        if len(hits):
            run_of_hit = self.run_of_row()[hits]
            is_first = np.r_[True, run_of_hit[1:] != run_of_hit[:-1]]  # blocks are contiguous
            first, runs = hits[is_first], run_of_hit[is_first]
            has_prev = first > self.start[runs]  # else the first eval was already below
            prev = np.where(has_prev, first - 1, first)
            x0, y0, x1, y1 = self.x[prev], self.y[prev], self.x[first], self.y[first]
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(y0 > y1, (y0 - value) / (y0 - y1), 1.0)
            ttt[runs] = x0 + np.clip(frac, 0.0, 1.0) * (x1 - x0)
            reached[runs] = True
        return reached, ttt

    def grid_curves(self, runs: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """The selected runs (indices) on one common grid of x, only where every run has data:
        (grid (G,), values (len(runs), G)); G is 0 when the runs' spans do not overlap."""
        if len(runs) == 0:
            return np.zeros(0), np.zeros((0, 0))
        lo, hi = self.x[self.start[runs]].max(), self.x[self.stop[runs] - 1].min()
        if hi < lo:
            return np.zeros(0), np.zeros((len(runs), 0))
        grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
        # one np.interp per run (each has its own eval times); ~5 us each, vectorized over the grid
        return grid, np.array([np.interp(grid, self.x[s:e], self.y[s:e])
                               for s, e in zip(self.start[runs], self.stop[runs])])

    def grid_mean_crossing(self, runs: np.ndarray, value: float, points: int = 400) -> float:
        """Crossing of the seed-averaged curve of `runs` (indices): each run interpolated onto a common
        grid of x (see grid_curves), averaged, then the first crossing interpolated."""
        grid, values = self.grid_curves(runs, points)
        return _first_crossing(grid, values.mean(axis=0), value) if len(grid) else np.nan

    def step_means(self, frame: pd.DataFrame, runs: np.ndarray) -> dict[str, pd.DataFrame]:
        """The step-aligned average researchers use today, per variant of the selected runs (boolean
        (R,)); blocks built with x="step" from `frame`: mean y and mean train_time_s at each step."""
        run_of_row = self.run_of_row()
        picked = runs[run_of_row]
        rows, run, y = self.rows[picked], run_of_row[picked], self.y[picked]
        if np.any(np.diff(rows) < 0):  # put rows back in frame order: the order a groupby sums in
            order = np.argsort(rows, kind="stable")
            rows, run, y = rows[order], run[order], y[order]
        names, code = np.unique(self.variant, return_inverse=True)  # integer keys group far faster than strings
        means = pd.DataFrame({"variant": code[run], "step": frame["step"].to_numpy()[rows],
                              "train_time_s": frame["train_time_s"].to_numpy(float)[rows], "y": y}
                             ).groupby(["variant", "step"], sort=True).mean()
        return {names[c]: means.loc[c] for c in means.index.unique(level=0)}


def time_to_threshold(curves: pd.DataFrame, value: float, metric: str = "val_loss",
                      x: str = "train_time_s") -> pd.DataFrame:
    """Per run: first crossing of `metric <= value`, linearly interpolated in `x` between the
    bracketing evals (first eval already below -> its x; exact touch counts). Runs that never
    cross are censored at their last eval. Returns run_id, variant, reached, ttt (x units)."""
    blocks = RunBlocks.build(curves, metric, x)
    reached, ttt = blocks.crossings(value)
    return pd.DataFrame({"run_id": blocks.run_id, "variant": blocks.variant, "reached": reached, "ttt": ttt})


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
    """Crossing of the seed-averaged curve of all runs in `curves` (see RunBlocks.grid_mean_crossing)."""
    blocks = RunBlocks.build(curves, metric, x)
    return blocks.grid_mean_crossing(np.arange(len(blocks.start)), value, points)


# ---- STATISTICS ----
# Each test returns (p, reason): p is NaN exactly when the test is undefined, and reason says why, so
# the report can print "n/a (1 run)" instead of a bare NaN.

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


def _runs_word(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def welch(a, b, alternative: str = "two-sided") -> tuple[float, str | None]:
    """Welch's t-test p-value of a variant's sample a vs the baseline's b, or (NaN, why) if undefined."""
    a, b = (np.asarray(s, float) for s in (a, b))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2:
        return np.nan, _runs_word(len(a))
    if len(b) < 2:
        return np.nan, f"baseline: {_runs_word(len(b))}"
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return np.nan, "zero variance"
    with warnings.catch_warnings():  # nearly equal samples: scipy warns about precision, p is still defined
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue), None


def one_sample_t(a, target: float, alternative: str = "less") -> tuple[float, str | None]:
    """One-sample t-test p-value of mean(a) against `target`, or (NaN, why) when undefined."""
    a = np.asarray(a, float)
    a = a[~np.isnan(a)]
    if len(a) < 2:
        return np.nan, _runs_word(len(a))
    if np.ptp(a) == 0:
        return np.nan, "zero variance"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_1samp(a, target, alternative=alternative).pvalue), None


def logrank(times_a, reached_a, times_b, reached_b) -> tuple[float, str | None]:
    """Log-rank p-value of two right-censored samples of time-to-threshold, or (NaN, why)."""
    if not (np.any(reached_a) or np.any(reached_b)):
        return np.nan, "no run reached"
    data = [stats.CensoredData(uncensored=np.asarray(t, float)[np.asarray(r, bool)],
                               right=np.asarray(t, float)[~np.asarray(r, bool)])
            for t, r in ((times_a, reached_a), (times_b, reached_b))]
    with warnings.catch_warnings():  # zero variance of the statistic gives NaN (and a warning): said below
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.logrank(*data).pvalue)
    return (p, None) if not np.isnan(p) else (np.nan, "no crossing while both at risk")


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


def _ttt_test(t_ttt, t_reached, b_ttt, b_reached) -> tuple[float, str | None, str | None]:
    """Time-to-threshold vs the baseline: Welch when every run of both reached, else log-rank.
    Returns (p, test, why p is NaN)."""
    if len(t_ttt) == 0 or len(b_ttt) == 0:
        return np.nan, None, "no curves" if len(t_ttt) == 0 else "baseline: no curves"
    if t_reached.all() and b_reached.all():
        p, why = welch(t_ttt, b_ttt)
        return p, "welch_t", why
    p, why = logrank(t_ttt, t_reached, b_ttt, b_reached)
    return p, ("logrank" if why != "no run reached" else None), why


# ---- THE REPORT TABLE ----

def summarize(runs: pd.DataFrame, curves: pd.DataFrame, threshold: float, metric: str = "val_loss",
              baseline: str | None = None, by: str = "time") -> pd.DataFrame:
    """One row per variant (ranked) with TTT, final-metric and baseline-comparison statistics.

    p_value / test compare time-to-threshold with the baseline (welch_t or logrank), final_p_value /
    final_test the final val_loss (welch_t); *_note says why a p-value is NaN ("1 run", ...)."""
    finished = runs[runs["status"] == "finished"]
    variants = list(dict.fromkeys(finished["variant"]))
    if not variants:
        return pd.DataFrame()
    if baseline is not None and baseline not in variants:
        raise GolfError(f"baseline {baseline!r} is not a variant with finished runs; expected one of "
                        f"{', '.join(map(repr, variants))}")
    base = baseline or ("baseline" if "baseline" in variants else variants[0])
    cur = curves[curves["current"].to_numpy(bool)]
    done = set(finished["run_id"])
    time_runs, step_runs = RunBlocks.build(cur, metric, "train_time_s"), RunBlocks.build(cur, metric, "step")
    t_done, s_done = (np.array([r in done for r in b.run_id], bool) for b in (time_runs, step_runs))
    t_reached, t_ttt = time_runs.crossings(threshold)
    s_reached, s_sts = step_runs.crossings(threshold)
    step_means = step_runs.step_means(cur, s_done)
    fin_by = {v: finished.iloc[ix] for v, ix in finished.groupby("variant", sort=False).indices.items()}
    base_t = t_done & (time_runs.variant == base)
    rows = []
    for v in variants:
        t, s, f = t_done & (time_runs.variant == v), s_done & (step_runs.variant == v), fin_by[v]
        m, lo, hi = mean_ci(t_ttt[t & t_reached])
        km_med, rmst = km_estimates(t_ttt[t], t_reached[t])
        fl, fl_lo, fl_hi = mean_ci(f["val_loss"])
        sm = step_means.get(v)
        row = dict(variant=v, runs=len(f), reached=int(t_reached[t].sum()), ttt_mean_s=m, ttt_ci_low_s=lo,
                   ttt_ci_high_s=hi, ttt_km_median_s=km_med, ttt_rmst_s=rmst,
                   steps_to_threshold_mean=float(s_sts[s & s_reached].mean()) if (s & s_reached).any() else np.nan,
                   mean_curve_ttt_s=time_runs.grid_mean_crossing(np.flatnonzero(t), threshold),
                   step_mean_curve_ttt_s=np.nan if sm is None else _first_crossing(
                       sm["train_time_s"].to_numpy(float), sm["y"].to_numpy(float), threshold),
                   final_val_loss_mean=fl, final_val_loss_std=float(f["val_loss"].std()) if len(f) > 1 else np.nan,
                   final_val_loss_ci_low=fl_lo, final_val_loss_ci_high=fl_hi, final_val_bpb_mean=mean_ci(f["val_bpb"])[0],
                   quant_val_bpb_mean=float(f["quant_val_bpb"].mean()) if "quant_val_bpb" in f else np.nan,
                   artifact_bytes_max=float(f["artifact_bytes"].max()) if "artifact_bytes" in f else np.nan)
        row["artifact_headroom_bytes"] = ARTIFACT_LIMIT_BYTES - row["artifact_bytes_max"]
        if v == base:
            row.update(p_value=np.nan, test=None, p_value_note="baseline",
                       final_p_value=np.nan, final_test=None, final_p_value_note="baseline")
        else:
            row["p_value"], row["test"], row["p_value_note"] = _ttt_test(
                t_ttt[t], t_reached[t], t_ttt[base_t], t_reached[base_t])
            row["final_p_value"], row["final_p_value_note"] = welch(f["val_loss"], fin_by[base]["val_loss"])
            row["final_test"] = "welch_t" if not np.isnan(row["final_p_value"]) else None  # as `test`: no p, no test
        rows.append(row)
    return _rank(pd.DataFrame(rows), by, base)


def _rank(out: pd.DataFrame, by: str, base: str) -> pd.DataFrame:
    """Sort by the chosen key; for time/steps, variants where not every run reached come after all
    fully-reached ones, ordered by fraction reached, then by the key, then by final val_loss."""
    out["reached_frac"] = out["reached"] / out["runs"].clip(lower=1)
    key = {"time": "ttt_mean_s", "steps": "steps_to_threshold_mean", "final": "final_val_loss_mean"}[by]
    all_reached = out["reached"] == out["runs"]
    # Ties (e.g. no run of either variant reached) are broken by final val_loss: still the best
    # evidence of which variant learns faster. Stable sort: equal rows keep the variants' order.
    if by == "final":
        out = out.sort_values(key, na_position="last", kind="stable")
    else:
        out = out.assign(_g=~all_reached).sort_values(
            ["_g", "reached_frac", key, "final_val_loss_mean"], ascending=[True, False, True, True],
            na_position="last", kind="stable").drop(columns="_g")
    out.attrs["baseline"] = base
    return out.reset_index(drop=True)


def apply_rule(summary: pd.DataFrame, runs: pd.DataFrame, curves: pd.DataFrame, rule: str,
               target: float | None = None, alpha: float = 0.01, margin: float = 0.005) -> pd.DataFrame:
    """Add verdict columns for a record rule.

    speedrun: mean final val_loss <= target with one-sided t-test p < alpha (H1: mean < target), plus the
    first step at which the step-aligned seed-mean curve passes the target.
    golf: beats the baseline by >= margin nats of val_loss, one-sided Welch p < alpha.
    rule_p_value is NaN with rule_p_value_note saying why when the test is undefined.
    """
    if rule not in ("speedrun", "golf"):
        raise ValueError(f"unknown rule {rule!r}: expected speedrun or golf")
    if rule == "speedrun" and target is None:
        raise ValueError("the speedrun rule needs a target val_loss")
    out = summary.copy()
    finished = runs[runs["status"] == "finished"]
    finals = {v: g["val_loss"].dropna().to_numpy(float) for v, g in finished.groupby("variant", sort=False)}
    base = summary.attrs.get("baseline")
    bf = finals.get(base, np.zeros(0))
    if rule == "speedrun":
        current = curves[curves["current"].to_numpy(bool)]
        by_step = RunBlocks.build(current, "val_loss", "step")
        seed_mean = by_step.step_means(current, np.ones(len(by_step.start), bool))
    pvals, notes, verdicts, extra = [], [], [], []
    for v in out["variant"]:
        fv = finals.get(v, np.zeros(0))
        if rule == "speedrun":
            p, why = one_sample_t(fv, target, alternative="less")
            ok = len(fv) > 0 and fv.mean() <= target and p < alpha
            m = seed_mean[v]["y"] if v in seed_mean else pd.Series(dtype=float)
            passed = m[m <= target]
            extra.append(float(passed.index[0]) if len(passed) else np.nan)
            verdicts.append(f"{'record' if ok else 'no'} (mean {fv.mean():.4f} vs target {target:g}, {_p_text(p, why)})"
                            if len(fv) else "no runs")
        else:
            p, why = (np.nan, "baseline") if v == base else welch(fv, bf - margin, alternative="less")
            gain = bf.mean() - fv.mean() if len(fv) and len(bf) else np.nan
            ok = v != base and gain >= margin and p < alpha
            extra.append(gain)
            verdicts.append("baseline" if v == base else
                            f"{'record' if ok else 'no'} (gain {gain:.4f} nats vs margin {margin}, {_p_text(p, why)})")
        pvals.append(p)
        notes.append(why)
    out["rule_p_value"] = pvals
    out["rule_p_value_note"] = notes
    out["verdict"] = verdicts
    out["target_first_step" if rule == "speedrun" else "gain_nats"] = extra
    return out


def _p_text(p: float, why: str | None) -> str:
    return f"p=n/a ({why})" if np.isnan(p) else f"p={p:.3g}"
