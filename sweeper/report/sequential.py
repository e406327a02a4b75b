"""Adaptive seeds: is a variant decided after n seeds, or does it need more?

The sweep looks at each comparison (variant vs baseline) after every seed, so a plain t-test at
every look would find a "significant" difference under no effect far more often than alpha (about
3x at alpha 0.05 over looks at 2..10 seeds). golf uses a **group-sequential design with Lan-DeMets
alpha spending** (Lan & DeMets 1983; Jennison & Turnbull, *Group Sequential Methods*, 2000):

- looks at n = min, min+1, ..., max variant seeds, each with ceil(r n) baseline seeds (r =
  `baseline_ratio`); information I(n) = 1 / (1/n + 1/ceil(r n)) in 1/sd^2 units, fraction
  t = I(n) / I(max), known in advance: the boundaries are computed once per design, and a resumed
  sweep replays the same looks;
- the two-sided alpha is spent over the looks, alpha/2 on each side, by the O'Brien-Fleming-type
  function a(t) = 2 - 2 Phi(z_{a/2} / sqrt(t)) with a = alpha/2 (gsDesign's sfLDOF; Pocock-type
  a ln(1 + (e - 1) t) on request):
  almost nothing early, nearly all of it at `max`, so the final look loses little power against
  a fixed design with `max` seeds;
- the z boundaries come from the recursive numerical integration of Armitage, McPherson & Rowe
  (1969), as gsDesign/rpact compute them; with seeds the variance is estimated, so each look
  rejects when the two-sample t-test's p-value (df 2n - 2) is below the boundary's nominal p;
- **futility** (non-binding: it can only lower the error rate): stop when the conditional power to
  be decided better by `min_effect` at `max` seeds, given the data so far, is below 10%.

Why not anytime-valid confidence sequences / e-values: they allow unlimited looks and optional
continuation, but pay for it with wide boundaries at small n. A sweep knows its largest seed count,
and with 2-10 seeds per arm (df 2-18) the mixture-SPRT / safe-t boundaries need several times the
seeds of a spending design for the same power; bench/sim_adaptive.py measures the trade-off.

Each look uses the first seeds (in seed order) of both arms, so a look is a function of the
data alone: `decide` replays the looks n = min, ..., and the sweep, the report and the simulator
all call it and get the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import optimize, special, stats

UNDECIDED, BETTER, WORSE, FUTILE, OUT_OF_SEEDS = "undecided", "better", "worse", "futile", "out of seeds"
FINAL_STATES = (BETTER, WORSE, FUTILE, OUT_OF_SEEDS)
SPENDING = ("obf", "pocock")


# ---- ALPHA SPENDING ----

def spent_alpha(t: float, alpha: float, kind: str = "obf") -> float:
    """Two-sided alpha spent by information fraction t (Lan-DeMets spending functions)."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if kind == "obf":  # per side 2 - 2 Phi(z_{a/2} / sqrt(t)) with a = alpha / 2, as gsDesign's sfLDOF
        return float(4 * stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(t)))
    if kind == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"spending {kind!r}: expected one of {', '.join(SPENDING)}")


