"""`golf import` end to end: real fixture logs and synthetic ones into a real SQLite store:
idempotency, grown live logs, duplicate logs as aliases, folder walking, the CLI summary, and
`golf report` on what was imported."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pandas as pd

from sweeper.importer import import_paths
from sweeper.report.notebook import load as load_results
from sweeper.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VE = FIXTURES / "modded-nanogpt-value-embeddings"
GOLF_LOG = FIXTURES / "parameter-golf" / "naive-baseline-train.log"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'results.db'}")


def golf(*args):
    # Wide enough that rich does not fold the long temporary paths inside table cells.
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *args], capture_output=True, text=True, cwd=REPO, env=env)


def test_collections_import_with_expected_run_counts(store):
    summary = import_paths(store, "ve", [str(VE / "results.md")])
    assert (summary.added, summary.errors) == (57, [])
    assert len(store.runs_frame("ve")) == 57
    summary = import_paths(store, "ttest", [str(VE / "t-test-results.md")])
    counts = store.runs_frame("ttest")["variant"].value_counts().to_dict()
    assert counts == {"26": 37, "25": 28}
    assert summary.evals == len(store.curves_frame("ttest"))


def test_naive_baseline_final_metrics_in_store(store):
    import_paths(store, "pg", [str(GOLF_LOG)])
    runs = store.runs_frame("pg")
    assert len(runs) == 1
    row = runs.iloc[0]
    assert int(row["num_params"]) == 17_059_912
    assert int(row["steps"]) == 13780
    assert row["train_time_s"] == pytest.approx(600.038)
    assert row["val_bpb"] == pytest.approx(1.2172)
    assert row["quant_val_bpb"] == pytest.approx(1.22436570)
    assert row["quant_val_loss"] == pytest.approx(2.07269931)
    assert int(row["artifact_bytes"]) == 15_815_847 and int(row["submission_bytes"]) == 15_863_489
    assert row["step_avg_ms"] == pytest.approx(43.54) and bool(row["stopped_early"])
    assert row["source"] == "import" and int(row["seed"]) == 1337
    record, columns, _, evals = store.run_detail(row["run_id"])
    assert columns["source_path"] == str(GOLF_LOG.resolve())
    extra = json.loads(columns["extra_finals"])
    assert extra["total_steps"] == 20000 and extra["code_bytes"] == 47642 and extra["stop_reason"] == "wallclock_cap"
    assert record.config["import_format"] == "golf"
    assert len(evals) == 70 and evals[-1]["val_bpb"] == pytest.approx(1.2172)


def test_reimport_adds_nothing_and_changed_run_replaces_only_it(store, tmp_path):
    copy = tmp_path / "results.md"
    shutil.copy(VE / "results.md", copy)
    assert import_paths(store, "ve", [str(copy)]).added == 57
    again = import_paths(store, "ve", [str(copy)])
    assert (again.added, again.replaced, again.unchanged, again.evals) == (0, 0, 57, 0)
    # Drop the last eval of the first run: only that run re-imports.
    lines = copy.read_text().splitlines(keepends=True)
    start = lines.index("## 1\n")
    del lines[start - 2]
    copy.write_text("".join(lines))
    changed = import_paths(store, "ve", [str(copy)])
    assert (changed.added, changed.replaced, changed.unchanged) == (0, 1, 56)
    assert len(store.runs_frame("ve")) == 57


def test_live_log_that_grew_adds_only_its_new_evals(store, tmp_path):
    lines = GOLF_LOG.read_text().splitlines(keepends=True)
    half = next(i for i, l in enumerate(lines) if l.startswith("step:6000/20000 val_loss"))
    live = tmp_path / "live.log"
    live.write_text("".join(lines[: half + 1]))
    first = import_paths(store, "live", [str(live)])
    stored = store.curves_frame("live")
    live.write_text("".join(lines))
    grown = import_paths(store, "live", [str(live)])
    assert (first.evals, grown.outcomes["grown"], grown.evals) == (31, 1, 70 - 31)
    curve = store.curves_frame("live").sort_values("step")
    assert len(curve) == 70 and curve["step"].is_unique
    assert curve.head(31)["val_loss"].tolist() == stored.sort_values("step")["val_loss"].tolist()
    assert store.runs_frame("live").iloc[0]["quant_val_bpb"] == pytest.approx(1.22436570)  # finals updated too


def test_duplicate_logs_import_once_with_an_alias(store, tmp_path):
    record = tmp_path / "record"
    record.mkdir()
    shutil.copy(GOLF_LOG, record / "train.log")
    # The same run with other noise lines and CRLF endings is the same run.
    text = GOLF_LOG.read_text().replace("NCCL version", "NCCL build")
    (record / "train_seed1337.log").write_bytes(text.replace("\n", "\r\n").encode())
    (record / "README.md").write_text("# A record\n\nval_bpb 1.22\n")
    summary = import_paths(store, "dup", [str(record)])
    assert (summary.added, summary.outcomes["alias"], summary.skipped) == (1, 1, [str(record / "README.md")])
    run = store.list_runs("dup")[0]
    assert run.config["aliases"] == [str((record / "train_seed1337.log").resolve())]
    again = import_paths(store, "dup", [str(record)])
    assert (again.unchanged, again.outcomes["alias"], again.evals) == (1, 1, 0)
    assert len(store.list_runs("dup")) == 1 and store.list_runs("dup")[0].config == run.config


def test_bad_files_do_not_stop_good_ones(store, tmp_path):
    good = tmp_path / "logs" / "base-2.log"
    good.parent.mkdir()
    shutil.copy(GOLF_LOG, good)
    text = GOLF_LOG.read_text()
    (good.parent / "empty-1.log").write_text("\n".join(l for l in text.splitlines() if "val_loss" not in l))
    (good.parent / "crlf-3.log").write_bytes(text[: len(text) // 2].replace("\n", "\r\n").encode())
    summary = import_paths(store, "logs", [str(good.parent)], variant_from=r"(?P<variant>\w+)-(?P<seed>\d+)")
    assert summary.added == 2 and len(summary.errors) == 1 and "empty-1.log: no eval line" in summary.errors[0]
    runs = store.runs_frame("logs")
    assert sorted(zip(runs["variant"], runs["seed"].astype(int))) == [("base", 2), ("crlf", 3)]


def test_cli_walks_a_folder_prints_warnings_and_summary_and_is_idempotent(tmp_path):
    logs = tmp_path / "logs" / "deeper"
    logs.mkdir(parents=True)
    lines = GOLF_LOG.read_text().splitlines()
    last_eval = max(i for i, l in enumerate(lines) if l.startswith("step:") and "val_loss" in l)
    (logs / "cut.log").write_text("\n".join(lines[:last_eval]) + "\n" + lines[last_eval][:30])
    (logs.parent / "noeval.log").write_text("nothing to see\n")
    shutil.copy(VE / "t-test-results.md", logs.parent / "collection.md")
    (logs / "train_gpt.py").write_text("print('not a log')\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    first = golf("import", str(tmp_path / "logs"), "--sweep", "mix", "--db", db)
    assert first.returncode == 0, first.stderr
    err = " ".join(first.stderr.split())
    assert f"warning: {(logs / 'cut.log').resolve()}: 1 unreadable line (first at line {last_eval + 1}: cut mid-line" in err
    assert f"error: {(logs.parent / 'noeval.log').resolve()}: no eval line" in err
    out = [" ".join(l.split()) for l in first.stdout.splitlines()]
    assert "files read 3" in out and "runs 66 added 66" in out and "runs with curves 66 two or more evals" in out
    assert "warnings 1 in 1 file(s)" in out and "failures 1 files that gave no run" in out
    assert "failures" in out and any("noeval.log" in l and "no eval line and no final evaluation (expected" in l for l in out)
    second = golf("import", str(tmp_path / "logs"), "--sweep", "mix", "--db", db)
    assert "runs 66 unchanged 66" in [" ".join(l.split()) for l in second.stdout.splitlines()]
    only_bad = golf("import", str(logs.parent / "noeval.log"), "--sweep", "mix", "--db", db)
    assert only_bad.returncode == 2 and "failures 1" in " ".join(only_bad.stdout.split())


def test_report_copes_with_step_only_and_diverged_imports(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for seed in range(2):
        for variant, offset in (("base", 0.0), ("wide", -0.1)):
            steps_only = "".join(f"{s}/800 val_loss: {4 - s / 400 + offset + seed / 100:.4f} val_bpb: 2.0\n"
                                 for s in range(0, 801, 100))
            (logs / f"{variant}-{seed}.log").write_text(steps_only)
    diverged = "".join(f"step:{s}/800 val_loss:{4 - s / 400:.4f} train_time:{s * 10}ms step_avg:10ms\n"
                       for s in range(0, 701, 100))
    (logs / "nan-0.log").write_text(diverged + "step:800/800 val_loss:nan train_time:8000ms step_avg:10ms\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    imported = golf("import", str(logs), "--sweep", "old", "--db", db, "--variant-from", r"(?P<variant>\w+)-(?P<seed>\d+)")
    assert imported.returncode == 0 and "1 non-finite value" in imported.stderr
    for by in ("time", "steps", "final"):
        report = golf("report", "old", "--threshold", "2.5", "--by", by, "--db", db)
        assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
        assert "wide" in report.stdout and "nan" in report.stdout


def test_report_without_threshold_ranks_by_final_metric(tmp_path):
    """An imported collection has no threshold: `golf report` ranks it by final val_loss (and says so)
    instead of refusing; time-to-threshold rankings still ask for one."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert golf("import", str(VE / "t-test-results.md"), "--sweep", "tt", "--db", db).returncode == 0
    report = golf("report", "tt", "--db", db, "--format", "json", "--plot", str(tmp_path / "c.png"))
    assert report.returncode == 0, report.stderr
    assert "has no threshold, so it is ranked by its final val_loss" in report.stderr
    rows = json.loads(report.stdout)
    assert [r["rank_key"] for r in rows] == ["final_mean", "final_mean"]
    means = [r["final_mean"] for r in rows]
    assert means == sorted(means) and (tmp_path / "c.png").stat().st_size > 10_000
    table = golf("report", "tt", "--db", db)
    assert "tt: ranked by final val_loss (no threshold)" in table.stdout
    assert "no threshold, so no time-to-threshold" in table.stdout and "reached" not in table.stdout
    refused = golf("report", "tt", "--db", db, "--by", "steps")
    assert refused.returncode == 2 and "--by steps ranks by time-to-threshold" in refused.stderr


