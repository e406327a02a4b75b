"""The numbers behind the page's charts: seed means with 95% bands, differences to the baseline,
Kaplan-Meier curves, downsampled single runs. Plain dicts of rounded lists, ready for JSON.

Everything here works on the frames `golf report` uses (Results.runs / Results.curves) and on its
RunBlocks, so the page's curves are the report's curves. What a screen cannot show is left out:
means and bands on GRID_POINTS points, single runs thinned so that the page never carries more than
RUN_POINTS_BUDGET of their points in all (5,000 runs x 200 evals would otherwise be 1M points, ~15 MB).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sweeper.report.analysis import RunBlocks, time_to_threshold
from sweeper.report.survival import KaplanMeier

GRID_POINTS = 200            # a 1280-px chart has ~1,100 px of plot: 200 points per curve look smooth
RUN_POINTS_BUDGET = 50_000   # single-run points per chart: 5,000 runs drawn at 1,100 px are a band anyway
MIN_RUN_POINTS = 10          # a thinned run keeps at least its shape
MIN_BAND_RUNS = 3            # with 2 runs a t-interval is 12.7 standard errors wide: it covers everything


def _round(values, digits: int) -> list:
    """Values rounded to `digits` significant digits of the array's largest magnitude (one scale per
    curve keeps this vectorized: 1M values in ~0.1 s), for the JSON; NaN -> None (a gap in the line)."""
    v = np.asarray(values, float)
    finite = np.isfinite(v)
    top = np.abs(v[finite]).max() if finite.any() else 0.0
    decimals = int(digits - 1 - math.floor(math.log10(top))) if top > 0 else 0
    out = np.round(v, max(decimals, 0)).tolist() if decimals >= 0 else (np.round(v / 10 ** -decimals) * 10 ** -decimals).tolist()
    if not finite.all():
        out = [x if ok else None for x, ok in zip(out, finite)]
    return out


def _t_half(std, n):
    """Half-width of the 95% t-interval of a mean of n values with sample std `std`."""
    n = np.asarray(n, float)
    return stats.t.ppf(0.975, np.maximum(n - 1, 1)) * np.asarray(std, float) / np.sqrt(n)


def _band_runs(blocks: RunBlocks, variant: str, finished: set) -> np.ndarray:
    """The runs a variant's mean is taken over: its finished ones, else (early in a live sweep) all."""
    mine = np.flatnonzero(blocks.variant == variant)
    done = np.array([i for i in mine if blocks.run_id[i] in finished], int)
    return done if len(done) else mine


def mean_series(blocks: RunBlocks, variants: list[str], finished: set) -> list[dict]:
    """Per variant: the seed mean on a common grid of x (only where every run has data, as the
    report averages) and its 95% band where the variant has MIN_BAND_RUNS runs or more."""
    out = []
    for v in variants:
        runs = _band_runs(blocks, v, finished)
        grid, ys = blocks.grid_curves(runs, GRID_POINTS)
        if len(grid) == 0:
            continue
        mean = ys.mean(axis=0)
        series = dict(variant=v, n=int(len(runs)), x0=float(grid[0]), x1=float(grid[-1]), y=_round(mean, 6))
        if len(runs) >= MIN_BAND_RUNS:
            half = _t_half(ys.std(axis=0, ddof=1), len(runs))
            series.update(lo=_round(mean - half, 6), hi=_round(mean + half, 6))
        out.append(series)
    return out


def difference_series(blocks: RunBlocks, variants: list[str], baseline: str, finished: set) -> list[dict]:
    """Per variant: its seed mean minus the baseline's seed mean on their common span, with a 95%
    Welch band (both sides with MIN_BAND_RUNS runs or more). Negative is better (lower loss)."""
    if baseline not in variants:
        return []
    base = _band_runs(blocks, baseline, finished)
    out = []
    for v in variants:
        if v == baseline:
            continue
        runs = _band_runs(blocks, v, finished)
        if len(runs) == 0 or len(base) == 0:  # early in a live sweep: no curve yet on one side
            continue
        both = np.concatenate([runs, base])
        grid, ys = blocks.grid_curves(both, GRID_POINTS)
        if len(grid) == 0:
            continue
        a, b = ys[:len(runs)], ys[len(runs):]
        diff = a.mean(axis=0) - b.mean(axis=0)
        series = dict(variant=v, n=int(len(runs)), x0=float(grid[0]), x1=float(grid[-1]), y=_round(diff, 4))
        if len(runs) >= MIN_BAND_RUNS and len(base) >= MIN_BAND_RUNS:
            va, vb = a.var(axis=0, ddof=1) / len(runs), b.var(axis=0, ddof=1) / len(base)
            se = np.sqrt(va + vb)
            with np.errstate(invalid="ignore", divide="ignore"):  # identical curves: se 0, any df
                df = (va + vb) ** 2 / (va ** 2 / (len(runs) - 1) + vb ** 2 / (len(base) - 1))
            half = stats.t.ppf(0.975, np.nan_to_num(df, nan=1.0)) * se
            series.update(lo=_round(diff - half, 4), hi=_round(diff + half, 4))
        out.append(series)
    return out


