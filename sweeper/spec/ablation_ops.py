"""Ablation operations: each a pure function (TrainConfig, argument) -> TrainConfig.

Ops are applied in the order a variant writes them. Layer indices may be negative (counted from
the last layer). Errors are ValueError; sweeper/spec.py adds file, line and variant.

Definitions:
- "current pattern" for `add_ve: n`: if the placement is exactly the mirror layout of k tables
  (table i on layers i and L-k+i), the result is the mirror layout of k+n tables; otherwise
  (pairs, explicit tables, none) n new single-layer tables go on the lowest layers with no table.
- `shift_ve: {early: k}` moves every VE layer in the early half (layer < L // 2) by k;
  `{late: k}` moves every VE layer in the late half (layer >= L // 2) by k. Tables keep their
  identity; a layer moved outside the model or onto another table's layer is an error.
"""

from __future__ import annotations

from typing import Any, Callable

from model.config import TrainConfig, mirror_tables, normalize_tables, pairs_tables, resolve_layer


def _layer_list(arg: Any, op: str) -> list[int]:
    if not isinstance(arg, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in arg):
        raise ValueError(f"{op}: expected a list of layer indices, got {arg!r}")
    return arg


def set_value_embeds(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """`{pattern: mirror, count: n}` / `{pattern: pairs}` / `{tables: [[...], ...]}` / `none`."""
    L = cfg.num_layers
    if arg in (None, False, "none"):
        return cfg.replace(value_embeds=())
    if not isinstance(arg, dict):
        raise ValueError(f"value_embeds: expected {{pattern: mirror, count: n}}, {{pattern: pairs}} "
                         f"or {{tables: [[layers], ...]}}, got {arg!r}")
    keys = set(arg)
    if keys == {"tables"}:
        tables = arg["tables"]
        if not isinstance(tables, list) or not all(isinstance(t, list) for t in tables):
            raise ValueError(f"value_embeds: tables: expected a list of layer lists, got {tables!r}")
        return cfg.replace(value_embeds=normalize_tables(tables, L))
    if arg.get("pattern") == "mirror" and keys == {"pattern", "count"}:
        count = arg["count"]
        if not isinstance(count, int) or isinstance(count, bool):
            raise ValueError(f"value_embeds: count: expected an integer, got {count!r}")
        return cfg.replace(value_embeds=mirror_tables(count, L))
    if arg.get("pattern") == "pairs" and keys == {"pattern"}:
        return cfg.replace(value_embeds=pairs_tables(L))
    raise ValueError(f"value_embeds: expected {{pattern: mirror, count: n}}, {{pattern: pairs}} or "
                     f"{{tables: [[layers], ...]}}, got {arg!r}")


def _mirror_count(cfg: TrainConfig) -> int | None:
    k = len(cfg.value_embeds)
    if k and 2 * k <= cfg.num_layers and cfg.value_embeds == mirror_tables(k, cfg.num_layers):
        return k
    return None


def add_ve(cfg: TrainConfig, n: Any) -> TrainConfig:
    """n more tables in the current pattern (see module docstring)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"add_ve: expected a positive integer, got {n!r}")
    L = cfg.num_layers
    k = _mirror_count(cfg)
    if k is not None:
        if 2 * (k + n) > L:
            raise ValueError(f"add_ve: {k + n} mirrored tables need {2 * (k + n)} layers "
                             f"but the model has {L} layers")
        return cfg.replace(value_embeds=mirror_tables(k + n, L))
    used = {l for t in cfg.value_embeds for l in t}
    free = [l for l in range(L) if l not in used]
    if len(free) < n:
        raise ValueError(f"add_ve: {n} new tables need {n} free layers but a model of {L} layers "
                         f"has {len(free)}")
    return cfg.replace(value_embeds=cfg.value_embeds + tuple((l,) for l in free[:n]))


def remove_ve(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """Those layers stop reading their table; a table left with no layer disappears."""
    drop = {resolve_layer(i, cfg.num_layers) for i in _layer_list(arg, "remove_ve")}
    reading = sorted(l for t in cfg.value_embeds for l in t)
    if not drop <= set(reading):
        # Removing nothing would silently run the baseline again under another name.
        raise ValueError(f"remove_ve: layer(s) {sorted(drop - set(reading))} read no value embedding "
                         f"(expected some of {reading or 'none: this config has no value embeddings'})")
    tables = [tuple(l for l in t if l not in drop) for t in cfg.value_embeds]
    return cfg.replace(value_embeds=tuple(t for t in tables if t))


def remove_ve_table(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """Drop whole tables by index (negative counts from the last table)."""
    n = len(cfg.value_embeds)
    drop = set()
    for i in _layer_list(arg, "remove_ve_table"):
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise ValueError(f"remove_ve_table: table {i} does not exist (the placement has {n} "
                             f"tables, expected {-n}..{n - 1})")
        drop.add(j)
    return cfg.replace(value_embeds=tuple(t for j, t in enumerate(cfg.value_embeds) if j not in drop))


def shift_ve(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """Move early-half (`early: k`) or late-half (`late: k`) VE layers by k."""
    if not isinstance(arg, dict) or len(arg) != 1 or next(iter(arg)) not in ("early", "late") \
            or not isinstance(next(iter(arg.values())), int):
        raise ValueError(f"shift_ve: expected {{early: k}} or {{late: k}}, got {arg!r}")
    half, k = next(iter(arg.items()))
    L = cfg.num_layers
    in_half = (lambda l: l < L // 2) if half == "early" else (lambda l: l >= L // 2)
    tables = []
    for t in cfg.value_embeds:
        moved = []
        for l in t:
            new = l + k if in_half(l) else l
            if not 0 <= new < L:
                raise ValueError(f"shift_ve: layer {l} shifted by {k} is {new}, outside a model of "
                                 f"{L} layers (expected 0..{L - 1})")
            moved.append(new)
        tables.append(moved)
    return cfg.replace(value_embeds=normalize_tables(tables, L))


def reshare_ve(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """Replace the placement: each listed layer group shares one table."""
    if not isinstance(arg, list) or not all(isinstance(t, list) for t in arg):
        raise ValueError(f"reshare_ve: expected a list of layer lists, got {arg!r}")
    return cfg.replace(value_embeds=normalize_tables(arg, cfg.num_layers))


def _flag(name: str) -> Callable[[TrainConfig, Any], TrainConfig]:
    def op(cfg: TrainConfig, arg: Any) -> TrainConfig:
        if not isinstance(arg, bool):
            raise ValueError(f"{name}: expected true or false, got {arg!r}")
        return cfg.replace(**{name: arg})
    op.__doc__ = f"Switch {name} on or off."
    return op


def ppm_c(cfg: TrainConfig, arg: Any) -> TrainConfig:
    """`{order, weight}` turns PPM-C mixing on; `false` turns it off."""
    if arg is False:
        return cfg.replace(ppm_c=False)
    if not isinstance(arg, dict) or not set(arg) <= {"order", "weight"}:
        raise ValueError(f"ppm_c: expected {{order: k, weight: w}} or false, got {arg!r}")
    w = arg.get("weight", cfg.ppm_c_weight)
    if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 < w < 1:
        raise ValueError(f"ppm_c: weight {w!r} is outside (0, 1) (expected a mixing weight strictly between 0 and 1)")
    order = arg.get("order", cfg.ppm_c_order)
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"ppm_c: order {order!r}: expected an integer >= 0")
    return cfg.replace(ppm_c=True, ppm_c_order=order, ppm_c_weight=float(w))


OPS: dict[str, Callable[[TrainConfig, Any], TrainConfig]] = {
    "value_embeds": set_value_embeds,
    "add_ve": add_ve,
    "remove_ve": remove_ve,
    "remove_ve_table": remove_ve_table,
    "shift_ve": shift_ve,
    "reshare_ve": reshare_ve,
    "value_residual": _flag("value_residual"),
    "gated_attention": _flag("gated_attention"),
    "fp16_embed": _flag("fp16_embed"),
    "ppm_c": ppm_c,
}


def apply_op(cfg: TrainConfig, name: str, arg: Any) -> TrainConfig:
    """Apply one op, or set a TrainConfig field by name (ValueError for an unknown name)."""
    if name in OPS:
        return OPS[name](cfg, arg)
    if name in TrainConfig.field_names():
        return TrainConfig.from_dict({**cfg.to_dict(), name: arg})
    raise ValueError(f"unknown operation or config field {name!r} (expected one of "
                     f"{', '.join(OPS)} or a TrainConfig field)")
