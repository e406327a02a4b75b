"""Render a report summary (DataFrame from sweeper.report.summary.summarize) as table / csv / json / markdown.

The table says once, under it, what every row was ranked and tested by (`notes`), instead of a test
name in every row; csv and json carry every column of the frame.
"""

from __future__ import annotations

import json
import math

import pandas as pd

TABLE_COLUMNS = ["variant", "runs", "reached", "ttt_rmst_s", "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s",
                 "ttt_km_median_s", "ttt_mean_s", "mean_curve_ttt_s", "step_mean_curve_ttt_s", "steps_rmst",
                 "steps_to_threshold_mean", "final_mean", "final_val_bpb_mean", "quant_val_bpb_mean",
                 "artifact_headroom_bytes", "p_value", "p_value_adj", "final_p_value", "final_p_value_adj",
                 "rule_p_value", "rule_p_value_adj", "verdict", "seeds_state"]
# shown only when some variant has a value: logs without quantization or export leave them empty
KNOWN_ONLY = {"quant_val_bpb_mean", "artifact_headroom_bytes", "final_val_bpb_mean"}
# Headers that say what a column is where its name alone would mislead.
HEADERS = {"ttt_mean_s": "ttt_mean_reached_only_s", "mean_curve_ttt_s": "seed_mean_curve_ttt_s"}
# p-value column -> the column saying why it is NaN ("1 run", "zero variance", "baseline", ...)
P_NOTES = {"p_value": "p_value_note", "final_p_value": "final_p_value_note", "rule_p_value": "rule_p_value_note",
           "p_value_adj": "p_value_note", "final_p_value_adj": "final_p_value_note",
           "rule_p_value_adj": "rule_p_value_note", "mean_curve_ttt_s": "mean_curve_note"}


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


NO_CURVE = "_runs_without_curve"  # set by records(): not a column of the frame, so never in csv/json


def records(summary: pd.DataFrame) -> list[dict]:
    """The summary's rows as dicts for _cell, each with its variant's count of runs without a curve."""
    bare = summary.attrs.get("runs_without_curve", {})
    return [{**r, NO_CURVE: bare.get(str(r["variant"]), 0)} for r in summary.to_dict("records")]


def _cell(row: dict, column: str) -> str:
    """One table cell; a NaN p-value reads "n/a (why)" instead of a bare dash; reached reads k/n."""
    if column in P_NOTES and _clean(row[column]) is None and _clean(row.get(P_NOTES[column])) is not None:
        return f"n/a ({row[P_NOTES[column]]})"
    if column == "reached" and "runs" in row:
        # a run without a curve (final evaluations only) cannot reach: out of n, said beside it
        bare = row.get(NO_CURVE, 0)
        return f"{row['reached']}/{row['runs'] - bare}" + (f" (+{bare} no curve)" if bare else "")
    return _fmt(row[column])


def _header(summary: pd.DataFrame, column: str) -> str:
    if column == "final_mean" and "final_metric" in summary and len(summary):
        return f"final_{summary['final_metric'].iloc[0]}_mean".replace("final_quant_", "quant_")
    return HEADERS.get(column, column)


# Time-to-threshold and its test: nothing to show for a sweep without a threshold (ranked by final metric).
THRESHOLD_ONLY = {"reached", "ttt_rmst_s", "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s", "ttt_km_median_s", "ttt_mean_s",
                  "mean_curve_ttt_s", "step_mean_curve_ttt_s", "steps_rmst", "steps_to_threshold_mean", "p_value",
                  "p_value_adj"}


def has_threshold(summary: pd.DataFrame) -> bool:
    """False for a report made without a threshold (`Threshold.none`: ranked by final metric alone)."""
    threshold = summary.attrs.get("threshold")
    return not getattr(threshold, "is_none", False)


def _columns(summary: pd.DataFrame) -> list[str]:
    same_as_final = same_as_final_mean(summary)  # the compared metric is already final_mean
    hidden = same_as_final | (set() if has_threshold(summary) else THRESHOLD_ONLY)
    return [c for c in TABLE_COLUMNS if c in summary and c not in hidden
            and not (c in KNOWN_ONLY and summary[c].isna().all())]


