"""`golf plan`: how noisy are seeds, and how many does an effect need?

Pure: works on the frames of `Store.runs_frame` / `Store.curves_frame`, no SQL, no I/O.

The seed-to-seed SD is the pooled *within-variant* SD: each variant's runs are deviations around
that variant's own mean, so variants with different means still measure one noise. Power figures
are those of a two-sided two-sample t-test with equal seeds per arm, as statsmodels'
`TTestIndPower` computes them (the test `golf report` runs on the final metric).

Time-to-threshold is censored: a run that never reaches the threshold has a time "longer than its
last eval". The SD of the reached runs alone is biased low (the slow runs are exactly the ones left
out: 7.2 s instead of 11.8 s on the modded-nanogpt baseline, where 11 of 28 runs never reach), so each
variant's times are fitted as a normal distribution with right-censoring (scipy's maximum
likelihood on `CensoredData`), and the fitted variances are pooled.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats
from statsmodels.stats.power import TTestIndPower

from sweeper.report.analysis import time_to_threshold

MDE_SEEDS = (2, 3, 5, 10, 20)
# Fewer residual degrees of freedom than this and the SD itself is a guess (its 95% CI spans a
# factor of ~7 at 2 df); the plan then says how many more runs it needs instead of printing numbers.
MIN_DF = 3


@dataclass(frozen=True)
class NoiseEstimate:
    """Seed-to-seed SD of one metric: pooled over variants (`sd`, from `sd_runs` runs with `df`
    residual degrees of freedom and a 95% chi-square CI) and the baseline's own."""
    metric: str
    sd: float
    df: int
    sd_runs: int
    sd_ci: tuple[float, float]
    baseline: str | None
    baseline_sd: float
    baseline_runs: int
    method: str
    note: str | None = None  # why sd is NaN, or what was left out


