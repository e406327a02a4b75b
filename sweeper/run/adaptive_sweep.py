"""`golf sweep --adaptive`: the adaptive-seeds policy (sweeper.run.adaptive) on a real store.

The sweep loop calls `tick()` once a second while workers train: it reads the sweep's runs (one
narrow query: variant, seed, status, the decision metric), enqueues the seeds the policy asks for
and hands them to the launcher, prints each variant that reaches a final state, and says when
every variant has one. `states_table()` is the live view's footer, drawn from the runs the last
tick read. `design_json()` is what the sweep stores, so that `golf report` replays the same states
(sweeper.report.seed_states).
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sweeper.report.seed_states import IN_FLIGHT, design_json
from sweeper.report.sequential import Design
from sweeper.run.adaptive import AdaptiveSeeds, RunState
from sweeper.spec import Expansion, RunPlan
from sweeper.store import Store

_STATE_STYLE = {"better": "bold green", "worse": "red", "futile": "yellow", "out of seeds": "magenta",
                "running": "cyan", "undecided": "cyan", "baseline": "bold"}


def design_of(expansion: Expansion) -> Design:
    """The sequential design of an adaptive expansion (its seed rule and min_effect); the baseline
    ratio defaults to sqrt(number of variants compared with the baseline)."""
    rule = expansion.adaptive
    compared = max(len({p.variant for p in expansion.plans}) - 1, 1)
    ratio = rule.baseline_ratio if rule.baseline_ratio is not None else math.sqrt(compared)
    return Design(rule.min, rule.max, rule.alpha, expansion.min_effect, rule.spending, futility_power=rule.futility,
                  baseline_ratio=ratio)


def decision_metric(expansion: Expansion) -> str:
    """The final metric the decisions compare: the threshold's family where it is final-able."""
    metric = expansion.threshold.metric if expansion.threshold else "val_loss"
    return metric if metric in ("val_loss", "val_bpb") else "val_loss"


class AdaptiveSweep:
    """One adaptive sweep in the store: which runs to enqueue next and each variant's state."""

    def __init__(self, store: Store, sweep: str, expansion: Expansion):
        self.store, self.sweep = store, sweep
        self.plans = {(p.variant, p.seed): p for p in expansion.plans}
        variants = list(dict.fromkeys(p.variant for p in expansion.plans))
        self.baseline = expansion.baseline or variants[0]  # the spec's `baseline:`, else its first variant
        self.design = design_of(expansion)
        self.metric = decision_metric(expansion)
        self.policy = AdaptiveSeeds(variants, self.baseline, self.design)
        self._announced: set[str] = set()
        self._last: list[RunState] | None = None  # the runs the last tick read (the footer draws them)

    def design_json(self) -> str:
        """The design and metric as the store keeps them with the sweep (sweeps.adaptive_design)."""
        return design_json(self.design, self.metric)

    def runs(self) -> list[RunState]:
        """The sweep's runs as the policy reads them."""
        self._last = [RunState(v, s, st, x) for v, s, st, x in self.store.run_outcomes(self.sweep, self.metric)
                      if s is not None]
        return self._last

    def plan(self, variant: str, seed: int) -> RunPlan:
        """The run of `variant` with `seed`: the spec plans seeds 0..max-1, but the baseline runs up
        to ceil(baseline_ratio x max) seeds, and a run failed for good is replaced by a later seed."""
        found = self.plans.get((variant, seed))
        if found is None:
            first = next(p for (v, _), p in self.plans.items() if v == variant)
            found = self.plans[(variant, seed)] = RunPlan(first.sweep, variant, seed, first.config.replace(seed=seed))
        return found

    def next_plans(self, runs: list[RunState] | None = None) -> list[RunPlan]:
        """RunPlans the policy wants enqueued now."""
        return [self.plan(v, s) for v, s in self.policy.next_runs(self.runs() if runs is None else runs)]

    def enqueue(self, plans: list) -> int:
        return self.store.enqueue_many(self.sweep, [dict(variant=p.variant, seed=p.seed, key=p.key,
                                                         config=p.config.to_dict()) for p in plans])

    def step(self, console: Console | None = None) -> bool:
        """Enqueue what is needed now, announce new final states; True when the sweep is done."""
        runs = self.runs()
        plans = self.next_plans(runs)
        self.enqueue(plans)
        decisions = self.policy.decisions(runs)
        for variant, decision in decisions.items():
            if decision.final and variant not in self._announced:
                self._announced.add(variant)
                if console is not None:
                    console.print(f"[{_STATE_STYLE[decision.state]}]{escape(variant)}: {escape(decision.describe())}[/]",
                                  highlight=False)
        # nothing in flight and nothing to add: over, even with a variant undecided (runs failed for good)
        return self.policy.done(runs) or (not plans and not any(r.status in IN_FLIGHT for r in runs))

    def tick(self, launcher, console: Console | None = None) -> bool:
        """One beat of the sweep loop: True while it must go on. Enqueues what the policy wants and
        hands it to the launcher (`add_runs`: Ray submits a task per new run; local workers poll
        the queue); False once every variant is decided or no worker is left."""
        if self.step(console):
            return False
        launcher.add_runs()
        return launcher.alive() > 0

    def states_table(self) -> Table:
        """Each variant's seeds and state: the live view's footer."""
        runs = self._last if self._last is not None else self.runs()
        decisions = self.policy.decisions(runs)
        states = self.policy.states(runs, sweep_running=True)
        d = self.design
        table = Table(title=f"adaptive seeds {d.min_seeds}-{d.max_seeds}, alpha {d.alpha:g}, "
                            f"min_effect {d.min_effect if d.min_effect is not None else '-'} ({self.metric})",
                      title_justify="left", header_style="bold")
        for name in ("variant", "seeds", "state", "why"):
            table.add_column(name, justify="right" if name == "seeds" else "left")
        for v in self.policy.variants:
            mine = [r for r in runs if r.variant == v]
            seeds = f"{sum(r.status == 'finished' for r in mine)}/{sum(r.status not in ('failed', 'cancelled') for r in mine)}"
            state = states[v]
            why = "" if v == self.baseline else decisions[v].describe() if decisions[v].seeds else ""
            table.add_row(escape(v), seeds, f"[{_STATE_STYLE.get(state, '')}]{state}[/]", escape(why))
        return table
