"""Ablation specs (ablations/*.yaml): safe YAML loading with line numbers, validation, expansion.

`load_spec(path) -> Spec`, `expand(spec, base=None, seeds=None) -> Expansion`. Every problem
raises SpecError with one message: `file:line: variant 'x': what is wrong (expected ...)`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from model.config import PRESETS, TrainConfig
from sweeper.ablation_ops import apply_op
from sweeper.errors import SpecError
from sweeper.plan import RunPlan

THRESHOLD_METRICS = ("val_loss", "val_bpb", "ppm_val_loss", "ppm_val_bpb")
TOP_KEYS = {"name", "description", "base", "config", "seeds", "threshold", "variants", "grid"}


class LineDict(dict):
    """A YAML mapping that remembers the line (1-based) of each key."""

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line = line
        self.lines: dict[Any, int] = {}


class _Loader(yaml.SafeLoader):
    """SafeLoader that records key lines and rejects duplicate keys (PyYAML keeps the last)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            raise SpecError(f"{loader.name}:{line}: duplicate key {key!r} (first at line "
                            f"{out.lines[key]}; expected each key once)")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: float


@dataclass
class Variant:
    name: str
    ops: list[tuple[str, Any, int]]  # (op, argument, line)
    line: int


@dataclass
class Spec:
    """A validated spec; `path` is used in error messages."""

    path: str
    name: str
    description: str
    base: str
    config: list[tuple[str, Any, int]]
    seeds: list[int]
    threshold: Threshold | None
    variants: list[Variant]
    grid: list[tuple[str, list[Any], int]] = field(default_factory=list)


@dataclass
class Expansion:
    plans: list[RunPlan]
    duplicates: list[tuple[str, str]]
    threshold: Threshold | None


def _err(path: str, line: int, msg: str, variant: str | None = None) -> SpecError:
    where = f" variant '{variant}':" if variant is not None else ""
    return SpecError(f"{path}:{line}:{where} {msg}")


def _seeds(raw: Any, path: str, line: int) -> list[int]:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return list(range(raw))
    if isinstance(raw, list) and raw and all(isinstance(s, int) and not isinstance(s, bool) for s in raw):
        if len(set(raw)) != len(raw):
            raise _err(path, line, f"seeds: {raw} repeats a seed (expected distinct seeds)")
        return list(raw)
    raise _err(path, line, f"seeds: got {raw!r} (expected a positive count n, meaning seeds "
                           "0..n-1, or a list of integers)")


