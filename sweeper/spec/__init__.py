"""Ablation specs (ablations/*.yaml) and their expansion into runs.

`load_spec(path) -> Spec`, `parse_spec(text, path) -> Spec`, `expand(spec, base, seeds) -> Expansion`
(a list of `RunPlan`s: variant, seed, resolved TrainConfig, run key), and
`resolve_overrides(base, {name: value})` for one config (golf train --set), checked as specs are. May import model.config and
sweeper.errors; nothing here touches the store or the file system beyond reading the spec.
"""

from sweeper.spec.expand import Expansion, expand, resolve_overrides
from sweeper.spec.loader import THRESHOLD_METRICS, Spec, load_spec, parse_spec
from sweeper.spec.run_plan import RunPlan

__all__ = ["THRESHOLD_METRICS", "Expansion", "RunPlan", "Spec", "expand", "load_spec", "parse_spec",
           "resolve_overrides"]