@dataclass(frozen=True)
class MetricPlan:
    """The noise of one metric and what it means for seeds: `mde` maps seeds per arm to the
    smallest effect (metric units) found with the given power; `seeds_needed` is per arm for `effect`."""
    noise: NoiseEstimate
    alpha: float
    power: float
    mde: dict[int, float] = field(default_factory=dict)
    effect: float | None = None
    seeds_needed: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready: metric, sd, sd_runs, mde (seeds -> effect), seeds_needed, and the details."""
        n = self.noise
        clean = lambda x: None if x is None or (isinstance(x, float) and math.isnan(x)) else x
        return dict(metric=n.metric, sd=clean(n.sd), sd_runs=n.sd_runs, df=n.df,
                    sd_ci=[clean(n.sd_ci[0]), clean(n.sd_ci[1])], baseline=n.baseline,
                    baseline_sd=clean(n.baseline_sd), baseline_runs=n.baseline_runs, method=n.method,
                    note=n.note, alpha=self.alpha, power=self.power,
                    mde={str(k): clean(v) for k, v in self.mde.items()}, effect=self.effect,
                    seeds_needed=self.seeds_needed)


# ---- THE SD ----

def _sd_ci(var: float, df: int) -> tuple[float, float]:
    """95% CI of an SD from a variance estimate with df degrees of freedom (chi-square)."""
    if df < 1 or not np.isfinite(var):
        return (np.nan, np.nan)
    return (math.sqrt(df * var / stats.chi2.ppf(0.975, df)), math.sqrt(df * var / stats.chi2.ppf(0.025, df)))


def pooled_sd(groups: dict[str, np.ndarray]) -> tuple[float, int, int]:
    """(pooled within-group SD, residual df, runs used) over groups of >= 2 values."""
    used = [np.asarray(g, float) for g in groups.values()]
    used = [g[~np.isnan(g)] for g in used]
    used = [g for g in used if len(g) >= 2]
    df = sum(len(g) - 1 for g in used)
    if df == 0:
        return np.nan, 0, 0
    ss = sum(float(((g - g.mean()) ** 2).sum()) for g in used)
    return math.sqrt(ss / df), df, sum(len(g) for g in used)


def censored_pooled_sd(groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[float, int, int, int]:
    """(pooled SD, df, runs used, runs censored) of right-censored times: per group a normal fitted
    by maximum likelihood (scipy), its variance rescaled by n/(n-1) like a sample variance, pooled
    with weights n-1. A group needs >= 2 reached runs to say anything about its spread."""
    num, df, runs, censored = 0.0, 0, 0, 0
    for times, reached in groups.values():
        times, reached = np.asarray(times, float), np.asarray(reached, bool)
        if reached.sum() < 2:
            continue
        if reached.all():
            var = float(np.var(times, ddof=1))
        else:
            data = stats.CensoredData(uncensored=times[reached], right=times[~reached])
            with warnings.catch_warnings():  # the optimizer's precision warnings; the fit is checked below
                warnings.simplefilter("ignore")
                _, scale = stats.norm.fit(data)
            var = scale ** 2 * len(times) / (len(times) - 1)
        if not np.isfinite(var):
            continue
        num += (len(times) - 1) * var
        df += len(times) - 1
        runs += len(times)
        censored += int((~reached).sum())
    return (math.sqrt(num / df) if df else np.nan), df, runs, censored


def _too_few(df: int, runs: int, metric: str) -> str:
    need = MIN_DF - df
    return (f"too few runs to estimate the seed noise of {metric}: {runs} usable run(s) give {df} degrees of "
            f"freedom, need {MIN_DF}; run {need} more seed(s) of one variant (e.g. the baseline), "
            f"or {need + 1} of a variant with none yet")


def final_noise(runs: pd.DataFrame, metric: str, baseline: str | None) -> NoiseEstimate:
    """Seed noise of a final metric (a runs_frame column such as val_loss) over finished runs."""
    finished = runs[(runs["status"] == "finished") & runs[metric].notna()]
    groups = {v: g[metric].to_numpy(float) for v, g in finished.groupby("variant", sort=False)}
    sd, df, used = pooled_sd(groups)
    base = groups.get(baseline, np.zeros(0)) if baseline else np.zeros(0)
    b_sd = float(np.std(base, ddof=1)) if len(base) >= 2 else np.nan
    note = None if df >= MIN_DF else _too_few(df, used, metric)
    return NoiseEstimate(metric, sd if df >= MIN_DF else np.nan, df, used, _sd_ci(sd ** 2, df) if df >= MIN_DF
                         else (np.nan, np.nan), baseline, b_sd, len(base),
                         "pooled within-variant sample SD", note)


def ttt_noise(runs: pd.DataFrame, curves: pd.DataFrame, threshold: float, metric: str,
              baseline: str | None) -> NoiseEstimate:
    """Seed noise of time-to-threshold (seconds to `metric <= threshold`), censoring-aware."""
    name = f"ttt_s({metric}<={threshold:g})"
    done = set(runs.loc[runs["status"] == "finished", "run_id"])
    cur = curves[curves["current"].to_numpy(bool) & curves["run_id"].isin(done)] if len(curves) else curves
    ttt = time_to_threshold(cur, threshold, metric) if len(cur) else pd.DataFrame(
        columns=["run_id", "variant", "reached", "ttt"])
    groups = {v: (g["ttt"].to_numpy(float), g["reached"].to_numpy(bool)) for v, g in ttt.groupby("variant", sort=False)}
    sd, df, used, censored = censored_pooled_sd(groups)
    b_sd, _, b_runs, _ = censored_pooled_sd({baseline: groups[baseline]} if baseline in groups else {})
    method = (f"normal fit with right-censoring (scipy), {censored} of {used} runs never reached"
              if censored else "pooled within-variant sample SD (every run reached)")
    unreached = [v for v, (_, r) in groups.items() if r.sum() < 2]
    note = (f"left out (fewer than 2 runs reached): {', '.join(unreached)}" if unreached else None)
    if df < MIN_DF:
        note = _too_few(df, used, name) + " that reach the threshold"
    return NoiseEstimate(name, sd if df >= MIN_DF else np.nan, df, used,
                         _sd_ci(sd ** 2, df) if df >= MIN_DF else (np.nan, np.nan), baseline,
                         b_sd, b_runs, method, note)


# ---- POWER ----

def t_test_power(d: float, seeds: int, alpha: float) -> float:
    """Power of the two-sided two-sample t-test with `seeds` per arm at standardized effect d:
    statsmodels' TTestIndPower, or, where scipy's noncentral t returns NaN (it does for 2 seeds at
    some d, e.g. d = 8 at alpha 0.01), the same probability by quadrature over the chi-square
    distribution of the pooled variance: P(|Z + ncp| > c * sqrt(V / df)), V ~ chi2(df)."""
    p = TTestIndPower().power(d, seeds, alpha, ratio=1.0, alternative="two-sided")
    if np.isfinite(p):
        return float(p)
    df, ncp = 2 * seeds - 2, d * math.sqrt(seeds / 2)
    c = stats.t.ppf(1 - alpha / 2, df)
    def given_v(v: float) -> float:
        s = c * math.sqrt(v / df)
        return (stats.norm.sf(s - ncp) + stats.norm.cdf(-s - ncp)) * stats.chi2.pdf(v, df)
    return float(integrate.quad(given_v, 0, np.inf, limit=200)[0])


def mde(sd: float, seeds: int, alpha: float, power: float) -> float:
    """Smallest difference of means (metric units) a two-sided t-test with `seeds` per arm finds
    with probability `power` at level `alpha`."""
    if not np.isfinite(sd) or seeds < 2:
        return np.nan
    # statsmodels' solve_power stops at d = 10 (its search bracket) and returns 10 with a power
    # well short of the target at 2 seeds and alpha 0.01 (0.63 instead of 0.8): root-find the
    # power function here on a bracket that grows until it holds the answer.
    gap = lambda d: t_test_power(d, seeds, alpha) - power
    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 1e-9, hi, xtol=1e-12, rtol=1e-12)) * sd


def seeds_needed(sd: float, effect: float, alpha: float, power: float) -> int | None:
    """Seeds per arm for a two-sided t-test to find a difference `effect` (metric units)."""
    if not np.isfinite(sd) or effect == 0:
        return None
    if sd == 0:
        return 2
    n = TTestIndPower().solve_power(effect_size=abs(effect) / sd, nobs1=None, alpha=alpha, power=power,
                                    ratio=1.0, alternative="two-sided")
    return max(2, math.ceil(float(np.atleast_1d(n)[0]) - 1e-9))


def plan_metric(noise: NoiseEstimate, alpha: float = 0.01, power: float = 0.8,
                effect: float | None = None, seeds: tuple[int, ...] = MDE_SEEDS) -> MetricPlan:
    """MDE at each seed count and, with `effect`, the seeds per arm it needs."""
    return MetricPlan(noise, alpha, power, {n: mde(noise.sd, n, alpha, power) for n in seeds}, effect,
                      seeds_needed(noise.sd, effect, alpha, power) if effect is not None else None)


def default_baseline(runs: pd.DataFrame) -> str | None:
    """The variant named 'baseline', else the first variant in the frame."""
    variants = list(dict.fromkeys(runs["variant"]))
    return "baseline" if "baseline" in variants else (variants[0] if variants else None)
