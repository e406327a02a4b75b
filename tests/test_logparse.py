"""Log parsing for `golf import` (pure parsing; no store): the real fixture logs, and small
synthetic logs of every line shape met in published logs (made-up values; no real log copied)."""

from collections import Counter
from pathlib import Path

import pytest

from sweeper.errors import GolfError
from sweeper.importer import parse_file, parse_text, sniff_format, variant_seed_from_header

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RESULTS = FIXTURES / "modded-nanogpt-value-embeddings" / "results.md"
TTEST = FIXTURES / "modded-nanogpt-value-embeddings" / "t-test-results.md"
GOLF_LOG = FIXTURES / "parameter-golf" / "naive-baseline-train.log"

# A trainer's source as parameter-golf / modded-nanogpt dump it at the top of their logs: banner
# comments that look like markdown headers, f-strings that look like log lines, then a `=` line.
SCRIPT_DUMP = '''"""A training script."""
import os
from torch import nn

# -----------------------------
# HYPERPARAMETERS
# -----------------------------
## evaluation every 200 steps
def main():
    log0(f"step:{step}/{args.iterations} val_loss:{val_loss:.4f} val_bpb:{val_bpb:.4f}")
    log0(f"model_params:{n_params}")
====================================================================================================
Running Python 3.12
'''

NEW_TRAINER_LOG = """model_params:1234567 (unique_layers 3 loops 2)
seed: 42
  caseops_enabled: True
0/600 val_loss: 6.9000 val_bpb: 4.1000
1/600 train_loss: 6.8000 train_time: 0.0m tok/s: 100
200/600 train_loss: 3.5000 train_time: 1.0m tok/s: 7102503
200/600 val_loss: 3.4000 val_bpb: 2.0000
400/600 train_loss: 3.0000 train_time: 2.0m tok/s: 7102503
500/600 val_loss: 2.9000 val_bpb: 1.7000
stopping_early: wallclock_cap train_time: 150000ms step: 550/600
550/600 val_loss: 2.8000 val_bpb: 1.6500
peak memory allocated: 30000 MiB reserved: 31000 MiB
pre-quantization post-ema val_loss:2.7000 val_bpb:1.6000 eval_time:1000ms
Serialized model: 60000000 bytes
Code size: 50000 bytes
Serialized model quantized+brotli: 15000000 bytes
Total submission size quantized+brotli: 15050000 bytes
quantized val_loss:2.7500 val_bpb:1.6200 eval_time:2000ms
quantized_sliding_window val_loss:2.7200  val_bpb:1.6100
ttt_sliding:done val_loss=2.7100 val_bpb=1.6050 elapsed=30.0s
total_eval_time:40.5s
"""


def modded_log(n: int = 4, extra: str = " lx:0.70 ls:-0.20", budget: int = 500) -> str:
    return "".join(f"step:{s}/{budget} val_loss:{5 - s / 250:.4f} train_time:{s * 200}ms step_avg:200.00ms{extra}\n"
                   for s in range(0, n * 125, 125))


def test_fixtures_present():
    # A missing fixture must fail loudly, not skip.
    for p in (RESULTS, TTEST, GOLF_LOG):
        assert p.is_file(), f"fixture missing: {p}"


def test_results_md_gives_57_runs():
    result = parse_file(RESULTS)
    assert result.format == "markdown" and result.error is None
    assert len(result.runs) == 57
    assert not result.issues
    by_header = {r.header: r for r in result.runs}
    assert (by_header["13-1"].variant, by_header["13-1"].seed) == ("13", 1)
    assert (by_header["16"].variant, by_header["16"].seed) == ("16", 0)
    first = by_header["0"].evals[1]
    assert first == {"step": 125, "train_time_s": 27.923, "val_loss": 4.32568, "val_bpb": None, "tokens": None}


def test_ttest_md_skips_deeper_batch_by_default():
    runs = parse_file(TTEST).runs
    assert Counter(r.variant for r in runs) == {"25": 28, "26": 37}
    deeper = parse_file(TTEST, header_level=3).runs
    assert Counter(r.variant for r in deeper) == {"26": 14}


