"""`golf plan` output: the seed-noise table (rich) or JSON."""

from __future__ import annotations

import json
import math

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from sweeper.report import power as power_
from sweeper.report.power import MetricPlan


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def plans_for(results, metric: str | None = None, threshold: float | None = None, baseline: str | None = None,
              alpha: float = 0.01, power: float = 0.8, effect: float | None = None,
              effect_s: float | None = None) -> list[MetricPlan]:
    """The plans `golf plan` prints for a loaded sweep (sweeper.report.notebook.Results): the final
    metric, and time-to-threshold when the sweep has a threshold (or one is given)."""
    from sweeper.errors import GolfError
    from sweeper.store.schema import FINAL_COLUMNS

    runs = results.runs
    metric = metric or results.metric
    if metric not in FINAL_COLUMNS or metric not in runs:
        raise GolfError(f"--metric {metric!r}: expected a final metric, one of "
                        f"val_loss, val_bpb, quant_val_loss, quant_val_bpb, ppm_val_loss, ppm_val_bpb")
    variants = set(runs["variant"])
    if baseline is not None and baseline not in variants:
        raise GolfError(f"--baseline {baseline!r} is not a variant of sweep {results.sweep!r}; expected one of "
                        f"{', '.join(map(repr, sorted(variants)))}")
    base = baseline or results.baseline or power_.default_baseline(runs)
    plans = [power_.plan_metric(power_.final_noise(runs, metric, base), alpha, power, effect)]
    value = threshold if threshold is not None else (results.threshold.value if results.threshold else None)
    if value is not None:
        # The threshold belongs to the sweep's threshold metric; --threshold alone uses --metric's family.
        t_metric = results.metric if threshold is None else (metric.removeprefix("quant_"))
        noise = power_.ttt_noise(runs, results.curves, value, t_metric, base)
        plans.append(power_.plan_metric(noise, alpha, power, effect_s))
    return plans


def plan_table(title: str, plans: list[MetricPlan]) -> Group:
    """The noise of each metric on one line (SD, its 95% CI, runs and df, the baseline's own SD, how
    it was estimated), then a table: seeds per arm -> minimal detectable effect per metric, and the
    seeds an asked-for effect needs."""
    first = plans[0]
    lines = [Text(f"{title}: seed noise and detectable effects (two-sided t-test, alpha {first.alpha:g}, "
                  f"power {first.power:g})", style="bold")]
    for p in plans:
        n = p.noise
        if math.isfinite(n.sd):
            base = f"; baseline {n.baseline!r} alone {_num(n.baseline_sd)} over {n.baseline_runs} runs" if n.baseline else ""
            text = Text(f"{n.metric}: sd {_num(n.sd)} (95% CI {_num(n.sd_ci[0])}-{_num(n.sd_ci[1])}; "
                        f"{n.sd_runs} runs, {n.df} df{base}), {n.method}" + (f"; {n.note}" if n.note else ""))
        else:
            text = Text(f"{n.metric}: {n.note}", style="yellow")
        lines.append(Padding(text, (0, 0, 0, 2), expand=False))  # a wrapped line stays indented under its metric
    table = Table(header_style="bold", title_justify="left")
    table.add_column("seeds per arm", justify="right")
    for p in plans:
        table.add_column(f"MDE {p.noise.metric}", justify="right")
    for seeds in first.mde:
        table.add_row(str(seeds), *(_num(p.mde[seeds]) for p in plans))
    if any(p.effect is not None for p in plans):
        table.add_row("needed", *("-" if p.effect is None else
                                  f"{p.seeds_needed if p.seeds_needed else '-'} for {_num(p.effect)}" for p in plans))
    note = Text("MDE: the smallest difference of means a sweep with that many seeds per arm finds with the "
                "power above; needed: seeds per arm for the --effect asked about.", style="dim")
    return Group(*lines, table, note)


def plan_json(plans: list[MetricPlan]) -> str:
    """The plans as a JSON list, one object per metric."""
    return json.dumps([p.to_dict() for p in plans], indent=2)


# ---- `golf sweep SPEC --dry-run`: the same estimate before spending anything ----

def baseline_runs_frame(store, expansion, seeds: int = 100):
    """Finished runs anywhere in `store` of the spec's baseline config (same run key, any of the
    first `seeds` seeds), as a runs frame (variant 'baseline'); None when there are none."""
    import pandas as pd

    variants = list(dict.fromkeys(p.variant for p in expansion.plans))
    base = "baseline" if "baseline" in variants else variants[0]
    config = next(p.config for p in expansion.plans if p.variant == base)
    keys = {config.replace(seed=s).run_key() for s in range(seeds)}
    rows = [dict(run_id=r.id, variant="baseline", seed=r.seed, status=r.status, **r.finals)
            for r in store.finished_runs_with_keys(keys)]
    return pd.DataFrame(rows) if rows else None


def dry_run_estimate(expansion, store, noise_from: str | None, alpha: float = 0.05, power: float = 0.8):
    """(title, plans) for a dry run: the noise of sweep `noise_from`, else of the stored runs of the
    spec's baseline config; None when the store has neither. The effect asked about is the spec's
    min_effect, in the threshold's metric where runs have it as a final value."""
    import pandas as pd

    from sweeper.report.notebook import Results, load

    if noise_from is not None:
        results, title = load(noise_from, store), f"sweep {noise_from}"
    else:
        runs = baseline_runs_frame(store, expansion)
        if runs is None:
            return None
        # final metrics only: no curves, no threshold, so no time-to-threshold row
        results = Results("baseline", runs, pd.DataFrame(columns=["run_id", "variant", "current"]), None)
        title = f"{len(runs)} stored run(s) of this spec's baseline config"
    metric = expansion.threshold.metric if expansion.threshold else "val_loss"
    metric = metric if metric in results.runs.columns else "val_loss"
    return title, plans_for(results, metric, None, None, alpha, power, expansion.min_effect)
