"""Seed-averaged curves with 95% CI bands vs wall-clock time and vs steps (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sweeper.report.analysis import RunBlocks


def plot_curves(curves: pd.DataFrame, path: str, metric: str = "val_loss", threshold: float | None = None,
                points: int = 200):
    """Write a two-panel PNG: per variant the mean +/- 95% CI against train_time_s (each run interpolated
    onto a common grid, as the report does) and against step; the threshold as a dashed line.
    Returns the (closed) matplotlib Figure, for inspection."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cur = curves[curves["current"].to_numpy(bool)]
    by_time = RunBlocks.build(cur, metric, "train_time_s")
    by_step = cur.loc[cur[metric].notna()].groupby(["variant", "step"], sort=True)[metric].agg(["mean", "std", "count"])
    fig, (ax_time, ax_step) = plt.subplots(1, 2, figsize=(12, 4.5))
    step_variants = set(by_step.index.unique(level=0))
    for i, variant in enumerate(pd.unique(cur["variant"])):
        color = f"C{i % 10}"  # one colour per variant in both panels
        grid, ys = by_time.grid_curves(np.flatnonzero(by_time.variant == variant), points)
        if len(grid) > 1:
            _band(ax_time, grid, ys.mean(axis=0), ys.std(axis=0, ddof=1) if len(ys) > 1 else None, len(ys),
                  variant, color)
        if variant in step_variants:
            s = by_step.loc[variant]
            _band(ax_step, s.index.to_numpy(float), s["mean"].to_numpy(), s["std"].to_numpy(), s["count"].to_numpy(),
                  variant, color)
    low = by_step["mean"].min() if len(by_step) else np.nan
    for ax, label in ((ax_time, "train time (s)"), (ax_step, "step")):
        if threshold is not None:
            ax.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:g}")
            if np.isfinite(low):  # the early loss is ~3x the final one: zoom on the approach to the threshold
                span = max(threshold - low, 0.01 * abs(threshold))
                ax.set_ylim(min(low, threshold) - 0.5 * span, threshold + 6 * span)
        ax.set_xlabel(label)
        ax.set_ylabel(metric)
    handles, labels = ax_step.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7, ncol=1 + len(labels) // 25)
    fig.tight_layout(rect=(0, 0, 1 - 0.07 * (1 + len(labels) // 25), 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def _band(ax, x, mean, std, count, label, color):
    """The mean line and, where there are 2+ runs, a 95% t-interval band."""
    ax.plot(x, mean, label=str(label), color=color)
    if std is None:
        return
    count = np.broadcast_to(count, np.shape(mean))
    multi = count > 1  # one run: no interval
    half = stats.t.ppf(0.975, np.maximum(count - 1, 1)) * np.nan_to_num(std) / np.sqrt(count)
    ax.fill_between(x, mean - half, mean + half, where=multi, color=color, alpha=0.2)
