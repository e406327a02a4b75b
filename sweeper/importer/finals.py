"""Lines without a step: named final evaluations, sizes, memory, parameter count, seed, stop.

Each recognised line writes into a `Finals`: `columns` (the store's FINAL_COLUMNS),
`extra` (everything else worth keeping, stored as the run's JSON of extra finals) and `notes`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from sweeper.importer.fields import BadValue, LineFields, to_count, to_float, to_seconds

# `Serialized model int8+zlib: 15815847 bytes`, `Code size: 47642 bytes`, `Total submission size
# quantized+brotli: N bytes`. A line that starts like one of these but does not finish with
# `N bytes` was cut, and is reported rather than guessed at.
_SIZE = re.compile(r"^(Serialized model|Total submission size|Code size)\b\s*(.*?):\s*(\d+)\s*bytes\b")
_SIZE_PREFIXES = ("Serialized model", "Total submission size", "Code size")
# Trainers that write their own artifact kind name it: `Ternary artifact: 15057568 bytes (lzma) =
# 15.06MB` (the BitNet/ternary records). It is the quantized artifact, as `Serialized model <fmt>`.
_NAMED_ARTIFACT = re.compile(r"^(\w+) artifact:\s*(\d+)\s*bytes\b\s*(?:\((\w+)\))?")
# The evaluation the challenge scores: the last one on the quantized (round-tripped) model, with
# or without test-time training or a sliding window; `pre-quantization ...` evaluates the float
# model and is not it. Once the quantized artifact has been written (`Serialized model int6+zstd:
# N bytes`), every later named eval is of that model whatever its name (real logs score
# `final_int6_sliding_window` after `final_int6_roundtrip`); before it, only the name can say so.
_SCORED = re.compile(r"quant|roundtrip|round_trip|ttt", re.I)
_NOT_SCORED = re.compile(r"pre-?quant", re.I)
# The MLX trainer's size line: `serialized_model_int8_zlib:7990030 bytes (payload:...)`.
_MLX_ARTIFACT = re.compile(r"^serialized_model_(\w+)$")
_BYTES = re.compile(r"^(\d+)\s*bytes\b")
_METRICS = ("val_loss", "val_bpb")
# A metric value that starts like a number is an evaluation (a bad one is reported); a word
# (`val_bpb:enabled`) is a status line, not an evaluation.
_NUMERIC_START = re.compile(r"^[-+]?(?:\d|\.\d|nan|inf)", re.I)


@dataclass
class Finals:
    """What a run's summary lines state; `scored_from` names the eval mapped to quant_val_*."""

    columns: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: Optional[int] = None
    stop_time_point: Optional[tuple[int, float]] = None  # (step, seconds) from the stop line
    scored_from: Optional[str] = None
    named_evals: int = 0  # named final evaluations read (`final_int8_zlib_roundtrip val_loss:...`)


def eval_name(lf: LineFields) -> str:
    """`quantized_sliding_window`, `pre-quantization_post-ema`, `ttt_sliding_done`: the label, or
    the fields before the first metric when there is no label; spaces and colons become `_`."""
    text = lf.label
    if not text:
        leading = []
        for key, value in lf.fields.items():
            if key in _METRICS:
                break
            leading.append(f"{key}_{value}")
        text = " ".join(leading)
    name = re.sub(r"[\s:]+", "_", text.strip()).strip("_")
    return name or "final_eval"


def read_summary_line(lf: LineFields, line: str, finals: Finals) -> bool:
    """Record what a step-less line states into `finals`; True if it was recognised.

    Raises BadValue (with the field and value) when a recognised line carries a bad value.
    """
    f = lf.fields
    if line.startswith(_SIZE_PREFIXES):
        return _read_size(line, finals)
    if _read_mlx_size(lf, line, finals):
        return True
    artifact = _NAMED_ARTIFACT.match(line)
    if artifact:
        kind, size, compressor = artifact.groups()
        finals.columns["artifact_bytes"] = to_count(f"{kind} artifact", size)
        finals.extra["artifact_format"] = "+".join(filter(None, (kind.lower(), compressor)))
        return True
    if any(m in f and _NUMERIC_START.match(f[m]) for m in _METRICS):
        _read_named_eval(lf, finals)
        return True
    if "stopping_early" in f:
        _read_stop(f, finals)
        return True
    if "model_params" in f:
        finals.columns["num_params"] = to_count("model_params", f["model_params"])
        return True
    if lf.label.startswith("peak memory") and "allocated" in f:
        if not f["allocated"][:1].isdigit():
            return True  # `peak memory allocated: cpu_dry_run`: a CPU run states it has none
        finals.columns["peak_memory_mib"] = to_count("peak memory allocated", f["allocated"])
        return True
    if "seed" in f and finals.seed is None and f["seed"].isdigit():
        finals.seed = to_count("seed", f["seed"])
        return True
    if "total_eval_time" in f:
        finals.extra["total_eval_time_s"] = to_seconds("total_eval_time", f["total_eval_time"])
        return True
    return False


