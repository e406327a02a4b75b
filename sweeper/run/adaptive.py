"""Adaptive seeds: which runs a sweep needs next, from the runs it has.

`AdaptiveSeeds.next_runs(runs)` looks at the sweep's runs (variant, seed, status, value) and
returns the (variant, seed) pairs to enqueue now:

- every variant (and the baseline) first gets `min` seeds;
- a variant whose runs have all ended and whose comparison with the baseline is still undecided
  after its last look gets one more seed, at once (its neighbours' rounds are not waited for, so
  workers stay busy);
- the baseline gets as many seeds as the furthest undecided variant will look at, so no look
  waits on the baseline longer than one run;
- a run that failed for good is replaced by the next unused seed of its variant (at most `min`
  replacements beyond its most seeds: then it stays undecided, and the sweep ends when nothing
  is left to run).

It keeps no state that the store does not have (a resumed sweep asks the same question of the same
runs and gets the same answer); each variant's decision comes from sweeper.report.seed_states,
which `golf report` replays from the stored design. The same class drives `golf sweep --adaptive`
and bench/sim_adaptive.py.
"""

from __future__ import annotations

from typing import Iterable

from sweeper.report.seed_states import GAVE_UP, IN_FLIGHT, RunState, SeedStates

__all__ = ["AdaptiveSeeds", "RunState"]


class AdaptiveSeeds(SeedStates):
    """The adaptive-seeds policy of one sweep: variants (the baseline among them) and the design;
    each variant's decision comes from SeedStates, which `golf report` replays the same way."""

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
            # a variant whose runs keep failing (a diverging config) must not take seeds for ever:
            # beyond its most seeds, min more replace failed ones, then it stays as it is
            limit = design.min_seeds + (design.baseline_seeds(design.max_seeds) if v == self.baseline
                                        else design.max_seeds)
            seed = 0
            for _ in range(wanted[v] - live):
                while seed in used:
                    seed += 1
                if seed >= limit:
                    break
                used.add(seed)
                out.append((v, seed))
        return out

    def done(self, runs: Iterable[RunState]) -> bool:
        """Every variant is in a final state and no run is in flight."""
        runs = list(runs)
        return (all(d.final for d in self.decisions(runs).values())
                and not any(r.status in IN_FLIGHT for r in runs))
