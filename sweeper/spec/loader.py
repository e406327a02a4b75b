"""Ablation specs (ablations/*.yaml): safe YAML with line numbers and the pydantic spec model.

`load_spec(path) -> Spec` (expansion into runs: sweeper.spec.expand). Every problem
raises SpecError with one message: `file:line: variant 'x': what is wrong (expected ...)`.

Two layers of checking, each where it can be done:
- shape (parse time, pydantic): keys, types, seeds, threshold, names of operations, the type of
  every TrainConfig field set by name. pydantic's error `loc` is mapped back to the YAML line.
- meaning (expansion time, sweeper.spec.ablation_ops and TrainConfig): layer indices against the
  model's depth, tables shared by no layer, ppm_c weight, cross-field rules. These depend on the
  base preset, which `--base` may change, so they cannot be checked earlier.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union, get_type_hints

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PrivateAttr,
                      StrictInt, Tag, ValidationError, create_model, model_validator)
from pydantic_core import PydanticCustomError

from model.config import PRESETS, TrainConfig
from sweeper.spec.ablation_ops import OPS
from sweeper.errors import SpecError
from sweeper.names import name_problem
from sweeper.spec import limits
from sweeper.threshold import THRESHOLD_METRICS, Threshold as ResolvedThreshold
# A run's seed comes from the spec's `seeds` (or --seeds); a variant setting it would be overwritten.
_NOT_SETTABLE = {"seed": "seeds are set by the top-level 'seeds' key"}

# ---- YAML with line numbers ----
# (key path) -> 1-based line. Keys are str()-ed so they compare with pydantic's error `loc`.
Lines = dict[tuple[str, ...], int]


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: tuple[str, ...], lines: Lines, file: str) -> Any:
    """Construct plain data from a composed node, recording the line of every key and item."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merges
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                seen = key in out
            except TypeError:
                raise SpecError(f"{file}:{line}: a mapping key must be a plain value, got {key!r}") from None
            if seen:
                raise SpecError(f"{file}:{line}: duplicate key {key!r} (first at line "
                                f"{lines[path + (str(key),)]}; expected each key once)")
            lines[path + (str(key),)] = line  # a key's own line, before its value's
            out[key] = _build(loader, value_node, path + (str(key),), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (str(i),), lines, file) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, file: str) -> tuple[Any, Lines]:
    """Safe-load one YAML document -> (data, lines); SpecError with the line on a syntax error."""
    loader = yaml.SafeLoader(text)
    try:
        limits.check_events(yaml.SafeLoader(text), file)  # before any tree is built
        node = loader.get_single_node()
        if node is not None:
            limits.check_expanded(node, file)
        lines: Lines = {}
        data = _build(loader, node, (), lines, file) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(f"{file}:{mark.line + 1 if mark else 1}: YAML syntax: {exc.problem or exc}") from None
    finally:
        loader.dispose()
    return data, lines


# ---- the model ----


class _Strict(BaseModel):
    # strict: YAML already types its scalars, so "3" is never silently an int, nor 1 a bool.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Ordered(_Strict):
    """A mapping of operations: validated like a model, applied in the order written."""

    _order: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="wrap")
    @classmethod
    def _keep_order(cls, data: Any, handler: Any) -> "_Ordered":
        model = handler(data)
        model._order = tuple(data) if isinstance(data, dict) else ()
        return model

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self._order]


def _operation_types() -> dict[str, Any]:
    """Every name a variant may set -> the type of its argument.

    Operations take any YAML value here; their arguments are checked by sweeper.spec.ablation_ops
    against the model they apply to. A TrainConfig field set by name takes the field's type.
    """
    hints = get_type_hints(TrainConfig)
    types: dict[str, Any] = {name: Any for name in OPS}
    for name in sorted(TrainConfig.field_names() - set(OPS) - set(_NOT_SETTABLE)):
        types[name] = hints[name]
    return types


_OP_TYPES = _operation_types()
# Defaults are never validated, so None only marks "not written"; `matrix_lr: null` is an error.
Operations = create_model("Operations", __base__=_Ordered, **{k: (t, None) for k, t in _OP_TYPES.items()})
Grid = create_model("Grid", __base__=_Ordered,
                    **{k: (Annotated[list[t], Field(min_length=1)], None) for k, t in _OP_TYPES.items()})


def _no_ops_is_empty(value: Any) -> Any:
    return {} if value is None else value  # `baseline:` with nothing after it


