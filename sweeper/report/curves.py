"""Loss curves as arrays: per-run crossings of a threshold, and seed-averaged curves.

Works on the long-form curves frame (`Store.curves_frame`); no SQL, no I/O. A report reads up to
millions of eval rows, so per-run work is done on whole numpy arrays: the rows of each run form one
contiguous block (`RunBlocks`), and crossings are found for all runs at once.

Two seed averages, both honest about what they average:
- on a grid of wall-clock time, only over the span every run covers; when the mean has not crossed
  by the end of that span, the reason names the run that stopped first;
- step-aligned (what researchers do by hand), only at the steps every run of the variant evaluated,
  so the set of runs averaged never changes along the curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


# ---- RUN BLOCKS ----
# The store returns each run's evals together and in step order, so the common case needs no sort:
# a check that each run is one block with x ascending is enough. Anything else is sorted stably.

@dataclass(frozen=True)
class RunBlocks:
    """The rows of each run with `metric` and `x` present, as contiguous x-ascending blocks.
    Per-run arrays are in run_id order; `start`/`stop` index the row arrays `x`, `y` and `rows`."""
    run_id: np.ndarray   # (R,) object
    variant: np.ndarray  # (R,) object
    start: np.ndarray    # (R,) first row of each run
    stop: np.ndarray     # (R,) one past its last row
    x: np.ndarray        # (N,) float
    y: np.ndarray        # (N,) float
    rows: np.ndarray     # (N,) position of each row in the frame the blocks were built from

    @classmethod
    def build(cls, curves: pd.DataFrame, metric: str, x: str) -> "RunBlocks":
        """Blocks of `curves` (columns run_id, variant, x, metric); rows missing x or metric are left out."""
        keep = (curves[metric].notna() & curves[x].notna()).to_numpy()
        rows = np.flatnonzero(keep)
        ids = curves["run_id"].to_numpy(object)[rows]
        xs, ys = curves[x].to_numpy(float)[rows], curves[metric].to_numpy(float)[rows]
        new = np.ones(len(ids), bool)
        new[1:] = ids[1:] != ids[:-1]
        starts = np.flatnonzero(new)
        contiguous = len(set(ids[starts])) == len(starts)
        if not (contiguous and np.all((np.diff(xs) >= 0) | new[1:])):
            codes = pd.factorize(ids)[0]
            order = np.lexsort((xs, codes))  # stable: equal x keep their order, as in a stable sort
            rows, ids, xs, ys = rows[order], ids[order], xs[order], ys[order]
            new[1:] = ids[1:] != ids[:-1]
            starts = np.flatnonzero(new)
        stops = np.append(starts[1:], len(ids))[:len(starts)]  # each block ends where the next starts
        by_id = np.argsort(ids[starts], kind="stable")
        variants = curves["variant"].to_numpy(object)[rows[stops - 1]] if len(ids) else np.array([], object)
        return cls(ids[starts][by_id], variants[by_id], starts[by_id], stops[by_id], xs, ys, rows)

    def run_of_row(self) -> np.ndarray:
        """(N,) index of the run each row belongs to."""
        in_row_order = np.argsort(self.start)
        return np.repeat(in_row_order, (self.stop - self.start)[in_row_order])

    def crossings(self, value: float) -> tuple[np.ndarray, np.ndarray]:
        """Per run: (reached, x of the first crossing of y <= value, or of the last eval if never)."""
        ttt = self.x[self.stop - 1]
        reached = np.zeros(len(self.start), bool)
        hits = np.flatnonzero(self.y <= value)
        if len(hits):
            run_of_hit = self.run_of_row()[hits]
            is_first = np.r_[True, run_of_hit[1:] != run_of_hit[:-1]]  # blocks are contiguous
            first, runs = hits[is_first], run_of_hit[is_first]
            has_prev = first > self.start[runs]  # else the first eval was already below
            prev = np.where(has_prev, first - 1, first)
            x0, y0, x1, y1 = self.x[prev], self.y[prev], self.x[first], self.y[first]
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(y0 > y1, (y0 - value) / (y0 - y1), 1.0)
            ttt[runs] = x0 + np.clip(frac, 0.0, 1.0) * (x1 - x0)
            reached[runs] = True
        return reached, ttt

    def grid_curves(self, runs: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """The selected runs (indices) on one common grid of x, only where every run has data:
        (grid (G,), values (len(runs), G)); G is 0 when the runs' spans do not overlap."""
        if len(runs) == 0:
            return np.zeros(0), np.zeros((0, 0))
        lo, hi = self.x[self.start[runs]].max(), self.x[self.stop[runs] - 1].min()
        if hi < lo:
            return np.zeros(0), np.zeros((len(runs), 0))
        grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
        # one np.interp per run (each has its own eval times); ~5 us each, vectorized over the grid
        return grid, np.array([np.interp(grid, self.x[s:e], self.y[s:e])
                               for s, e in zip(self.start[runs], self.stop[runs])])

    def grid_mean_crossing(self, runs: np.ndarray, value: float, points: int = 400,
                           label=None) -> tuple[float, str | None]:
        """Crossing of the seed-averaged curve of `runs` (indices): each run interpolated onto a common
        grid of x (see grid_curves), averaged, then the first crossing interpolated. Returns
        (x, None), or (NaN, why): e.g. "seed 2 stops at 1,424 s, before the mean crosses".
        `label(run_id)` names a run in that reason (default: its id)."""
        if len(runs) == 0:
            return np.nan, "no runs"
        grid, values = self.grid_curves(runs, points)
        if len(grid) == 0:
            return np.nan, "the runs' time spans do not overlap"
        crossing = _first_crossing(grid, values.mean(axis=0), value)
        if not np.isnan(crossing):
            return crossing, None
        ends = self.x[self.stop[runs] - 1]
        if len(runs) > 1 and ends.min() < ends.max():
            first = runs[np.argmin(ends)]
            name = label(self.run_id[first]) if label else f"run {self.run_id[first]}"
            return np.nan, f"{name} stops at {ends.min():,.0f} s, before the mean crosses"
        return np.nan, "the mean never reaches it"

    def step_means(self, frame: pd.DataFrame, runs: np.ndarray) -> dict[str, pd.DataFrame]:
        """The step-aligned average researchers use today, per variant of the selected runs (boolean
        (R,)); blocks built with x="step" from `frame`: mean y and mean train_time_s at each step
        that every selected run of the variant evaluated (a run that stopped early would otherwise
        drop out of the mean at the end, and the mean jump)."""
        run_of_row = self.run_of_row()
        picked = runs[run_of_row]
        rows, run, y = self.rows[picked], run_of_row[picked], self.y[picked]
        if np.any(np.diff(rows) < 0):  # put rows back in frame order: the order a groupby sums in
            order = np.argsort(rows, kind="stable")
            rows, run, y = rows[order], run[order], y[order]
        names, code = np.unique(self.variant, return_inverse=True)  # integer keys group far faster than strings
        grouped = pd.DataFrame({"variant": code[run], "step": frame["step"].to_numpy()[rows],
                                "train_time_s": frame["train_time_s"].to_numpy(float)[rows], "y": y}
                               ).groupby(["variant", "step"], sort=True)
        means, count = grouped.mean(), grouped.size()
        runs_per_variant = np.bincount(code[runs], minlength=len(names))
        means = means[count.to_numpy() == runs_per_variant[means.index.get_level_values(0)]]
        return {names[c]: means.loc[c] for c in means.index.unique(level=0)}


