"""Notebook API: `load(sweep, db=None)` -> one sweep's runs, curves and report table as DataFrames.

`Results.runs` has one row per run: the store's columns (finals, status, step_budget, source_path,
import_key, config JSON) plus
    ttt_s, reached        time-to-threshold at the sweep's threshold (crossing, or the last eval's
                          time when censored), as the report computes it; NaN without a threshold
    source_file, source_section   an imported run's log file and its `## section` (collections)
    submission_bytes      the total submission size an imported log printed
    <config fields>       for golf's runs, each config field whose value differs from the
                          baseline's (value_residual, matrix_lr, ...), so `runs.groupby("matrix_lr")`
                          works; a field that would shadow a column is prefixed `config_`
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sweeper.report import checks
from sweeper.report.curves import RunBlocks
from sweeper.report.seed_states import describe_design, states_of_frame
from sweeper.report.summary import summarize, training_core_source_bytes
from sweeper.threshold import Threshold


@dataclass
class Results:
    """One sweep's results: `runs` (one row per run), `curves` (long-form evals), `summary` (report
    table at the stored threshold), `threshold` (a Threshold or None) and `baseline` (stored name)."""
    sweep: str
    runs: pd.DataFrame
    curves: pd.DataFrame
    threshold: Threshold | None = None
    baseline: str | None = None
    code_bytes: int | None = field(default=None, repr=False)
    adaptive_design: str | None = field(default=None, repr=False)  # JSON, as the sweep stored it

    @property
    def metric(self) -> str:
        """The stored threshold's metric (val_loss when the sweep has none)."""
        return self.threshold.metric if self.threshold else "val_loss"

    @property
    def summary(self) -> pd.DataFrame:
        """The report table at the sweep's stored threshold (see `report` for other settings); without
        one, ranked by the final metric alone, as `golf report` ranks it."""
        if self.threshold is None:
            return self.report(threshold=Threshold.none(self.metric), by="final")
        return self.report()

    @property
    def duplicates(self) -> pd.DataFrame:
        """Runs whose curve repeats an earlier run's (run_id, duplicate_of): left out of the statistics."""
        return checks.duplicate_curves(self.runs[self.runs["status"] == "finished"], self.curves)

    @property
    def warnings(self) -> list[str]:
        """What the report warns about: duplicate curves, incomplete runs (unfinished logs, no curve),
        variants pooling different step budgets."""
        dups = self.duplicates
        finished = self.runs[self.runs["status"] == "finished"]
        kept = finished[~finished["run_id"].isin(dups["run_id"])]
        labels = checks.run_labels(self.runs)
        return checks.warnings_for(dups, checks.mixed_budgets(kept), labels,
                                   checks.incomplete_runs(finished, self.curves, labels))

    def report(self, threshold: Threshold | float | None = None, metric: str | None = None, **kw) -> pd.DataFrame:
        """Per-variant statistics (sweeper.report.summary.summarize). threshold: a Threshold, or a value
        on `metric` (default: the stored metric); kw: baseline=, by='time'|'steps'|'final',
        adjust='holm'|'bh'|'none', final='raw'|'quant'. A sweep run with adaptive seeds adds
        `seeds_state` and `seeds_note`: each variant's decision vs the sweep's own baseline, replayed
        from the stored design (sweeper.report.seed_states)."""
        chosen = _threshold(threshold, metric, self.threshold)
        if chosen is None:
            raise ValueError(f"sweep {self.sweep!r} has no stored threshold; pass threshold=")
        if kw.get("baseline") is None:  # None from `golf report` without --baseline: the sweep's own
            kw["baseline"] = self.baseline if self.baseline in set(self.runs["variant"]) else None
        summary = summarize(self.runs, self.curves, chosen, code_bytes=self.code_bytes, **kw)
        if len(summary):  # for the tables' `reached` k/n: n counts only the runs that have a curve
            summary.attrs["runs_without_curve"] = checks.runs_without_curve(
                self.runs, self.curves, summary.attrs.get("excluded", pd.DataFrame(columns=["run_id"])))
        # adaptive seeds: each variant's state vs the sweep's own baseline, replayed as the sweep decided
        states = states_of_frame(self.runs, self.adaptive_design, self.baseline)
        if states and len(summary):
            summary["seeds_state"] = summary["variant"].map(lambda v: states.get(v, ("", ""))[0])
            summary["seeds_note"] = summary["variant"].map(lambda v: states.get(v, ("", ""))[1])
            summary.attrs["seeds_design"] = describe_design(self.adaptive_design, self.baseline)
        return summary


