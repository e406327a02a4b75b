"""The one threshold object: `metric <= value` is what time-to-threshold waits for.

It travels unchanged from the spec (resolved for the sweep's preset) to the store (the sweep's
threshold_metric / threshold_value columns), to the report and to `load()`. Imports nothing of golf
but its errors, so spec/, store/ and report/ can all use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweeper.errors import GolfError

# Metrics an eval reports and a threshold may name (the evals table's columns).
THRESHOLD_METRICS = ("val_loss", "val_bpb", "ppm_val_loss", "ppm_val_bpb")


@dataclass(frozen=True)
class Threshold:
    """First eval with `metric <= value` (lower is better for every metric golf records)."""

    metric: str
    value: float

    def __post_init__(self) -> None:
        if self.metric not in THRESHOLD_METRICS:
            raise GolfError(f"threshold metric {self.metric!r}: expected one of {', '.join(THRESHOLD_METRICS)}")
        if not isinstance(self.value, (int, float)) or math.isnan(self.value):
            raise GolfError(f"threshold value {self.value!r}: expected a number")

    @classmethod
    def none(cls, metric: str) -> "Threshold":
        """What a sweep without a threshold is ranked by: an infinite one, which every run reaches at
        its first eval, so that time-to-threshold says nothing and the ranking is by final metric."""
        return cls(metric, math.inf)

    @property
    def is_none(self) -> bool:
        """True for `Threshold.none(...)`."""
        return self.value == math.inf

    def __str__(self) -> str:
        return f"{self.metric} <= {self.value:g}"

    @classmethod
    def parse(cls, text: str, default_metric: str | None = None) -> "Threshold":
        """`METRIC=VALUE` (e.g. `val_bpb=1.25`), or a bare VALUE with `default_metric`."""
        metric, sep, raw = text.partition("=")
        if not sep:
            metric, raw = default_metric or "", text
        metric = metric.strip()
        if not metric:
            raise GolfError(f"--threshold {text!r}: expected METRIC=VALUE, e.g. val_loss=2.92 "
                            f"(METRIC one of {', '.join(THRESHOLD_METRICS)})")
        try:
            value = float(raw)
        except ValueError:
            raise GolfError(f"--threshold {text!r}: {raw.strip()!r} is not a number (expected METRIC=VALUE, "
                            "e.g. val_loss=2.92)") from None
        return cls(metric, value)
