"""Adaptive seeds vs a fixed seed count, simulated on CPU from the real seed-to-seed noise.

    python bench/sim_adaptive.py [--sweeps 300] [--min 2] [--max 10] [--alpha 0.05]
                                 [--min-effect 1.0] [--workers 8] [--spending obf] [--seed 0]

Noise model: the final val_loss of the repeated-seed runs in
tests/fixtures/modded-nanogpt-value-embeddings/t-test-results.md (28 and 37 seeds of two
modded-nanogpt configs), centred on each config's mean and scaled to unit pooled SD; a simulated
run draws one of these 65 residuals (resampled, so the real tails come along). Effects are planted
in SD units on 10 variants (a gain: lower is better), and each sweep has one baseline.

The adaptive sweep is driven by the same code as `golf sweep --adaptive` (sweeper.run.adaptive,
which calls sweeper.report.sequential.decide), on `--workers` simulated workers whose runs take
1 time unit (+-5%); the fixed design runs n seeds of every arm and tests each variant with a
two-sided t-test at alpha. Prints, per planted effect: how often a variant is called better /
worse, the runs one sweep spends, and its wall-clock in run lengths; then, per effect, the fixed
seed count that matches the adaptive power and the runs the adaptive design saves against it.
"""

from __future__ import annotations

import argparse
import heapq
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from sweeper.importer import parse_file
from sweeper.report.sequential import BETTER, WORSE, Design
from sweeper.run.adaptive import AdaptiveSeeds, RunState

FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/modded-nanogpt-value-embeddings/t-test-results.md"
VARIANTS = [f"v{i}" for i in range(10)]


def noise_model() -> tuple[np.ndarray, float]:
    """(standardized residuals, pooled SD in nats) of the fixture's final val_loss."""
    runs = parse_file(FIXTURE).runs
    groups = {}
    for r in runs:
        groups.setdefault(r.variant, []).append(r.final["val_loss"])
    resid = np.concatenate([np.asarray(g) - np.mean(g) for g in groups.values()])
    df = len(resid) - len(groups)
    sd = float(np.sqrt((resid ** 2).sum() / df))
    # Rescaled so that a draw has unit variance (a residual is shrunk by sqrt((n-1)/n) around its mean).
    scale = np.sqrt(len(resid) / df)
    return resid / sd * scale, sd


def simulate_adaptive(effects: np.ndarray, design: Design, resid: np.ndarray, rng: np.random.Generator,
                      workers: int) -> tuple[dict[str, str], int, float]:
    """One adaptive sweep: each variant's final state, runs spent, wall-clock (run lengths)."""
    planted = dict(zip(VARIANTS, effects))
    policy = AdaptiveSeeds(["baseline", *VARIANTS], "baseline", design)
    runs: dict[tuple[str, int], RunState] = {}
    queue: list[tuple[str, int]] = []
    running: list[tuple[float, int, str, int]] = []  # (end time, tie-break, variant, seed)
    now, tick = 0.0, 0

    def enqueue() -> None:
        for v, s in policy.next_runs(runs.values()):
            runs[(v, s)] = RunState(v, s, "queued")
            queue.append((v, s))

    enqueue()
    while True:
        while queue and len(running) < workers:
            v, s = queue.pop(0)
            runs[(v, s)] = RunState(v, s, "running")
            tick += 1
            heapq.heappush(running, (now + rng.uniform(0.95, 1.05), tick, v, s))
        if not running:
            break
        now, _, v, s = heapq.heappop(running)
        value = planted.get(v, 0.0) * -1.0 + rng.choice(resid)  # a gain lowers the loss
        runs[(v, s)] = RunState(v, s, "finished", float(value))
        enqueue()
    states = {v: d.state for v, d in policy.decisions(runs.values()).items()}
    return states, len(runs), now


def simulate_fixed(effects: np.ndarray, n: int, alpha: float, resid: np.ndarray, rng: np.random.Generator,
                   sweeps: int, baseline_seeds: int | None = None) -> tuple[float, float]:
    """`sweeps` fixed sweeps with n seeds per variant (and `baseline_seeds`, default n, of the
    baseline), each variant t-tested against the baseline at alpha: the fractions of variants
    called better and worse."""
    base = rng.choice(resid, (sweeps, 1, baseline_seeds or n))
    var = -effects[None, :, None] + rng.choice(resid, (sweeps, len(effects), n))
    with warnings.catch_warnings():  # resampled residuals can repeat: zero variance gives p = NaN, no call
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.ttest_ind(var, base, axis=-1).pvalue
    lower = var.mean(axis=-1) < base.mean(axis=-1)
    return float(np.mean((p < alpha) & lower)), float(np.mean((p < alpha) & ~lower))


