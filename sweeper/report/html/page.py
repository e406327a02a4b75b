"""One self-contained HTML page per sweep: the ranking, curves, time-to-threshold, challenge
accounting, the runs, the spec. No network at view time: the charts are SVG drawn by a small script
embedded in the page from the data embedded next to it (see charts.js for why not a plotting library).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

import pandas as pd

from sweeper.report import table_view
from sweeper.store import ENDED
from sweeper.report.html import figures, tables
from sweeper.report.notebook import Results, load

RELOAD_S = 30  # a live page reloads as often as `golf sweep` may rewrite it
# Okabe & Ito's palette (distinct for the common colour-vision deficiencies) without yellow, which
# vanishes on white; past 6 variants the dash pattern changes, so 6 x 5 = 30 variants stay apart
# even in grey. The baseline is black and drawn thicker.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7"]
DASHES = ["", "7 3", "2 2", "9 3 2 3", "14 4"]


@dataclass
class PageOptions:
    """What the caller decided: the ranking (as `golf report` computed it), how to title it, and
    whether the page is the live one that `golf sweep` keeps rewriting."""
    summary: pd.DataFrame | None = None
    threshold: float | None = None
    metric: str | None = None
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    live: bool = False
    stopped: bool = False  # the sweep was interrupted: not running, not finished


def styles(variants: list[str], baseline: str | None) -> dict[str, dict]:
    """Colour, dash and width of each variant, in a stable order (the spec's), so a live page
    keeps its colours while the ranking changes."""
    out, i = {}, 0
    for v in variants:
        if v == baseline:
            out[v] = dict(color="#000000", dash="", width=2.6)
        else:
            out[v] = dict(color=COLORS[i % len(COLORS)], dash=DASHES[(i // len(COLORS)) % len(DASHES)], width=1.8)
            i += 1
    return out


def default_summary(res: Results) -> tuple[pd.DataFrame, str]:
    """The ranking `golf sweep` prints at its end: by time-to-threshold, or by final loss without one."""
    finished = res.runs[res.runs["status"] == "finished"]
    if res.runs["val_loss"].notna().sum() == 0 or finished.empty:
        return pd.DataFrame(), f"{res.sweep}: no finished run yet"
    if res.baseline is not None and res.baseline in set(res.runs["variant"]) \
            and res.baseline not in set(finished["variant"]):
        # a live page while the sweep runs: every comparison is against the baseline, so wait for it
        return pd.DataFrame(), f"{res.sweep}: the ranking appears when the baseline ({res.baseline}) has a finished run"
    if res.threshold is None:
        return res.summary, f"{res.sweep}: final {res.metric} (no threshold)"
    summary = res.report()
    return summary, table_view.ranking_title(res.sweep, res.threshold, summary)


def _read(name: str) -> str:
    return resources.files("sweeper.report.html").joinpath(name).read_text(encoding="utf-8")


def _json_for_script(data) -> str:
    """JSON safe inside <script>: no '</' can close the element early."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _golf_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("golf")
    except PackageNotFoundError:
        return "unknown"


def _versions_text(store, sweep: str) -> str:
    parts = []
    for golf_version, commit, n in store.code_versions(sweep):
        if golf_version is None and commit is None:
            continue
        parts.append(f"golf {golf_version or '?'}" + (f" at {commit[:10]}" if commit else "") + f" ({n} runs)")
    return "Trained by " + "; ".join(map(escape, parts)) + "." if parts else "No run records the code that trained it (imported or not yet started)."


def build_page(store, sweep: str, options: PageOptions | None = None, results: Results | None = None) -> str:
    """The page's HTML for `sweep` in `store` (an open sweeper.store.Store)."""
    opt = options or PageOptions()
    res = results if results is not None else load(sweep, store)
    live_runs = store.live_runs(sweep)
    record = store.get_sweep(sweep)
    summary, title = (opt.summary, opt.title) if opt.summary is not None else default_summary(res)
    title = title or sweep
    threshold = opt.threshold if opt.threshold is not None else (res.threshold.value if res.threshold else None)
    metric = opt.metric or res.metric
    baseline = summary.attrs.get("baseline") if not summary.empty else None
    spec_order = list(dict.fromkeys([r.variant for r in live_runs] + list(res.runs["variant"])))
    ranked = list(summary["variant"]) if not summary.empty else []
    variants = ranked + [v for v in spec_order if v not in ranked]
    statuses = [r.status for r in live_runs] or list(res.runs["status"])
    ended = sum(s in ENDED for s in statuses)
    state = ("stopped" if opt.stopped else "finished" if ended == len(statuses)
             else "running" if opt.live else "in progress")
    data = dict(sweep=sweep, state=state, metric=metric, baseline=baseline,
                threshold=None if threshold is None or not math.isfinite(threshold) else threshold,
                variants=variants, styles=styles(spec_order, baseline),
                counts={v: int((res.runs["variant"] == v).sum()) for v in variants},
                runs_table=tables.runs_data(res.runs, live_runs),
                **figures.curve_figures(res.curves, res.runs, variants, baseline, metric))
    if data["threshold"] is not None:
        data["km"] = figures.kaplan_meier(res.curves, res.runs[res.runs["status"] == "finished"], variants,
                                          threshold, metric)
    challenge = tables.challenge_table(res.runs, variants)
    counts = ", ".join(f"{sum(s == k for s in statuses)} {k}" for k in ("finished", "running", "queued", "failed",
                                                                         "cancelled") if k in statuses)
    now = datetime.now().astimezone()
    subtitle = f"{len(statuses)} runs ({counts}) · {len(variants)} variants"
    if baseline:
        subtitle += f" · baseline {escape(baseline)}"
    if state == "running":
        subtitle += f" · {ended} of {len(statuses)} runs ended; this page reloads every {RELOAD_S} s"
    progress = ("" if state == "finished" else
                f'<section id="progress"><h2>Progress</h2>{tables.progress_table(live_runs, spec_order)}</section>')
    spec_text = record.spec_text if record is not None and record.spec_text else None
    values = dict(
        refresh=f'<meta http-equiv="refresh" content="{RELOAD_S}">' if state == "running" else "",
        golf_version=escape(_golf_version()), title_text=escape(f"{sweep} · golf"), state=state,
        state_class=state.replace(" ", "-"),
        sweep_html=escape(sweep), subtitle=subtitle, progress=progress, ranking_title=escape(title),
        notes="".join(f'<p class="note">{escape(n)}</p>' for n in opt.notes),
        ranking=tables.ranking_table(summary), metric=escape(metric), baseline_html=escape(baseline or "none"),
        threshold_text=escape(f"{threshold:g}") if data["threshold"] is not None else "(no threshold)",
        challenge=("" if challenge is None else
                   f'<section id="challenge"><h2>Challenge accounting</h2>{challenge}</section>'),
        versions=_versions_text(store, sweep),
        spec=f"<pre>{escape(spec_text)}</pre>" if spec_text else "<p>No spec stored (an imported sweep).</p>",
        generated=escape(now.strftime("%Y-%m-%d %H:%M:%S %Z")), data=_json_for_script(data),
        css=_read("page.css"), js=_read("charts.js"))
    return Template(_read("page.html")).substitute(values)


def write_page(path, store, sweep: str, options: PageOptions | None = None, results: Results | None = None) -> Path:
    """Write the page atomically (a reloading browser never reads half a file); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = build_page(store, sweep, options, results)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
