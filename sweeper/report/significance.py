"""Tests on final metrics and the correction for making many comparisons at once.

Each test returns (p, reason): p is NaN exactly when the test is undefined, and reason says why, so
the report can print "n/a (1 run)" instead of a bare NaN.

A table that compares 11 variants with one baseline at alpha 0.05 finds a "significant" variant by
chance alone in about 40% of sweeps where nothing works. `adjust` corrects the p-values of one
table for that: Holm (default; keeps the chance of any false verdict at alpha, under any
dependence between the comparisons, which share a baseline) or Benjamini-Hochberg (keeps the
expected share of false verdicts among the significant ones at alpha).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

ADJUST_METHODS = ("holm", "bh", "none")


def runs_word(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


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


def welch(a, b, alternative: str = "two-sided") -> tuple[float, str | None]:
    """Welch's t-test p-value of a variant's sample a vs the baseline's b, or (NaN, why) if undefined."""
    a, b = (np.asarray(s, float) for s in (a, b))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2:
        return np.nan, runs_word(len(a))
    if len(b) < 2:
        return np.nan, f"baseline: {runs_word(len(b))}"
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
        return np.nan, runs_word(len(a))
    if np.ptp(a) == 0:
        return np.nan, "zero variance"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_1samp(a, target, alternative=alternative).pvalue), None


def adjust(p_values, method: str = "holm") -> np.ndarray:
    """p-values adjusted for the number of comparisons: the defined (non-NaN) ones count, NaN stays.

    holm: step-down Bonferroni, max over i <= k of (m - i + 1) p_(i), capped at 1 (written here:
    scipy has no Holm); bh: scipy.stats.false_discovery_control; none: unchanged."""
    if method not in ADJUST_METHODS:
        raise ValueError(f"unknown adjustment {method!r}: expected one of {', '.join(ADJUST_METHODS)}")
    p = np.asarray(p_values, float)
    out = p.copy()
    defined = np.flatnonzero(~np.isnan(p))
    if method == "none" or len(defined) == 0:
        return out
    if method == "bh":
        out[defined] = stats.false_discovery_control(p[defined], method="bh")
        return out
    order = defined[np.argsort(p[defined], kind="stable")]
    m = len(order)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(stepped, 1.0)
    return out