def equal_power_seeds(power: float, curve: np.ndarray, ns: list[int]) -> float:
    """The seeds per variant at which the fixed design's power `curve` (non-decreasing over `ns`)
    reaches `power`, interpolated; a saturated power (> 0.99) is matched 0.005 below it, else
    the first seed count that rounds to 1.000 would stand for it."""
    target = min(power, curve[-1]) - (0.005 if power > 0.99 else 0.0)
    return float(np.interp(target, curve + np.arange(len(curve)) * 1e-9, ns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=300, help="simulated sweeps per planted effect")
    ap.add_argument("--min", type=int, default=2)
    ap.add_argument("--max", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--min-effect", type=float, default=1.0, help="in SD units")
    ap.add_argument("--spending", default="obf")
    ap.add_argument("--futility-power", type=float, default=0.10,
                    help="futility stop below this conditional power for min_effect")
    ap.add_argument("--baseline-ratio", type=float, default=None,
                    help="baseline seeds per variant seed (default sqrt(variants), as golf sweep --adaptive)")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    resid, sd = noise_model()
    ratio = args.baseline_ratio or np.sqrt(len(VARIANTS))
    design = Design(args.min, args.max, args.alpha, args.min_effect, args.spending,
                    futility_power=args.futility_power, baseline_ratio=ratio)
    rng = np.random.default_rng(args.seed)
    print(f"noise model: {len(resid)} residuals of final val_loss, pooled SD {sd:.5f} nats; "
          f"{len(VARIANTS)} variants + baseline, {args.sweeps} sweeps per effect, {args.workers} workers")
    print(f"adaptive: seeds {args.min}..{args.max}, alpha {args.alpha} two-sided, {args.spending} spending, "
          f"futility below {args.futility_power:.0%} conditional power for min_effect {args.min_effect} SD, "
          f"baseline seeds {ratio:.2f}x the variant's")
    print("fixed n: n seeds of every arm (the usual design); fixed n+r: n per variant, ceil(r n) baseline")
    # Fixed designs up to 3x max seeds: the equal-power match may need more seeds than max.
    fixed_ns = list(range(2, 3 * args.max + 1))
    header = f"{'design':<14}{'effect (SD)':>12}{'better':>9}{'worse':>8}{'runs/sweep':>12}{'wall':>7}"
    print(header)
    print("-" * len(header))
    adaptive_power, fixed_power, fixed_r_power = {}, {}, {}
    started = time.perf_counter()
    for effect in (0.0, 0.5, 1.0, 2.0):
        effects = np.full(len(VARIANTS), effect)
        better = worse = spent = 0
        wall = 0.0
        per_sweep = []  # fraction called better in each sweep: its spread gives the power's Monte Carlo SE
        for _ in range(args.sweeps):
            states, n_runs, t = simulate_adaptive(effects, design, resid, rng, args.workers)
            calls = sum(s == BETTER for s in states.values())
            per_sweep.append(calls / len(VARIANTS))
            better += calls
            worse += sum(s == WORSE for s in states.values())
            spent += n_runs
            wall += t
        total = args.sweeps * len(VARIANTS)
        # variants of one sweep share a baseline, so their calls are correlated: the SE comes from
        # the spread between sweeps, not from a binomial over all variants
        se = float(np.std(per_sweep, ddof=1) / np.sqrt(args.sweeps))
        adaptive_power[effect] = (better / total, spent / args.sweeps, se)
        print(f"{'adaptive':<14}{effect:>12.1f}{better / total:>9.3f}{worse / total:>8.3f}"
              f"{spent / args.sweeps:>12.1f}{wall / args.sweeps:>7.1f}")
        for n in fixed_ns:
            # 20x the sweeps: the fixed design is cheap, and its power curve is what the adaptive
            # power is matched against below.
            b, w = simulate_fixed(effects, n, args.alpha, resid, rng, 20 * args.sweeps)
            fixed_power[(effect, n)] = b
            runs = n * (len(VARIANTS) + 1)
            if n in (3, 5, args.max):
                print(f"{f'fixed {n}':<14}{effect:>12.1f}{b:>9.3f}{w:>8.3f}{runs:>12.1f}"
                      f"{np.ceil(runs / args.workers):>7.1f}")
            m = design.baseline_seeds(n)
            b, w = simulate_fixed(effects, n, args.alpha, resid, rng, 20 * args.sweeps, m)
            fixed_r_power[(effect, n)] = b
            if n == args.max:
                runs = n * len(VARIANTS) + m
                print(f"{f'fixed {n}+r':<14}{effect:>12.1f}{b:>9.3f}{w:>8.3f}{runs:>12.1f}"
                      f"{np.ceil(runs / args.workers):>7.1f}")
    print()
    print("equal power: per effect, the fixed design (seeds per variant, interpolated between seed counts)")
    print("whose power at that effect equals the adaptive power, and the runs of that fixed sweep; in")
    print("brackets the saving at the ends of the adaptive power's 95% Monte Carlo interval (+-1.96 SE)")
    for label, table, runs_of in (("fixed n", fixed_power, lambda n: n * (len(VARIANTS) + 1)),
                                  ("fixed n+r", fixed_r_power, lambda n: n * len(VARIANTS) + ratio * n)):
        for effect in (0.5, 1.0, 2.0):
            power, runs, se = adaptive_power[effect]
            curve = np.maximum.accumulate([table[(effect, n)] for n in fixed_ns])  # power rises with n
            if power > curve[-1] + 0.005:
                print(f"  {label}, effect {effect} SD: adaptive power {power:.3f} in {runs:.1f} runs; the fixed "
                      f"design reaches only {curve[-1]:.3f} at {fixed_ns[-1]} seeds ({runs_of(fixed_ns[-1]):.0f} runs)")
                continue
            n_equal = equal_power_seeds(power, curve, fixed_ns)
            lo, hi = (1 - runs / runs_of(equal_power_seeds(p, curve, fixed_ns)) for p in (power - 1.96 * se,
                                                                                          power + 1.96 * se))
            print(f"  {label}, effect {effect} SD: adaptive power {power:.3f} (SE {se:.3f}) in {runs:.1f} runs; "
                  f"fixed {n_equal:.1f} seeds in {runs_of(n_equal):.1f} runs: {1 - runs / runs_of(n_equal):.0%} "
                  f"fewer runs [{lo:.0%}, {hi:.0%}]")
    print(f"null (effect 0): any call is a false positive; fixed t-test at alpha {args.alpha}. "
          f"simulated in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
