"""The Ray launcher on a real local Ray cluster: a Ray worker process killed mid-run, Ctrl-C to
`golf sweep --launcher ray`, and the local path that must never import Ray.

One cluster serves the whole file (Ray takes ~10 s to start). Training is a 3-second stand-in
from tests/fake_trainer.py, passed to the launcher by import path (tests/ is on PYTHONPATH before
`ray.init`, so every Ray worker can import it); the store, the worker processes, Ray's task
retries and the kills are real.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import sigint_as_a_terminal_sends_it, wait_for
from model.config import TrainConfig
from sweeper.run.ray_launcher import RayLauncher, absolute_db_url
from sweeper.store import Store

ray = pytest.importorskip("ray", reason="Ray is a test dependency: pip install -e '.[test]'")

REPO = Path(__file__).resolve().parent.parent
TRAIN = "fake_trainer:in_3s"
PYTHONPATH = f"{REPO}{os.pathsep}{REPO / 'tests'}"
# 12 steps, an eval every 3: evals reach the store about every 0.75 s of a 3 s run.
SHORT = dict(iterations=12, val_loss_every=3)


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster for this file; yields its address for other drivers (the CLI)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = PYTHONPATH  # inherited by the cluster's worker processes
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 ** 2)
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _enqueue(store: Store, sweep: str, n: int) -> list[str]:
    configs = [TrainConfig.preset("tiny", seed=s, **SHORT) for s in range(n)]
    store.enqueue_many(sweep, [dict(variant="base", seed=c.seed, key=c.run_key(), config=c.to_dict()) for c in configs])
    return [r.id for r in store.list_runs(sweep)]



def _running_with_evals(store: Store, sweep: str):
    """A run that is running and has written at least one eval row (so it is really mid-run)."""
    return next((r for r in store.list_runs(sweep, "running") if len(store.run_detail(r.id)[3]) >= 1), None)


def _outcomes(store: Store, run_id: str) -> list[tuple[int, str]]:
    return [(a["attempt"], a["outcome"]) for a in store.run_detail(run_id)[2]]


def test_ctrl_c_gives_runs_back_and_a_new_launcher_resumes(ray_address, tmp_path):
    """SIGINT to `golf sweep --launcher ray` (joining the running cluster) cancels the tasks; each
    gives its run back. Resuming trains only what was left, once. (First in the file: the resume
    warms this process's Ray workers for the tests after it.)"""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = tmp_path / "s.yaml"
    spec.write_text('{"name": "rayc", "base": "tiny", "seeds": 1, "config": {"iterations": 12, "val_loss_every": 3},'
                    ' "threshold": {"metric": "val_loss", "value": 6.5}, "variants": {"baseline": {}, "ga": {"gated_attention": true}}}')
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    sweep = subprocess.Popen([sys.executable, "-m", "cli", "sweep", str(spec), "--db", url, "--launcher", "ray",
                              "--ray-address", ray_address, "--lease", "30", "--yes", "--train", TRAIN],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=sigint_as_a_terminal_sends_it)
    store = wait_for(lambda: (tmp_path / "r.db").exists() and Store(url), 90, "the store")
    wait_for(lambda: store.get_sweep("rayc") and _running_with_evals(store, "rayc"), 90, "a run mid-training")
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, (out, err)
    assert "Ray (" in out and "run the same command to resume" in err
    runs = store.list_runs("rayc")
    assert len(runs) == 2 and not [r for r in runs if r.status == "running"]
    # Given back by the cancelled tasks themselves (ray.cancel -> SIGINT in the task), not by the
    # launcher's clean-up after them, nor by a lease expiry (30 s).
    last = [store.run_detail(r.id)[2][-1] for r in runs if r.status == "queued" and r.attempts]
    assert last and all((a["outcome"], a["error"]) == ("interrupted", "worker interrupted (SIGINT/SIGTERM)")
                        for a in last), last

    finished_before = {r.id for r in runs if r.status == "finished"}
    again = RayLauncher(url, "rayc", lease_s=2, poll_s=0.2, runs_dir=tmp_path / "runs", train=TRAIN)
    again.start()
    assert again.wait() == [0] * len(again.results)
    assert set(again.results) == {r.id for r in runs} - finished_before
    for run in store.list_runs("rayc"):
        assert run.status == "finished"
        outcomes = _outcomes(store, run.id)
        assert [o for o in outcomes if o[1] == "finished"] == [(run.attempts, "finished")]
        assert all(o == "interrupted" for _, o in outcomes[:-1])


def test_killed_ray_worker_run_finishes_exactly_once(ray_address, store_url, tmp_path):
    store = Store(store_url)
    run_ids = _enqueue(store, "ray", 4)
    launcher = RayLauncher(store_url, "ray", lease_s=3, poll_s=0.2, runs_dir=tmp_path / "runs", train=TRAIN)
    launcher.start()
    victim = wait_for(lambda: _running_with_evals(store, "ray"), 90, "a run mid-training")
    pid = int(victim.worker.rsplit("-", 1)[1])  # worker names end with the Ray worker's pid
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)

    assert launcher.wait() == [0, 0, 0, 0]  # Ray retried the killed task; none gave up
    assert launcher.results == {run_id: "finished" for run_id in run_ids}
    for run in store.list_runs("ray"):
        assert run.status == "finished"
        outcomes = _outcomes(store, run.id)
        assert [o for o in outcomes if o[1] == "finished"] == [(run.attempts, "finished")]  # exactly once
    run, _, attempts, evals = store.run_detail(victim.id)
    assert (attempts[0]["outcome"], attempts[0]["worker"]) == ("lost", victim.worker)
    assert attempts[-1]["worker"] != victim.worker  # the retried task ran in another process
    partial = [e["step"] for e in evals if e["attempt"] == 1]
    assert partial and max(partial) < 12  # the killed attempt's curve is kept, under attempt 1


