"""One run's log lines -> its curve (evals), final metrics, extra finals and import notes.

Step lines (`step:N/M ...` or `N/M ...`) with `val_loss`/`val_bpb` are evals; step lines with a
`train_time` only are timed training lines, used to give a wall clock to evals printed without one
(parameter-golf's newer trainers print `N/M val_loss: X val_bpb: Y` and put the time, in minutes,
on the training lines). Everything else goes through `finals.read_summary_line` or is noise
(torchrun and NCCL chatter, config dumps).
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Optional

from sweeper.importer.fields import BadValue, plain_value, read_fields, to_count, to_float, to_seconds
from sweeper.importer.finals import Finals, read_summary_line
from sweeper.importer.issues import FileIssues

# Fields of a step line that have their own eval column or meaning; any other field is kept
# per eval as an extra (`lx`, `ls`, `l_smear`, `tok/s`, ...).
_EVAL_KEYS = {"step", "val_loss", "val_bpb", "train_time", "step_avg"}
# `step_avg:nanms` (or inf): a trainer that divides by 0 timed steps at step 0. step_avg is derived
# (only the last one is kept, as final step_avg_ms), so such a value is no value, not a bad line.
_NO_STEP_AVG = re.compile(r"^[-+]?(?:nan|inf)(?:ms|s)$", re.I)
UNREADABLE = "unreadable line"
NON_FINITE = "non-finite value"


@dataclass
class RunLog:
    """What one run's lines hold, in store terms."""

    evals: list[dict] = field(default_factory=list)
    final: dict = field(default_factory=dict)
    extra_finals: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: Optional[int] = None


def read_run(lines: list[str], first_line_no: int, issues: FileIssues, last_is_cut_candidate: bool = False) -> RunLog:
    """Read one run's lines (`lines[0]` is file line `first_line_no`); problems go to `issues`.

    `last_is_cut_candidate`: the last line ended the file without a newline (a live log, or a file
    cut mid-line); if it is a step line missing fields that the run's earlier lines of its kind
    had, it was cut and is skipped rather than read as a shorter value.
    """
    run, finals = RunLog(), Finals()
    time_points: list[tuple[int, float]] = []  # (step, seconds) from timed training lines
    last_fields: dict[bool, set] = {}           # is_eval -> field names of the last such line
    step_avg_ms = total_steps = None
    for offset, raw in enumerate(lines):
        line = raw.strip()
        if not line or (":" not in line and "=" not in line):
            continue
        line_no = first_line_no + offset
        lf = read_fields(line)
        if any(v.startswith("{") for v in lf.fields.values()):
            continue  # an f-string of a dumped script (`step:{step}/...`), not a logged value
        try:
            if lf.step is None:
                if not lf.label and next(iter(lf.fields), None) == "step":
                    raise BadValue(f"step={lf.fields['step']!r} is not N or N/M (non-negative integers)")
                read_summary_line(lf, line, finals)
                continue
            step = to_count("step", lf.step)
            if lf.total_steps is not None:
                total_steps = to_count("step budget", lf.total_steps)
            is_eval = "val_loss" in lf.fields or "val_bpb" in lf.fields
            names = set(lf.fields)
            if (last_is_cut_candidate and offset == len(lines) - 1
                    and is_eval in last_fields and names < last_fields[is_eval]):
                issues.add(UNREADABLE, line_no, f"cut mid-line (no {', '.join(sorted(last_fields[is_eval] - names))}): {line[:60]!r}")
                continue
            last_fields[is_eval] = names
            seconds = to_seconds("train_time", lf.fields["train_time"]) if "train_time" in lf.fields else None
            if "step_avg" in lf.fields and not _NO_STEP_AVG.match(lf.fields["step_avg"]):
                step_avg_ms = to_seconds("step_avg", lf.fields["step_avg"]) * 1000.0
            if is_eval:
                run.evals.append(_eval_row(step, seconds, lf.fields, line_no, issues))
            elif seconds is not None:
                time_points.append((step, seconds))
            elif len(lf.fields) <= (1 if "step" in lf.fields else 0):
                issues.add(UNREADABLE, line_no, f"step line without fields: {line[:60]!r}")
        except BadValue as exc:
            issues.add(UNREADABLE, line_no, f"{exc}: {line[:60]!r}")
    if finals.stop_time_point is not None:
        time_points.append(finals.stop_time_point)
    _fill_eval_times(run, time_points)
    _finish(run, finals, step_avg_ms, total_steps)
    return run