def _threshold(value, metric: str | None, stored: Threshold | None) -> Threshold | None:
    if isinstance(value, Threshold):
        return value
    if value is None:
        if stored is None or metric in (None, stored.metric):
            return stored
        raise ValueError(f"metric={metric!r} differs from the stored threshold's ({stored}): pass threshold=")
    return Threshold(metric or (stored.metric if stored else "val_loss"), float(value))


def load(sweep: str, db=None) -> Results:
    """Load a sweep from the store at `db`: a URL (None -> $GOLF_DB, else sqlite:///results.db) or
    an open Store, which is reused and left open."""
    from sweeper.store import Store
    store = db if isinstance(db, Store) else Store(db, create=False)  # reading: never creates one
    try:
        rec = store.require_sweep(sweep)
        runs, curves = store.runs_frame(sweep), store.curves_frame(sweep)
    finally:
        if store is not db:
            store.close()
    threshold = rec.threshold
    return Results(sweep, _enrich(runs, curves, threshold, rec.baseline), curves, threshold, rec.baseline,
                   training_core_source_bytes(), rec.adaptive_design)


def _enrich(runs: pd.DataFrame, curves: pd.DataFrame, threshold: Threshold | None, baseline: str | None) -> pd.DataFrame:
    """The runs frame plus per-run time-to-threshold, source and the config fields that differ."""
    runs = runs.copy()
    configs = [json.loads(c) if isinstance(c, str) and c else {} for c in runs.get("config", [])]
    runs["ttt_s"], runs["reached"] = np.nan, pd.Series(pd.NA, index=runs.index, dtype="boolean")
    if threshold is not None and len(runs):
        current = curves[curves["current"].to_numpy(bool)]
        blocks = RunBlocks.build(current, threshold.metric, "train_time_s")
        reached, ttt = blocks.crossings(threshold.value)
        at = pd.Series(np.arange(len(blocks.run_id)), index=blocks.run_id)
        pos = runs["run_id"].map(at)
        has = pos.notna().to_numpy()
        idx = pos[has].astype(int).to_numpy()
        runs.loc[has, "ttt_s"] = ttt[idx]
        runs.loc[has, "reached"] = reached[idx]
    key = runs["import_key"] if "import_key" in runs else pd.Series(None, index=runs.index, dtype=object)
    runs["source_file"] = runs["source_path"] if "source_path" in runs else None
    runs["source_section"] = [k.partition("#")[2] or None if isinstance(k, str) else None for k in key]
    for name, values in _config_differences(runs, configs, baseline).items():
        runs[f"config_{name}" if name in runs else name] = values
    return runs


def _config_differences(runs: pd.DataFrame, configs: list[dict], baseline: str | None) -> dict[str, list]:
    """{field: per-run values} for the config fields of golf's runs that differ from the baseline's.
    Lists and mappings (value_embeds) become JSON text, so the column can be grouped by."""
    golf = [i for i, s in enumerate(runs.get("source", [])) if s == "golf" and configs[i]]
    if not golf:
        return {}
    variants = runs["variant"].to_numpy()
    ref_i = next((i for i in golf if variants[i] == baseline), golf[0])
    ref = configs[ref_i]
    fields = sorted({k for i in golf for k, v in configs[i].items() if k != "seed" and v != ref.get(k)})
    plain = lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v  # noqa: E731
    is_golf = set(golf)
    return {k: [plain(configs[i].get(k)) if i in is_golf else None for i in range(len(runs))] for k in fields}
