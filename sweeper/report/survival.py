"""Time-to-threshold as censored data: Kaplan-Meier curve, median, restricted mean and its test.

A run that never reaches the threshold is *censored* at its last eval: all we know is that its
time-to-threshold is longer than that. Averaging only the runs that did reach throws those away and
flatters a variant whose slow runs never got there. The Kaplan-Meier estimate of S(t), the fraction
of runs not yet at the threshold at time t, uses every run; the area under S up to a horizon tau,
the restricted mean time-to-threshold (RMST), is the mean of min(T, tau) and is defined for every
variant, whatever its censoring.

The KM curve comes from scipy.stats.ecdf on CensoredData. scipy gives no variance of the RMST (nor
does lifelines: its `return_variance` is the variance of min(T, tau) itself, not of the estimate),
so that one sum is written here: Greenwood's formula integrated over the curve,
    Var(RMST) = sum over event times t_j <= tau of A_j^2 d_j / (Y_j (Y_j - d_j)),
with A_j the area under S from t_j to tau, d_j runs reaching at t_j, Y_j runs still at risk
(Klein & Moeschberger, Survival Analysis, 4.5; R's survRM2 uses the same). Without censoring before
tau it equals the plug-in variance of the mean of min(T, tau), sum((x - mean)^2) / n^2; scaled by
n / (n - 1) and used with Student's t, the interval and the test below become exactly the classic
t-interval and Welch's t-test on min(T, tau) there, which keeps their size right with 3-5 runs
(a normal approximation rejects a true null 8-12% of the time at alpha 0.05 with 3-5 runs).

Two horizons: the table's restricted means share one (`common_horizon`, the shortest follow-up of
all variants) so that its rows can be ranked against each other; each test against the baseline
uses its own pair's (`pair_horizon`, the shorter of the two follow-ups), so that one short variant
does not cut every other comparison short.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class KaplanMeier:
    """S(t) of one variant: a step function, 1 before `times[0]`, `surv[i]` from `times[i]` on.
    `followup` is the longest time any of its runs was watched; S is unknown beyond it."""
    times: np.ndarray
    surv: np.ndarray
    n: int
    followup: float

    @classmethod
    def fit(cls, times, reached, followup: float | None = None) -> "KaplanMeier":
        """From each run's time (crossing, or last eval when censored) and whether it reached.
        `followup` defaults to the largest time (pass the runs' last eval times when they reached)."""
        times, reached = np.asarray(times, float), np.asarray(reached, bool)
        end = followup if followup is not None else (float(times.max()) if len(times) else np.nan)
        if not reached.any():
            return cls(np.zeros(0), np.zeros(0), len(times), end)
        with warnings.catch_warnings():  # scipy warns when every run is uncensored: nothing to warn about
            warnings.simplefilter("ignore", RuntimeWarning)
            sf = stats.ecdf(stats.CensoredData(uncensored=times[reached], right=times[~reached])).sf
        return cls(np.asarray(sf.quantiles, float), np.asarray(sf.probabilities, float), len(times), end)

    def median(self) -> float:
        """First time S drops to 0.5 or below (NaN when it never does: fewer than half reached)."""
        below = np.flatnonzero(self.surv <= 0.5)
        return float(self.times[below[0]]) if len(below) else np.nan

    def at(self, t) -> np.ndarray:
        """S at the times `t`."""
        i = np.searchsorted(self.times, np.asarray(t, float), side="right")
        return np.r_[1.0, self.surv][i]


def restricted_mean(times, reached, horizon: float) -> tuple[float, float]:
    """(RMST up to `horizon`, its variance with the small-sample factor n / (n - 1); NaN for 1 run)."""
    times, reached = np.asarray(times, float), np.asarray(reached, bool)
    n = len(times)
    if n == 0:
        return np.nan, np.nan
    km = KaplanMeier.fit(times, reached)
    keep = km.times <= horizon
    knots = np.r_[0.0, km.times[keep], horizon]
    level = np.r_[1.0, km.surv[keep]]
    area = level * np.diff(knots)  # area under S between consecutive event times
    rmst = float(area.sum())
    if n < 2:
        return rmst, np.nan
    after = np.cumsum(area[::-1])[::-1][1:]  # A_j: area under S from event time j to the horizon
    event_t = km.times[keep]
    at_risk = n - np.searchsorted(np.sort(times), event_t, side="left")  # Y_j: runs with time >= t_j
    events = np.array([np.sum(reached & (times == t)) for t in event_t])
    with np.errstate(divide="ignore", invalid="ignore"):
        # Y_j == d_j: S drops to 0 there, so A_j is 0 and the term is 0 (not 0/0)
        terms = np.where(at_risk > events, after ** 2 * events / (at_risk * (at_risk - events)), 0.0)
    return rmst, float(terms.sum()) * n / (n - 1)


def restricted_mean_ci(times, reached, horizon: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """RMST with a Student-t interval on n - 1 degrees of freedom, clipped to [0, horizon] where the
    RMST lies by definition (NaN bounds with 1 run).

    Why clipped and not on the log scale: with 2-3 seeds a t-interval of a time is often wider than
    the time itself (x = 5 s and 100 s: 52 +/- 603 s), and only the part inside [0, horizon] can hold
    the true value, so clipping never lowers the coverage, and inside those limits the interval stays
    exactly the classic t-interval that rmst_test inverts. A log interval would move both ends of
    every interval and still pass the horizon."""
    rmst, var = restricted_mean(times, reached, horizon)
    if np.isnan(var):
        return rmst, np.nan, np.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(times) - 1) * np.sqrt(var)
    return rmst, max(rmst - half, 0.0), min(rmst + half, horizon)


def rmst_test(times_a, reached_a, times_b, reached_b, horizon: float) -> tuple[float, str | None]:
    """Two-sided p-value that two variants' RMST up to `horizon` are equal: the difference over its
    standard error against Student's t with Welch-Satterthwaite degrees of freedom. (NaN, why) when
    undefined: fewer than 2 runs on a side, or no run of either reached before the horizon."""
    na, nb = len(times_a), len(times_b)
    if na < 2:
        return np.nan, f"{na} run" if na == 1 else "no runs"
    if nb < 2:
        return np.nan, f"baseline: {nb} run" if nb == 1 else "baseline: no runs"
    (ra, va), (rb, vb) = restricted_mean(times_a, reached_a, horizon), restricted_mean(times_b, reached_b, horizon)
    if va + vb == 0:
        reached_any = np.any(np.asarray(times_a)[np.asarray(reached_a, bool)] <= horizon) or \
            np.any(np.asarray(times_b)[np.asarray(reached_b, bool)] <= horizon)
        return np.nan, "zero variance" if reached_any else "none reached by the horizon"
    return float(difference_p(ra, va, na, rb, vb, nb)), None


def difference_p(ra, va, na, rb, vb, nb):
    """Two-sided p of RMST a - RMST b from each side's estimate, variance and run count (arrays
    broadcast): the difference over its standard error against Student's t with Welch-Satterthwaite
    degrees of freedom. NaN where both variances are 0 (nobody reached before the horizon)."""
    ra, va, na, rb, vb, nb = (np.asarray(x, float) for x in (ra, va, na, rb, vb, nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
        return np.where(va + vb > 0, 2 * stats.t.sf(np.abs(ra - rb) / np.sqrt(va + vb), df), np.nan)


def common_horizon(followups: dict[str, float]) -> tuple[float, str | None]:
    """The horizon the variants' RMSTs share: the shortest follow-up among them (each variant's
    longest-watched run), beyond which some variant's S is unknown. Returns (horizon, variant)."""
    known = {v: f for v, f in followups.items() if np.isfinite(f)}
    if not known:
        return np.nan, None
    variant = min(known, key=known.get)
    return float(known[variant]), variant


def pair_horizon(followup_a: float, followup_b: float) -> float:
    """The horizon two variants' RMSTs are compared at: the shorter of their two follow-ups (each
    variant's longest-watched run), the longest window over which both Kaplan-Meier curves are known.
    Tian et al. (2020, "On the empirical choice of the time window for restricted mean survival time",
    Biometrics 76(4)) show that the RMST difference stays a valid test with the window chosen from
    the data this way; R's survRM2 (rmst2) takes it as its default tau where neither curve has reached
    0. NaN when either follow-up is unknown."""
    return float(np.minimum(followup_a, followup_b))
