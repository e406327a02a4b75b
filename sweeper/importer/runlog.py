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

from sweeper.importer.attempts import find_restarts
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
    # Earlier attempts of a restarted log: their evals (each with its "attempt") and one row per
    # attempt, the run's own last (attempt, outcome, error); both empty for a log of one attempt.
    earlier_evals: list[dict] = field(default_factory=list)
    attempts: list[dict] = field(default_factory=list)
    unfinished: Optional[str] = None  # why the log looks cut short (no stop line, no finals)
    has_final_eval: bool = False      # a named final evaluation (`final_int8_zlib_roundtrip ...`)
    last_step: Optional[int] = None   # the highest step on any step line (training or eval)
    traceback_line: Optional[int] = None  # file line of the first Python traceback, if any

    def stored_evals(self) -> list[dict]:
        """The evals the store keeps: every attempt's, each tagged with its attempt when there are
        several (the run's own are the last attempt's)."""
        if not self.attempts:
            return self.evals
        return self.earlier_evals + [{**e, "attempt": len(self.attempts)} for e in self.evals]


def read_run(lines: list[str], first_line_no: int, issues: FileIssues, last_is_cut_candidate: bool = False) -> RunLog:
    """Read one run's lines (`lines[0]` is file line `first_line_no`); problems go to `issues`.
    A log whose step counter starts over holds several attempts (attempts.py): the run is the last
    one, the earlier ones are kept as interrupted attempts and said in the run's notes.

    `last_is_cut_candidate`: the last line ended the file without a newline (a live log, or a file
    cut mid-line); if it is a step line missing fields that the run's earlier lines of its kind
    had, it was cut and is skipped rather than read as a shorter value.
    """
    restarts = find_restarts(lines)
    if not restarts:
        return _read_attempt(lines, first_line_no, issues, last_is_cut_candidate)
    bounds = [0, *(r.start for r in restarts), len(lines)]
    logs = [_read_attempt(lines[a:b], first_line_no + a, issues, last_is_cut_candidate and b == len(lines))
            for a, b in zip(bounds, bounds[1:])]
    run = logs[-1]
    for number, (earlier, restart) in enumerate(zip(logs, restarts), start=1):
        why = (f"the log starts over at line {first_line_no + restart.restart_at} (step {restart.first_step} "
               f"after step {restart.previous_step}): a restarted job"
               + (f"; the attempt ends with {restart.last_words!r}" if restart.last_words else ""))
        run.attempts.append({"attempt": number, "outcome": "interrupted", "error": why})
        run.earlier_evals.extend({**e, "attempt": number} for e in earlier.evals)
        run.notes.append(f"attempt {number} of {len(logs)} (lines {first_line_no + bounds[number - 1]}-"
                         f"{first_line_no + bounds[number] - 1}, to step {restart.previous_step}, "
                         f"{len(earlier.evals)} evals) kept as an interrupted attempt: {why}")
    run.attempts.append({"attempt": len(logs), "outcome": "finished", "error": None})
    return run


def _read_attempt(lines: list[str], first_line_no: int, issues: FileIssues, last_is_cut_candidate: bool) -> RunLog:
    run, finals = RunLog(), Finals()
    time_points: list[tuple[int, float]] = []  # (step, seconds) from timed training lines
    last_fields: dict[bool, set] = {}           # is_eval -> field names of the last such line
    step_avg_ms = total_steps = None
    for offset, raw in enumerate(lines):
        line = raw.strip()
        if not line or (":" not in line and "=" not in line):
            continue
        line_no = first_line_no + offset
        if line.startswith("Traceback (most recent call last)") and run.traceback_line is None:
            run.traceback_line = line_no
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
            run.last_step = max(step, run.last_step or 0)
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
    _finish(run, finals, step_avg_ms, total_steps, max(time_points, default=None))
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


def _finish(run: RunLog, finals: Finals, step_avg_ms: Optional[float], total_steps: Optional[int],
            last_timed: Optional[tuple[int, float]]) -> None:
    final, extra = dict(finals.columns), dict(finals.extra)
    run.has_final_eval = finals.named_evals > 0
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
        if "stopped_early" not in final and not run.has_final_eval and total_steps and run.last_step < total_steps:
            # Killed mid-training (or a live log): neither stopped early nor finished, as far as
            # the log says; its last eval is no final result, so the report warns about it.
            run.unfinished = (f"log ends at step {run.last_step} of {total_steps} without a stop line or "
                              f"final evaluation (unfinished?)")
            run.notes.append(run.unfinished)
        else:
            final.setdefault("stopped_early", False)
    elif run.has_final_eval:
        # Final evaluations but no step eval (a trainer that validates only after training): a run
        # with a score and no curve; how far it trained comes from the stop or last training line.
        run.notes.append("no step eval in the log: final evaluations only, no curve (left out of time to threshold)")
        if last_timed is not None:
            final.setdefault("steps", last_timed[0])
            final.setdefault("train_time_s", last_timed[1])
    if step_avg_ms is not None and math.isfinite(step_avg_ms):
        final["step_avg_ms"] = step_avg_ms
    if total_steps is not None:
        extra.setdefault("total_steps", total_steps)
    if finals.scored_from:
        run.notes.append(f"quant_val_loss/quant_val_bpb from the last quantized eval: {finals.scored_from!r}")
    run.final, run.extra_finals, run.seed = final, extra, finals.seed
    run.notes.extend(finals.notes)