def _eval_row(step: int, seconds: Optional[float], fields: dict, line_no: int, issues: FileIssues) -> dict:
    row = {"step": step, "train_time_s": seconds, "val_loss": None, "val_bpb": None, "tokens": None}
    for metric in ("val_loss", "val_bpb"):
        if metric in fields:
            value = to_float(metric, fields[metric])
            if math.isfinite(value):
                row[metric] = value
            else:
                # A diverged run: the step is kept (the run got there) with the metric empty, so
                # that statistics never see nan/inf; the run's notes say from which step.
                issues.add(NON_FINITE, line_no, f"{metric}={fields[metric]} at step {step} (stored as empty)")
                row.setdefault("_non_finite", f"{metric} {fields[metric]} from step {step}")
    extra = {k: plain_value(v) for k, v in fields.items() if k not in _EVAL_KEYS}
    if extra:
        row["extra"] = extra
    return row


def _fill_eval_times(run: RunLog, points: list[tuple[int, float]]) -> None:
    """Give evals printed without a time one interpolated linearly in step between the nearest
    timed lines around them; say so in the run's notes. Training time is 0 at step 0."""
    missing = [e for e in run.evals if e["train_time_s"] is None]
    if not missing:
        return
    points = sorted(set(points) | {(e["step"], e["train_time_s"]) for e in run.evals if e["train_time_s"] is not None})
    if not points:
        run.notes.append("no wall clock in the log: the curve has steps only (rank it by steps)")
        return
    if points[0][0] > 0:
        points.insert(0, (0, 0.0))
    steps = [p[0] for p in points]
    filled = 0
    for e in missing:
        i = bisect.bisect_left(steps, e["step"])
        if i < len(steps) and steps[i] == e["step"]:
            e["train_time_s"] = points[i][1]
        elif 0 < i < len(steps):
            (s0, t0), (s1, t1) = points[i - 1], points[i]
            e["train_time_s"] = t0 + (t1 - t0) * (e["step"] - s0) / (s1 - s0)
        else:
            continue
        filled += 1
    run.notes.append(f"train_time_s of {filled} of {len(run.evals)} evals interpolated in step between "
                     f"{len(points)} timed training/stop lines")
    if filled < len(missing):
        run.notes.append(f"{len(missing) - filled} evals lie beyond the last timed line and have no time")


def _finish(run: RunLog, finals: Finals, step_avg_ms: Optional[float], total_steps: Optional[int]) -> None:
    final, extra = dict(finals.columns), dict(finals.extra)
    diverged = next((e.pop("_non_finite") for e in run.evals if "_non_finite" in e), None)
    for e in run.evals:
        e.pop("_non_finite", None)
    if diverged:
        run.notes.append(f"diverged: {diverged} (non-finite values stored as empty)")
    if run.evals:
        last = run.evals[-1]
        final["val_loss"], final["val_bpb"] = last["val_loss"], last["val_bpb"]
        final.setdefault("steps", last["step"])
        if last["train_time_s"] is not None:
            final.setdefault("train_time_s", last["train_time_s"])
        final.setdefault("stopped_early", False)
    if step_avg_ms is not None and math.isfinite(step_avg_ms):
        final["step_avg_ms"] = step_avg_ms
    if total_steps is not None:
        extra.setdefault("total_steps", total_steps)
    if finals.scored_from:
        run.notes.append(f"quant_val_loss/quant_val_bpb from the last quantized eval: {finals.scored_from!r}")
    run.final, run.extra_finals, run.seed = final, extra, finals.seed
    run.notes.extend(finals.notes)
