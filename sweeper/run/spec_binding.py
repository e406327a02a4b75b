"""A sweep is bound to the spec that created it.

Running the same spec again resumes its sweep, and a spec that only adds variants or seeds extends
it; but a spec under the same name that gives an existing variant and seed another config (or the
sweep another threshold) would be merged into the same sweep: two "baseline seed 0" runs with
different configs, averaged together by the report. That is refused, with the way out.
"""

from __future__ import annotations

from typing import Optional

from sweeper.errors import GolfError
from sweeper.spec import RunPlan
from sweeper.store import RunRecord, SweepRecord


def check_same_spec(sweep: str, stored: Optional[SweepRecord], runs: list[RunRecord], plans: list[RunPlan],
                    threshold=None) -> None:
    """GolfError when `plans` (and the spec's threshold) contradict what sweep `sweep` already holds."""
    problem = _conflict(stored, runs, plans, threshold)
    if problem:
        raise GolfError(f"sweep {sweep!r} already holds runs of a different spec: {problem} (expected the same "
                        f"spec, to resume it); pass --name NEW_NAME to run this spec as a sweep of its own")


def _conflict(stored: Optional[SweepRecord], runs: list[RunRecord], plans: list[RunPlan], threshold) -> Optional[str]:
    by_label = {(r.variant, r.seed): r for r in runs}
    by_key = {r.key: r for r in runs if r.key is not None}
    for plan in plans:
        same_label, same_key = by_label.get((plan.variant, plan.seed)), by_key.get(plan.key)
        if same_label is not None and same_label.key != plan.key:
            return f"variant {plan.variant!r} seed {plan.seed} has another config there (run {same_label.id})"
        if same_key is not None and same_key.variant != plan.variant:
            return (f"variant {plan.variant!r} seed {plan.seed} is stored there as variant "
                    f"{same_key.variant!r} (run {same_key.id})")
    if stored is not None and threshold is not None and stored.threshold_value is not None:
        if (stored.threshold_metric, stored.threshold_value) != (threshold.metric, threshold.value):
            return (f"its threshold is {stored.threshold_metric} <= {stored.threshold_value}, this spec's "
                    f"{threshold.metric} <= {threshold.value}")
    return None
