"""The sequential decision behind adaptive seeds: boundaries, error rate under repeated looks, states,
and the policy that turns decisions into runs."""

import math

import numpy as np
import pytest
from scipy import stats

from sweeper.report.sequential import (BETTER, FUTILE, OUT_OF_SEEDS, UNDECIDED, WORSE, Design, boundaries,
                                       decide)
from sweeper.run.adaptive import AdaptiveSeeds, RunState

FIVE_LOOKS = [0.2, 0.4, 0.6, 0.8, 1.0]


def test_boundaries_match_gsdesign_and_a_multivariate_normal():
    # gsDesign's sfLDOF / sfLDPocock, 5 equally spaced looks, alpha 0.025 on each side.
    obf = boundaries(FIVE_LOOKS, 0.05, "obf")
    assert obf == pytest.approx([4.8769, 3.3570, 2.6803, 2.2898, 2.0310], abs=2e-3)
    pocock = boundaries(FIVE_LOOKS, 0.05, "pocock")
    assert pocock == pytest.approx([2.4380, 2.4268, 2.4101, 2.3966, 2.3859], abs=2e-3)
    # Independently: Z_k = S(t_k)/sqrt(t_k) has corr sqrt(t_i/t_j); staying inside every boundary
    # has probability 1 - alpha (scipy's Genz integration, not the recursion above).
    t = np.array(FIVE_LOOKS)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    for c in (obf, pocock):
        inside = stats.multivariate_normal(np.zeros(5), cov).cdf(c, lower_limit=-c, rng=0)
        assert 1 - inside == pytest.approx(0.05, abs=5e-4)


@pytest.mark.parametrize("ratio", [1.0, math.sqrt(10)])
def test_null_with_a_look_after_every_seed_keeps_the_error_rate(ratio):
    """2,000 null comparisons, each looked at after every seed from 2 to 10 (the baseline with
    `ratio` times as many): the sequential rule's false-positive rate stays within alpha (binomial
    tolerance: 3 standard errors above 0.05), while a plain t-test at every look on the same draws
    exceeds it by far."""
    rng = np.random.default_rng(1)
    design = Design(min_seeds=2, max_seeds=10, alpha=0.05, baseline_ratio=ratio)  # no futility: the worst case
    sims = 2000
    base, var = rng.normal(size=(sims, design.baseline_seeds(10))), rng.normal(size=(sims, 10))
    sequential = sum(decide(b, v, design).state in (BETTER, WORSE) for b, v in zip(base, var))
    naive = np.zeros(sims, bool)
    for n in range(2, 11):
        naive |= stats.ttest_ind(base[:, :design.baseline_seeds(n)], var[:, :n], axis=1).pvalue < 0.05
    tolerance = 3 * math.sqrt(0.05 * 0.95 / sims)
    assert sequential / sims <= 0.05 + tolerance
    assert naive.mean() > 0.05 + 3 * tolerance  # the repeated looks are real: they would inflate it


def test_states():
    design = Design(min_seeds=2, max_seeds=6, alpha=0.05, min_effect=0.1)  # about 1.3 sd of these runs
    base = [10.0, 10.1, 9.9, 10.05, 9.95, 10.0]
    assert decide(base, [10.0], design).state == UNDECIDED  # fewer than min seeds
    far_better = [v - 5 for v in base]
    assert decide(base, far_better, design).state == BETTER
    assert decide(base, [v + 5 for v in base], design).state in (WORSE, FUTILE)
    # A variant 4 sd worse after 3 seeds cannot show a 0.1 gain by 6 seeds: futile, with its numbers.
    worse = decide(base[:3], [10.3, 10.35, 10.25], design)
    assert worse.state == FUTILE and worse.conditional_power < 0.10 and worse.effect > 0
    # No gain and no futility rule: all seeds, then out of seeds.
    same = decide(base, [10.02, 9.93, 10.08, 10.0, 9.97, 10.01], Design(2, 6, 0.05))
    assert same.state == OUT_OF_SEEDS and same.seeds == 6
    with pytest.raises(ValueError, match="min"):
        Design(min_seeds=1)


def _finish(runs, variant, seed, value):
    return [r if (r.variant, r.seed) != (variant, seed) else RunState(variant, seed, "finished", value) for r in runs]


def test_policy_adds_seeds_only_where_undecided_and_keeps_the_baseline_ahead():
    policy = AdaptiveSeeds(["baseline", "a", "bad"], "baseline", Design(2, 5, 0.05, min_effect=0.02))
    first = policy.next_runs([])
    assert sorted(first) == [(v, s) for v in ("a", "bad", "baseline") for s in (0, 1)]
    runs = [RunState(v, s, "queued") for v, s in first]
    values = {"baseline": [3.00, 3.01], "a": [2.99, 3.02], "bad": [4.0, 4.2]}
    for v, vs in values.items():
        for s, x in enumerate(vs):
            runs = _finish(runs, v, s, x)
    # 'bad' is futile at its first look; 'a' is undecided: one more seed for it and the baseline.
    assert policy.decisions(runs)["bad"].state == FUTILE
    assert sorted(policy.next_runs(runs)) == [("a", 2), ("baseline", 2)]
    runs += [RunState("a", 2, "queued"), RunState("baseline", 2, "queued")]
    assert policy.next_runs(runs) == []  # in flight: nothing more
    runs = _finish(runs, "a", 2, 3.0)
    assert policy.next_runs(runs) == []  # 'a' waits for the baseline's third seed
    runs = [r if (r.variant, r.seed) != ("baseline", 2) else RunState("baseline", 2, "failed") for r in runs]
    assert policy.next_runs(runs) == [("baseline", 3)]  # a run that failed for good is replaced
    assert policy.states(runs, sweep_running=True) == {"baseline": "baseline", "bad": FUTILE, "a": "running"}
    assert policy.states(runs)["a"] == "undecided"  # nothing in flight: a sweep stopped before deciding it
    assert not policy.done(runs)
    # With twice the baseline seeds per variant seed, the baseline starts with 4.
    wide = AdaptiveSeeds(["baseline", "a"], "baseline", Design(2, 5, 0.05, baseline_ratio=2.0))
    assert sorted(wide.next_runs([])) == [("a", 0), ("a", 1)] + [("baseline", s) for s in range(4)]
