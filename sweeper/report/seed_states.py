"""Adaptive seeds: each variant's state, replayed from a sweep's runs.

`SeedStates(variants, baseline, design).decisions(runs)` looks at the runs of a sweep (variant,
seed, status, value of the decision metric) and replays `sequential.decide` for every variant
against the baseline. `golf sweep --adaptive` decides what to enqueue from it (its policy,
sweeper.run.adaptive.AdaptiveSeeds, is a SeedStates) and `golf report` shows the same states from
the design the sweep stored (`design_json` / `states_of_frame`), so the two cannot disagree.

A look at n seeds reads the first n seeds (in seed order) of each arm, up to the first seed
still in flight: a later seed that finished early must not stand in for it. Decisions are cached
per (variant, seeds looked at, baseline seeds), since nothing else changes a look.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Iterable, Optional

from sweeper.report.sequential import Decision, Design, decide

IN_FLIGHT = ("queued", "running")
GAVE_UP = ("failed", "cancelled")
RUNNING, UNDECIDED_STOPPED, BASELINE = "running", "undecided", "baseline"


@dataclass(frozen=True)
class RunState:
    """What a decision needs of one run: its value is the decision metric once finished."""
    variant: str
    seed: int
    status: str
    value: Optional[float] = None


class SeedStates:
    """Each variant's decision vs the baseline, from the runs of one sweep."""

    def __init__(self, variants: Iterable[str], baseline: str, design: Design):
        self.variants = list(variants)
        if baseline not in self.variants:
            raise ValueError(f"baseline {baseline!r} is not one of the variants {self.variants}")
        self.baseline, self.design = baseline, design
        self._cache: dict[tuple[str, int, int], Decision] = {}

    def _by_variant(self, runs: Iterable[RunState]) -> dict[str, list[RunState]]:
        out: dict[str, list[RunState]] = {v: [] for v in self.variants}
        for r in runs:
            if r.variant in out:
                out[r.variant].append(r)
        for rs in out.values():
            rs.sort(key=lambda r: r.seed)
        return out

    @staticmethod
    def _values(rs: list[RunState]) -> list[float]:
        """Finished values in seed order, up to the first seed still in flight."""
        out = []
        for r in rs:
            if r.status in IN_FLIGHT:
                break
            if r.status == "finished" and r.value is not None:
                out.append(r.value)
        return out

    def decisions(self, runs: Iterable[RunState]) -> dict[str, Decision]:
        """Each variant's state vs the baseline (the baseline itself is left out)."""
        return self._decisions(self._by_variant(runs))

    def _decisions(self, by: dict[str, list[RunState]]) -> dict[str, Decision]:
        base = self._values(by[self.baseline])
        out = {}
        for v in self.variants:
            if v == self.baseline:
                continue
            values = self._values(by[v])
            key = (v, len(values), min(len(base), self.design.baseline_seeds(len(values))))
            if key not in self._cache:
                self._cache[key] = decide(base, values, self.design)
            out[v] = self._cache[key]
        return out

    def states(self, runs: Iterable[RunState], sweep_running: bool | None = None) -> dict[str, str]:
        """variant -> baseline | running | better | worse | futile | out of seeds, as people read
        it; an undecided variant is `running` while the sweep runs (default: while some run of it
        is queued or running) and `undecided` in a sweep that stopped before deciding it."""
        runs = list(runs)
        moving = any(r.status in IN_FLIGHT for r in runs) if sweep_running is None else sweep_running
        out = {self.baseline: BASELINE}
        for v, d in self.decisions(runs).items():
            out[v] = d.state if d.final else (RUNNING if moving else UNDECIDED_STOPPED)
        return out



# ---- the design as the store keeps it ----

def design_json(design: Design | None, metric: str = "val_loss") -> str:
    """What `golf sweep` stores with a sweep (sweeps.adaptive_design): the design and the final
    metric it decides on; `null` for a sweep with fixed seeds."""
    if design is None:
        return "null"
    return json.dumps({"metric": metric, **dataclasses.asdict(design)}, sort_keys=True)


def design_from_json(text: str | None) -> tuple[Design, str] | None:
    """(design, metric) from `design_json`'s text; None for fixed seeds or nothing stored."""
    data = json.loads(text) if text else None
    if not data:
        return None
    metric = data.pop("metric")
    return Design(**data), metric


def states_of_frame(runs, stored: str | None, baseline: str | None) -> dict[str, tuple[str, str]]:
    """variant -> (state, why) from a runs DataFrame (variant, seed, status, the metric's column)
    and the sweep's stored design; {} when the sweep did not run adaptive seeds."""
    found = design_from_json(stored)
    if found is None or not len(runs):
        return {}
    design, metric = found
    variants = list(dict.fromkeys(runs["variant"]))
    if baseline not in variants:
        return {}
    rows = runs[runs["seed"].notna()]
    values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in rows[metric]]
    states = [RunState(v, int(s), st, x) for v, s, st, x in zip(rows["variant"], rows["seed"], rows["status"], values)]
    replay = SeedStates(variants, baseline, design)
    decisions = replay.decisions(states)
    why = {v: d.describe() if d.seeds else "" for v, d in decisions.items()}
    return {v: (state, why.get(v, "")) for v, state in replay.states(states).items()}


def describe_design(stored: str | None, baseline: str | None) -> str:
    """One line under the report's table: what `seeds_state` was decided by."""
    found = design_from_json(stored)
    if found is None:
        return ""
    d, metric = found
    futility = (f"futile below {d.futility_power:.0%} conditional power for min_effect {d.min_effect:g}"
                if d.min_effect is not None else "no futility stop (no min_effect)")
    return (f"seeds_state: adaptive seeds {d.min_seeds}-{d.max_seeds} per variant (baseline {d.baseline_ratio:.3g}x), "
            f"final {metric} vs {baseline!r}, group-sequential t-tests at alpha {d.alpha:g} two-sided "
            f"({d.spending} spending); {futility}")
