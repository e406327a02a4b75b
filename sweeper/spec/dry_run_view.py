"""Rich rendering of an expanded spec: the `golf sweep SPEC --dry-run` table."""

from __future__ import annotations

import dataclasses

from rich.table import Table
from rich.text import Text

from model.config import TrainConfig
from sweeper.spec import Expansion

# Shown in their own columns (VE placement, seed) or not a switch of the run (seed).
_OWN_COLUMNS = ("value_embeds", "seed")


def ve_placement(config: TrainConfig) -> str:
    """The VE tables as concrete layers: `(0,13) (1,14) (2,15)`, or `-` for none."""
    return " ".join("(" + ",".join(map(str, t)) + ")" for t in config.value_embeds) or "-"


def switches(config: TrainConfig, base: TrainConfig) -> str:
    """The fields (other than VE placement and seed) that differ from `base`, `name=value`."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name in _OWN_COLUMNS or value == getattr(base, f.name):
            continue
        if f.name == "ppm_c" and value:  # the switch is meaningless without its order and weight
            out.append(f"ppm_c(order={config.ppm_c_order}, weight={config.ppm_c_weight})")
        elif not (f.name.startswith("ppm_c_") and config.ppm_c):
            out.append(f.name if value is True else f"{f.name}={value}")
    return ", ".join(out) or "-"


def dry_run_table(expansion: Expansion) -> Table:
    """One row per planned run: variant, seed, VE placement, switches vs the base, run key."""
    plans = expansion.plans
    variants = list(dict.fromkeys(p.variant for p in plans))
    # Text, not markup: grid labels like `a[matrix_lr=0.02]` look like rich style tags.
    table = Table(title=Text(f"{plans[0].sweep if plans else 'spec'}: {len(variants)} variants, "
                        f"{len(plans)} runs, base {expansion.base_name} "
                        f"(VE {ve_placement(expansion.base)})"))
    for column in ("variant", "seed", "VE tables (layers)", "switches", "run key"):
        # a seed or a run key folded in two reads as two values; the placement and switches fold
        table.add_column(column, overflow="fold", no_wrap=column in ("seed", "run key"))
    for p in plans:
        cells = (p.variant, str(p.seed), ve_placement(p.config), switches(p.config, expansion.base), p.key)
        table.add_row(*map(Text, cells))
    if expansion.duplicates:
        table.caption = Text("not run twice (same config): " + ", ".join(
            f"{dropped} = {kept}" for kept, dropped in expansion.duplicates))
    return table
