"""Rich rendering of an expanded spec (the `--dry-run` table)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sweeper.plan import RunPlan


def render_plan_table(plans: list[RunPlan], console: Console, title: str | None = None) -> None:
    """Print variant, seed, VE placement (concrete layers), other switches and run key."""
    table = Table(title=title)
    for col in ("variant", "seed", "VE tables (layers)", "switches", "key"):
        table.add_column(col)
    for p in plans:
        c = p.config
        ve = " ".join("(" + ",".join(map(str, t)) + ")" for t in c.value_embeds) or "-"
        sw = [n for n in ("value_residual", "gated_attention", "fp16_embed") if getattr(c, n)]
        if c.ppm_c:
            sw.append(f"ppm_c(order={c.ppm_c_order}, w={c.ppm_c_weight})")
        table.add_row(p.variant, str(p.seed), ve, ", ".join(sw) or "-", p.key)
    console.print(table)