def test_adaptive_sweep_on_ray_submits_the_seeds_the_policy_adds(ray_address, tmp_path):
    """`golf sweep --adaptive --launcher ray`: the policy enqueues seeds while the sweep runs and the
    launcher submits a task for each. The fake trainer's loss depends on the steps and the seed
    only, so 'short' (half the steps) is decided worse at 2 seeds and 'same' (same loss, evals
    elsewhere) stays undecided to max (3), with the baseline beside it."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = tmp_path / "a.yaml"
    spec.write_text('{"name": "raya", "base": "tiny", "config": {"iterations": 12, "val_loss_every": 3, "num_layers": 2,'
                    ' "train_batch_tokens": 2048},'
                    ' "seeds": {"min": 2, "max": 3, "until": "decided", "baseline_ratio": 1},'
                    ' "variants": {"baseline": {}, "short": {"iterations": 6}, "same": {"val_loss_every": 4}}}')
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "COLUMNS": "250"}
    done = subprocess.run([sys.executable, "-m", "cli", "sweep", str(spec), "--db", url, "--launcher", "ray",
                           "--ray-address", ray_address, "--yes", "--train", "fake_trainer:in_500ms"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ray (" in done.stdout and "short: worse after 2 seeds" in done.stdout
    seeds = {}
    for run in Store(url).list_runs("raya"):
        assert run.status == "finished" and run.attempts == 1, run
        seeds.setdefault(run.variant, []).append(run.seed)
    assert {v: sorted(s) for v, s in seeds.items()} == {"baseline": [0, 1, 2], "short": [0, 1], "same": [0, 1, 2]}


def test_relative_sqlite_url_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_db_url("sqlite:///results.db") == f"sqlite:///{tmp_path / 'results.db'}"
    assert absolute_db_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"


def test_local_launcher_never_imports_ray_and_missing_ray_is_a_clear_error(tmp_path):
    code = """
import sys
import cli, sweeper.run.local_launcher, sweeper.run.worker, sweeper.run.ray_launcher
assert 'ray' not in sys.modules, 'ray imported'
sys.modules['ray'] = None  # as if Ray were not installed
from sweeper.errors import GolfError
try:
    sweeper.run.ray_launcher.RayLauncher('sqlite:///r.db', 's').connect()
except GolfError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'golf[ray]'" in out.stdout