def _name_as_text(value: Any) -> Any:
    # Variant names like `25` are natural (numbered runs); YAML reads them as integers.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _count_to_seeds(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value > limits.MAX_SEEDS:  # checked before the list is built
            raise PydanticCustomError("seeds", "expected at most {n} seeds", {"n": f"{limits.MAX_SEEDS:,}"})
        if value > 0:
            return list(range(value))
    elif isinstance(value, list):
        return value
    raise PydanticCustomError("seeds", "expected a positive count n (meaning seeds 0..n-1), a list of integers, "
                                       "or {min: 2, max: 10, until: decided}")


def _folder_name(name: str) -> str:
    # The sweep's logs and artifacts go to .golf/*/NAME (sweeper.names).
    problem = name_problem(name)
    if problem:
        raise PydanticCustomError("name", "expected a name that can name a folder, but {problem}",
                                  {"problem": problem})
    return name


def _printable(name: str) -> str:
    if any(not c.isprintable() for c in name):
        raise PydanticCustomError("name", "expected a name without control characters")
    return name


def _distinct(seeds: list[int]) -> list[int]:
    if len(set(seeds)) != len(seeds):
        raise PydanticCustomError("seeds", "expected distinct seeds")
    return seeds


class SeedRule(_Strict):
    """`seeds: {min: 2, max: 10, until: decided}`: adaptive seeds. Every variant runs `min` seeds,
    then one more at a time while its comparison with the baseline is undecided, up to `max`
    (seeds 0..max-1); `alpha` is the two-sided level per comparison, spent over the looks by
    `spending`; the baseline runs `baseline_ratio` seeds per variant seed; a variant is futile when its
    conditional power to beat the baseline by `min_effect` at `max` seeds is below `futility` (see
    sweeper.report.sequential)."""

    min: Annotated[StrictInt, Field(ge=2)] = 2
    max: Annotated[StrictInt, Field(ge=2, le=limits.MAX_SEEDS)]
    until: Literal["decided"] = "decided"
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    spending: Literal["obf", "pocock"] = "obf"
    # baseline seeds per variant seed; None: sqrt(number of variants), Dunnett's allocation
    baseline_ratio: Optional[Annotated[float, Field(ge=1)]] = None
    futility: Annotated[float, Field(ge=0, lt=1)] = 0.10

    @model_validator(mode="after")
    def _min_below_max(self) -> "SeedRule":
        if self.max < self.min:
            raise PydanticCustomError("seeds", "expected max >= min, got min {lo} and max {hi}",
                                      {"lo": self.min, "hi": self.max})
        return self


def _seeds_form(value: Any) -> str:
    return "rule" if isinstance(value, dict) else "list"


SeedList = Annotated[list[Annotated[StrictInt, Field(ge=0, le=limits.MAX_SEED)]],
                     Field(min_length=1, max_length=limits.MAX_SEEDS), AfterValidator(_distinct),
                     BeforeValidator(_count_to_seeds)]


class _ThresholdFields(_Strict):
    """Target of time-to-threshold: the first eval with `metric <= value`."""

    metric: Literal[THRESHOLD_METRICS]  # type: ignore[valid-type]
    value: float

    def for_preset(self, preset: str) -> ResolvedThreshold:
        """The threshold a run on `preset` waits for: the preset's own value if the spec gives one.
        A loss target belongs to a model size: `tiny` never reaches the medium preset's 2.92."""
        own = getattr(self, preset, None)
        return ResolvedThreshold(self.metric, float(own if own is not None else self.value))


# `threshold: {metric: val_loss, value: 2.92, tiny: 5.2}`: one optional value per preset name.
Threshold = create_model("Threshold", __base__=_ThresholdFields,
                         **{name: (Optional[float], None) for name in PRESETS})


