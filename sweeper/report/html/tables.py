"""The page's HTML tables: the ranking (generic over the report's columns), per-variant progress,
challenge accounting and the runs. Every cell carries its raw value in `data-v` (JSON), which the
page sorts by and the tests compare with `golf report --format json`."""

from __future__ import annotations

import json
import math
from html import escape

import pandas as pd

from sweeper.report import table_view
from sweeper.report.analysis import ARTIFACT_LIMIT_BYTES

# Labels and hover help for the columns the report has today; a column not named here (one the
# report gains later) is shown under its own name, so nothing has to change here for it to appear.
LABELS = {
    "variant": ("variant", "the ablation; the swatch is its colour in every chart"),
    "runs": ("runs", "finished runs"),
    "reached": ("reached", "runs whose curve reached the threshold"),
    "ttt_mean_s": ("TTT mean of reached (s)", "mean time-to-threshold over the runs that reached it"),
    "ttt_ci_low_s": ("CI low (s)", "95% t-interval of that mean"),
    "ttt_ci_high_s": ("CI high (s)", "95% t-interval of that mean"),
    "ttt_km_median_s": ("KM median (s)", "Kaplan-Meier median time-to-threshold (uses censored runs)"),
    "ttt_rmst_s": ("RMST (s)", "restricted mean time-to-threshold: area under the Kaplan-Meier curve"),
    "ttt_rmst_ci_low_s": ("RMST CI low (s)", "95% CI of the restricted mean"),
    "ttt_rmst_ci_high_s": ("RMST CI high (s)", "95% CI of the restricted mean"),
    "horizon_s": ("horizon (s)", "the common horizon the restricted mean is taken to"),
    "comparison_horizon_s": ("p horizon (s)", "the horizon the p-value compares restricted means at: "
                             "the shorter follow-up of this variant and the baseline"),
    "mean_curve_ttt_s": ("seed-mean crossing (s)", "where the seed-averaged curve crosses the threshold"),
    "step_mean_curve_ttt_s": ("step-mean crossing (s)", "crossing of the step-aligned average"),
    "steps_to_threshold_mean": ("steps to threshold", "mean over runs that reached it"),
    "final_val_loss_mean": ("final val_loss", "mean over seeds, nats per token"),
    "final_val_bpb_mean": ("final val_bpb", "mean over seeds, bits per byte"),
    "quant_val_bpb_mean": ("quant val_bpb", "after the int8+zlib round trip"),
    "artifact_headroom_bytes": ("headroom (bytes)", f"{ARTIFACT_LIMIT_BYTES:,} minus the largest artifact"),
    "p_value": ("p (TTT)", "time-to-threshold vs the baseline"),
    "p_value_adj": ("p adj (TTT)", "adjusted for the number of comparisons"),
    "test": ("test", "the time-to-threshold test"),
    "final_p_value": ("p (final)", "final metric vs the baseline, Welch"),
    "final_p_value_adj": ("p adj (final)", "adjusted for the number of comparisons"),
    "final_test": ("final test", ""),
    "rule_p_value": ("p (rule)", "the record rule's test"),
    "verdict": ("verdict", "the record rule's verdict"),
    "rank_key": ("ranked by", "the ranking key"),
    "seeds_state": ("seeds", "adaptive seeds: running, better, worse, futile or out of seeds vs the baseline"),
    "seeds_note": ("seeds: last look", "seeds looked at, effect, p against the look's nominal p, conditional power"),
}
# Internal or folded into another cell (a p-value's note becomes its "n/a (why)").
HIDDEN = {"reached_frac", *table_view.P_NOTES.values()}
# The columns shown at first are those a terminal this wide would show (by the report's own
# priority: the decision columns, then reached, the final metric, ...); the others are one click
# away. 140 characters of the terminal's headers are about the 1,240 px of a laptop's page, where
# verdicts and "n/a (why)" wrap at ~WRAP_AT characters (page.css: td.wrap).
MAIN_WIDTH = 140
WRAP_AT = 36
TEXT_COLUMNS = {"variant", "test", "final_test", "verdict", "rank_key", "adjust", "seeds_state", "seeds_note"}


def _raw(v):
    """A JSON-able raw value (NaN -> None), as --format json writes it."""
    v = table_view._clean(v)
    return v if not isinstance(v, float) or math.isfinite(v) else None


