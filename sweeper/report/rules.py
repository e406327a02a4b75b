"""The communities' record rules as verdicts on a report table.

speedrun (modded-nanogpt): mean final val_loss <= target, one-sided t-test p < alpha (H1: mean <
target); also the first step at which the step-aligned seed-mean curve passes the target.
golf (parameter-golf): beats the baseline by >= margin nats of the int8+zlib round-trip val_loss
(the score parameter-golf judges; pre-quantization val_loss where the runs have no round-trip),
one-sided Welch p < alpha.

The p-values of one table are adjusted together (the summary's `adjust` method) and the verdict
uses the adjusted one: with 11 variants, an unadjusted p < 0.01 turns up by chance 1 time in 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sweeper.report.curves import RunBlocks
from sweeper.report.significance import adjust as adjust_p, one_sample_t, welch


def apply_rule(summary: pd.DataFrame, runs: pd.DataFrame, curves: pd.DataFrame, rule: str,
               target: float | None = None, alpha: float = 0.01, margin: float = 0.005) -> pd.DataFrame:
    """Add rule_metric, rule_p_value, rule_p_value_adj, rule_p_value_note (why a p is NaN), verdict,
    and target_first_step (speedrun) or gain_nats (golf) to a summary from `summarize`."""
    if rule not in ("speedrun", "golf"):
        raise ValueError(f"unknown rule {rule!r}: expected speedrun or golf")
    if rule == "speedrun" and target is None:
        raise ValueError("the speedrun rule needs a target val_loss")
    out = summary.copy()
    excluded = summary.attrs.get("excluded")
    finished = runs[(runs["status"] == "finished")
                    & ~runs["run_id"].isin(excluded["run_id"] if excluded is not None else [])]
    column = "val_loss"
    if rule == "golf" and "quant_val_loss" in finished and finished["quant_val_loss"].notna().all() and len(finished):
        column = "quant_val_loss"
    finals = {v: g[column].dropna().to_numpy(float) for v, g in finished.groupby("variant", sort=False)}
    base = summary.attrs.get("baseline")
    bf = finals.get(base, np.zeros(0))
    if rule == "speedrun":
        current = curves[curves["current"].to_numpy(bool) & curves["run_id"].isin(finished["run_id"])]
        by_step = RunBlocks.build(current, "val_loss", "step")
        seed_mean = by_step.step_means(current, np.ones(len(by_step.start), bool))
    pvals, notes, extra = [], [], []
    for v in out["variant"]:
        fv = finals.get(v, np.zeros(0))
        if rule == "speedrun":
            p, why = one_sample_t(fv, target, alternative="less")
            m = seed_mean[v]["y"] if v in seed_mean else pd.Series(dtype=float)
            passed = m[m <= target]
            extra.append(float(passed.index[0]) if len(passed) else np.nan)
        else:
            p, why = (np.nan, "baseline") if v == base else welch(fv, bf - margin, alternative="less")
            extra.append(bf.mean() - fv.mean() if len(fv) and len(bf) else np.nan)
        pvals.append(p)
        notes.append(why)
    method = str(summary["adjust"].iloc[0]) if "adjust" in summary and len(summary) else "holm"
    adjusted = adjust_p(pvals, method)
    verdicts = []
    for v, p, why, x in zip(out["variant"], adjusted, notes, extra):
        fv = finals.get(v, np.zeros(0))
        if rule == "speedrun":
            ok = len(fv) > 0 and fv.mean() <= target and p < alpha
            verdicts.append(f"{'record' if ok else 'no'} (mean {fv.mean():.4f} vs target {target:g}, "
                            f"{_p_text(p, why, method)})" if len(fv) else "no runs")
        else:
            ok = v != base and x >= margin and p < alpha
            verdicts.append("baseline" if v == base else
                            f"{'record' if ok else 'no'} (gain {x:.4f} nats of {column} vs margin {margin}, "
                            f"{_p_text(p, why, method)})")
    out["rule_metric"] = column
    out["rule_p_value"], out["rule_p_value_adj"], out["rule_p_value_note"] = pvals, adjusted, notes
    out["verdict"] = verdicts
    out["target_first_step" if rule == "speedrun" else "gain_nats"] = extra
    return out


def _p_text(p: float, why: str | None, method: str) -> str:
    name = "p" if method == "none" else f"{method} p"
    return f"p=n/a ({why})" if np.isnan(p) else f"{name}={p:.3g}"