def _read_size(line: str, finals: Finals) -> bool:
    m = _SIZE.match(line)
    if m is None:
        raise BadValue(f"expected '<what>: N bytes', got {line[:80]!r}")
    what, qualifier, value = m.group(1), m.group(2).strip(), to_count(m.group(1), m.group(3))
    if what == "Code size":
        # `Code size (uncompressed): N` / `Code size (compressed): N`: the submission counts the
        # compressed code, so that one is code_bytes; the uncompressed size is kept beside it.
        key = "code_bytes_uncompressed" if qualifier.strip("()") == "uncompressed" else "code_bytes"
        finals.extra[key] = value
    elif what == "Serialized model":
        # The compressed artifact is what golf's own runs count; the raw float model is kept aside.
        if qualifier:
            finals.columns["artifact_bytes"] = value
            finals.extra["artifact_format"] = qualifier
        else:
            finals.extra["raw_model_bytes"] = value
    elif qualifier.strip("()").lower() == "raw":
        finals.extra["raw_submission_bytes"] = value  # `Total submission size (raw): N bytes`
    elif qualifier or "artifact_format" in finals.extra:
        # parameter-golf's 16 MB rule: model + code. Some trainers print the quantized total
        # without naming its format (`Total submission size: N bytes` right after `Serialized
        # model int6+zstd: ...`); after the quantized artifact it is that total, not the raw one.
        finals.columns["submission_bytes"] = value
    else:
        finals.extra["raw_submission_bytes"] = value
    return True


def _read_mlx_size(lf: LineFields, line: str, finals: Finals) -> bool:
    """The MLX trainer's `serialized_model_int8_zlib:N bytes (...)` (the quantized artifact) and
    `saved_model:<path> bytes:N` (the raw model); False for any other line."""
    if not lf.fields:
        return False
    key, value = next(iter(lf.fields.items()))
    m = _MLX_ARTIFACT.match(key)
    if m and not lf.label:
        size = _BYTES.match(line[line.index(":") + 1:].strip())
        if size is None:
            raise BadValue(f"expected '{key}:N bytes', got {line[:80]!r}")
        finals.columns["artifact_bytes"] = to_count(key, size.group(1))
        finals.extra["artifact_format"] = m.group(1)
        return True
    if key == "saved_model" and "bytes" in lf.fields:
        finals.extra["raw_model_bytes"] = to_count("saved_model bytes", lf.fields["bytes"])
        return True
    return False


def _read_named_eval(lf: LineFields, finals: Finals) -> None:
    name = eval_name(lf)
    finals.named_evals += 1
    values = {}
    for metric in _METRICS:
        if metric in lf.fields:
            value = to_float(metric, lf.fields[metric])
            if not math.isfinite(value):
                finals.notes.append(f"{name}.{metric} is {lf.fields[metric]} (stored as empty)")
                value = None
            values[metric] = value
            finals.extra[f"{name}.{metric}"] = value
    if "eval_time" in lf.fields:
        finals.extra[f"{name}.eval_time_s"] = to_seconds("eval_time", lf.fields["eval_time"])
    after_artifact = "artifact_format" in finals.extra
    if (after_artifact or _SCORED.search(name)) and not _NOT_SCORED.search(name):
        finals.columns["quant_val_loss"] = values.get("val_loss")
        finals.columns["quant_val_bpb"] = values.get("val_bpb")
        finals.scored_from = name


def _read_stop(f: dict, finals: Finals) -> None:
    finals.extra["stop_reason"] = f["stopping_early"]
    finals.columns["stopped_early"] = True
    if "train_time" in f:
        finals.columns["train_time_s"] = to_seconds("train_time", f["train_time"])
    if "step" in f:
        step_text, _, total_text = f["step"].partition("/")
        finals.columns["steps"] = to_count("step", step_text)
        if total_text:
            finals.extra["total_steps"] = to_count("step budget", total_text)
        if "train_time_s" in finals.columns:
            finals.stop_time_point = (finals.columns["steps"], finals.columns["train_time_s"])
