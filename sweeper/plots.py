"""Seed-averaged curves with 95% CI bands vs wall-clock time and vs steps (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def plot_curves(curves: pd.DataFrame, path: str, metric: str = "val_loss", threshold: float | None = None,
                points: int = 200) -> None:
    """Write a two-panel PNG: mean +/- CI per variant against train_time_s (common grid) and step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cur = curves[curves["current"].astype(bool)].dropna(subset=[metric])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for variant, g in cur.groupby("variant", sort=False):
        runs = [r.sort_values("train_time_s") for _, r in g.groupby("run_id")]
        lo, hi = max(r["train_time_s"].min() for r in runs), min(r["train_time_s"].max() for r in runs)
        if hi > lo:
            grid = np.linspace(lo, hi, points)
            ys = np.array([np.interp(grid, r["train_time_s"], r[metric]) for r in runs])
            _band(axes[0], grid, ys, str(variant))
        by_step = g.groupby("step")[metric].agg(["mean", "std", "count"])
        half = stats.t.ppf(0.975, np.maximum(by_step["count"] - 1, 1)) * by_step["std"].fillna(0) / np.sqrt(by_step["count"])
        axes[1].plot(by_step.index, by_step["mean"], label=str(variant))
        axes[1].fill_between(by_step.index, by_step["mean"] - half, by_step["mean"] + half, alpha=0.2)
    for ax, xl in zip(axes, ("train time (s)", "step")):
        if threshold is not None:
            ax.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold}")
        ax.set_xlabel(xl)
        ax.set_ylabel(metric)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _band(ax, grid, ys, label):
    mean = ys.mean(axis=0)
    if len(ys) > 1:
        half = stats.t.ppf(0.975, len(ys) - 1) * ys.std(axis=0, ddof=1) / np.sqrt(len(ys))
        ax.fill_between(grid, mean - half, mean + half, alpha=0.2)
    ax.plot(grid, mean, label=label)