def notes(summary: pd.DataFrame) -> list[str]:
    """What the whole table was ranked and tested by, said once: the lines under the table."""
    if summary.empty or "rank_key" not in summary:
        return []
    a, row = summary.attrs, summary.iloc[0]
    fm, method = row["final_metric"], {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "none"}[row["adjust"]]
    comparisons = int(summary["p_value"].notna().sum())
    if not has_threshold(summary):
        compared = int(summary["final_p_value"].notna().sum())
        lines = [f"ranked by final {fm} (final_mean); no threshold, so no time-to-threshold",
                 f"final {fm} vs baseline {a.get('baseline')!r}: Welch t; final_p_value_adj: {method} over "
                 f"{compared} comparison(s); verdicts use the adjusted p"]
        lines += [a["seeds_design"]] if a.get("seeds_design") else []
        return lines + [f"warning: {w}" for w in a.get("warnings", [])]
    lines = [f"ranked by {_key_text(summary)}",
             f"time-to-threshold vs baseline {a.get('baseline')!r}: difference of restricted means up to "
             f"{_pair_horizons(summary)}Welch t on its standard error; censoring-aware); final {fm}: "
             f"Welch t; p_value_adj: {method} over {comparisons} comparison(s); verdicts use the adjusted p",
             "censored: a run that never reached the threshold counts as 'not yet' up to its last eval; "
             "ttt_mean_reached_only_s leaves such runs out and is biased low"]
    lines += [a["seeds_design"]] if a.get("seeds_design") else []  # adaptive seeds: what seeds_state means
    return lines + [f"warning: {w}" for w in a.get("warnings", [])]


def _key_text(summary: pd.DataFrame) -> str:
    row, fm = summary.iloc[0], summary.iloc[0]["final_metric"]
    if row["rank_key"] == "final_mean":
        return f"final {fm} (final_mean)"
    if not summary["reached"].any():
        return f"final {fm}: no run reached the threshold (golf report --threshold V to pick another)"
    if row["rank_key"] == "steps_rmst":
        return f"restricted mean steps-to-threshold (steps_rmst, up to step {_fmt(row['steps_horizon'])}), ties by final {fm}"
    where = f", the shortest follow-up: {summary.attrs['horizon_variant']}" if summary.attrs.get("horizon_variant") else ""
    return (f"restricted mean time-to-threshold (ttt_rmst_s: area under the Kaplan-Meier 'not yet reached' "
            f"curve up to {_fmt(row['horizon_s'])} s{where}), ties by final {fm}")


def _pair_horizons(summary: pd.DataFrame) -> str:
    """Where the tests stop, up to the parenthesis the notes go on in: the common horizon where every
    pair shares it, else each pair's shorter follow-up (comparison_horizon_s) and their range."""
    pairs = summary["comparison_horizon_s"].dropna() if "comparison_horizon_s" in summary else pd.Series(dtype=float)
    common = summary["horizon_s"].iloc[0]
    if pairs.empty or (pairs == common).all():
        return f"{_fmt(common)} s ("
    span = _fmt(pairs.min()) + ("" if pairs.nunique() == 1 else f"-{_fmt(pairs.max())}")
    return f"the shorter follow-up of the variant and the baseline (comparison_horizon_s: {span} s; "


def to_markdown(summary: pd.DataFrame) -> str:
    """GitHub-flavoured markdown table of the main columns."""
    cols = _columns(summary)
    lines = ["| " + " | ".join(_header(summary, c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r, c) for c in cols) + " |" for r in records(summary)]
    below = notes(summary)
    return "\n".join(lines) + "\n" + ("\n" + "\n".join(f"- {n}" for n in below) + "\n" if below else "")