def test_edge_case_logs_import_and_the_report_and_show_say_what_they_are(tmp_path):
    from tests.test_logparse import golf_log

    logs = tmp_path / "logs"
    logs.mkdir()
    for name, text in {
        "base_a.log": golf_log(seed=1), "base_b.log": golf_log(seed=2, offset=0.02),
        "wide_a.log": golf_log(seed=1, offset=-0.1),
        "wide_cut.log": golf_log(seed=3, evals=range(0, 501, 250), stop=False, finals=False, offset=-0.1),
        "wide_finals.log": "seed:4\nstep:900/1000 train_loss:3.0 train_time:9000ms\n"
                           "final_int8_zlib_roundtrip val_loss:1.9000 val_bpb:1.1000\n",
        "wide_restart.log": golf_log(seed=5, evals=range(0, 501, 250), stop=False, finals=False)
                            + "Runner interrupted due to worker preemption.\n" + golf_log(seed=5, offset=-0.12),
        # two seedless logs of one variant (other curves) and a byte copy of one of them
        "base_x.log": golf_log(offset=0.04), "base_y.log": golf_log(offset=0.06), "base_y_copy.log": golf_log(offset=0.06),
    }.items():
        (logs / name).write_text(text)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    imported = golf("import", str(logs), "--sweep", "edge", "--db", db, "--variant-from", r"^(?P<variant>[a-z]+)_")
    assert imported.returncode == 0, imported.stderr
    out = [" ".join(l.split()) for l in imported.stdout.splitlines()]
    assert "runs 9 added 8, alias 1" in out and "failures 0 files that gave no run" in out, out

    store = Store(db)
    runs = store.runs_frame("edge").set_index(store.runs_frame("edge")["import_key"].str.rsplit("/", n=1).str[-1])
    seeds = runs["seed"].astype(int)
    assert seeds["base_x.log"] < 0 and seeds["base_y.log"] < 0 and seeds["base_x.log"] != seeds["base_y.log"]
    assert "base_y_copy.log" not in runs.index  # same content: an alias of base_y, not a third run
    restart = runs.loc["wide_restart.log"]
    assert int(restart["attempts"]) == 2 and restart["quant_val_loss"] == pytest.approx(1.98)
    curves = store.curves_frame("edge")
    mine = curves[curves["run_id"] == restart["run_id"]]
    assert (mine["attempt"] == 1).sum() == 3 and mine.loc[mine["current"], "step"].tolist() == [0, 250, 500, 750, 1000]
    assert pd.isna(runs.loc["wide_cut.log", "stopped_early"]) and json.loads(runs.loc["wide_cut.log", "config"])["unfinished"]
    assert runs.loc["wide_finals.log", "status"] == "finished"

    report = golf("report", "edge", "--threshold", "3.3", "--db", db)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
    text = " ".join((report.stdout + report.stderr).split())
    assert ("warning: wide_cut.log: log ends at step 500 of 1000 without a stop line or final evaluation "
            "(unfinished?): its curve counts up to its last eval (censored there if it never reached the threshold), "
            "and its final val_loss is that eval's, not a finished run's") in text
    assert "warning: wide_finals.log has no eval curve (final evaluations only): left out of time to threshold" in text
    assert "wide_restart.log" not in text  # its earlier attempt is no duplicate and no warning
    results = load_results("edge", db)
    summary = results.report(3.3).set_index("variant")
    assert (summary.loc["wide", "runs"], summary.loc["base", "runs"]) == (4, 4)
    assert [w.split(":")[0] for w in results.warnings] == ["wide_cut.log", "wide_finals.log has no eval curve (final evaluations only)"]
    by_quant = results.report(3.3, final="quant").attrs["warnings"]
    assert by_quant[0].endswith("and it has no quant_val_loss (left out of the final comparison)")
    assert by_quant[1].endswith("left out of time to threshold, ranked by its final quant_val_loss only")

    show = golf("show", restart["run_id"], "--db", db)
    assert show.returncode == 0, show.stderr
    shown = " ".join(show.stdout.split())
    assert "interrupted" in shown and "the log starts over at line" in shown and "attempts 2" in shown
