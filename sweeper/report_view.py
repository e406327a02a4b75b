"""Render a report summary (DataFrame from sweeper.report.summarize) as table / csv / json / markdown."""

from __future__ import annotations

import json
import math

import pandas as pd

TABLE_COLUMNS = ["variant", "runs", "reached", "ttt_mean_s", "ttt_ci_low_s", "ttt_ci_high_s", "ttt_km_median_s",
                 "mean_curve_ttt_s", "step_mean_curve_ttt_s", "final_val_loss_mean", "final_val_bpb_mean",
                 "p_value", "test", "final_p_value", "verdict"]


def _clean(v):
    """NaN / numpy scalars -> JSON-friendly Python values (NaN -> None)."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def to_json(summary: pd.DataFrame) -> str:
    """List of objects, one per variant, NaN as null."""
    return json.dumps([{k: _clean(v) for k, v in row.items()} for row in summary.to_dict("records")], indent=2)


def to_csv(summary: pd.DataFrame) -> str:
    """All columns as CSV."""
    return summary.to_csv(index=False)


def _fmt(v) -> str:
    v = _clean(v)
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def to_markdown(summary: pd.DataFrame) -> str:
    """GitHub-flavoured markdown table of the main columns."""
    cols = [c for c in TABLE_COLUMNS if c in summary]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in cols) + " |" for r in summary.to_dict("records")]
    return "\n".join(lines) + "\n"


def to_rich_table(summary: pd.DataFrame, title: str = ""):
    """A rich Table of the main columns."""
    from rich.table import Table
    cols = [c for c in TABLE_COLUMNS if c in summary]
    table = Table(title=title)
    for c in cols:
        table.add_column(c, justify="left" if c in ("variant", "test") else "right")
    for r in summary.to_dict("records"):
        table.add_row(*(_fmt(r[c]) for c in cols))
    return table
