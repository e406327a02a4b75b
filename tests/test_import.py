"""`golf import` end to end: real fixture logs into a real SQLite store, idempotency, bad files."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.importer import import_paths

# Explicit, named skip until the store module lands (it is written in parallel).
store_module = pytest.importorskip("sweeper.store", reason="sweeper/store.py (Store) not present yet")
Store = store_module.Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VE = FIXTURES / "modded-nanogpt-value-embeddings"
GOLF_LOG = FIXTURES / "parameter-golf" / "naive-baseline-train.log"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'results.db'}")


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
    assert int(row["artifact_bytes"]) == 15_815_847
    assert row["step_avg_ms"] == pytest.approx(43.54) and bool(row["stopped_early"])
    assert row["source"] == "import" and int(row["seed"]) == 1337
    record, columns, _, evals = store.run_detail(row["run_id"])
    assert columns["source_path"] == str(GOLF_LOG.resolve())
    assert record.config["submission_bytes"] == 15_863_489 and record.config["total_steps"] == 20000
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


def test_bad_files_do_not_stop_good_ones(store, tmp_path):
    good = tmp_path / "logs" / "base-2.log"
    good.parent.mkdir()
    shutil.copy(GOLF_LOG, good)
    text = GOLF_LOG.read_text()
    (good.parent / "empty-1.log").write_text("\n".join(l for l in text.splitlines() if "val_loss" not in l))
    (good.parent / "crlf-3.log").write_bytes(text[: len(text) // 2].replace("\n", "\r\n").encode())
    summary = import_paths(store, "logs", [str(good.parent)], variant_from=r"(?P<variant>\w+)-(?P<seed>\d+)")
    assert summary.added == 2 and len(summary.errors) == 1 and "empty-1.log" in summary.errors[0]
    runs = store.runs_frame("logs")
    assert sorted(zip(runs["variant"], runs["seed"].astype(int))) == [("base", 2), ("crlf", 3)]


def test_cli_prints_summary_and_is_idempotent(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    cmd = [sys.executable, str(REPO / "cli.py"), "import", str(VE / "t-test-results.md"), "--sweep", "t", "--db", db]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr
    assert "runs:65 added:65" in first.stdout and "skipped_lines:1" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert "added:0 replaced:0 unchanged:65" in second.stdout


def test_cli_reports_skipped_line_and_bad_file_then_summary(tmp_path):
    lines = GOLF_LOG.read_text().splitlines()
    last_eval = max(i for i, l in enumerate(lines) if l.startswith("step:") and "val_loss" in l)
    cut = tmp_path / "cut.log"
    cut.write_text("\n".join(lines[:last_eval]) + "\n" + lines[last_eval][:30])
    (tmp_path / "noeval.log").write_text("nothing to see\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    r = subprocess.run([sys.executable, str(REPO / "cli.py"), "import", str(cut), str(tmp_path / "noeval.log"),
                        "--sweep", "cut", "--db", db], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert f"skipped {cut.resolve()}:{last_eval + 1}: malformed step line: 'step:13780/20000 val_loss:2.06'" in r.stderr
    assert f"error: {(tmp_path / 'noeval.log').resolve()}: no eval line" in r.stderr
    assert "runs:1 added:1 replaced:0 unchanged:0 evals:69 skipped_lines:1 errors:1" in r.stdout
    only_bad = subprocess.run([sys.executable, str(REPO / "cli.py"), "import", str(tmp_path / "noeval.log"),
                               "--sweep", "cut", "--db", db], capture_output=True, text=True, cwd=REPO)
    assert only_bad.returncode == 2 and "runs:0" in only_bad.stdout