def test_naive_baseline_final_metrics_match_readme():
    result = parse_file(GOLF_LOG)
    assert result.format == "golf" and len(result.runs) == 1 and not result.issues
    run = result.runs[0]
    assert run.final["num_params"] == 17_059_912
    assert run.final["steps"] == 13780 and run.log.extra_finals["total_steps"] == 20000
    assert run.final["train_time_s"] == pytest.approx(600.038)
    assert run.final["stopped_early"] is True and run.log.extra_finals["stop_reason"] == "wallclock_cap"
    assert run.final["val_bpb"] == pytest.approx(1.2172)
    assert run.final["quant_val_bpb"] == pytest.approx(1.22436570)
    assert run.final["artifact_bytes"] == 15_815_847  # the int8+zlib model, as golf's own runs count it
    assert run.final["submission_bytes"] == 15_863_489  # + the script: parameter-golf's 16 MB total
    assert run.final["quant_val_loss"] == pytest.approx(2.07269931)
    assert run.final["step_avg_ms"] == pytest.approx(43.54)
    assert run.final["peak_memory_mib"] == 10184
    assert run.log.extra_finals["code_bytes"] == 47642
    assert run.log.extra_finals["final_int8_zlib_roundtrip.val_bpb"] == pytest.approx(1.2244)
    assert run.seed == 1337
    assert len(run.evals) == 70 and all(e["val_bpb"] is not None for e in run.evals)


def test_windows_line_endings_parse_identically():
    text = GOLF_LOG.read_text()
    unix = parse_text(text, "a.log")
    dos = parse_text(text.replace("\n", "\r\n"), "a.log")
    assert dos.runs[0].evals == unix.runs[0].evals
    assert dos.runs[0].final == unix.runs[0].final
    assert dos.runs[0].content_hash == unix.runs[0].content_hash
    md = parse_text(RESULTS.read_text().replace("\n", "\r\n"), "r.md")
    assert len(md.runs) == 57


def test_log_cut_mid_line_reports_line_and_keeps_earlier_evals():
    lines = GOLF_LOG.read_text().splitlines()
    last_eval = max(i for i, l in enumerate(lines) if "val_loss" in l and l.startswith("step:"))
    cut = "\n".join(lines[:last_eval]) + "\n" + lines[last_eval][:30]  # no newline: still being written
    result = parse_text(cut, "cut.log")
    assert result.error is None and len(result.runs) == 1
    assert [k.first_line_no for k in result.issues.kinds.values()] == [last_eval + 1]
    assert result.issues.lines() == [f"cut.log: 1 unreadable line (first at line {last_eval + 1}: cut mid-line "
                                     "(no step_avg, train_time, val_bpb): 'step:13780/20000 val_loss:2.06')"]
    run = result.runs[0]
    assert run.final["steps"] < 13780 and "quant_val_bpb" not in run.final
    # cut before its stop line: not "stopped early: False" (a finished run), but marked unfinished
    assert "stopped_early" not in run.final and run.log.unfinished.startswith("log ends at step 13750 of 20000")


def test_file_without_evals_is_an_error_for_that_file():
    noise = "\n".join(l for l in GOLF_LOG.read_text().splitlines() if "val_loss" not in l)
    result = parse_text(noise, "noeval.log", fmt="golf")
    assert result.runs == [] and "no eval line" in result.error


def test_variant_from_regex_and_header_rules():
    text = GOLF_LOG.read_text()
    r = parse_text(text, "/x/ve_add-3.log", variant_from=r"(?P<variant>.+)-(?P<seed>\d+)\.log")
    assert (r.runs[0].variant, r.runs[0].seed) == ("ve_add", 3)
    assert parse_text(text, "/x/other.txt", variant_from=r"(?P<variant>.+)-(?P<seed>\d+)\.log").error
    assert "int64" in parse_text(text, f"/x/a-{2**64}.log", variant_from=r"(?P<variant>\w+)-(?P<seed>\d+)").error
    assert variant_seed_from_header("25 7") == ("25", 7)
    assert variant_seed_from_header("13-1") == ("13", 1)
    assert variant_seed_from_header("Old results") == ("Old results", None)
    assert variant_seed_from_header(f"x {2**64}") == (f"x {2**64}", None)
    assert sniff_format("step:1/2 val_loss:3 train_time:1ms step_avg:1ms") == "modded"
    with pytest.raises(GolfError):
        parse_text(text, "a.log", fmt="csv")


