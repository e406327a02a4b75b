"""Render a report summary (DataFrame from sweeper.report.analysis.summarize) as table / csv / json / markdown."""

from __future__ import annotations

import json
import math

import pandas as pd

TABLE_COLUMNS = ["variant", "runs", "reached", "ttt_mean_s", "ttt_ci_low_s", "ttt_ci_high_s", "ttt_km_median_s",
                 "mean_curve_ttt_s", "step_mean_curve_ttt_s", "steps_to_threshold_mean", "final_val_loss_mean",
                 "final_val_bpb_mean", "quant_val_bpb_mean", "artifact_headroom_bytes", "p_value", "test",
                 "final_p_value", "final_test", "rule_p_value", "verdict", "seeds_state"]
# shown only when some variant has a value: logs without quantization or export leave them empty
KNOWN_ONLY = {"quant_val_bpb_mean", "artifact_headroom_bytes"}
# p-value column -> the column saying why it is NaN ("1 run", "zero variance", "baseline", ...)
P_NOTES = {"p_value": "p_value_note", "final_p_value": "final_p_value_note", "rule_p_value": "rule_p_value_note"}


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
    """List of objects, one per variant, NaN as null (a NaN p-value's reason is in its *_note key)."""
    return json.dumps([{k: _clean(v) for k, v in row.items()} for row in summary.to_dict("records")], indent=2)


def to_csv(summary: pd.DataFrame) -> str:
    """All columns as CSV."""
    return summary.to_csv(index=False)


def _fmt(v) -> str:
    v = _clean(v)
    if v is None:
        return "-"
    if isinstance(v, float):
        if v.is_integer() and abs(v) >= 1000:  # byte counts and steps that went through a float column
            return f"{v:,.0f}"
        return f"{v:.4g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _cell(row: dict, column: str) -> str:
    """One table cell; a NaN p-value reads "n/a (why)" instead of a bare dash."""
    if column in P_NOTES and _clean(row[column]) is None and _clean(row.get(P_NOTES[column])) is not None:
        return f"n/a ({row[P_NOTES[column]]})"
    return _fmt(row[column])


def _columns(summary: pd.DataFrame) -> list[str]:
    return [c for c in TABLE_COLUMNS if c in summary and not (c in KNOWN_ONLY and summary[c].isna().all())]


def to_markdown(summary: pd.DataFrame) -> str:
    """GitHub-flavoured markdown table of the main columns."""
    cols = _columns(summary)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r, c) for c in cols) + " |" for r in summary.to_dict("records")]
    return "\n".join(lines) + "\n"


# What a narrow terminal keeps first; the rest are added while they fit (csv/json always hold all).
TABLE_PRIORITY = ["variant", "runs", "reached", "ttt_mean_s", "final_val_loss_mean", "ttt_ci_low_s", "ttt_ci_high_s",
                  "p_value", "verdict", "seeds_state", "final_val_bpb_mean", "final_p_value", "steps_to_threshold_mean",
                  "quant_val_bpb_mean", "artifact_headroom_bytes", "ttt_km_median_s", "mean_curve_ttt_s",
                  "step_mean_curve_ttt_s", "test", "final_test", "rule_p_value"]


def _rendered(summary: pd.DataFrame) -> dict[str, list[str]]:
    """The table's columns, each as the cells it shows. A column of dashes only (no run reached the
    threshold, nothing was exported) says nothing that `reached` does not: dropped (csv/json keep it)."""
    rows = summary.to_dict("records")
    cells = {c: [_cell(r, c) for r in rows] for c in _columns(summary)}
    return {c: v for c, v in cells.items() if c in ("variant", "runs", "reached") or any(x != "-" for x in v)}


def _fit(cells: dict[str, list[str]], width: int | None) -> list[str]:
    """The columns that fit in `width` characters, taken by TABLE_PRIORITY, in table order."""
    if width is None:
        return list(cells)
    need = {c: 3 + max(len(x) for x in [c, *v]) for c, v in cells.items()}  # 3: borders and padding
    kept, used = set(), 1
    for c in sorted(cells, key=lambda c: TABLE_PRIORITY.index(c) if c in TABLE_PRIORITY else len(TABLE_PRIORITY)):
        if used + need[c] <= width or len(kept) < 2:
            kept.add(c)
            used += need[c]
    return [c for c in cells if c in kept]


def fitting_columns(summary: pd.DataFrame, width: int | None) -> list[str]:
    """The table's columns that have a value and fit in `width` characters (by TABLE_PRIORITY),
    shown in TABLE_COLUMNS order; every column with a value when `width` is None."""
    return _fit(_rendered(summary), width)


def to_rich_table(summary: pd.DataFrame, title: str = "", width: int | None = None):
    """A rich Table of the main columns; with `width`, only the columns that fit it, the others named
    in the caption."""
    from rich.markup import escape
    from rich.table import Table
    cells = _rendered(summary)
    cols = _fit(cells, width)
    caption = f"{len(cells) - len(cols)} more column(s) with --format csv|json|markdown" if len(cols) < len(cells) else None
    table = Table(title=title, caption=caption)
    for c in cols:
        table.add_column(c, justify="left" if c in ("variant", "test", "final_test", "verdict") else "right",
                         no_wrap=True)
    for i in range(len(summary)):
        table.add_row(*(escape(cells[c][i]) for c in cols))  # variant names may hold [brackets]
    return table
