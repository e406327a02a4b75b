"""Log parsing for `golf import` on the real fixture logs (pure parsing; no store)."""

from collections import Counter
from pathlib import Path

import pytest

from sweeper.errors import GolfError
from sweeper.importer import parse_file, parse_text, sniff_format, variant_seed_from_header

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RESULTS = FIXTURES / "modded-nanogpt-value-embeddings" / "results.md"
TTEST = FIXTURES / "modded-nanogpt-value-embeddings" / "t-test-results.md"
GOLF_LOG = FIXTURES / "parameter-golf" / "naive-baseline-train.log"


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
    assert run.final["steps"] == 13780 and run.extra["total_steps"] == 20000
    assert run.final["train_time_s"] == pytest.approx(600.038)
    assert run.final["stopped_early"] is True
    assert run.final["val_bpb"] == pytest.approx(1.2172)
    assert run.final["quant_val_bpb"] == pytest.approx(1.22436570)
    assert run.final["artifact_bytes"] == 15_815_847  # the int8+zlib model, as golf's own runs count it
    assert run.extra["submission_bytes"] == 15_863_489  # + the script: parameter-golf's 16 MB total
    assert run.final["quant_val_loss"] == pytest.approx(2.07269931)
    assert run.final["step_avg_ms"] == pytest.approx(43.54)
    assert run.final["peak_memory_mib"] == 10184
    assert run.seed == 1337
    assert all(e["val_bpb"] is not None for e in run.evals)


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
    cut = "\n".join(lines[:last_eval]) + "\n" + lines[last_eval][:30]
    result = parse_text(cut, "cut.log")
    assert result.error is None and len(result.runs) == 1
    assert [i.line_no for i in result.issues] == [last_eval + 1]
    assert "cut.log:%d" % (last_eval + 1) in str(result.issues[0])
    run = result.runs[0]
    assert run.final["steps"] < 13780 and "quant_val_bpb" not in run.final
    assert run.final["stopped_early"] is False


def test_file_without_evals_is_an_error_for_that_file():
    noise = "\n".join(l for l in GOLF_LOG.read_text().splitlines() if "val_loss" not in l)
    result = parse_text(noise, "noeval.log", fmt="golf")
    assert result.runs == [] and "no eval line" in result.error


def test_variant_from_regex_and_header_rules():
    text = GOLF_LOG.read_text()
    r = parse_text(text, "/x/ve_add-3.log", variant_from=r"(?P<variant>.+)-(?P<seed>\d+)\.log")
    assert (r.runs[0].variant, r.runs[0].seed) == ("ve_add", 3)
    assert parse_text(text, "/x/other.txt", variant_from=r"(?P<variant>.+)-(?P<seed>\d+)\.log").error
    assert variant_seed_from_header("25 7") == ("25", 7)
    assert variant_seed_from_header("13-1") == ("13", 1)
    assert variant_seed_from_header("Old results") == ("Old results", 0)
    assert sniff_format("step:1/2 val_loss:3 train_time:1ms step_avg:1ms") == "modded"
    with pytest.raises(GolfError):
        parse_text(text, "a.log", fmt="csv")


def test_truncated_collection_keeps_partial_last_run():
    lines = RESULTS.read_text().splitlines()
    half = parse_text("\n".join(lines[: len(lines) // 2]), "half.md")
    assert half.error is None and not half.issues
    full = {r.header: r for r in parse_file(RESULTS).runs}
    last = half.runs[-1]
    assert 0 < len(last.evals) <= len(full[last.header].evals)
    assert [r.header for r in half.runs] == list(full)[: len(half.runs)]
    assert all(r.evals == full[r.header].evals for r in half.runs[:-1])


@pytest.mark.parametrize("keep", [34, 39])  # cut inside the number, or inside "bytes"
def test_summary_line_cut_mid_line_is_reported_not_guessed(keep):
    lines = GOLF_LOG.read_text().splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("Serialized model int8+zlib:"))
    cut = "\n".join(lines[:i] + [lines[i][:keep]])
    result = parse_text(cut, "cut.log")
    assert [str(x).split(" line:")[0] for x in result.issues] == [f"cut.log:{i + 1}: malformed 'Serialized model int8+zlib:'"]
    run = result.runs[0]
    assert "artifact_bytes" not in run.final and run.final["steps"] == 13780  # the stop line came before


def test_modded_log_file_with_noise_and_interleaved_train_lines():
    text = ("Running python 3.12\nstep:0/5960 val_loss:10.8258 train_time:0ms step_avg:0.02ms\n"
            "step:1/5960 train_time:231ms step_avg:231.45ms\nsome noise: 1\n"
            "step:125/5960 val_loss:4.3257 train_time:27923ms step_avg:223.38ms\n")
    result = parse_text(text, "/logs/baseline-2.txt", variant_from=r"(?P<variant>\w+)-(?P<seed>\d+)")
    assert result.format == "modded" and not result.issues
    run = result.runs[0]
    assert (run.variant, run.seed, run.header) == ("baseline", 2, None)
    assert [e["step"] for e in run.evals] == [0, 125] and run.evals[1]["val_bpb"] is None
    assert run.final == {"step_avg_ms": 223.38, "val_loss": 4.3257, "val_bpb": None, "steps": 125,
                         "train_time_s": 27.923, "stopped_early": False}
