"""The report's analysis in one import: `from sweeper.report import analysis as report`.

Each part lives in its own module; this one only gathers their public names.
    curves        per-run crossings (RunBlocks, time_to_threshold) and seed-averaged curves
    survival      Kaplan-Meier curve, restricted mean time-to-threshold, its CI and test
    significance  Welch / one-sample t-tests, Holm / BH adjustment
    checks        duplicate curves and mixed step budgets
    summary       the ranked per-variant table (`summarize`; its columns are documented there)
    rules         the speedrun and parameter-golf record rules (`apply_rule`)
"""

from sweeper.report.curves import RunBlocks, _first_crossing, _grid_mean_crossing, time_to_threshold
from sweeper.report.rules import apply_rule
from sweeper.report.significance import ADJUST_METHODS, adjust, mean_ci, one_sample_t, welch
from sweeper.report.summary import (ARTIFACT_LIMIT_BYTES, RANK_KEYS, final_metric_column, summarize,
                                    training_core_source_bytes)
from sweeper.report.survival import (KaplanMeier, common_horizon, difference_p, restricted_mean, restricted_mean_ci,
                                     rmst_test)

__all__ = ["ADJUST_METHODS", "ARTIFACT_LIMIT_BYTES", "KaplanMeier", "RANK_KEYS", "RunBlocks", "adjust", "apply_rule",
           "common_horizon", "difference_p", "final_metric_column", "mean_ci", "one_sample_t", "restricted_mean", "restricted_mean_ci",
           "rmst_test", "summarize", "time_to_threshold", "training_core_source_bytes", "welch",
           "_first_crossing", "_grid_mean_crossing"]
