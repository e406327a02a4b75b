"""Simulated sweeps whose variants were watched for different lengths of time, for the per-comparison
horizon's error rate and power (tests/test_horizon.py runs a small one, bench/sim_horizon.py a large
one).

A run's time-to-threshold ~ Normal(1000 s + shift, 30 s). A run is watched until its last eval:
~ Uniform(980, 1060) s for a run that finished its budget (budgets and speeds differ, so about a third
of the runs are censored, as in issue 13's simulation), ~ Uniform(900, 980) s for the runs of the one
variant that was cut short (smaller budget, unfinished logs). A table: one baseline, 3 full variants,
1 short one, 4 runs each. The short variant sets the table's common horizon (~970 s, before most
crossings); each pair's horizon is the shorter follow-up of the two (~1,050 s for a full variant).
"""

from __future__ import annotations

import numpy as np

from sweeper.report.survival import common_horizon, pair_horizon, rmst_test

FULL, SHORT = (980.0, 1060.0), (900.0, 980.0)


def draw(rng, n: int, shift: float = 0.0, watched=FULL):
    """(time: crossing or last eval, reached, last eval) of n runs of one variant."""
    t, end = rng.normal(1000 + shift, 30, n), rng.uniform(*watched, n)
    return np.minimum(t, end), t <= end, end


def table(rng, n: int = 4, full: int = 3, shift: float = 0.0) -> list[tuple]:
    """[baseline, `full` variants (crossing `shift` s later), one short variant (no effect)]."""
    return [draw(rng, n)] + [draw(rng, n, shift) for _ in range(full)] + [draw(rng, n, watched=SHORT)]


def p_values(tbl: list[tuple], per_pair: bool) -> np.ndarray:
    """Two-sided p of each variant vs the baseline (tbl[0]) at its pair's horizon (per_pair) or at the
    table's common horizon, as summarize computes them; NaN where the test is undefined."""
    followups = {i: float(d[2].max()) for i, d in enumerate(tbl)}
    common, _ = common_horizon(followups)
    base = tbl[0]
    return np.array([rmst_test(d[0], d[1], base[0], base[1],
                               pair_horizon(followups[i], followups[0]) if per_pair else common)[0]
                     for i, d in enumerate(tbl) if i > 0])