class Spec(_Strict):
    """A validated spec. `path` and the YAML lines are kept for error messages at expansion."""

    name: Annotated[str, Field(min_length=1), AfterValidator(_folder_name)]
    description: str = ""
    base: Literal[tuple(PRESETS)] = "golf"  # type: ignore[valid-type]
    config: Annotated[Operations, BeforeValidator(_no_ops_is_empty)] = Operations()  # type: ignore[valid-type]
    seeds: Annotated[Union[Annotated[SeedList, Tag("list")], Annotated[SeedRule, Tag("rule")]],
                     Discriminator(_seeds_form)] = [0]
    threshold: Optional[Threshold] = None  # type: ignore[valid-type]
    baseline: Optional[Annotated[str, BeforeValidator(_name_as_text)]] = None  # default: the first variant
    # The smallest gain worth having (final metric units, e.g. 0.005 nats): adaptive seeds give up
    # on a variant that could not show it even at `max` seeds.
    min_effect: Optional[Annotated[float, Field(gt=0)]] = None
    variants: Annotated[dict[Annotated[str, BeforeValidator(_name_as_text), AfterValidator(_printable)],
                             Annotated[Operations, BeforeValidator(_no_ops_is_empty)]],  # type: ignore[valid-type]
                        Field(min_length=1)]
    grid: Annotated[Grid, BeforeValidator(_no_ops_is_empty)] = Grid()  # type: ignore[valid-type]

    _path: str = PrivateAttr("<spec>")
    _lines: Lines = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> str:
        return self._path

    def line(self, *key: str) -> int:
        """Line of a key path in the spec file."""
        return _line(self._lines, key)


def _line(lines: Lines, key: tuple[str, ...]) -> int:
    """Line of a key path, or of the nearest enclosing key that has one."""
    for n in range(len(key), -1, -1):
        if key[:n] in lines:
            return lines[key[:n]]
    return 1


# ---- pydantic errors -> golf's one message ----

_SECTION_KEYS = {(): Spec.model_fields, ("threshold",): Threshold.model_fields, ("seeds",): SeedRule.model_fields}


def _unknown_key(loc: tuple[str, ...]) -> str:
    key = loc[-1]
    if loc[:-1] in _SECTION_KEYS:
        return f"unknown key {key!r} (expected one of {', '.join(_SECTION_KEYS[loc[:-1]])})"
    if key in _NOT_SETTABLE:
        return f"{key}: cannot be set here ({_NOT_SETTABLE[key]})"
    close = difflib.get_close_matches(key, _OP_TYPES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"{key}: unknown operation or config field {key!r} ({hint}expected one of "
            f"{', '.join(OPS)} or a TrainConfig field)")


def _describe(error: dict) -> tuple[tuple[str, ...], str]:
    """(key path, message) for one pydantic error."""
    loc = tuple(str(p) for p in error["loc"] if p != "[key]")
    if loc[:1] == ("seeds",) and loc[1:2] in (("list",), ("rule",)):  # the form's tag is no key of the file
        loc = loc[:1] + loc[2:]
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return loc, _unknown_key(loc)
    if kind == "missing":
        where = ".".join(loc[:-1])
        return loc[:-1], f"{where + ': ' if where else ''}missing key {loc[-1]!r}"
    if kind in ("too_short", "string_too_short"):
        msg = "expected a non-empty value"
    elif kind in ("model_type", "dict_type"):
        msg = "expected a mapping"
    elif msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    got = repr(error["input"])
    got = got if len(got) <= 60 else got[:57] + "..."
    return loc, f"{'.'.join(loc) or 'spec'}: got {got} ({msg})"


def _spec_error(exc: ValidationError, path: str, lines: Lines) -> SpecError:
    """The first problem in file order, as one message with line and variant."""
    found = []
    for error in exc.errors():
        loc, msg = _describe(error)
        found.append((_line(lines, loc), loc, msg))
    line, loc, msg = min(found, key=lambda f: f[0])
    if loc[:1] == ("variants",) and len(loc) >= 2:
        return _err(path, line, msg.removeprefix(f"variants.{loc[1]}.").removeprefix(f"variants.{loc[1]}: "), loc[1])
    return _err(path, line, msg)


def _err(path: str, line: int, msg: str, variant: str | None = None) -> SpecError:
    where = f" variant '{variant}':" if variant is not None else ""
    return SpecError(f"{path}:{line}:{where} {msg}")


def parse_spec(text: str, path: str = "<spec>") -> Spec:
    """Parse and validate spec text (no expansion)."""
    data, lines = load_yaml(text, path)
    if not isinstance(data, dict):
        raise _err(path, 1, f"expected a mapping with keys {', '.join(Spec.model_fields)}, got {data!r}")
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, path, lines) from None
    spec._path, spec._lines = path, lines
    if spec.baseline is not None and spec.baseline not in spec.variants:
        raise _err(path, spec.line("baseline"), f"baseline: got {spec.baseline!r} (expected the name of a variant: "
                   f"{', '.join(spec.variants)})")
    return spec


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; SpecError names file and line on any problem."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read spec ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_spec(text, str(path))
