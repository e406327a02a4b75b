"""The live view's and `golf runs`' table on a narrow terminal: what matters stays whole."""
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from sweeper.run.live_view import runs_table
from sweeper.store import LiveRun

REPO = Path(__file__).resolve().parent.parent


def _run(i: int, variant: str, status: str, **kw) -> LiveRun:
    base = dict(id=f"{i:012x}", variant=variant, seed=i % 3, status=status, attempts=1, worker="w0",
                device="cpu x1", started_at=None, finished_at=None, error=None, live_step=None,
                live_total_steps=None, live_train_loss=None, live_train_time_s=None, train_time_s=None,
                val_loss=None, latest_val_loss=None)
    return LiveRun(**{**base, **kw})


RUNS = [_run(1, "no_ve_-1_shift_early", "running", live_step=120, live_total_steps=400, live_train_time_s=30.0,
             latest_val_loss=4.2345),
        _run(2, "value_residual_gated", "finished", live_step=400, live_total_steps=400, train_time_s=95.0,
             val_loss=3.8765),
        _run(3, "baseline", "failed", error="Traceback ...\nRuntimeError: CUDA out of memory while allocating")]


def _render(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(runs_table(RUNS, title="s", width=width))
    return console.export_text()


def test_at_80_columns_variant_seed_status_step_and_val_loss_stay_whole():
    text = _render(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    for expected in ("no_ve_-1_shift_early", "value_residual_gated", "baseline", "running", "finished", "failed",
                     "120/400", "400/400", "4.2345", "3.8765"):
        assert expected in text, (expected, text)
    assert RUNS[0].id not in text  # the run id only where there is room


def test_wide_terminal_shows_run_ids_devices_and_errors():
    text = _render(200)
    assert RUNS[0].id in text and "cpu x1" in text and "CUDA out of memory" in text


def test_golf_runs_shows_an_imported_runs_last_step_over_its_budget(tmp_path):
    """An imported run has no live progress; its step column shows the log's last step / N of N/M."""
    log = REPO / "tests/fixtures/parameter-golf/naive-baseline-train.log"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    golf = [sys.executable, "-m", "cli"]
    subprocess.run(golf + ["import", str(log), "--sweep", "pg", "--db", db], check=True, capture_output=True, cwd=REPO)
    out = subprocess.run(golf + ["runs", "pg", "--db", db], capture_output=True, text=True, check=True, cwd=REPO,
                         env={**os.environ, "COLUMNS": "100"}).stdout
    assert "13780/20000" in out, out


def test_golf_show_at_80_columns_keeps_attempt_times_on_one_line(tmp_path):
    """A run that failed once and then finished: both attempts' times whole (they folded over three
    lines each), the earlier attempt's error in full under the table, no empty ppm column."""
    from sweeper.run.show_view import show_run
    from sweeper.store import Store
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.enqueue_many("s", [dict(variant="baseline", seed=0, key="k", config={"iterations": 40})])
    first = store.claim("vm-1234-cpu1")
    store.add_evals(first.id, 1, [{"step": 0, "train_time_s": 0.0, "val_loss": 6.9}])
    store.fail_attempt(first.id, 1, "RuntimeError: non-finite training loss at step 3")
    second = store.claim("vm-1234-cpu1")
    store.add_evals(second.id, 2, [{"step": s, "train_time_s": s / 2, "val_loss": 7 - s / 20, "val_bpb": 3 - s / 50}
                                   for s in (0, 20, 40)])
    store.finish_run(second.id, 2, {"val_loss": 5.0, "steps": 40})
    console = Console(width=80, record=True, color_system=None)
    console.print(show_run(*store.run_detail(first.id)))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    attempts = text[text.index("\nattempts"):text.index("\ncurve")]
    day = store.run_detail(first.id)[1]["created_at"][:10]
    assert attempts.count(day + " ") == 2, attempts  # "2026-11-29 13:22:48", not folded
    assert "attempt 1 (failed): RuntimeError: non-finite training loss at step 3" in text
    assert "ppm_val_bpb" not in text and "val_bpb" in text


def test_runs_that_end_between_two_polls_are_numbered_one_by_one(tmp_path):
    """Seen in an --adaptive sweep's log: two runs ending in one poll both printed as [4/4]."""
    from sweeper.run.live_view import SweepWatcher
    from sweeper.store import Store
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.enqueue_many("s", [dict(variant="v", seed=i, key=f"k{i}", config={}) for i in range(4)])
    console = Console(width=120, record=True, color_system=None)
    watcher = SweepWatcher(store, "s", console)
    watcher._log_changes(store.live_runs("s"))
    for _ in range(2):
        run = store.claim("w")
        store.finish_run(run.id, 1, {"val_loss": 5.0})
    watcher._log_changes(store.live_runs("s"))
    lines = console.export_text().splitlines()
    assert [line.split("]")[0] for line in lines] == ["[1/4", "[2/4"], lines
