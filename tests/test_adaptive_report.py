"""Adaptive seeds through a real store without training: the sweep's policy enqueues, runs are
claimed and finished through the queue with chosen values, and `load(...).report()` (what `golf
report` and the HTML page show) replays the same states from the design stored with the sweep."""

import json
import math

import pytest

from sweeper.errors import GolfError
from sweeper.report import load
from sweeper.report.seed_states import design_from_json
from sweeper.run.adaptive import AdaptiveSeeds, RunState
from sweeper.run.adaptive_sweep import design_of
from sweeper.run.sweep import enqueue, plan_sweep
from sweeper.spec import expand
from sweeper.spec.loader import parse_spec
from sweeper.store import Store
from sweeper.report.sequential import Design

# Final val_loss by variant and seed: 'bad' is far worse, 'a' and 'b' are the baseline's noise.
JITTER = [0.0, 0.012, -0.009, 0.004, -0.013, 0.008, -0.002, 0.011, -0.006]


def _value(variant: str, seed: int) -> float:
    shift = {"baseline": 0.0, "a": 0.003, "b": -0.002, "bad": 1.0}[variant]
    return 3.0 + shift + JITTER[(seed * 5 + len(variant)) % len(JITTER)]


def _train_queued(store: Store, sweep: str) -> int:
    """Claim and finish every queued run, as a worker would; returns how many."""
    done = 0
    while (run := store.claim("test-worker", sweep=sweep)) is not None:
        value = _value(run.variant, run.seed)
        store.add_evals(run.id, run.attempts, [{"step": 10, "train_time_s": 1.0, "val_loss": value}])
        store.finish_run(run.id, run.attempts, {"val_loss": value, "steps": 10, "train_time_s": 1.0})
        done += 1
    return done


def _spec(seeds) -> tuple:
    text = json.dumps({"name": "ad", "base": "tiny", "seeds": seeds, "threshold": {"metric": "val_loss", "value": 3.5},
                       "variants": {"baseline": {}, "a": {"matrix_lr": 0.05}, "b": {"matrix_lr": 0.03},
                                    "bad": {"matrix_lr": 1.0}}})
    return parse_spec(text, "ad.yaml"), text


def test_report_replays_the_sweeps_states_and_the_baseline_runs_past_max(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    spec, text = _spec({"min": 2, "max": 3, "until": "decided"})
    plan = plan_sweep(store, spec, expand(spec), text)
    enqueue(store, plan)
    sweep = plan.seeds_policy
    for _ in range(20):  # each round: train what is queued, then let the policy add seeds
        _train_queued(store, "ad")
        if sweep.step():
            break
    runs = store.list_runs("ad")
    seeds = {v: sorted(r.seed for r in runs if r.variant == v) for v in ("baseline", "a", "b", "bad")}
    # 3 variants: the baseline runs ceil(sqrt(3) x 3) = 6 seeds, beyond the spec's max of 3
    assert seeds == {"baseline": list(range(6)), "a": [0, 1, 2], "b": [0, 1, 2], "bad": [0, 1]}
    live = sweep.policy.states(sweep.runs(), sweep_running=True)
    assert live == {"baseline": "baseline", "bad": "worse", "a": "out of seeds", "b": "out of seeds"}

    design, metric = design_from_json(store.get_sweep("ad").adaptive_design)
    assert (design, metric) == (sweep.design, "val_loss") and math.isclose(design.baseline_ratio, math.sqrt(3))
    summary = load("ad", url).report()
    assert dict(zip(summary["variant"], summary["seeds_state"])) == live
    decisions = sweep.policy.decisions(sweep.runs())
    assert dict(zip(summary["variant"], summary["seeds_note"]))["bad"] == decisions["bad"].describe()
    store.close()


def test_adaptive_from_the_command_line_is_stored_and_fixed_seeds_clear_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    spec, text = _spec(2)  # a spec with a seed count: `golf sweep --adaptive --seeds 4` makes it adaptive
    enqueue(store, plan_sweep(store, spec, expand(spec, seeds=4, adaptive=True), text))
    design, _ = design_from_json(store.get_sweep("ad").adaptive_design)
    assert (design.min_seeds, design.max_seeds) == (2, 4)
    enqueue(store, plan_sweep(store, spec, expand(spec), text))  # the same spec with fixed seeds
    assert store.get_sweep("ad").adaptive_design == "null" and design_from_json("null") is None
    _train_queued(store, "ad")
    assert "seeds_state" not in load("ad", url).report().columns
    store.close()


def test_a_variant_whose_runs_keep_failing_stops_taking_seeds():
    policy = AdaptiveSeeds(["baseline", "nan"], "baseline", Design(2, 3, 0.05))
    runs = [RunState("baseline", s, "finished", 3.0 + 0.01 * s) for s in range(3)]
    runs += [RunState("nan", s, "failed") for s in range(5)]  # max 3 + min 2 seeds tried, all failed
    assert policy.next_runs(runs) == []
    assert policy.states(runs) == {"baseline": "baseline", "nan": "undecided"}
    assert policy.next_runs(runs[:-1]) == [("nan", 4)]  # one replacement left before that


def test_futility_level_comes_from_the_spec_and_is_checked():
    parsed, _ = _spec({"min": 2, "max": 6, "until": "decided", "futility": 0.2})
    assert design_of(expand(parsed, None)).futility_power == 0.2
    parsed, _ = _spec({"min": 2, "max": 6, "until": "decided"})
    assert design_of(expand(parsed, None)).futility_power == 0.10  # the documented default
    with pytest.raises(GolfError, match=r"seeds\.futility"):
        _spec({"min": 2, "max": 6, "until": "decided", "futility": 1.5})
