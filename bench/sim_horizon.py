"""Per-comparison vs common RMST horizon: error rate and power by simulation, printed.

    python bench/sim_horizon.py [--tables 4000] [--runs 4] [--effect 20] [--alpha 0.05] [--seed 0]

Tables of a baseline, 3 variants watched to the end of their budgets and 1 variant cut short
(tests/horizon_sim.py says how runs are drawn). Under no effect: how often each test rejects at
alpha, per full variant and for the short one, and Holm's family-wise error over the 4 comparisons.
With the full variants `--effect` s faster (the short one unchanged): how often each test finds them,
raw and after Holm. Each rate with its 95% Clopper-Pearson interval (the full variants' comparisons
of one table share the baseline, so their interval is a little too narrow; the first variant's alone
is exact). Figures only, no assertions: tests/test_horizon.py asserts on a small run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np
from horizon_sim import p_values, table
from scipy import stats

from sweeper.report.significance import adjust
from sweeper.report.survival import common_horizon, pair_horizon


def rate(hits: np.ndarray) -> str:
    k, n = int(hits.sum()), hits.size
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    return f"{k / n:6.1%} ({ci.low:.1%}-{ci.high:.1%}, {k}/{n})"


def simulate(rng, tables: int, runs: int, shift: float, alpha: float) -> dict[str, np.ndarray]:
    """(tables, 4) rejections of each design, raw and Holm-adjusted; horizons of the full pairs."""
    out = {k: [] for k in ("pair", "common", "pair_holm", "common_holm", "pair_tau", "common_tau")}
    for _ in range(tables):
        tbl = table(rng, runs, shift=shift)
        followups = {i: float(d[2].max()) for i, d in enumerate(tbl)}
        for design, per_pair in (("pair", True), ("common", False)):
            p = p_values(tbl, per_pair)
            out[design].append(p < alpha)  # NaN (undefined) compares False: not rejected
            out[design + "_holm"].append(adjust(p, "holm") < alpha)
        out["pair_tau"].append([pair_horizon(followups[i], followups[0]) for i in (1, 2, 3)])
        out["common_tau"].append(common_horizon(followups)[0])
    return {k: np.asarray(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=4, help="runs per variant")
    ap.add_argument("--effect", type=float, default=20.0, help="seconds faster, planted on the full variants")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    null = simulate(rng, args.tables, args.runs, 0.0, args.alpha)
    planted = simulate(rng, args.tables, args.runs, -args.effect, args.alpha)
    print(f"{args.tables} tables x 2 (no effect, {args.effect:g} s effect), {args.runs} runs a variant, "
          f"alpha {args.alpha}, {time.perf_counter() - start:.0f} s")
    print(f"horizons: common {null['common_tau'].mean():.0f} s on average; per pair (full variants) "
          f"{null['pair_tau'].mean():.0f} s")
    print(f"{'':44} {'per-pair horizon':>32} {'common horizon':>32}")
    lines = [("no effect: full variant 1 rejected", null, lambda h: h[:, 0]),
             ("no effect: full variants 1-3 rejected", null, lambda h: h[:, :3]),
             ("no effect: short variant rejected", null, lambda h: h[:, 3]),
             ("no effect: any of 4 after Holm (FWER)", null, lambda h: h.any(axis=1)),
             (f"{args.effect:g} s faster: full variants found", planted, lambda h: h[:, :3]),
             ("  the same after Holm", planted, None),
             ("  short variant (no effect) rejected", planted, lambda h: h[:, 3])]
    for label, res, pick in lines:
        if pick is None:
            pair, common = res["pair_holm"][:, :3], res["common_holm"][:, :3]
        elif "FWER" in label:
            pair, common = pick(res["pair_holm"]), pick(res["common_holm"])
        else:
            pair, common = pick(res["pair"]), pick(res["common"])
        print(f"{label:44} {rate(pair):>32} {rate(common):>32}")


if __name__ == "__main__":
    main()
