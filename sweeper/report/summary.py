"""The report table: one row per variant, ranked, with every comparison against the baseline.

`summarize(runs, curves, threshold, ...)` -> DataFrame. The frame's columns are stable (the HTML
page and notebooks read them by name); times in seconds, NaN where undefined:

    variant, runs, reached, duplicates    finished runs counted, runs that reached the threshold,
                                          duplicate curves left out of the statistics
    step_budget_min, step_budget_max      planned steps of the variant's runs
    ttt_rmst_s, ttt_rmst_ci_low_s,        restricted mean time-to-threshold: area under the Kaplan-
    ttt_rmst_ci_high_s, horizon_s         Meier "not yet reached" curve up to horizon_s (shared by
                                          all rows, so that they rank), 95% t-interval clipped to
                                          [0, horizon_s]. The default ranking key.
    ttt_km_median_s                       KM median (NaN when fewer than half reached)
    ttt_mean_s, ttt_ci_low_s, ttt_ci_high_s   mean over the runs that reached ONLY (biased low)
    steps_rmst, steps_horizon             the same restricted mean in steps (key of --by steps)
    steps_to_threshold_mean               mean steps over reached runs only
    mean_curve_ttt_s, mean_curve_note     crossing of the seed-averaged curve; note says why it is NaN
    step_mean_curve_ttt_s                 crossing of the step-aligned average (steps all runs have)
    final_metric, final_mean,             the final metric compared (same family as the threshold,
    final_ci_low, final_ci_high           quant_* round-trip value where the runs have it)
    final_val_loss_mean, final_val_bpb_mean, quant_val_loss_mean, quant_val_bpb_mean
    artifact_bytes_max, artifact_headroom_bytes, artifact_basis   largest artifact, 16 MB headroom,
                                          and what was counted
    p_value, p_value_adj, test, p_value_note        time-to-threshold vs the baseline (rmst_welch)
    comparison_horizon_s                  the horizon that p_value compares restricted means at: the
                                          shorter follow-up of the variant and the baseline (NaN on
                                          the baseline's row), >= horizon_s
    final_p_value, final_p_value_adj, final_test, final_p_value_note   final metric (welch_t)
    adjust, rank_key                      the p-value adjustment and the column ranked by

Two horizons, on purpose: the restricted means in the table share the shortest follow-up of all
variants, so its rows compare with each other; each test against the baseline takes its own pair's
shorter follow-up (survival.pair_horizon, Tian et al. 2020), so that one variant cut short (a
smaller budget, an unfinished log) does not shorten every other comparison and cost it its power.

`*_note` says why a p-value is NaN ("1 run", "baseline", ...). frame.attrs holds baseline,
threshold, horizon_variant, warnings (lines to show) and excluded (run_id, duplicate_of).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from sweeper.errors import GolfError
from sweeper.report import checks
from sweeper.report.curves import RunBlocks, _first_crossing
from sweeper.report.significance import ADJUST_METHODS, adjust as adjust_p, mean_ci, welch
from sweeper.report.survival import KaplanMeier, common_horizon, pair_horizon, restricted_mean_ci, rmst_test
from sweeper.threshold import Threshold

ARTIFACT_LIMIT_BYTES = 16_000_000
RANK_KEYS = {"time": "ttt_rmst_s", "steps": "steps_rmst", "final": "final_mean"}
TTT_TEST = "rmst_welch"
# The training core's files a submission would ship (not the data preparation, nor the CLI entry).
_NOT_SHIPPED = {"prepare.py", "__main__.py"}


def training_core_source_bytes() -> int | None:
    """Bytes of model/*.py as a submission ships them (parameter-golf counts the script's bytes)."""
    spec = importlib.util.find_spec("model")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0])
    return sum(f.stat().st_size for f in folder.glob("*.py") if f.name not in _NOT_SHIPPED)


def final_metric_column(runs: pd.DataFrame, metric: str, final: str | None) -> str:
    """The final column compared: the threshold's metric, its quant_ round-trip where every finished
    run has one (final=None), or as asked (final='raw'|'quant')."""
    if final not in (None, "raw", "quant"):
        raise GolfError(f"--final {final!r}: expected raw or quant")
    quant = f"quant_{metric}"
    has = quant in runs and runs[quant].notna().any()
    if final == "quant" and not has:
        raise GolfError(f"--final quant: no run has a round-trip {quant} (try --final raw)")
    if final == "quant" or (final is None and has and runs[quant].notna().all()):
        return quant
    return metric


def summarize(runs: pd.DataFrame, curves: pd.DataFrame, threshold: Threshold | float, metric: str | None = None,
              baseline: str | None = None, by: str = "time", adjust: str = "holm", final: str | None = None,
              code_bytes: int | None = None) -> pd.DataFrame:
    """One row per variant (ranked) with time-to-threshold, final-metric and baseline-comparison
    statistics (columns: module docstring). `threshold` is a Threshold, or a value on `metric`.
    baseline: the variant compared against (default: the first in `runs` order); by: time|steps|final;
    adjust: holm|bh|none; final: raw|quant (default: quant where every run has it); code_bytes: the
    training core's source size, added to golf runs' compressed model for the artifact total."""
    if not isinstance(threshold, Threshold):
        threshold = Threshold(metric or "val_loss", float(threshold))
    if by not in RANK_KEYS:
        raise GolfError(f"--by {by!r}: expected time, steps or final")
    if adjust not in ADJUST_METHODS:
        raise GolfError(f"--adjust {adjust!r}: expected one of {', '.join(ADJUST_METHODS)}")
    finished = runs[runs["status"] == "finished"]
    variants = list(dict.fromkeys(finished["variant"]))
    if not variants:
        return pd.DataFrame()
    if baseline is not None and baseline not in variants:
        waiting = runs.loc[runs["variant"] == baseline, "status"].value_counts()
        if len(waiting):  # a sweep still running: its baseline's runs exist but none has finished
            counts = ", ".join(f"{n} {status}" for status, n in waiting.items())
            raise GolfError(f"baseline {baseline!r} has no finished run yet ({counts}): every comparison needs "
                            f"it; wait for one, or pass --baseline with one of {', '.join(map(repr, variants))}")
        raise GolfError(f"baseline {baseline!r} is not a variant with finished runs; expected one of "
                        f"{', '.join(map(repr, variants))}")
    base = baseline or variants[0]
    cur = curves[curves["current"].to_numpy(bool)]
    dups = checks.duplicate_curves(finished, cur)
    labels = checks.run_labels(finished)
    used = finished[~finished["run_id"].isin(dups["run_id"])]
    fcol = final_metric_column(used, threshold.metric, final)
    warnings = checks.warnings_for(dups, checks.mixed_budgets(used), labels,
                                   checks.incomplete_runs(finished, cur, labels, fcol))

    by_time, by_step = (_Crossings(cur, used, threshold, x) for x in ("train_time_s", "step"))
    followups = by_time.followup_by_variant()
    horizon, horizon_variant = common_horizon(followups)
    step_horizon, _ = common_horizon(by_step.followup_by_variant())
    step_means = by_step.blocks.step_means(cur, by_step.done)
    fin_by = {v: used.iloc[ix] for v, ix in used.groupby("variant", sort=False).indices.items()}
    base_t = by_time.of(base)
    rows = []
    for v in variants:
        t, s, f = by_time.of(v), by_step.of(v), fin_by.get(v, used.iloc[:0])
        ttt, hit = by_time.ttt[t], by_time.reached[t]
        rmst, rmst_lo, rmst_hi = restricted_mean_ci(ttt, hit, horizon) if len(ttt) else (np.nan,) * 3
        m, lo, hi = mean_ci(ttt[hit])
        fm, fm_lo, fm_hi = mean_ci(f[fcol])
        sm = step_means.get(v)
        crossing, why = by_time.blocks.grid_mean_crossing(np.flatnonzero(t), threshold.value,
                                                          label=lambda rid: labels.get(rid, rid))
        budgets = f["step_budget"].dropna() if "step_budget" in f else pd.Series(dtype=float)
        row = dict(variant=v, runs=len(f), reached=int(hit.sum()), duplicates=int(
                       finished["run_id"][finished["variant"] == v].isin(dups["run_id"]).sum()),
                   step_budget_min=budgets.min() if len(budgets) else np.nan,
                   step_budget_max=budgets.max() if len(budgets) else np.nan,
                   ttt_rmst_s=rmst, ttt_rmst_ci_low_s=rmst_lo, ttt_rmst_ci_high_s=rmst_hi, horizon_s=horizon,
                   ttt_km_median_s=KaplanMeier.fit(ttt, hit).median() if len(ttt) else np.nan,
                   ttt_mean_s=m, ttt_ci_low_s=lo, ttt_ci_high_s=hi,
                   steps_rmst=restricted_mean_ci(by_step.ttt[s], by_step.reached[s], step_horizon)[0]
                   if s.any() else np.nan, steps_horizon=step_horizon,
                   steps_to_threshold_mean=float(by_step.ttt[s & by_step.reached].mean())
                   if (s & by_step.reached).any() else np.nan,
                   mean_curve_ttt_s=crossing, mean_curve_note=why,
                   step_mean_curve_ttt_s=np.nan if sm is None else _first_crossing(
                       sm["train_time_s"].to_numpy(), sm["y"].to_numpy(), threshold.value),
                   final_metric=fcol, final_mean=fm, final_ci_low=fm_lo, final_ci_high=fm_hi,
                   **{f"{c if c.startswith('quant_') else 'final_' + c}_mean":
                      float(f[c].mean()) if c in f and f[c].notna().any() else np.nan
                      for c in ("val_loss", "val_bpb", "quant_val_loss", "quant_val_bpb")},
                   **_artifact(f, code_bytes))
        if v == base:
            row.update(p_value=np.nan, test=None, p_value_note="baseline", comparison_horizon_s=np.nan,
                       final_p_value=np.nan, final_test=None, final_p_value_note="baseline")
        else:
            pair = pair_horizon(followups.get(v, np.nan), followups.get(base, np.nan))
            p, why = rmst_test(ttt, hit, by_time.ttt[base_t], by_time.reached[base_t], pair)
            fp, fwhy = welch(f[fcol], fin_by[base][fcol] if base in fin_by else [])
            row.update(p_value=p, test=None if np.isnan(p) else TTT_TEST, p_value_note=why, comparison_horizon_s=pair,
                       final_p_value=fp, final_test=None if np.isnan(fp) else "welch_t", final_p_value_note=fwhy)
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("test"), "p_value_adj", adjust_p(out["p_value"], adjust))
    out.insert(out.columns.get_loc("final_test"), "final_p_value_adj", adjust_p(out["final_p_value"], adjust))
    out["adjust"], out["rank_key"] = adjust, RANK_KEYS[by]
    out = _rank(out, RANK_KEYS[by])
    out.attrs.update(baseline=base, threshold=threshold, horizon_variant=horizon_variant, warnings=warnings,
                     excluded=dups)
    return out


class _Crossings:
    """Crossings of the threshold by the finished, non-duplicate runs, against one x (time or step)."""

    def __init__(self, current: pd.DataFrame, used: pd.DataFrame, threshold: Threshold, x: str):
        self.blocks = RunBlocks.build(current, threshold.metric, x)
        keep = set(used["run_id"])
        self.done = np.array([r in keep for r in self.blocks.run_id], bool)
        self.reached, self.ttt = self.blocks.crossings(threshold.value)
        self.last = self.blocks.x[self.blocks.stop - 1]  # follow-up: how long each run was watched

    def of(self, variant: str) -> np.ndarray:
        """(R,) mask of the variant's runs."""
        return self.done & (self.blocks.variant == variant)

    def followup_by_variant(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for v, last in zip(self.blocks.variant[self.done], self.last[self.done]):
            out[v] = max(out.get(v, -np.inf), float(last))
        return out


def _artifact(f: pd.DataFrame, code_bytes: int | None) -> dict:
    """Largest artifact of a variant's runs, its headroom under 16 MB, and what was counted: the log's
    total submission size, or golf's compressed model plus the training core's source."""
    total, basis = [], set()
    for r in f.to_dict("records"):
        submission, model = r.get("submission_bytes"), r.get("artifact_bytes")
        if submission is not None and pd.notna(submission):
            total.append(float(submission))
            basis.add("submission total from the log")
        elif model is not None and pd.notna(model):
            if r.get("source", "golf") == "golf" and code_bytes is not None:
                total.append(float(model) + code_bytes)
                basis.add(f"int8+zlib model + {code_bytes:,} B training-core source")
            else:
                total.append(float(model))
                basis.add("int8+zlib model only")
    if not total:
        return dict(artifact_bytes_max=np.nan, artifact_headroom_bytes=np.nan, artifact_basis=None)
    return dict(artifact_bytes_max=max(total), artifact_headroom_bytes=ARTIFACT_LIMIT_BYTES - max(total),
                artifact_basis="; ".join(sorted(basis)))


def _rank(out: pd.DataFrame, key: str) -> pd.DataFrame:
    """Sort by the key (restricted mean time, restricted mean steps, or final metric), ties broken by
    the final metric: when no run of two variants reached, it is still the best evidence of which
    learns faster. Stable sort: equal rows keep the variants' order."""
    keys = [key] if key == "final_mean" else [key, "final_mean"]
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