def time_to_threshold(curves: pd.DataFrame, value: float, metric: str = "val_loss",
                      x: str = "train_time_s") -> pd.DataFrame:
    """Per run: first crossing of `metric <= value`, linearly interpolated in `x` between the
    bracketing evals (first eval already below -> its x; exact touch counts). Runs that never
    cross are censored at their last eval. Returns run_id, variant, reached, ttt (x units)."""
    blocks = RunBlocks.build(curves, metric, x)
    reached, ttt = blocks.crossings(value)
    return pd.DataFrame({"run_id": blocks.run_id, "variant": blocks.variant, "reached": reached, "ttt": ttt})


def _first_crossing(xs: np.ndarray, ys: np.ndarray, value: float) -> float:
    """First x where one curve reaches `ys <= value`, interpolated as in time_to_threshold (NaN if never)."""
    hit = np.nonzero(ys <= value)[0]
    if len(hit) == 0:
        return np.nan
    i = hit[0]
    if i == 0 or ys[i - 1] <= ys[i]:
        return float(xs[i])
    frac = (ys[i - 1] - value) / (ys[i - 1] - ys[i])
    return float(xs[i - 1] + min(max(frac, 0.0), 1.0) * (xs[i] - xs[i - 1]))


def _grid_mean_crossing(curves: pd.DataFrame, metric: str, value: float, x: str, points: int = 400) -> float:
    """Crossing of the seed-averaged curve of all runs in `curves` (see RunBlocks.grid_mean_crossing)."""
    blocks = RunBlocks.build(curves, metric, x)
    return blocks.grid_mean_crossing(np.arange(len(blocks.start)), value, points)[0]
