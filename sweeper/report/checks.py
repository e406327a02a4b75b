"""What a report must warn about before it averages runs: duplicate curves, incomplete runs and mixed
step budgets.

- Two runs with the same curve (one log imported twice under two names) are one run: counting it
  twice halves its apparent noise. The later one is left out of the statistics and listed.
- A variant whose runs had different step budgets (5,820 vs 5,960 planned steps) pools runs of two
  schedules: their warm-down starts at different times, and "reached k/n" depends on the budget.
- An imported log that simply ends (killed mid-training) has a curve but no final result, and one
  with final evaluations only has no curve: both are kept, and the report says how it used them.
"""

from __future__ import annotations

import json

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


def incomplete_runs(runs: pd.DataFrame, curves: pd.DataFrame, labels: dict[str, str],
                    final_column: str | None = None) -> list[str]:
    """Warning lines for finished runs that are not whole results: an imported log that ends short of
    its budget without a stop line or final evaluation (config 'unfinished', set by the importer),
    and a run without any eval (an imported log with final evaluations only). `final_column`: the
    final metric the report compares, to say whether a run without evals is in that comparison."""
    lines = []
    with_evals = set(curves["run_id"][curves["current"].to_numpy(bool)]) if len(curves) else set()
    for r in runs.to_dict("records"):
        config = r.get("config")
        why = json.loads(config).get("unfinished") if isinstance(config, str) and "unfinished" in config else None
        final = final_column or "metric"
        missing = final_column is not None and pd.isna(r.get(final_column))
        if why:
            then = (f"it has no {final} (left out of the final comparison)" if missing
                    else f"its final {final} is that eval's, not a finished run's")
            lines.append(f"{labels.get(r['run_id'], r['run_id'])}: {why}: its curve counts up to its last eval "
                         f"(censored there if it never reached the threshold), and {then}")
        elif r["run_id"] not in with_evals:
            then = (f"and it has no {final}, so it is in no comparison (see --final)" if missing
                    else f"ranked by its final {final} only")
            lines.append(f"{labels.get(r['run_id'], r['run_id'])} has no eval curve (final evaluations only): "
                         f"left out of time to threshold, {then}")
    return lines


def runs_without_curve(runs: pd.DataFrame, curves: pd.DataFrame, excluded: pd.DataFrame) -> dict[str, int]:
    """{variant: finished runs without any eval (final evaluations only)}, duplicates in `excluded`
    left out as the report leaves them: these count in a variant's runs but cannot reach a threshold."""
    with_evals = set(curves["run_id"][curves["current"].to_numpy(bool)]) if len(curves) else set()
    finished = runs[(runs["status"] == "finished") & ~runs["run_id"].isin(excluded["run_id"])]
    bare = finished[~finished["run_id"].isin(with_evals)]
    return {str(v): int(n) for v, n in bare["variant"].value_counts().items()}


def warnings_for(duplicates: pd.DataFrame, budgets: dict[str, dict[int, int]], labels: dict[str, str],
                 incomplete: list[str] = ()) -> list[str]:
    """The report's warning lines: one per duplicate, per incomplete run (`incomplete_runs`) and per
    variant with mixed budgets."""
    lines = [f"{labels.get(d, d)} has the same curve as {labels.get(k, k)}: counted once (left out of the statistics)"
             for d, k in zip(duplicates["run_id"], duplicates["duplicate_of"])]
    lines.extend(incomplete)
    for variant, counts in budgets.items():
        parts = ", ".join(f"{b:,} ({n} run{'s' if n > 1 else ''})" for b, n in counts.items())
        lines.append(f"variant {variant!r} pools runs with different step budgets: {parts}")
    return lines