def _attr(v) -> str:
    return escape(json.dumps(_raw(v)), quote=True)


def _th(column: str, extra: str = "", labels: dict | None = None) -> str:
    label, help_ = (labels or {}).get(column) or LABELS.get(column, (column.replace("_", " "), column))
    cls = "" if column in TEXT_COLUMNS else "num"
    return (f'<th data-col="{escape(column)}" class="{cls} {extra}" title="{escape(help_ or column)}">'
            f'<button type="button">{escape(label)}</button></th>')


def swatch(variant: str) -> str:
    """The variant's name with the swatch of its colour (drawn by the page's script from data-variant)."""
    return f'<span class="sw" data-variant="{escape(variant, quote=True)}"></span>{escape(variant)}'


def ranking_table(summary: pd.DataFrame) -> str:
    """Every column of the report's summary with a value, in the report's row order: those the
    terminal table would keep at MAIN_WIDTH characters first, the rest behind the "all columns" switch."""
    if summary.empty:
        return '<p class="empty">No finished run yet: the ranking appears when the first run ends.</p>'
    main = table_view.fitting_columns(summary, MAIN_WIDTH, wrap_at=WRAP_AT)
    hidden = HIDDEN | table_view.same_as_final_mean(summary)
    notes = table_view.P_NOTES  # an all-NaN p-value column still says why: "n/a (none reached ...)"
    rest = [c for c in summary.columns if c not in main and c not in hidden
            and (summary[c].notna().any() or (c in notes and notes[c] in summary and summary[notes[c]].notna().any()))]
    # verdicts and "n/a (why)" wrap instead of widening the table; a variant's name stays on its swatch's line
    wrap = set(table_view.decision_columns(summary)) - {"variant"}
    labels = {"final_mean": (table_view.final_mean_label(summary), "the compared final metric, mean over seeds")}
    rows = table_view.records(summary)
    head = ['<th data-col="rank" class="num" title="the report\'s rank"><button type="button">#</button></th>']
    optional = {c for c in main if c not in wrap and c != "variant"}  # hidden first on a narrower screen
    extra = {**{c: "opt" for c in optional}, **{c: "more" for c in rest}}
    head += [_th(c, extra.get(c, ""), labels) for c in main + rest]
    body = []
    for rank, row in enumerate(rows, 1):
        cells = [f'<td class="num" data-col="rank" data-v="{rank}">{rank}</td>']
        for c in main + rest:
            text = swatch(str(row[c])) if c == "variant" else escape(table_view.cell_text(row, c))
            cls = ("" if c in TEXT_COLUMNS else "num") + f" {extra.get(c, '')}" + (" wrap" if c in wrap else "")
            cells.append(f'<td class="{" ".join(cls.split())}" data-col="{escape(c)}" data-v="{_attr(row[c])}">{text}</td>')
        body.append(f'<tr data-variant="{escape(str(row["variant"]), quote=True)}">{"".join(cells)}</tr>')
    toggle = (f'<button type="button" class="more-toggle">all columns (+{len(rest)})</button>' if rest else "")
    return (f'{toggle}<div class="scroll"><table class="sortable ranking" id="ranking"><thead><tr>{"".join(head)}'
            f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _table(table_id: str, columns: list[tuple[str, str, bool]], rows: list[list[tuple]]) -> str:
    """A sortable table; columns (key, label, numeric); each row a list of (raw value, html)."""
    head = "".join(f'<th data-col="{k}" class="{"num" if num else ""}"><button type="button">{escape(label)}'
                   f'</button></th>' for k, label, num in columns)
    body = "".join("<tr>" + "".join(f'<td class="{"num" if num else ""}" data-v="{_attr(v)}">{h}</td>'
                                    for (v, h), (_, _, num) in zip(row, columns)) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def _num(v, fmt: str) -> tuple:
    v = _raw(v)
    return (v, "" if v is None else escape(format(v, fmt)))


def progress_table(live_runs: list, variants: list[str]) -> str:
    """Per variant: runs ended / total as a bar, and where each running run is."""
    rows = []
    for v in variants:
        mine = [r for r in live_runs if r.variant == v]
        count = {s: sum(r.status == s for r in mine) for s in ("finished", "failed", "cancelled", "running", "queued")}
        ended = count["finished"] + count["failed"] + count["cancelled"]
        bar = "".join(f'<i class="st-{s}" style="width:{100 * count[s] / len(mine):.1f}%"></i>'
                      for s in ("finished", "failed", "cancelled", "running") if count[s])
        where = ", ".join(f"seed {r.seed}: step {r.live_step or 0}/{r.live_total_steps or '?'}"
                          for r in mine if r.status == "running")
        text = ", ".join(f"{n} {s}" for s, n in count.items() if n)
        rows.append([(v, swatch(v)), (ended, f"{ended}/{len(mine)}"),
                     (ended / len(mine), f'<span class="bar" title="{escape(text)}">{bar}</span>'),
                     (where, escape(where or text))])
    return _table("progress", [("variant", "variant", False), ("ended", "ended", True),
                               ("bar", "progress", False), ("now", "now", False)], rows)


def challenge_table(runs: pd.DataFrame, variants: list[str]) -> str | None:
    """parameter-golf's accounting per variant: raw and round-trip metrics, and the largest artifact
    against the 16,000,000-byte limit. None when no run has a quantized metric or an artifact."""
    fin = runs[runs["status"] == "finished"]
    cols = [c for c in ("quant_val_loss", "quant_val_bpb", "artifact_bytes") if c in fin and fin[c].notna().any()]
    if not cols:
        return None
    rows = []
    for v in variants:
        f = fin[fin["variant"] == v]
        if f.empty:
            continue
        art = f["artifact_bytes"].max() if "artifact_bytes" in f else float("nan")
        raw, quant = f["val_bpb"].mean(), f["quant_val_bpb"].mean() if "quant_val_bpb" in f else float("nan")
        share = art / ARTIFACT_LIMIT_BYTES if art == art else 0.0
        bar = (f'<span class="bar bytes" title="{share:.1%} of the limit"><i class="{"over" if share > 1 else "ok"}" '
               f'style="width:{min(share, 1) * 100:.1f}%"></i></span>')
        rows.append([(v, swatch(v)), _num(raw, ".4f"), _num(quant, ".4f"), _num(quant - raw, "+.4f"),
                     _num(art, ",.0f"), (share, bar), _num(ARTIFACT_LIMIT_BYTES - art, ",.0f")])
    return _table("challenge", [("variant", "variant", False), ("val_bpb", "val_bpb", True),
                                ("quant_val_bpb", "quant val_bpb", True), ("gap", "quant gap", True),
                                ("artifact_bytes", "artifact bytes (max)", True),
                                ("share", f"of {ARTIFACT_LIMIT_BYTES:,}", False),
                                ("headroom", "headroom", True)], rows)


def runs_data(runs: pd.DataFrame, live_runs: list) -> dict:
    """One row per run (variant, seed, status, attempts, steps, time, final metrics, error, run id)
    as compact data: {columns: [[key, label, kind]], rows: [[raw values]]}. The page's script
    draws the table from it (the first rows, all on demand): 5,000 runs as HTML cells would be
    ~3 MB and a second of layout."""
    live = {r.id: r for r in live_runs}
    metrics = [c for c in ("val_loss", "val_bpb", "quant_val_loss", "quant_val_bpb", "artifact_bytes")
               if c in runs and runs[c].notna().any()]
    columns = [["variant", "variant", "variant"], ["seed", "seed", "int"], ["status", "status", "status"],
               ["attempts", "tries", "int"], ["steps", "steps", "int"], ["time", "time (s)", "f1"],
               *[[c, c, "int" if c == "artifact_bytes" else "f4"] for c in metrics],
               ["error", "error", "err"], ["run", "run id", "code"]]
    rows = []
    for r in runs.to_dict("records"):
        lv = live.get(r["run_id"])
        running = r["status"] == "running" and lv is not None
        error = (lv.error or "").strip().splitlines()[-1] if lv is not None and lv.error else None
        values = [r["variant"], r["seed"], r["status"], r["attempts"],
                  lv.live_step if running else r["steps"], lv.live_train_time_s if running else r["train_time_s"],
                  *[lv.latest_val_loss if running and c == "val_loss" else r[c] for c in metrics], error, r["run_id"]]
        rows.append([_raw(v) for v in values])
    return dict(columns=columns, rows=rows)