# A narrow terminal keeps, at any width, the columns a decision is read from: the variant, the ranking
# key with its interval, the adjusted p and the verdicts. The rest are added by TABLE_PRIORITY while
# they fit (csv/json always hold all), first how many runs reached the threshold.
DECISION = ["variant", "ttt_rmst_s", "ttt_rmst_95ci_s", "p_value_adj", "verdict", "seeds_state"]
TABLE_PRIORITY = ["reached", "final_mean", "final_p_value_adj", "runs", "ttt_km_median_s", "p_value", "final_p_value",
                  "ttt_mean_s", "quant_val_bpb_mean", "artifact_headroom_bytes", "final_val_bpb_mean",
                  "mean_curve_ttt_s", "steps_rmst", "steps_to_threshold_mean", "step_mean_curve_ttt_s",
                  "rule_p_value_adj", "rule_p_value"]
# Shown in the terminal as one "low-high" cell: two 18-character headers over two 6-digit numbers
# would cost a narrow terminal its p-value column.
JOINED = {"ttt_rmst_95ci_s": ("ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s")}


def _decision(summary: pd.DataFrame) -> list[str]:
    """DECISION for this table: its ranking key right after the variant (steps_rmst under --by steps),
    or the final metric and its adjusted p where the table is ranked by them (--by final, or no run
    reached the threshold)."""
    key = summary["rank_key"].iloc[0] if "rank_key" in summary and len(summary) else "ttt_rmst_s"
    if key == "final_mean" or ("reached" in summary and not summary["reached"].any()):  # see ranking_title
        return ["variant", "final_mean", "final_p_value_adj", "verdict", "seeds_state"]
    return ["variant", key] + [c for c in DECISION if c not in ("variant", key)]


def _rendered(summary: pd.DataFrame) -> dict[str, list[str]]:
    """The table's columns, each as the cells it shows. A column of dashes only (no run reached the
    threshold, nothing was exported) says nothing that `reached` does not: dropped (csv/json keep it)."""
    rows = records(summary)
    # no run reached: every restricted mean is the horizon itself, which says nothing either
    none_reached = "reached" in summary and not summary["reached"].any()
    cells = {}
    for c in _columns(summary):
        if none_reached and c in ("ttt_rmst_s", "ttt_rmst_ci_low_s", "ttt_rmst_ci_high_s", "steps_rmst"):
            continue
        joined = next((j for j, parts in JOINED.items() if c in parts), None)
        if joined is None:
            cells[c] = [_cell(r, c) for r in rows]
        elif joined not in cells:
            low, high = JOINED[joined]
            cells[joined] = [f"{_cell(r, low)}–{_cell(r, high)}" if _clean(r.get(low)) is not None else "-"
                             for r in rows]
    return {c: v for c, v in cells.items() if c in ("variant", "runs", "reached") or any(x != "-" for x in v)}


def _short(text: str) -> str:
    """A cell without its parenthesised detail: "n/a (1 run)" -> "n/a", "no (gain ...)" -> "no"."""
    return text.split(" (", 1)[0]


def _fit(summary: pd.DataFrame, cells: dict[str, list[str]], width: int | None,
         wrap_at: int | None = None) -> tuple[list[str], set[str]]:
    """(the columns shown in `width` characters, in table order; the decision columns whose cells are
    cut to their _short form). The decision columns are always shown, cut short only where they do
    not fit at full length (a verdict is a sentence); the others by TABLE_PRIORITY while they fit.
    wrap_at: the view wraps the decision columns' text at this many characters (a page): they count
    at most that wide and are never cut."""
    if width is None:
        return list(cells), set()
    decision = [c for c in _decision(summary) if c in cells]

    def need(c, short=False):  # 3: borders and padding
        text = max(len(x) for x in [_header(summary, c), *(map(_short, cells[c]) if short else cells[c])])
        return 3 + (min(text, wrap_at) if wrap_at and c in decision else text)

    short = set() if wrap_at or 1 + sum(need(c) for c in decision) <= width else {
        c for c in decision if any(_short(x) != x for x in cells[c])}
    kept, used = set(decision), 1 + sum(need(c, c in short) for c in decision)
    for c in sorted(set(cells) - kept, key=lambda c: TABLE_PRIORITY.index(c) if c in TABLE_PRIORITY else len(TABLE_PRIORITY)):
        # at full length, else cut short where the view cuts cells: "2/2 (+1 no curve)" -> "2/2" keeps
        # its meaning; a p-value column cut to "n/a" does not, and is left to the wider views
        for cut in (False, True) if c == "reached" and not wrap_at else (False,):
            if used + need(c, cut) <= width:
                kept.add(c)
                used += need(c, cut)
                short |= {c} if cut else set()
                break
    return [c for c in cells if c in kept], short


