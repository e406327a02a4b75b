"""What a report must warn about before it averages runs: duplicate curves and mixed step budgets.

- Two runs with the same curve (one log imported twice under two names) are one run: counting it
  twice halves its apparent noise. The later one is left out of the statistics and listed.
- A variant whose runs had different step budgets (5,820 vs 5,960 planned steps) pools runs of two
  schedules: their warm-down starts at different times, and "reached k/n" depends on the budget.
"""

from __future__ import annotations

import pandas as pd

CURVE_COLUMNS = ("step", "train_time_s", "val_loss", "val_bpb")


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """How a report names a run: an imported run by its file (and section), golf's by variant and seed."""
    labels = {}
    for r in runs.to_dict("records"):
        key = r.get("import_key")
        if isinstance(key, str) and key:
            path, _, section = key.partition("#")
            labels[r["run_id"]] = path.rsplit("/", 1)[-1] + (f" ## {section}" if section else "")
        else:
            seed = r.get("seed")
            labels[r["run_id"]] = f"{r['variant']} seed {seed}" if pd.notna(seed) else str(r["run_id"])
    return labels


def duplicate_curves(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Runs whose current curve (steps, times and metrics, 2+ evals) equals an earlier run's, in the
    runs frame's order: columns run_id, duplicate_of (the run kept)."""
    current = curves[curves["current"].to_numpy(bool)]
    cols = [c for c in CURVE_COLUMNS if c in current]
    if current.empty:
        return pd.DataFrame(columns=["run_id", "duplicate_of"])
    rows = pd.util.hash_pandas_object(current[cols], index=False).to_numpy()
    # a run's fingerprint: its row hashes in row order (the store returns each run in step order)
    prints = {rid: (len(ix), rows[ix].tobytes())
              for rid, ix in pd.Series(current["run_id"].to_numpy()).groupby(current["run_id"].to_numpy(), sort=False)
              .indices.items()}
    seen: dict[tuple, str] = {}
    found = []
    for rid in runs["run_id"]:
        fp = prints.get(rid)
        if fp is None or fp[0] < 2:
            continue
        if fp in seen:
            found.append((rid, seen[fp]))
        else:
            seen[fp] = rid
    return pd.DataFrame(found, columns=["run_id", "duplicate_of"])


def mixed_budgets(runs: pd.DataFrame) -> dict[str, dict[int, int]]:
    """{variant: {step budget: runs}} for each variant whose runs had more than one budget."""
    if "step_budget" not in runs:
        return {}
    known = runs[runs["step_budget"].notna()]
    out = {}
    for variant, budgets in known.groupby("variant", sort=False)["step_budget"]:
        counts = budgets.astype(int).value_counts().sort_index()
        if len(counts) > 1:
            out[variant] = {int(b): int(n) for b, n in counts.items()}
    return out


def warnings_for(duplicates: pd.DataFrame, budgets: dict[str, dict[int, int]], labels: dict[str, str]) -> list[str]:
    """The report's warning lines, one per duplicate and per variant with mixed budgets."""
    lines = [f"{labels.get(d, d)} has the same curve as {labels.get(k, k)}: counted once (left out of the statistics)"
             for d, k in zip(duplicates["run_id"], duplicates["duplicate_of"])]
    for variant, counts in budgets.items():
        parts = ", ".join(f"{b:,} ({n} run{'s' if n > 1 else ''})" for b, n in counts.items())
        lines.append(f"variant {variant!r} pools runs with different step budgets: {parts}")
    return lines