def test_truncated_collection_keeps_partial_last_run():
    lines = RESULTS.read_text().splitlines()
    half = parse_text("\n".join(lines[: len(lines) // 2]) + "\n", "half.md")
    assert half.error is None and not half.issues
    full = {r.header: r for r in parse_file(RESULTS).runs}
    last = half.runs[-1]
    assert 0 < len(last.evals) <= len(full[last.header].evals)
    assert [r.header for r in half.runs] == list(full)[: len(half.runs)]
    assert all(r.evals == full[r.header].evals for r in half.runs[:-1])


@pytest.mark.parametrize("keep", [34, 39])  # cut inside the number, or inside "bytes"
def test_size_line_cut_mid_line_is_reported_not_guessed(keep):
    lines = GOLF_LOG.read_text().splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("Serialized model int8+zlib:"))
    result = parse_text("\n".join(lines[:i] + [lines[i][:keep]]), "cut.log")
    assert list(result.issues.kinds) == ["unreadable line"]
    assert result.issues.kinds["unreadable line"].first_line_no == i + 1
    run = result.runs[0]
    assert "artifact_bytes" not in run.final and run.final["steps"] == 13780  # the stop line came before


# ---- the line shapes of issue 14, one test each ----

def test_modded_eval_lines_with_extra_fields_keep_them_per_eval():
    text = "Running python 3.12\n" + modded_log() + "step:1/500 train_time:231ms step_avg:231.45ms\n"
    result = parse_text(text, "/logs/baseline-2.txt", variant_from=r"(?P<variant>\w+)-(?P<seed>\d+)")
    assert result.format == "modded" and not result.issues
    run = result.runs[0]
    assert (run.variant, run.seed, run.header) == ("baseline", 2, None)
    assert [e["step"] for e in run.evals] == [0, 125, 250, 375]
    assert run.evals[1] == {"step": 125, "train_time_s": 25.0, "val_loss": 4.5, "val_bpb": None, "tokens": None,
                            "extra": {"lx": 0.7, "ls": -0.2}}
    collection = parse_text("# Results\n\n## extra-embs-1\n\n" + modded_log(extra=" lx:[1.0, 0.5] tag:a"), "c.md")
    assert collection.format == "markdown" and collection.runs[0].evals[0]["extra"] == {"lx": "[1.0, 0.5]", "tag": "a"}


@pytest.mark.parametrize("fmt", ["auto", "golf"])
def test_script_dump_at_the_top_is_skipped_not_read_as_markdown(fmt):
    result = parse_text(SCRIPT_DUMP + modded_log(), "dump.log", fmt=fmt)
    assert result.format in ("golf", "modded") and result.error is None and not result.issues
    assert sniff_format(SCRIPT_DUMP + modded_log()) == "modded"
    run = result.runs[0]
    assert len(run.evals) == 4 and "num_params" not in run.final
    assert run.log.notes[0] == "log starts at line 13, after the trainer's dumped source"


def test_new_trainer_lines_get_times_from_training_lines_and_named_finals():
    result = parse_text(NEW_TRAINER_LOG, "new.log")
    assert result.error is None and not result.issues
    run = result.runs[0]
    # step 0 -> 0 s; 200 -> the train line at 200 (1.0 m); 500 between 400 (2.0 m) and the stop
    # line at 550 (150 s); 550 -> the stop line.
    assert [(e["step"], e["train_time_s"]) for e in run.evals] == [(0, 0.0), (200, 60.0), (500, 140.0), (550, 150.0)]
    assert run.log.notes[0] == "train_time_s of 4 of 4 evals interpolated in step between 5 timed training/stop lines"
    final, extra = run.final, run.log.extra_finals
    assert (final["val_loss"], final["steps"], final["train_time_s"], final["stopped_early"]) == (2.8, 550, 150.0, True)
    assert (final["quant_val_loss"], final["quant_val_bpb"]) == (2.71, 1.605)  # the last quantized one (TTT)
    assert (final["num_params"], final["peak_memory_mib"], run.seed) == (1234567, 30000, 42)
    assert (final["artifact_bytes"], final["submission_bytes"]) == (15_000_000, 15_050_000)
    assert extra["pre-quantization_post-ema.val_bpb"] == 1.6 and extra["quantized.eval_time_s"] == 2.0
    assert extra["quantized_sliding_window.val_bpb"] == 1.61 and extra["ttt_sliding_done.val_loss"] == 2.71
    assert (extra["code_bytes"], extra["raw_model_bytes"], extra["total_steps"]) == (50000, 60_000_000, 600)
    assert (extra["stop_reason"], extra["total_eval_time_s"]) == ("wallclock_cap", 40.5)


def test_no_time_anywhere_keeps_the_step_curve():
    text = "".join(f"{s}/300 val_loss: {4 - s / 100:.4f} val_bpb: 2.0\n" for s in range(0, 301, 100))
    run = parse_text(text, "steps.log").runs[0]
    assert [e["train_time_s"] for e in run.evals] == [None] * 4 and "train_time_s" not in run.final
    assert run.log.notes[0] == "no wall clock in the log: the curve has steps only (rank it by steps)"


def test_eval_lines_without_step_avg_and_params_with_comment_give_no_warnings():
    lines = "".join(f"step:{s}/1000 val_loss:{3 - s / 1000:.3f} val_bpb:1.5 train_time:{s}ms\n" for s in range(0, 1000, 10))
    result = parse_text("model_params:17059912 (unique_layers 3)\n" + lines, "a.log")
    assert not result.issues and len(result.runs[0].evals) == 100
    assert result.runs[0].final["num_params"] == 17_059_912 and "step_avg_ms" not in result.runs[0].final


def test_glued_header_is_split_and_warned_once():
    text = "## 60 1\n\n" + modded_log() + "## 61 3" + modded_log() + "\n## 62 0\n\n" + modded_log()
    result = parse_text(text, "c.md")
    assert result.format == "markdown"
    assert [(r.variant, r.seed, len(r.evals)) for r in result.runs] == [("60", 1, 4), ("61", 3, 4), ("62", 0, 4)]
    assert result.issues.lines() == ["c.md: 1 glued header (first at line 7: '## 61 3step:0/500 val_loss:5.0000 "
                                     "train_time:0ms step_avg:20' read as header '61 3' + its first log line)"]


def test_a_repeated_header_keeps_both_runs_under_distinct_keys_and_is_warned():
    # Two sections with the same name in one file (a re-run pasted under the old name): the second
    # used to get the same import key and overwrite the first on every import.
    other = modded_log().replace("val_loss:5", "val_loss:6")
    text = "# Results\n\n## 22\n\n" + modded_log() + "\n## 22-1\n\n" + modded_log() + "\n## 22\n\n" + other
    result = parse_text(text, "c.md")
    assert [(r.header, r.variant, r.seed, r.evals[0]["val_loss"]) for r in result.runs] == [
        ("22", "22", 0, 5.0), ("22-1", "22", 1, 5.0), ("22 (2)", "22", 0, 6.0)]  # no 22-0: bare is seed 0
    assert len({r.import_key for r in result.runs}) == 3
    assert result.issues.lines() == ["c.md: 1 repeated header (first at line 17: '## 22' again; "
                                     "its run is imported as '22 (2)')"]


def test_many_bad_lines_give_one_warning_line_per_kind():
    bad = "".join(f"step:{s}/500 val_loss:oops train_time:1ms\n" for s in range(10))
    result = parse_text(modded_log() + bad + "step:-1/500 val_loss:3\n", "bad.log")
    assert len(result.runs[0].evals) == 4
    assert result.issues.lines() == ["bad.log: 11 unreadable lines (first at line 5: val_loss='oops' is not a "
                                     "number: 'step:0/500 val_loss:oops train_time:1ms')"]


@pytest.mark.parametrize("step_avg", ["nanms", "NaNms", "infms", "nans"])
def test_a_step_avg_of_nan_at_step_0_keeps_the_eval(step_avg):
    # Some modded-nanogpt versions divide by 0 timed steps at step 0 and print `step_avg:nanms`
    # (snimu/modded-nanogpt-experiments 00006 results-scaled.md); step_avg is derived, the eval is not.
    first = f"step:0/900 val_loss:22.5000 train_time:200ms step_avg:{step_avg}\n"
    later = "step:450/900 val_loss:3.2000 train_time:90000ms step_avg:200.00ms\n"
    for name, text in (("a.log", first + later), ("c.md", "# Scaled\n\n## big-baseline\n\n" + first + later)):
        result = parse_text(text, name)
        run = result.runs[0]
        assert [(e["step"], e["val_loss"]) for e in run.evals] == [(0, 22.5), (450, 3.2)], name
        assert run.evals[0]["train_time_s"] == 0.2 and run.final["step_avg_ms"] == 200.0
        assert not result.issues, result.issues.lines()


@pytest.mark.parametrize("line, why", [
    (f"step:{2**63}/500 val_loss:3.0 train_time:1ms", "beyond int64"),
    (f"step:{10**30}/500 val_loss:3.0 train_time:1ms", "beyond int64"),
    ("step:5/500 val_loss:3.0 train_time:-4ms", "non-negative duration"),
    ("step:5/500 val_loss:3.0 train_time:infms", "not a duration"),
    (f"model_params:{2**64}", "beyond int64"),
    ("Code size: 99999999999999999999999 bytes", "beyond int64"),
])
def test_out_of_range_values_are_reported_per_file_never_raised(line, why):
    result = parse_text(modded_log() + line + "\n", "h.log")
    assert len(result.runs[0].evals) == 4
    assert why in result.issues.lines()[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_losses_are_stored_empty_and_noted(value):
    text = modded_log() + f"step:500/500 val_loss:{value} train_time:100000ms step_avg:200ms\n"
    text += f"final_int8_zlib_roundtrip_exact val_loss:{value} val_bpb:{value}\n"
    result = parse_text(text, "diverged.log")
    run = result.runs[0]
    assert run.evals[-1]["val_loss"] is None and run.evals[-1]["step"] == 500
    assert run.final["val_loss"] is None and run.final["quant_val_loss"] is None
    assert f"diverged: val_loss {value} from step 500 (non-finite values stored as empty)" in run.log.notes
    assert list(result.issues.kinds) == ["non-finite value"]


# Real trainers (2026-03) that score a sliding-window eval of the int6 model and print the quantized
# total without naming its format; made-up values.
SLIDING_SCORED_LOG = """step:0/900 val_loss:6.9000 val_bpb:4.1000 train_time:0ms step_avg:0.01ms
step:800/900 val_loss:2.0000 val_bpb:1.2000 train_time:600000ms step_avg:750.00ms
final_sliding_window_float val_loss:1.9900 val_bpb:1.1900 stride:64 eval_time:1000ms
Serialized model: 90000000 bytes
Code size: 60000 bytes
Total submission size: 90060000 bytes
Serialized model int6+zstd: 15000000 bytes
Total submission size: 15060000 bytes
final_int6_roundtrip_exact val_loss:2.01000000 val_bpb:1.21000000
final_int6_sliding_window val_loss:1.9700 val_bpb:1.1700 stride:64 eval_time:60000ms
final_int6_sliding_window_exact val_loss:1.97012345 val_bpb:1.17012345
"""


def test_after_the_quantized_artifact_the_last_named_eval_is_scored_and_the_total_is_the_submission():
    run = parse_text(SLIDING_SCORED_LOG, "slide.log").runs[0]
    final, extra = run.final, run.log.extra_finals
    # The sliding-window eval before the artifact is of the float model: kept, but not the score.
    assert (final["quant_val_loss"], final["quant_val_bpb"]) == (1.97012345, 1.17012345)
    assert "quant_val_loss/quant_val_bpb from the last quantized eval: 'final_int6_sliding_window_exact'" in run.log.notes
    assert extra["final_sliding_window_float.val_bpb"] == 1.19
    assert (final["artifact_bytes"], final["submission_bytes"], extra["raw_submission_bytes"]) == (15_000_000, 15_060_000, 90_060_000)


def test_a_log_without_the_artifact_line_still_scores_only_quantized_names():
    text = "\n".join(l for l in SLIDING_SCORED_LOG.splitlines() if not l.startswith("Serialized model int6"))
    final = parse_text(text + "\n", "no-artifact.log").runs[0].final
    assert (final["quant_val_loss"], final["quant_val_bpb"]) == (2.01, 1.21)  # the round-trip one
    assert "submission_bytes" not in final


def test_mlx_trainer_size_lines_and_split_code_size():
    text = ("step:0/300 val_loss:6.9000 val_bpb:4.1000 train_time:0ms step_avg:0.01ms\n"
            "step:1/300 train_loss:6.9000 train_time:450ms step_avg:450.00ms tok_s:18000\n"
            "val_progress:1/3786\nval_progress:3786/3786\n"
            "step:300/300 val_loss:3.7000 val_bpb:2.2000 train_time:295000ms step_avg:983.33ms\n"
            "saved_model:logs/run_mlx_model.npz bytes:67000000\n"
            "serialized_model_int8_zlib:7900000 bytes (payload:17000000 raw_pickle:17100000 payload_ratio:3.91x)\n"
            "Code size (uncompressed): 130000 bytes\nCode size (compressed): 28000 bytes\n"
            "final_int8_zlib_roundtrip_exact val_loss:3.71000000 val_bpb:2.21000000\n")
    result = parse_text(text, "mlx.log")
    assert result.error is None and not result.issues
    run = result.runs[0]
    assert [e["step"] for e in run.evals] == [0, 300]  # progress lines `val_progress:N/M` are not evals
    assert run.final["artifact_bytes"] == 7_900_000 and run.final["quant_val_bpb"] == 2.21
    extra = run.log.extra_finals
    assert (extra["artifact_format"], extra["raw_model_bytes"]) == ("int8_zlib", 67_000_000)
    assert (extra["code_bytes"], extra["code_bytes_uncompressed"]) == (28_000, 130_000)


def test_progress_and_post_training_step_lines_are_not_evals():
    # Lines seen after training in real logs: post-QAT fine-tuning steps, sliding-eval progress
    # with `N/M windows`, TTT chunk progress `cN/M`; none of them is a point of the curve.
    text = (modded_log(3)
            + "post_qat step:1 loss:2.0360 elapsed:68ms\n"
            + "  sliding_eval [  0.0%] 32/121136 windows running_bpb=1.222346\n"
            + "tttg: c1/111 lr:0.001000 t:0.3s\n"
            + "ttp: b777/782 bl:2.3239 bb:1.0890 rl:2.3239 rb:1.0890 dl:8452-9229 gd:0\n")
    result = parse_text(text, "post.log")
    assert result.error is None and not result.issues
    assert [e["step"] for e in result.runs[0].evals] == [0, 125, 250]


def test_named_artifact_line_is_the_artifact_and_the_plain_total_after_it_the_submission():
    # The ternary/BitNet records print `<Kind> artifact: N bytes (compressor) = X MB` instead of
    # `Serialized model <fmt>: N bytes`, then `Total submission size: N bytes = X MB`; made-up values.
    text = ("step:0/900 val_loss:6.9000 val_bpb:4.1000 train_time:0ms step_avg:0.01ms\n"
            "step:900/900 val_loss:2.0000 val_bpb:1.2000 train_time:600000ms step_avg:666.67ms\n"
            "Code size: 50000 bytes\n"
            "Ternary artifact: 15000000 bytes (lzma) = 15.00MB\n"
            "  lzma: 15000000 bytes = 15.00MB\n  zlib: 17500000 bytes = 17.50MB\n"
            "Total submission size: 15050000 bytes = 15.05MB\n"
            "final_ternary_roundtrip_exact val_loss:2.03000000 val_bpb:1.20300000\n")
    result = parse_text(text, "ternary.log")
    assert result.error is None and not result.issues
    run = result.runs[0]
    assert (run.final["artifact_bytes"], run.final["submission_bytes"]) == (15_000_000, 15_050_000)
    assert run.log.extra_finals["artifact_format"] == "ternary+lzma"
    assert "raw_submission_bytes" not in run.log.extra_finals
    assert run.final["quant_val_bpb"] == 1.203


def test_raw_total_is_not_taken_for_the_submission_and_a_cpu_dry_run_has_no_memory_figure():
    # `Total submission size (raw)` precedes the quantized total in some 2026-03-19 trainers; a CPU
    # dry run prints `peak memory allocated: cpu_dry_run`. Made-up values.
    text = ("step:0/10 val_loss:6.9000 val_bpb:4.1000 train_time:0ms step_avg:0.01ms\n"
            "step:10/10 val_loss:6.8000 val_bpb:4.0000 train_time:8500ms step_avg:850.00ms\n"
            "peak memory allocated: cpu_dry_run\n"
            "Serialized model: 87000000 bytes\nCode size: 55000 bytes\n"
            "Total submission size (raw): 87055000 bytes\n")
    result = parse_text(text, "raw.log")
    assert result.error is None and not result.issues
    run = result.runs[0]
    assert run.log.extra_finals["raw_submission_bytes"] == 87_055_000
    assert "submission_bytes" not in run.final and "peak_memory_mib" not in run.final


# ---- importer edge cases found on the real record logs (3rd session) ----

def golf_log(seed=None, evals=range(0, 1001, 250), budget=1000, stop=True, finals=True, offset=0.0) -> str:
    """A synthetic parameter-golf trainer log: header, step evals, stop line, named finals."""
    head = "logs/run.txt\nmodel_params:4000\n" + (f"seed:{seed}\n" if seed is not None else "") + "warmup_step:1/2\n"
    body = "".join(f"step:{s}/{budget} val_loss:{4 - s / 500 + offset:.4f} val_bpb:{2.4 - s / 800 + offset:.4f} "
                   f"train_time:{s * 10}ms step_avg:10.00ms\n" for s in evals)
    last = max(evals)
    tail = f"stopping_early: wallclock_cap train_time:{last * 10}ms step:{last}/{budget}\n" if stop else ""
    if finals:
        tail += f"final_int8_zlib_roundtrip val_loss:{2.1 + offset:.4f} val_bpb:{1.3 + offset:.4f} eval_time:900ms\n"
    return head + body + tail


def test_final_evaluations_without_a_step_eval_are_a_run_without_a_curve():
    train = "".join(f"step:{s}/2000 train_loss:3.0 train_time:{s * 50}ms\n" for s in (1, 500, 1200))
    text = ("seed:5\n" + train + "final_int8_ttt_lora val_loss:2.3000 val_bpb:1.3600 eval_time:2000ms\n"
            "final_sliding_window val_loss:2.2000 val_bpb:1.3000 stride:64\n")
    result = parse_text(text, "ttt.log")
    assert result.error is None and not result.issues
    run = result.runs[0]
    assert run.evals == [] and run.seed == 5
    assert (run.final["quant_val_loss"], run.final["quant_val_bpb"]) == (2.3, 1.36)
    assert (run.final["steps"], run.final["train_time_s"]) == (1200, 60.0)  # the last timed training line
    assert "val_loss" not in run.final and "stopped_early" not in run.final
    assert run.log.notes[0] == "no step eval in the log: final evaluations only, no curve (left out of time to threshold)"
    assert run.log.extra_finals["final_sliding_window.val_bpb"] == 1.3


@pytest.mark.parametrize("text, cause", [
    ("".join(f"step:{s}/200 train_loss:3.0 train_time:{s}ms\n" for s in (1, 100, 200)) + "val_progress:5/600\n",
     "its step lines end at step 200 (training only: cut before its first evaluation?)"),
    ("W0419 torchrun banner\nTraceback (most recent call last):\n  File \"x.py\", line 1\nChildFailedError: \n",
     "it has a Python traceback at line 2"),
    ("# Summary\nval_bpb (pre-quant): 1.50\n", "it has no step line at all"),
])
def test_a_log_with_neither_step_evals_nor_final_evaluations_fails_naming_its_cause(text, cause):
    result = parse_text(text, "x.log")
    assert result.runs == [] and result.error.startswith("x.log: no eval line and no final evaluation (expected")
    assert result.error.endswith("; " + cause)


def test_a_log_that_simply_ends_is_marked_unfinished_not_stopped_early():
    cut = parse_text(golf_log(seed=1, evals=range(0, 401, 200), stop=False, finals=False)
                     + "step:500/1000 train_loss:2.9 train_time:5000ms\n", "cut.log").runs[0]
    assert [e["step"] for e in cut.evals] == [0, 200, 400] and cut.final["steps"] == 400
    assert cut.log.unfinished == "log ends at step 500 of 1000 without a stop line or final evaluation (unfinished?)"
    assert cut.log.unfinished in cut.log.notes and "stopped_early" not in cut.final
    # Not unfinished: a stop line, a final evaluation, or the last step at the budget.
    for text in (golf_log(seed=1, evals=range(0, 401, 200), finals=False),
                 golf_log(seed=1, evals=range(0, 401, 200), stop=False),
                 golf_log(seed=1, stop=False, finals=False)):
        run = parse_text(text, "done.log").runs[0]
        assert run.log.unfinished is None and run.final["stopped_early"] in (True, False)


def test_a_restarted_log_keeps_its_last_attempt_as_the_run_and_the_earlier_one_as_interrupted():
    first = golf_log(seed=3, evals=range(0, 501, 250), stop=False, finals=False, offset=0.5)
    text = first + "Runner interrupted due to worker preemption.\n" + golf_log(seed=3)
    run = parse_text(text, "pre.log").runs[0]
    restart_line = len(first.splitlines()) + 1 + 5  # the preemption line, 4 header lines, then step 0
    assert [e["step"] for e in run.evals] == [0, 250, 500, 750, 1000]
    assert run.evals[0]["val_loss"] == 4.0 and run.final["quant_val_loss"] == 2.1 and run.seed == 3
    assert [(e["attempt"], e["step"], e["val_loss"]) for e in run.log.earlier_evals] == [(1, 0, 4.5), (1, 250, 4.0), (1, 500, 3.5)]
    why = (f"the log starts over at line {restart_line} (step 0 after step 500): a restarted job; "
           "the attempt ends with 'Runner interrupted due to worker preemption.'")
    assert run.log.attempts == [{"attempt": 1, "outcome": "interrupted", "error": why},
                                {"attempt": 2, "outcome": "finished", "error": None}]
    assert f"attempt 1 of 2 (lines 1-{restart_line - 5}, to step 500, 3 evals) kept as an interrupted attempt: {why}" in run.log.notes
    assert [(e["attempt"], e["step"]) for e in run.log.stored_evals()][2:4] == [(1, 500), (2, 0)]
    # The step counter going back without the header again (a stray line) is no restart.
    stray = parse_text(golf_log(seed=3) + "step:5/1000 train_loss:3.0 train_time:50ms\n", "stray.log").runs[0]
    assert stray.log.attempts == [] and len(stray.evals) == 5


def test_seedless_logs_take_the_seed_from_the_file_name_or_a_distinct_negative_stand_in():
    text = golf_log()
    assert parse_text(text, "/logs/train_seed42.log").runs[0].seed == 42
    named = parse_text(text, "/logs/wide_s7.log").runs[0]
    assert named.seed == 7 and "no seed line in the log: seed 7 taken from the file name" in named.log.notes
    a, again, b = (parse_text(text, p).runs[0] for p in ("/logs/a/train.log", "/logs/a/train.log", "/logs/b/train.log"))
    assert a.seed < 0 and b.seed < 0 and a.seed == again.seed and a.seed != b.seed
    assert f"stored as seed {a.seed} (a stand-in derived from the file path" in a.log.notes[-1]
    assert parse_text(golf_log(seed=0), "/logs/train_s7.log").runs[0].seed == 0  # the log's own seed line wins


def test_collection_headers_without_seed_or_evals_are_said(tmp_path):
    """A bare `## b` is seed 0, but `## a` beside `## a-0` is not (it gets a negative stand-in, stable
    across imports); a run header with nothing under it is warned about instead of vanishing."""
    def section(name, offset):
        return f"## {name}\n\n" + "".join(
            f"step:{s}/100 val_loss:{4 - s / 100 + offset:.4f} train_time:{s * 100}ms step_avg:100.00ms\n"
            for s in (0, 50, 100)) + "\n"
    path = tmp_path / "results.md"
    path.write_text("# Results\n\n" + section("a-0", 0.001) + section("a", 0.002) + "## a-1\n\n\n"
                    + "## Notes\n\nprose only\n\n" + section("a-2", 0.003) + section("b", 0.004))
    result = parse_file(path)
    seeds = {run.header: run.seed for run in result.runs}
    assert list(seeds) == ["a-0", "a", "a-2", "b"] and (seeds["a-0"], seeds["a-2"], seeds["b"]) == (0, 2, 0)
    assert seeds["a"] < 0 and parse_file(path).runs[1].seed == seeds["a"]
    assert any("stand-in" in note for note in result.runs[1].log.notes)
    assert result.issues.lines() == [f"{path}: 1 run header without eval lines (first at line 15: "
                                     "'## a-1' has no eval line under it: no run imported)"]