def fitting_columns(summary: pd.DataFrame, width: int | None, wrap_at: int | None = None) -> list[str]:
    """The summary's columns that the terminal table shows at `width` characters (every column with a
    value when `width` is None): the decision columns first, then by TABLE_PRIORITY while they fit;
    in TABLE_COLUMNS order. wrap_at: for a view that wraps the decision columns' sentences (verdicts,
    "n/a (why)") at this many characters, as the HTML page does."""
    cols, _ = _fit(summary, _rendered(summary), width, wrap_at)
    return [part for c in cols for part in JOINED.get(c, (c,))]


def decision_columns(summary: pd.DataFrame) -> list[str]:
    """The summary's columns a decision is read from (the ranking key, its interval, the adjusted p,
    verdicts), which every view keeps in sight."""
    return [part for c in _decision(summary) for part in JOINED.get(c, (c,)) if part in summary]


def final_mean_label(summary: pd.DataFrame) -> str:
    """What final_mean holds, by name: "final val_loss", "final quant_val_bpb"."""
    return f"final {summary['final_metric'].iloc[0]}" if "final_metric" in summary and len(summary) else "final mean"


def same_as_final_mean(summary: pd.DataFrame) -> set[str]:
    """The per-metric mean columns that repeat final_mean (the compared metric)."""
    final = summary["final_metric"].iloc[0] if "final_metric" in summary and len(summary) else None
    return {f"final_{final}_mean", f"{final}_mean"} if final else set()


def to_rich_table(summary: pd.DataFrame, title: str = "", width: int | None = None):
    """A rich Table: each row's rank and the main columns; with `width`, only the columns that fit
    it (the decision columns always), the others counted in the caption, under the notes on what the
    table was ranked and tested by."""
    from rich.markup import escape
    from rich.table import Table
    cells = _rendered(summary)
    rank = str(len(summary))
    cols, short = _fit(summary, cells, None if width is None else width - len(rank) - 3)
    caption = notes(summary)
    if short:
        caption.append(f"{', '.join(_header(summary, c) for c in cols if c in short)}: cut before '(' at this "
                       "width; a wider terminal or --format markdown shows the rest")
    if len(cols) < len(cells):
        caption.append(f"{len(cells) - len(cols)} more column(s) with --format csv|json|markdown")
    table = Table(title=title, caption=escape("\n".join(caption)) or None, caption_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    for c in cols:
        table.add_column(_header(summary, c), justify="left" if c in ("variant", "verdict", "seeds_state") else "right",
                         no_wrap=c not in short)
    for i in range(len(summary)):  # variant names may hold [brackets]
        table.add_row(str(i + 1), *(escape(_short(cells[c][i]) if c in short else cells[c][i]) for c in cols))
    return table


def cell_text(row: dict, column: str) -> str:
    """One cell as every ranking table shows it (the terminal's, markdown's and the HTML page's)."""
    return _cell(row, column)


def ranking_title(sweep: str, threshold, summary: pd.DataFrame) -> str:
    """The ranking table's title: the sweep, its threshold and the ranking key (the notes under the
    table say how it was estimated and tested)."""
    key = summary["rank_key"].iloc[0] if len(summary) else "ttt_rmst_s"
    if getattr(threshold, "is_none", False):  # no threshold: a final-metric ranking
        metric = summary["final_metric"].iloc[0] if len(summary) else threshold.metric
        return f"{sweep}: ranked by final {metric} (no threshold)"
    if key != "final_mean" and len(summary) and not summary["reached"].any():
        key = f"final_mean (no run reached {threshold})"
    return f"{sweep}: {threshold}, ranked by {key}"
