"""Adaptive seeds: which runs a sweep needs next, from the runs it has.

`AdaptiveSeeds.next_runs(runs)` looks at the sweep's runs (variant, seed, status, value) and
returns the (variant, seed) pairs to enqueue now:

- every variant (and the baseline) first gets `min` seeds;
- a variant whose runs have all ended and whose comparison with the baseline is still undecided
  after its last look gets one more seed, at once (its neighbours' rounds are not waited for, so
  workers stay busy);
- the baseline gets as many seeds as the furthest undecided variant will look at, so no look
  waits on the baseline longer than one run;
- a run that failed for good is replaced by the next unused seed of its variant.

It keeps no state that the store does not have (a resumed sweep asks the same question of the same
runs and gets the same answer); decisions are cached per (variant, seeds looked at), because a look
at n seeds only ever reads the first n seeds of each arm. The same class drives `golf sweep
--adaptive` and bench/sim_adaptive.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from sweeper.report.sequential import UNDECIDED, Decision, Design, decide

IN_FLIGHT = ("queued", "running")
GAVE_UP = ("failed", "cancelled")


@dataclass(frozen=True)
class RunState:
    """What the controller needs of one run: its value is the decision metric once finished."""
    variant: str
    seed: int
    status: str
    value: Optional[float] = None


class AdaptiveSeeds:
    """The adaptive-seeds policy of one sweep: variants (the baseline among them) and the design."""

    def __init__(self, variants: Iterable[str], baseline: str, design: Design):
        self.variants = list(variants)
        if baseline not in self.variants:
            raise ValueError(f"baseline {baseline!r} is not one of the variants {self.variants}")
        self.baseline, self.design = baseline, design
        self._cache: dict[tuple[str, int], Decision] = {}

    # ---- reading the runs ----
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
        """Finished values in seed order, up to the first seed still in flight: a look at n seeds
        reads the first n, so a later seed that finished early must not stand in for it."""
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

    # ---- what to run next ----
    def next_runs(self, runs: Iterable[RunState]) -> list[tuple[str, int]]:
        """(variant, seed) pairs to enqueue now (empty when nothing is needed yet)."""
        by = self._by_variant(runs)
        states = self._decisions(by)
        design = self.design
        wanted: dict[str, int] = {}  # live seeds (finished + in flight) each variant should have
        for v in self.variants:
            if v == self.baseline:
                continue
            rs = by[v]
            live = sum(r.status not in GAVE_UP for r in rs)
            decision = states[v]
            if decision.final:
                wanted[v] = live
            elif any(r.status in IN_FLIGHT for r in rs) or live < design.min_seeds:
                wanted[v] = max(live, design.min_seeds)
            elif decision.seeds == live:  # looked at every seed it has, and still undecided
                wanted[v] = min(live + 1, design.max_seeds)
            else:  # waiting for the baseline to catch up
                wanted[v] = live
        undecided = [wanted[v] for v in wanted if not states[v].final]
        wanted[self.baseline] = design.baseline_seeds(max([design.min_seeds, *undecided]))
        out = []
        for v in self.variants:
            rs = by[v]
            live = sum(r.status not in GAVE_UP for r in rs)
            used = {r.seed for r in rs}
            seed = 0
            for _ in range(wanted[v] - live):
                while seed in used:
                    seed += 1
                used.add(seed)
                out.append((v, seed))
        return out

    def done(self, runs: Iterable[RunState]) -> bool:
        """Every variant is in a final state and no run is in flight."""
        runs = list(runs)
        return (all(d.final for d in self.decisions(runs).values())
                and not any(r.status in IN_FLIGHT for r in runs))

    def state_of(self, variant: str, runs: Iterable[RunState]) -> str:
        """A variant's state as people read it: running, or its decision."""
        if variant == self.baseline:
            return "baseline"
        decision = self.decisions(runs)[variant]
        return decision.state if decision.final else ("running" if decision.state == UNDECIDED else decision.state)
