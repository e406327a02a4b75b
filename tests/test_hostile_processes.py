"""Faults with real processes: SIGTERM and SIGHUP to the launchers, a launcher SIGKILLed under its
workers, a store whose disk fills up mid-sweep. Nothing may be left running, held or orphaned.

Training is a stand-in from tests/fake_trainer.py passed with --train (real worker processes and
store, synthetic events), so each test costs its processes' start-up, not training.
"""
import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import wait_for
from model.config import TrainConfig
from sweeper.store import Store

REPO = Path(__file__).resolve().parent.parent
GOLF = [sys.executable, "-m", "cli"]


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}", "OMP_NUM_THREADS": "1", **extra}
    env.pop("GOLF_DB", None)
    return env



def _children(pid: int) -> list[int]:
    """Live child processes of `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts as exited: it holds nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _counts(store: Store, sweep: str) -> dict:
    return store.status_counts(sweep).get(sweep, {})


def _spec(path: Path, name: str, seeds: int, iterations: int = 50) -> Path:
    # A smaller model than tiny: the sweep's start-up estimate times a few real steps of it.
    path.write_text(f"name: {name}\nbase: tiny\nseeds: {seeds}\nconfig: {{iterations: {iterations}, "
                    "val_loss_every: 1, num_layers: 2, model_dim: 32, train_batch_tokens: 1024}\n"
                    "variants:\n  baseline: {}\n")
    return path


def test_sigterm_to_golf_sweep_gives_runs_back_and_stops_its_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = _spec(tmp_path / "s.yaml", "term", seeds=3)
    sweep = subprocess.Popen([*GOLF, "sweep", str(spec), "--db", url, "--workers", "2",
                              "--train", "fake_trainer:in_120s"], cwd=tmp_path,
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    store = Store(url)
    wait_for(lambda: _counts(store, "term").get("running", 0) == 2, 240, "two running runs")
    workers = _children(sweep.pid)
    assert len(workers) == 2
    for pid in workers:  # the store URL travels in the environment, never in argv (`ps` shows argv)
        assert str(tmp_path / "r.db") not in Path(f"/proc/{pid}/cmdline").read_text()
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 128 + signal.SIGTERM, (out, err)
    assert "run the same command to resume" in err
    assert _counts(store, "term") == {"queued": 3}
    outcomes = [a["outcome"] for r in store.list_runs("term") for a in store.run_detail(r.id)[2]]
    assert sorted(outcomes) == ["interrupted", "interrupted"]  # given back, not left to lapse
    assert all(_gone(pid) for pid in workers)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=["SIGHUP", "launcher SIGKILLed"])
def test_golf_worker_signalled_or_killed_leaves_no_worker_and_no_held_run(sig, tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    config = TrainConfig.preset("tiny", iterations=50, val_loss_every=10)
    store.enqueue_many("w", [dict(variant="base", seed=0, key="k", config=config.to_dict())])
    launcher = subprocess.Popen([*GOLF, "worker", "--db", url, "--workers", "1", "--sweep", "w", "--exit-when-idle",
                                 "--train", "fake_trainer:in_120s"],
                                cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    wait_for(lambda: _counts(store, "w").get("running"), 180, "the run to start")
    workers = _children(launcher.pid)
    assert len(workers) == 1
    launcher.send_signal(sig)
    launcher.communicate(timeout=120)
    assert launcher.returncode == (128 + sig if sig != signal.SIGKILL else -sig)
    # Killed outright, the launcher releases nothing: the worker notices its death and gives the
    # run back itself, long before its 60 s lease could lapse.
    wait_for(lambda: _counts(store, "w") == {"queued": 1}, 60, "the run back in the queue")
    wait_for(lambda: all(_gone(pid) for pid in workers), 60, "the worker to exit")
    run = store.list_runs("w")[0]
    assert [a["outcome"] for a in store.run_detail(run.id)[2]] == ["interrupted"]


# ---- a store whose disk fills up ----
class _SmallDisk:
    """A folder whose writes can be made to fail: a 4 MiB tmpfs filled to the last byte where this
    test may mount one (root), else RLIMIT_FSIZE set on the worker processes (any write past one
    byte of a file fails with EFBIG; Python ignores the SIGXFSZ that comes with it)."""

    def __init__(self, root: Path):
        self.dir = root / "fs"
        self.dir.mkdir()
        self.kind = "rlimit"
        if os.geteuid() == 0 and os.environ.get("GOLF_TEST_DISK_FULL") != "rlimit":
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.dir)],
                                     capture_output=True)
            self.kind = "tmpfs" if mounted.returncode == 0 else "rlimit"

    def fill(self, pids: list[int]) -> None:
        if self.kind == "tmpfs":
            # Unbuffered: a buffered file would raise ENOSPC again when `with` closes (flushes) it.
            with open(self.dir / "filler", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
        else:
            for pid in pids:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, 1))

    def free(self) -> None:
        (self.dir / "filler").unlink(missing_ok=True)

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.dir)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    disk = _SmallDisk(tmp_path)
    try:
        yield disk
    finally:
        disk.close()


def test_full_disk_ends_the_sweep_saying_why_and_the_same_command_resumes(tmp_path, small_disk):
    url = f"sqlite:///{small_disk.dir / 'r.db'}"
    spec = _spec(tmp_path / "s.yaml", "full", seeds=2, iterations=200)
    sweep = subprocess.Popen([*GOLF, "sweep", str(spec), "--db", url, "--workers", "2", "--lease", "2",
                              "--train", "fake_trainer:in_60s"],
                             cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    store = Store(url)
    wait_for(lambda: all(r.live_step for r in store.live_runs("full") if r.status == "running")
              and _counts(store, "full").get("running") == 2, 240, "two runs writing evals")
    workers = _children(sweep.pid)
    small_disk.fill(workers)
    out, err = sweep.communicate(timeout=180)
    assert sweep.returncode == 1, (small_disk.kind, out, err)
    assert "2 run(s) of 'full' left unfinished" in err, err
    if small_disk.kind == "tmpfs":  # under RLIMIT_FSIZE the workers cannot write their logs either
        assert "last worker error: worker" in err and "cannot write to the store" in err, err
    assert "Traceback" not in err
    assert all(_gone(pid) for pid in workers)
    assert _counts(store, "full").get("finished", 0) == 0

    small_disk.free()
    again = subprocess.run([*GOLF, "worker", "--db", url, "--sweep", "full", "--exit-when-idle", "--workers", "1",
                            "--lease", "2", "--train", "fake_trainer:in_500ms"], cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _counts(store, "full") == {"finished": 2}
    for run in store.list_runs("full"):
        assert [a["outcome"] for a in store.run_detail(run.id)[2]].count("finished") == 1