def run_paths(blocks: RunBlocks, variants: list[str]) -> list[dict]:
    """Every run's curve, grouped by variant ({variant, x: [per run], y: [per run]}), thinned evenly
    (first and last eval kept) so that all runs together stay within RUN_POINTS_BUDGET points."""
    keep = max(MIN_RUN_POINTS, RUN_POINTS_BUDGET // max(1, len(blocks.start))) if len(blocks.x) > RUN_POINTS_BUDGET else None
    out = []
    for v in variants:
        group = dict(variant=v, x=[], y=[])
        for s, e in zip(blocks.start[blocks.variant == v], blocks.stop[blocks.variant == v]):
            idx = np.arange(s, e)
            if keep is not None and len(idx) > keep:
                idx = idx[np.unique(np.linspace(0, len(idx) - 1, keep).round().astype(int))]
            group["x"].append(_round(blocks.x[idx], 5))
            group["y"].append(_round(blocks.y[idx], 5))
        if group["x"]:
            out.append(group)
    return out


def kaplan_meier(curves: pd.DataFrame, finished: pd.DataFrame, variants: list[str], threshold: float,
                 metric: str) -> dict:
    """Per variant the Kaplan-Meier estimate of the fraction of runs not yet at the threshold vs
    time (the report's sweeper.report.survival.KaplanMeier: a run that never crosses is censored at
    its last eval), and each run's crossing (or censoring) time as a point on its curve."""
    cur = curves[curves["current"].to_numpy(bool) & curves["run_id"].isin(set(finished["run_id"])).to_numpy()]
    ttt = time_to_threshold(cur, threshold, metric)
    seeds = dict(zip(finished["run_id"], finished["seed"]))
    series, points = [], []
    for v in variants:
        mine = ttt[ttt["variant"] == v]
        if mine.empty:
            continue
        times, reached = mine["ttt"].to_numpy(float), mine["reached"].to_numpy(bool)
        km = KaplanMeier.fit(times, reached)  # the report's estimate, drawn
        t, s = [0.0, *km.times.tolist()], [1.0, *km.surv.tolist()]
        t.append(km.followup)  # the curve goes on to the longest follow-up
        s.append(s[-1])
        series.append(dict(variant=v, n=int(len(mine)), x=_round(t, 6), y=_round(s, 4)))
        for run, time_s, hit in zip(mine["run_id"], times, reached):
            # on the curve just after the step the run made (reached) or at its censoring time
            level = s[int(np.searchsorted(t, time_s, side="right")) - 1]
            seed = seeds.get(run)
            points.append(dict(variant=v, run=str(run), seed=None if seed is None or seed != seed else int(seed), x=_round([time_s], 6)[0],
                               y=_round([level], 4)[0], reached=bool(hit)))
    return dict(series=series, points=points)


def curve_figures(curves: pd.DataFrame, runs: pd.DataFrame, variants: list[str], baseline: str | None,
                  metric: str) -> dict:
    """The loss-vs-time, loss-vs-step and difference-to-baseline figures of one sweep."""
    cur = curves[curves["current"].to_numpy(bool)]
    finished = set(runs.loc[runs["status"] == "finished", "run_id"])
    by_time = RunBlocks.build(cur, metric, "train_time_s")
    by_step = RunBlocks.build(cur, metric, "step")
    return dict(
        time=dict(series=mean_series(by_time, variants, finished), runs=run_paths(by_time, variants)),
        step=dict(series=mean_series(by_step, variants, finished), runs=run_paths(by_step, variants)),
        diff=dict(series=difference_series(by_time, variants, baseline, finished) if baseline else []))
