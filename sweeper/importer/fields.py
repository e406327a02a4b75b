"""One log line -> its `key:value` fields (pure; no knowledge of what a run is).

Training scripts print their state as `key:value`, `key: value` or `key=value` pairs after an
optional label (`quantized_sliding_window val_loss:2.79 val_bpb:1.08`). Reading the pairs rather
than matching one fixed pattern per script is what lets one reader take modded-nanogpt lines with
extra fields (`... step_avg:246.9ms lx:0.7 ls:-0.2`), parameter-golf's newer `N/M val_loss: X`
lines and every named final evaluation alike.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

# A key starts with a letter or underscore and may hold the characters of real keys seen in logs
# (`tok/s`, `int8+zlib`, `pre-quant.x`); the value is a bracketed list or one token without
# separators. No space before the colon: `Warning : x` is prose, not a field.
_FIELD = re.compile(r"(?<![\w+\-./])([A-Za-z_][\w.+\-/]*)([:=])[ \t]*(\[[^\]]*\]|\([^)]*\)|[^\s,|;]+)")
_LEADING_STEP = re.compile(r"^\s*(\d+)/(\d+)(?=\s|$)")
_STEP_VALUE = re.compile(r"^(\d+)(?:/(\d+))?$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:nan|inf|infinity)$", re.I)
_DURATION = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(ms|s|sec|m|min|h)$")
# Divisors rather than factors: 27923ms / 1000 is exactly 27.923, 27923 * 1e-3 is 27.923000000000002.
_PER_SECOND = {"ms": 1000.0, "s": 1.0, "sec": 1.0, "m": 1 / 60.0, "min": 1 / 60.0, "h": 1 / 3600.0}
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class LineFields:
    """A line's label (text before its first field), its fields in order, and its step if any."""

    label: str
    fields: dict[str, str]
    step: Optional[str] = None        # the raw step text ('500'), None if the line has no step
    total_steps: Optional[str] = None  # the budget after the slash ('5960'), if given


def read_fields(line: str) -> LineFields:
    """Split one line into label + fields; a leading `N/M` (parameter-golf's newer trainers) or a
    first field `step:N/M` gives the step. A repeated key keeps its first value."""
    step = total = None
    body = line
    lead = _LEADING_STEP.match(line)
    if lead:
        step, total = lead.group(1), lead.group(2)
        body = line[lead.end():]
    fields: dict[str, str] = {}
    label_end = None
    for m in _FIELD.finditer(body):
        if label_end is None:
            label_end = m.start()
        fields.setdefault(m.group(1), m.group(3))
    label = body[:label_end].strip() if label_end is not None else body.strip()
    if step is None and "step" in fields and not label:
        sm = _STEP_VALUE.match(fields["step"])
        if sm and next(iter(fields)) == "step":
            step, total = sm.group(1), sm.group(2)
    return LineFields(label=label.rstrip(":").strip(), fields=fields, step=step, total_steps=total)


class BadValue(ValueError):
    """A field whose value is not what its key promises; the message names key and value."""


def to_float(key: str, text: str) -> float:
    """A number, possibly `nan`/`inf` (the caller decides what a non-finite value means)."""
    if not _NUMBER.match(text):
        raise BadValue(f"{key}={text!r} is not a number")
    return float(text)


def to_count(key: str, text: str) -> int:
    """A non-negative integer that fits int64 (steps, bytes, parameter counts)."""
    if not text.isdigit():
        raise BadValue(f"{key}={text!r} is not a non-negative integer")
    value = int(text)
    if value > INT64_MAX:
        raise BadValue(f"{key}={text} is beyond int64")
    return value


def to_seconds(key: str, text: str) -> float:
    """A duration with its unit (`123456ms`, `324.0s`, `7.4m`) -> seconds; must be finite, >= 0.
    A bare number counts as the unit its key names (`train_time_ms`, `elapsed_s`)."""
    m = _DURATION.match(text)
    if m:
        value = float(m.group(1)) / _PER_SECOND[m.group(2)]
    elif _NUMBER.match(text) and key.endswith(("_ms", "_s")):
        value = float(text) / (1000.0 if key.endswith("_ms") else 1.0)
    else:
        raise BadValue(f"{key}={text!r} is not a duration (expected e.g. 123ms, 4.5s, 7.4m)")
    if not math.isfinite(value) or value < 0:
        raise BadValue(f"{key}={text!r} is not a finite, non-negative duration")
    return value


def plain_value(text: str):
    """An extra field's value as stored: a float when it is a finite number, else the text."""
    if _NUMBER.match(text):
        value = float(text)
        return value if math.isfinite(value) else text
    return text