def _simpson_grid(lo: float, hi: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and Simpson weights on [lo, hi] (points odd)."""
    z = np.linspace(lo, hi, points)
    w = np.ones(points)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return z, w * (hi - lo) / (points - 1) / 3


def boundaries(info: Sequence[float], alpha: float, kind: str = "obf", points: int = 801) -> np.ndarray:
    """Two-sided symmetric z boundaries c_k at information fractions `info` (increasing, last <= 1):
    under no effect, P(|Z_k| >= c_k first at look k) = alpha(t_k) - alpha(t_{k-1}).

    Z_k = S_k / sqrt(t_k) with S a Brownian motion in information time; the density of Z_k on the
    continuation region is carried from look to look by convolution with the normal increment."""
    t = np.asarray(info, float)
    if np.any(np.diff(t) <= 0) or t[0] <= 0 or t[-1] > 1 + 1e-12:
        raise ValueError(f"information fractions must increase within (0, 1], got {list(info)}")
    out = np.empty(len(t))
    out[0] = stats.norm.isf(spent_alpha(t[0], alpha, kind) / 2)
    z, w = _simpson_grid(-out[0], out[0], points)
    dens = stats.norm.pdf(z)  # sub-density of Z_1 on (-c_1, c_1)
    for k in range(1, len(t)):
        step = spent_alpha(t[k], alpha, kind) - spent_alpha(t[k - 1], alpha, kind)
        sd = math.sqrt(t[k] - t[k - 1])
        mean = z * math.sqrt(t[k - 1])  # S_{k-1} at each node

        def exit_prob(c: float) -> float:
            s = c * math.sqrt(t[k])
            return float(np.sum(w * dens * (stats.norm.sf((s - mean) / sd) + stats.norm.cdf((-s - mean) / sd))))

        # exit_prob falls from the continuation mass to 0 as c grows; 40 sd is beyond any alpha.
        out[k] = optimize.brentq(lambda c: exit_prob(c) - step, 0.0, 40.0, xtol=1e-10) if step > 0 else 40.0
        z_new, w_new = _simpson_grid(-out[k], out[k], points)
        kernel = stats.norm.pdf((z_new[:, None] * math.sqrt(t[k]) - mean[None, :]) / sd) * math.sqrt(t[k]) / sd
        dens, z, w = kernel @ (w * dens), z_new, w_new
    return out


# ---- THE DESIGN ----

@dataclass(frozen=True)
class Design:
    """How a comparison is decided: variant seeds from `min_seeds` to `max_seeds`, two-sided
    `alpha` per comparison spent by `spending`, and `min_effect` (metric units, lower is better):
    the smallest gain worth having, below which the futility rule gives up. None: no futility stop.

    `baseline_ratio` r: the look at n variant seeds uses ceil(r n) baseline seeds. One baseline
    serves every comparison, so its seeds are cheap per comparison: with k variants, r = sqrt(k)
    minimises the variance of all k comparisons for a given number of runs (Dunnett 1955)."""
    min_seeds: int = 2
    max_seeds: int = 10
    alpha: float = 0.05
    min_effect: float | None = None
    spending: str = "obf"
    futility_power: float = 0.10
    baseline_ratio: float = 1.0

    def __post_init__(self) -> None:
        if not 2 <= self.min_seeds <= self.max_seeds:
            raise ValueError(f"seeds: need 2 <= min ({self.min_seeds}) <= max ({self.max_seeds})")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha: expected a level in (0, 1), got {self.alpha}")
        if self.min_effect is not None and not self.min_effect > 0:
            raise ValueError(f"min_effect: expected a positive gain, got {self.min_effect}")
        if self.spending not in SPENDING:
            raise ValueError(f"spending {self.spending!r}: expected one of {', '.join(SPENDING)}")
        if not self.baseline_ratio >= 1:
            raise ValueError(f"baseline_ratio: expected >= 1, got {self.baseline_ratio}")

    @property
    def looks(self) -> range:
        return range(self.min_seeds, self.max_seeds + 1)

    def baseline_seeds(self, n: int) -> int:
        """Baseline seeds the look at n variant seeds uses."""
        return math.ceil(self.baseline_ratio * n - 1e-9)

    def information(self, n: int) -> float:
        """Information of the look at n variant seeds, in units of 1/sd^2: 1 / (1/n + 1/m)."""
        return 1 / (1 / n + 1 / self.baseline_seeds(n))

    def z_bound(self, n: int) -> float:
        """The z boundary at the look with n variant seeds."""
        return _bounds(self.min_seeds, self.max_seeds, self.alpha, self.spending, self.baseline_ratio)[n - self.min_seeds]

    def nominal_p(self, n: int) -> float:
        """Two-sided p-value the look with n variant seeds must beat."""
        return _nominal(self.min_seeds, self.max_seeds, self.alpha, self.spending, self.baseline_ratio)[n - self.min_seeds]


@lru_cache(maxsize=64)
def _bounds(lo: int, hi: int, alpha: float, kind: str, ratio: float) -> tuple[float, ...]:
    design = Design(lo, hi, alpha, None, kind, baseline_ratio=ratio)
    full = design.information(hi)
    return tuple(boundaries([design.information(n) / full for n in range(lo, hi + 1)], alpha, kind))


@lru_cache(maxsize=64)
def _nominal(lo: int, hi: int, alpha: float, kind: str, ratio: float) -> tuple[float, ...]:
    return tuple(float(2 * special.ndtr(-c)) for c in _bounds(lo, hi, alpha, kind, ratio))


@dataclass(frozen=True)
class Decision:
    """The state of one comparison after its last look: `seeds` per arm looked at, `effect`
    (variant mean - baseline mean; negative is better), its t-test `p_value` and the `nominal_p`
    it had to beat, `conditional_power` to be decided better by min_effect at max seeds, `sd`."""
    state: str
    seeds: int
    effect: float = float("nan")
    p_value: float = float("nan")
    nominal_p: float = float("nan")
    conditional_power: float = float("nan")
    sd: float = float("nan")

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def describe(self) -> str:
        """One line for tables: the state and the numbers behind it."""
        if self.seeds == 0 or math.isnan(self.effect):
            return f"{self.state} ({self.seeds} seeds)"
        text = f"{self.state} after {self.seeds} seeds: {self.effect:+.4g}, p={self.p_value:.2g} vs {self.nominal_p:.2g}"
        return text + (f", CP {self.conditional_power:.0%}" if not math.isnan(self.conditional_power) else "")


# ---- ONE LOOK, AND THE REPLAY OF ALL LOOKS ----

def look(baseline: Sequence[float], variant: Sequence[float], n: int, design: Design) -> Decision:
    """The decision at the look with the first n variant seeds and the first m = ceil(r n) baseline
    seeds: Student's two-sample t-test (pooled variance, df n + m - 2)."""
    m = design.baseline_seeds(n)
    b, v = baseline[:m], variant[:n]
    mb, mv = math.fsum(b) / m, math.fsum(v) / n  # plain floats: numpy's overhead dwarfs 2-20 values
    effect = mv - mb
    df = n + m - 2
    sd = math.sqrt((math.fsum((x - mb) ** 2 for x in b) + math.fsum((x - mv) ** 2 for x in v)) / df)
    se = sd * math.sqrt(1 / n + 1 / m)
    if se > 0:
        # scipy.special rather than scipy.stats: the same functions without ~100 us of argument
        # checking per call, which the simulator's hundreds of thousands of looks would feel.
        t = -effect / se  # positive: the variant is better (lower)
        p = float(2 * special.stdtr(df, -abs(t)))
    else:  # identical runs within each arm: any difference is certain, none is nothing
        t = -math.copysign(math.inf, effect) if effect else 0.0
        p = 0.0 if effect else 1.0
    bound = design.nominal_p(n)
    if p < bound:
        return Decision(BETTER if effect < 0 else WORSE, n, effect, p, bound, float("nan"), sd)
    if n >= design.max_seeds:
        return Decision(OUT_OF_SEEDS, n, effect, p, bound, float("nan"), sd)
    cp = conditional_power(t, n, design, sd)
    state = FUTILE if cp < design.futility_power else UNDECIDED
    return Decision(state, n, effect, p, bound, cp, sd)


def conditional_power(z: float, n: int, design: Design, sd: float) -> float:
    """P(the final look decides 'better') given Z = z now, if the true gain is min_effect.

    B-value form (Lan & Wittes 1988): B(t) = z sqrt(t) grows by N(eta (1 - t), 1 - t) to the end,
    with eta = min_effect / sd * sqrt(I_max) the final look's expected z (I in 1/sd^2 units); the current sd is
    plugged in and z is the t statistic itself (through the t-tail, a t of 40 at 2 seeds would
    count as z = -3.4 and keep a hopeless variant alive). The looks in between
    are ignored, which makes it a lower bound: futility errs towards stopping, never towards a
    false 'better'. NaN without min_effect."""
    if design.min_effect is None:
        return float("nan")
    if sd == 0:
        return 1.0 if z >= 0 else 0.0
    full = design.information(design.max_seeds)
    t = design.information(n) / full
    eta = design.min_effect / sd * math.sqrt(full)
    c = design.z_bound(design.max_seeds)
    return float(special.ndtr(-(c - z * math.sqrt(t) - eta * (1 - t)) / math.sqrt(1 - t)))


def decide(baseline_values: Sequence[float], variant_values: Sequence[float], design: Design) -> Decision:
    """The state of a variant vs the baseline: every look n = min, ..., up to the seeds both arms
    have (values in seed order; NaNs dropped), stopping at the first final state."""
    b = [float(x) for x in baseline_values if not math.isnan(x)]
    v = [float(x) for x in variant_values if not math.isnan(x)]
    available = min(len(v), design.max_seeds)
    while available > 0 and design.baseline_seeds(available) > len(b):
        available -= 1
    if available < design.min_seeds:
        return Decision(UNDECIDED, available)
    decision = Decision(UNDECIDED, 0)
    for n in range(design.min_seeds, available + 1):
        decision = look(b, v, n, design)
        if decision.final:
            break
    return decision