def parse_spec(text: str, path: str = "<spec>") -> Spec:
    """Parse and validate spec text (no expansion)."""
    loader = _Loader(text)
    loader.name = path
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise _err(path, line, f"YAML syntax: {exc.problem or exc}") from None
    finally:
        loader.dispose()
    if not isinstance(doc, LineDict):
        raise _err(path, 1, "expected a mapping with name, base, variants, ...")
    for key in doc:
        if key not in TOP_KEYS:
            raise _err(path, doc.lines[key], f"unknown key {key!r} (expected one of {', '.join(sorted(TOP_KEYS))})")
    for key in ("name", "variants"):
        if key not in doc:
            raise _err(path, doc.line, f"missing key {key!r}")
    name = doc["name"]
    if not isinstance(name, str) or not name:
        raise _err(path, doc.lines["name"], f"name: expected a non-empty string, got {name!r}")
    base = doc.get("base", "golf")
    if base not in PRESETS:
        raise _err(path, doc.lines.get("base", 1), f"base: unknown preset {base!r} (expected one of {', '.join(PRESETS)})")
    config = doc.get("config") or LineDict()
    if not isinstance(config, LineDict):
        raise _err(path, doc.lines["config"], "config: expected a mapping of operations/fields")
    seeds = _seeds(doc.get("seeds", 1), path, doc.lines.get("seeds", 1))
    threshold = None
    if "threshold" in doc:
        th, line = doc["threshold"], doc.lines["threshold"]
        if not isinstance(th, LineDict) or set(th) != {"metric", "value"}:
            raise _err(path, line, f"threshold: got {th!r} (expected {{metric: val_loss, value: 2.92}})")
        if th["metric"] not in THRESHOLD_METRICS:
            raise _err(path, th.lines["metric"], f"threshold: metric {th['metric']!r} does not exist "
                                                 f"(expected one of {', '.join(THRESHOLD_METRICS)})")
        if not isinstance(th["value"], (int, float)) or isinstance(th["value"], bool):
            raise _err(path, th.lines["value"], f"threshold: value {th['value']!r} (expected a number)")
        threshold = Threshold(th["metric"], float(th["value"]))
    variants_raw = doc["variants"]
    if not isinstance(variants_raw, LineDict) or not variants_raw:
        raise _err(path, doc.lines["variants"], "variants: expected a non-empty mapping name -> operations")
    variants = []
    for vname, ops in variants_raw.items():
        line = variants_raw.lines[vname]
        if ops is None:
            ops = LineDict(line=line)
        if not isinstance(ops, LineDict):
            raise _err(path, line, f"expected a mapping of operations, got {ops!r}", str(vname))
        variants.append(Variant(str(vname), [(k, v, ops.lines[k]) for k, v in ops.items()], line))
    grid = []
    if doc.get("grid") is not None:
        g = doc["grid"]
        if not isinstance(g, LineDict):
            raise _err(path, doc.lines["grid"], "grid: expected a mapping field -> list of values")
        for k, vals in g.items():
            if not isinstance(vals, list) or not vals:
                raise _err(path, g.lines[k], f"grid: {k}: expected a non-empty list of values")
            grid.append((k, vals, g.lines[k]))
    return Spec(path, name, str(doc.get("description", "")), base,
                [(k, v, config.lines[k]) for k, v in config.items()], seeds, threshold, variants, grid)


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; SpecError names file and line on any problem."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec ({exc.strerror})") from None
    return parse_spec(text, str(path))


def _apply(cfg: TrainConfig, ops, path: str, variant: str | None) -> TrainConfig:
    for op, arg, line in ops:
        try:
            cfg = apply_op(cfg, op, arg)
        except (ValueError, TypeError) as exc:
            msg = str(exc)
            if not msg.startswith(op):
                msg = f"{op}: {msg}"
            raise _err(path, line, msg, variant) from None
    return cfg


def expand(spec: Spec, base: str | None = None, seeds: int | None = None) -> Expansion:
    """Resolve every variant x grid point x seed into RunPlans (file order; duplicates once)."""
    base_name = base or spec.base
    try:
        start = TrainConfig.preset(base_name)
    except ValueError as exc:
        raise SpecError(f"--base: {exc}") from None
    start = _apply(start, spec.config, spec.path, None)
    seed_list = list(range(seeds)) if seeds is not None else spec.seeds
    names = [k for k, _, _ in spec.grid]
    points = list(itertools.product(*[v for _, v, _ in spec.grid])) or [()]
    plans: list[RunPlan] = []
    duplicates: list[tuple[str, str]] = []
    seen: dict[TrainConfig, str] = {}
    for variant in spec.variants:
        cfg_v = _apply(start, variant.ops, spec.path, variant.name)
        for point in points:
            label = variant.name
            cfg = cfg_v
            if point:
                label += "[" + ",".join(f"{k}={v}" for k, v in zip(names, point)) + "]"
                grid_ops = [(k, v, line) for (k, _, line), v in zip(spec.grid, point)]
                cfg = _apply(cfg, grid_ops, spec.path, label)
            probe = cfg.replace(seed=0)
            if probe in seen:
                duplicates.append((seen[probe], label))
                continue
            seen[probe] = label
            for s in seed_list:
                plans.append(RunPlan(spec.name, label, s, cfg.replace(seed=s)))
    return Expansion(plans, duplicates, spec.threshold)
