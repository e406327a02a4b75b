"""The report's picture: seed-averaged curves vs time and vs step, and a Kaplan-Meier panel.

Made to be read, not just drawn: x limited to where the data is, one distinct colour per variant (up
to 20; beyond that the top 8 of the ranking and the baseline in colour, the rest thin grey), run
counts in the legend, 95% bands only where a variant has 3+ runs (a 2-run band is a t-interval with
one degree of freedom, wide enough to cover everything), and the fraction of runs not yet at the
threshold over time: the natural picture of censored times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sweeper.report.curves import RunBlocks
from sweeper.report.survival import KaplanMeier
from sweeper.threshold import Threshold

MIN_BAND_RUNS = 3
TOP_K = 8


def plot_curves(curves: pd.DataFrame, path: str, threshold: Threshold | float | None = None,
                summary: pd.DataFrame | None = None, metric: str | None = None, points: int = 200):
    """Write a PNG: mean curve (+ 95% band with 3+ runs) per variant against train_time_s and against
    step, with the threshold dashed, and the Kaplan-Meier "not yet reached" curves. `summary` (from
    summarize) gives the ranking order, the baseline and the excluded duplicate runs. Returns the
    (closed) matplotlib Figure, for inspection."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if threshold is not None and not isinstance(threshold, Threshold):
        threshold = Threshold(metric or "val_loss", float(threshold))
    metric = threshold.metric if threshold is not None else (metric or "val_loss")
    cur = curves[curves["current"].to_numpy(bool)]
    if summary is not None and summary.attrs.get("excluded") is not None:
        cur = cur[~cur["run_id"].isin(summary.attrs["excluded"]["run_id"])]
    order = list(summary["variant"]) if summary is not None and len(summary) else list(pd.unique(cur["variant"]))
    base = summary.attrs.get("baseline") if summary is not None else None
    colors = _colors(order, base)
    by_time = RunBlocks.build(cur, metric, "train_time_s")
    by_step = cur.loc[cur[metric].notna()].groupby(["variant", "step"], sort=True)[metric].agg(["mean", "std", "count"])
    panels = 3 if threshold is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.8))
    ax_time, ax_step = axes[0], axes[1]
    step_variants = set(by_step.index.unique(level=0))
    for variant in order:
        color, width, z = colors[variant]
        runs = np.flatnonzero(by_time.variant == variant)
        label = f"{variant} (n={len(runs)})" + (", baseline" if variant == base and variant != "baseline" else "")
        grid, ys = by_time.grid_curves(runs, points)
        if len(grid) > 1:
            _band(ax_time, grid, ys.mean(axis=0), ys.std(axis=0, ddof=1) if len(ys) > 1 else None, len(ys),
                  label, color, width, z)
        if variant in step_variants:
            s = by_step.loc[variant]
            full = s[s["count"] == s["count"].max()]  # the steps every run evaluated: no jumps at the end
            _band(ax_step, full.index.to_numpy(float), full["mean"].to_numpy(), full["std"].to_numpy(),
                  full["count"].to_numpy(), label, color, width, z)
        if threshold is not None and len(runs):
            reached, ttt = by_time.crossings(threshold.value)
            km = KaplanMeier.fit(ttt[runs], reached[runs])
            end = by_time.x[by_time.stop[runs] - 1].max()  # S is unknown after the longest-watched run
            last = km.surv[-1] if len(km.surv) else 1.0
            axes[2].step(np.r_[0.0, km.times, end], np.r_[1.0, km.surv, last], where="post", color=color, lw=width,
                         zorder=z, label=label)
    _limits(ax_time, by_time.x, by_time.y, threshold)
    _limits(ax_step, cur["step"].to_numpy(float), cur[metric].to_numpy(float), threshold)
    for ax, xlabel in ((ax_time, "train time (s)"), (ax_step, "step")):
        if threshold is not None:
            ax.axhline(threshold.value, color="k", ls="--", lw=1, label=f"threshold {threshold.value:g}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
    if threshold is not None:
        axes[2].set_xlabel("train time (s)")
        axes[2].set_ylabel(f"fraction of runs with {metric} > {threshold.value:g}")
        axes[2].set_title("Kaplan-Meier: not yet at the threshold", fontsize=9)
        axes[2].set_ylim(-0.03, 1.03)
        reached, ttt = by_time.crossings(threshold.value)
        if reached.any():  # zoom on where runs cross: the curve is flat at 1 before the first crossing
            first, end = float(ttt[reached].min()), float(by_time.x.max())
            axes[2].set_xlim(first - 0.1 * (end - first), end)
    handles, labels = ax_time.get_legend_handles_labels()
    columns = 1 + len(labels) // 25
    fig.legend(handles, labels, loc="center right", fontsize=7, ncol=columns)
    fig.tight_layout(rect=(0, 0, 1 - 0.08 * columns, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def _colors(order: list[str], base: str | None) -> dict[str, tuple]:
    """variant -> (colour, line width, z-order): distinct colours for up to 20 variants; beyond
    that the top 8 of the ranking and the baseline in colour, the others thin grey."""
    import matplotlib
    if len(order) <= 10:
        palette = matplotlib.colormaps["tab10"].colors
    else:
        palette = matplotlib.colormaps["tab20"].colors
    if len(order) <= 20:
        return {v: (palette[i], 2.0 if v == base else 1.3, 3 if v == base else 2) for i, v in enumerate(order)}
    top = [v for v in order if v != base][:TOP_K]
    out = {v: ("0.75", 0.7, 1) for v in order}
    out.update({v: (matplotlib.colormaps["tab10"].colors[i], 1.5, 2) for i, v in enumerate(top)})
    if base is not None:
        out[base] = ("k", 2.2, 3)
    return out


def _limits(ax, xs: np.ndarray, ys: np.ndarray, threshold: Threshold | None) -> None:
    """y zoomed on the approach to the threshold (without one, to the lowest fifth of the values, where
    the curves end); x from where the data enters that window to its end."""
    ok = ~np.isnan(ys)
    xs, ys = xs[ok], ys[ok]
    if not len(xs):
        return
    # the early loss is ~3x the final one: zoom on the approach to the threshold, or to the end
    level = threshold.value if threshold is not None else float(np.quantile(ys, 0.2))
    low = float(ys.min())
    span = max(level - low, 0.01 * abs(level))
    top = level + 6 * span
    ax.set_ylim(min(low, level) - 0.5 * span, top)
    inside = xs[ys <= top]
    left = float(inside.min()) if len(inside) else float(xs.min())
    right = float(xs.max())
    ax.set_xlim(left - 0.02 * (right - left), right)


def _band(ax, x, mean, std, count, label, color, width, z):
    """The mean line and, where 3+ runs are averaged, a 95% t-interval band."""
    ax.plot(x, mean, label=str(label), color=color, lw=width, zorder=z)
    if std is None:
        return
    count = np.broadcast_to(count, np.shape(mean))
    enough = count >= MIN_BAND_RUNS
    if not enough.any():
        return
    half = stats.t.ppf(0.975, np.maximum(count - 1, 1)) * np.nan_to_num(std) / np.sqrt(count)
    ax.fill_between(x, mean - half, mean + half, where=enough, color=color, alpha=0.15, zorder=z - 0.5)
