"""Expansion of a spec into runs: every variant x grid point x seed as a RunPlan (variant, seed,
resolved TrainConfig, run key), and `golf train --set`'s one config from names and values, checked
by the same pydantic model as specs (sweeper.spec.loader).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from pydantic import StrictInt, TypeAdapter, ValidationError

from model.config import TrainConfig
from sweeper.errors import SpecError
from sweeper.spec import limits
from sweeper.spec.ablation_ops import apply_op
from sweeper.spec.loader import Operations, SeedRule, Spec, _describe, _err
from sweeper.spec.run_plan import RunPlan
from sweeper.threshold import Threshold as ResolvedThreshold


# ---- one config from names and values (golf train --set) ----
_SEED = TypeAdapter(StrictInt)



def resolve_overrides(base: str, overrides: dict[str, Any], source: str = "--set") -> TrainConfig:
    """The preset `base` with TrainConfig fields (or operations) set by name, checked exactly as a
    spec's `config:` block is: the same pydantic types, the same operations, the same messages.
    Values are already typed (parse text with YAML, as a spec file is). `seed` may be set here."""
    values = dict(overrides)
    seed = values.pop("seed", None)
    try:
        ops = Operations.model_validate(values)
        _SEED.validate_python(seed if seed is not None else 0)
    except ValidationError as exc:
        error = exc.errors()[0]  # described as a spec's config block would be, less its name
        _, msg = _describe({**error, "loc": ("config", *(error["loc"] or ("seed",)))})
        raise SpecError(f"{source} {msg.removeprefix('config.')}") from None
    try:
        cfg = TrainConfig.preset(base)
    except ValueError as exc:
        raise SpecError(f"--base: {exc}") from None
    for op, arg in ops.items():
        try:
            cfg = apply_op(cfg, op, arg)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            raise SpecError(f"{source} {msg if msg.startswith(op) else f'{op}: {msg}'}") from None
    return cfg if seed is None else cfg.replace(seed=seed)


# ---- expansion ----


@dataclass
class Expansion:
    """The runs of a spec: `plans` in file order, `duplicates` (kept, dropped) variant pairs
    that resolve to the same config, the resolved `base` config (preset + spec config), the
    threshold for that preset and the baseline variant (the spec's `baseline:`, else the first)."""

    plans: list[RunPlan]
    duplicates: list[tuple[str, str]]
    threshold: ResolvedThreshold | None
    base: TrainConfig
    base_name: str
    baseline: str | None = None
    adaptive: SeedRule | None = None  # adaptive seeds: plans hold seeds 0..max-1, the sweep picks
    min_effect: float | None = None


def _apply(cfg: TrainConfig, ops: list[tuple[str, Any, int]], path: str, variant: str | None) -> TrainConfig:
    for op, arg, line in ops:
        try:
            cfg = apply_op(cfg, op, arg)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            if not msg.startswith(op):
                msg = f"{op}: {msg}"
            if variant is None:
                msg = f"config: {msg}"
            raise _err(path, line, msg, variant) from None
    return cfg


def expand(spec: Spec, base: str | None = None, seeds: int | None = None,
           max_runs: int = limits.DEFAULT_MAX_RUNS, adaptive: bool = False) -> Expansion:
    """Resolve every variant x grid point x seed into RunPlans (file order; duplicates once).

    `base` overrides the spec's preset and `seeds` its seeds (0..seeds-1), as --base / --seeds do.
    A spec that would expand to more than `max_runs` runs is refused before any run is built.
    Adaptive seeds (a `seeds: {min, max, until}` spec, or `adaptive` as --adaptive asks for one
    with min 2 and max 10) plan seeds 0..max-1, with `seeds` as max.
    """
    base_name = base or spec.base
    try:
        start = TrainConfig.preset(base_name)
    except ValueError as exc:
        raise SpecError(f"--base: {exc}") from None
    if seeds is not None and seeds < 1:
        raise SpecError(f"--seeds: got {seeds} (expected a positive count)")
    rule = spec.seeds if isinstance(spec.seeds, SeedRule) else (SeedRule(max=10) if adaptive else None)
    if rule is not None and seeds is not None:
        if seeds < rule.min:
            raise SpecError(f"--seeds: got {seeds}, below the adaptive minimum of {rule.min} seeds")
        rule = rule.model_copy(update={"max": seeds})
    seed_count = rule.max if rule else (seeds if seeds is not None else len(spec.seeds))
    grid = spec.grid.items()
    limits.check_run_count(spec.path, len(spec.variants), math.prod(len(values) for _, values in grid),
                           seed_count, max_runs)
    seed_list = list(range(rule.max)) if rule else (list(range(seeds)) if seeds is not None else spec.seeds)
    config_ops = [(k, v, spec.line("config", k)) for k, v in spec.config.items()]
    start = _apply(start, config_ops, spec.path, None)
    points = list(itertools.product(*[values for _, values in grid])) or [()]
    plans: list[RunPlan] = []
    duplicates: list[tuple[str, str]] = []
    seen: dict[TrainConfig, str] = {}
    for name, ops in spec.variants.items():
        cfg_v = _apply(start, [(k, v, spec.line("variants", name, k)) for k, v in ops.items()], spec.path, name)
        for point in points:
            label, cfg = name, cfg_v
            if point:
                label += "[" + ",".join(f"{k}={v}" for (k, _), v in zip(grid, point)) + "]"
                grid_ops = [(k, v, spec.line("grid", k)) for (k, _), v in zip(grid, point)]
                cfg = _apply(cfg, grid_ops, spec.path, label)
            probe = cfg.replace(seed=0)
            if probe in seen:
                duplicates.append((seen[probe], label))
                continue
            seen[probe] = label
            plans.extend(RunPlan(spec.name, label, s, cfg.replace(seed=s)) for s in seed_list)
    threshold = spec.threshold.for_preset(base_name) if spec.threshold is not None else None
    return Expansion(plans, duplicates, threshold, start, base_name, _baseline_label(spec, plans, duplicates),
                     adaptive=rule, min_effect=spec.min_effect)


def _baseline_label(spec: Spec, plans: list[RunPlan], duplicates: list[tuple[str, str]]) -> str | None:
    """The planned variant the report compares against: the spec's `baseline:` (its first grid
    point; the variant kept in its place if it duplicates an earlier one), else the first planned."""
    if not plans:
        return None
    if spec.baseline is None:
        return plans[0].variant
    kept = dict((dropped, kept) for kept, dropped in duplicates)
    for label in dict.fromkeys([p.variant for p in plans] + list(kept)):
        if label == spec.baseline or label.startswith(spec.baseline + "["):
            return kept.get(label, label)
    return plans[0].variant
