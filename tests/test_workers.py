"""Workers as real processes on a real store: concurrent claims, SIGKILL recovery, failing runs, and
the README's main job on a CPU, stopped by Ctrl-C and resumed by the same command.

Queue-only tests give the workers a stand-in trainer from tests/fake_trainer.py (`--train
fake_trainer:in_10ms`); the kill, Ctrl-C and failure tests train the tiny preset for real.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_for
from model.config import TrainConfig
from sweeper.spec import expand, load_spec
from sweeper.store import Store

REPO = Path(__file__).resolve().parent.parent
GOLF = [sys.executable, "-m", "cli"]
# A real tiny run of a few seconds: 6 steps, an eval every 2.
SHORT = dict(iterations=6, warmdown_iters=2, val_loss_every=2, train_log_every=1, val_max_tokens=4096,
             val_batch_size=4096, warmup_steps=0)


def _env(**extra) -> dict:
    # tests/ on the path: workers import the stand-in trainers of fake_trainer.py from there.
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}", "OMP_NUM_THREADS": "1", **extra}


def _golf(*args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([*GOLF, *args], cwd=cwd, env=env or _env(), capture_output=True, text=True,
                          timeout=timeout)


def _worker(url, name, *args, env=None, log=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sweeper.run.worker", "--db", url, "--name", name, *args],
                            cwd=REPO, env=env or _env(), stdout=log, stderr=subprocess.STDOUT)



def _write_spec(path: Path, name: str, variants: dict, seeds: int = 1) -> Path:
    path.write_text(json.dumps({"name": name, "base": "tiny", "seeds": seeds, "config": SHORT,
                                "threshold": {"metric": "val_loss", "value": 6.5}, "variants": variants}))
    return path


def _finished_attempts(store, run_id):
    return [a for a in store.run_detail(run_id)[2] if a["outcome"] == "finished"]


# ---- enqueue ----
def test_two_sweeps_enqueued_twice_add_nothing_and_keys_match_across_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    specs = [REPO / "ablations/remove_ve.yaml", REPO / "ablations/vr_ga.yaml"]
    for attempt in range(2):
        for spec in specs:
            out = _golf("sweep", str(spec), "--base", "tiny", "--seeds", "2", "--detach", "--db", url, cwd=tmp_path)
            assert out.returncode == 0, out.stderr
            assert ("(0 new)" in out.stdout) == (attempt == 1), out.stdout
    store = Store(url)
    for spec in specs:
        expansion = expand(load_spec(spec), "tiny", 2)  # this process: the keys must be the same
        name = expansion.plans[0].sweep + "-tiny"  # --base changed the spec's base
        assert sorted(r.key for r in store.list_runs(name)) == sorted(p.key for p in expansion.plans)
    assert store.status_counts() == {"remove_ve-tiny": {"queued": 24}, "vr_ga-tiny": {"queued": 8}}


# ---- concurrency ----
def test_four_workers_claim_200_runs_exactly_once(store_url, tmp_path):
    store = Store(store_url)
    config = TrainConfig.preset("tiny", iterations=2, val_loss_every=1)
    store.enqueue_many("q", [dict(variant=f"v{i % 10}", seed=i, key=f"k{i}", config=config.replace(seed=i).to_dict())
                             for i in range(200)])
    logs = [open(tmp_path / f"w{i}.log", "w+") for i in range(4)]
    procs = [_worker(store_url, f"w{i}", "--sweep", "q", "--exit-when-idle", "--poll", "0.2",
                     "--train", "fake_trainer:in_10ms", log=logs[i])
             for i in range(4)]
    assert [p.wait(timeout=240) for p in procs] == [0, 0, 0, 0]
    text = "".join(Path(f.name).read_text() for f in logs)
    assert "locked" not in text.lower() and "Traceback" not in text, text[-3000:]
    runs = store.list_runs("q")
    assert len(runs) == 200 and all(r.status == "finished" and r.attempts == 1 for r in runs)
    attempts = [a for r in runs for a in store.run_detail(r.id)[2]]
    assert len(attempts) == 200 and all(a["outcome"] == "finished" for a in attempts)
    by_worker = {w: sum(a["worker"] == w for a in attempts) for w in ("w0", "w1", "w2", "w3")}
    assert all(n > 0 for n in by_worker.values()), by_worker  # all four really competed
    curves = store.curves_frame("q")
    assert len(curves) == 400 and not curves.duplicated(["run_id", "step"]).any()


# ---- crash recovery (real training) ----
def test_sigkilled_worker_run_is_requeued_and_finished_elsewhere(store_url, tmp_path, golf_data_dir):
    store = Store(store_url)
    plans = [TrainConfig.preset("tiny", seed=s, **SHORT) for s in (0, 1)]
    store.enqueue_many("k", [dict(variant="base", seed=c.seed, key=c.run_key(), config=c.to_dict()) for c in plans])
    victim = _worker(store_url, "victim", "--sweep", "k", "--lease", "2", "--runs-dir", str(tmp_path / "runs"))
    first = lambda: store.list_runs("k", "running")
    wait_for(lambda: first() and len(store.run_detail(first()[0].id)[3]) >= 2, 120, "the victim's second eval")
    run_id = first()[0].id
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivor = _worker(store_url, "survivor", "--sweep", "k", "--lease", "2", "--exit-when-idle", "--poll", "0.3",
                       "--runs-dir", str(tmp_path / "runs"))
    assert survivor.wait(timeout=240) == 0
    assert all(r.status == "finished" for r in store.list_runs("k"))
    run, _, attempts, evals = store.run_detail(run_id)
    assert [(a["attempt"], a["outcome"], a["worker"]) for a in attempts] == [(1, "lost", "victim"),
                                                                            (2, "finished", "survivor")]
    assert len(_finished_attempts(store, run_id)) == 1
    partial = [e["step"] for e in evals if e["attempt"] == 1]
    assert partial and max(partial) < 6  # the killed attempt's curve stays, under attempt 1
    curves = store.curves_frame("k")
    mine = curves[curves.run_id == run_id]
    assert sorted(mine[mine.current].step) == [0, 2, 4, 6]
    assert not mine[mine.attempt == 1].current.any()  # marked as not the run's result


@pytest.mark.slow
def test_ctrl_c_then_same_command_resumes_without_duplicates(readme_main_job):
    # the README's main job, stopped by SIGINT once two runs finished and the next were training,
    # then resumed by the same command (conftest.py's readme_main_job)
    job = readme_main_job
    assert job.interrupted.returncode == 130, (job.interrupted.stdout, job.interrupted.stderr)
    assert "run the same command to resume" in job.interrupted.stderr
    assert job.out.returncode == 0, job.out.stderr[-3000:]
    assert "running" not in {status for status, _ in job.before.values()}  # every running run given back
    assert sum(status == "queued" for status, _ in job.before.values()) >= 1, job.before
    done_before = {i for i, (status, _) in job.before.items() if status == "finished"}
    assert len(done_before) >= 2
    store = Store(job.url)
    runs = store.list_runs("remove_ve-tiny")
    assert len(runs) == 12 and all(r.status == "finished" for r in runs)
    interrupted = 0
    for r in runs:
        _, _, attempts, evals = store.run_detail(r.id)
        assert len(_finished_attempts(store, r.id)) == 1
        if r.id in done_before:
            assert r.attempts == 1  # never run twice
        assert len(evals) >= job.before[r.id][1]  # rows of interrupted attempts are kept
        current = sorted(e["step"] for e in evals if e["attempt"] == r.attempts)
        assert current == [0, 10, 20, 30, 40], (r.id, current)
        assert all(a["outcome"] in ("finished", "interrupted") for a in attempts)
        interrupted += sum(a["outcome"] == "interrupted" for a in attempts)
    assert interrupted >= 1  # the run that was training when Ctrl-C came
    assert "remove_ve-tiny" in job.out.stdout  # the ranking table at the end


def test_failing_run_ends_failed_and_the_sweep_goes_on(tmp_path, golf_data_dir):
    spec = _write_spec(tmp_path / "f.yaml", "fails", {"baseline": {}, "nan": {"debug_nan_at_step": 3}})
    url = f"sqlite:///{tmp_path / 'r.db'}"
    out = _golf("sweep", str(spec), "--db", url, "--workers", "2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    store = Store(url)
    runs = {r.variant: r for r in store.list_runs("fails")}
    assert runs["baseline"].status == "finished"
    assert runs["nan"].status == "failed" and "non-finite training loss" in runs["nan"].error
    assert runs["nan"].attempts == 1  # a deterministic failure is not retried
    assert "1 run(s) failed" in out.stderr
    shown = _golf("show", runs["nan"].id, "--db", url, cwd=tmp_path)
    assert shown.returncode == 0 and "non-finite" in shown.stdout and "debug_nan_at_step" in shown.stdout
    listed = _golf("runs", "fails", "--status", "failed", "--db", url, cwd=tmp_path)
    assert runs["nan"].id in listed.stdout and runs["baseline"].id not in listed.stdout
    assert _golf("retry", runs["nan"].id, "--db", url, cwd=tmp_path).returncode == 0
    assert store.get_run(runs["nan"].id).status == "queued"
    assert _golf("cancel", "fails", "--db", url, cwd=tmp_path).returncode == 0
    assert store.status_counts("fails")["fails"] == {"finished": 1, "cancelled": 1}


@pytest.mark.slow
def test_readme_main_job_remove_ve_on_tiny(readme_main_job):
    # run once per session (conftest.py); its page is checked in test_html_report, its Ctrl-C above
    folder, url, out = readme_main_job.folder, readme_main_job.url, readme_main_job.out
    assert out.returncode == 0, out.stderr[-3000:]
    store = Store(url)
    runs = store.list_runs("remove_ve-tiny")
    assert len(runs) == 12 and all(r.status == "finished" for r in runs), [(r.variant, r.error) for r in runs]
    # the spec's tiny threshold: a real time-to-threshold ranking, every run crossing it late in training
    assert "no_table_2" in out.stdout and "val_loss <= 5.06, ranked by ttt_rmst_s" in out.stdout
    report = _golf("report", "remove_ve-tiny", "--db", url, "--format", "json", cwd=folder)
    rows = json.loads(report.stdout)
    assert len(rows) == 12 and all(r["runs"] == 1 and r["reached"] == 1 for r in rows)
    assert all(r["rank_key"] == "ttt_rmst_s" and r["ttt_rmst_s"] <= r["horizon_s"] for r in rows)
    # the README runs --seeds 2 (p-values); CI keeps 1 seed: a second would add ~3.5 min to its budget


def test_gpu_sized_base_on_cpu_asks_and_stores_nothing_without_yes(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    out = subprocess.run([*GOLF, "sweep", str(REPO / "ablations/vr_ga.yaml"), "--db", url], cwd=tmp_path,
                         env=_env(CUDA_VISIBLE_DEVICES=""), stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "GPU-sized preset" in out.stderr and "--yes" in out.stderr and "estimate:" in out.stdout
    assert Store(url).status_counts() == {}  # declined: nothing enqueued


def test_detached_sweep_is_run_by_golf_worker(tmp_path):
    spec = _write_spec(tmp_path / "d.yaml", "detached", {"baseline": {}, "vr": {"value_residual": True}}, seeds=2)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert _golf("sweep", str(spec), "--detach", "--db", url, cwd=tmp_path).returncode == 0
    out = _golf("worker", "--db", url, "--workers", "2", "--exit-when-idle", "--train", "fake_trainer:in_200ms",
                cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert Store(url).status_counts("detached") == {"detached": {"finished": 4}}
    status = _golf("status", "--db", url, cwd=tmp_path)
    assert "detached" in status.stdout and "4" in status.stdout


def test_cancel_stops_a_running_run_within_a_heartbeat(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    config = TrainConfig.preset("tiny", iterations=200, val_loss_every=50)
    store.enqueue_many("c", [dict(variant="base", seed=0, key="k", config=config.to_dict())])
    log = open(tmp_path / "w.log", "w+")
    worker = _worker(url, "w", "--sweep", "c", "--lease", "2", "--exit-when-idle", "--poll", "0.2",
                     "--train", "fake_trainer:in_60s", log=log)
    wait_for(lambda: store.status_counts("c").get("c", {}).get("running"), 60, "the run to start")
    started = time.monotonic()
    assert _golf("cancel", "c", "--db", url, cwd=tmp_path).returncode == 0
    assert worker.wait(timeout=30) == 0 and time.monotonic() - started < 30  # not the 60 s of training
    run = store.list_runs("c")[0]
    assert run.status == "cancelled" and store.run_detail(run.id)[2][0]["outcome"] == "cancelled"
    assert "no longer ours" in Path(log.name).read_text()


def test_bad_spec_is_named_and_changes_nothing_in_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    good = _write_spec(tmp_path / "good.yaml", "good", {"baseline": {}})
    assert _golf("sweep", str(good), "--db", url, "--detach", cwd=tmp_path).returncode == 0
    store = Store(url)
    before = [(r.id, r.status) for r in store.list_runs("good")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nbase: tiny\nvariants:\n  baseline: {}\n  deep: {remove_ve: [40]}\n")
    out = _golf("sweep", str(bad), "--db", url, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert f"{bad}:5: variant 'deep'" in out.stderr and "outside a model of 16 layers" in out.stderr
    assert store.get_sweep("bad") is None and not store.list_runs("bad")
    assert [(r.id, r.status) for r in store.list_runs("good")] == before


# ---- the worker with an injected train function, in this process ----
def test_worker_trains_with_the_train_function_it_is_given(tmp_path):
    from fake_trainer import instant
    from sweeper.run.worker import Worker, WorkerOptions

    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(url)
    configs = [TrainConfig.preset("tiny", seed=s, iterations=4, val_loss_every=2) for s in (0, 1)]
    store.enqueue_many("inj", [dict(variant="v", seed=c.seed, key=c.run_key(), config=c.to_dict()) for c in configs])
    seen = []

    def train(config, on_event, out_dir):
        seen.append((config, out_dir))
        return instant(config, on_event, out_dir)

    options = WorkerOptions(db=url, name="w", sweep="inj", exit_when_idle=True, poll_s=0.1, flush_s=0.05,
                            runs_dir=tmp_path / "runs")
    assert Worker(options, train=train).run() == 2
    assert [c for c, _ in seen] == configs  # the stored configs, in queue order
    assert all(out.parent.parent == tmp_path / "runs" / "inj" for _, out in seen)
    runs = store.list_runs("inj")
    assert all(r.status == "finished" and r.finals["val_loss"] is not None for r in runs)
    assert sorted(store.curves_frame("inj").step) == [2, 2, 4, 4]


def test_bad_train_path_is_one_clear_error(tmp_path):
    out = _golf("worker", "--db", f"sqlite:///{tmp_path / 'r.db'}", "--train", "no_such_module:train", cwd=tmp_path)
    assert out.returncode == 2 and "--train 'no_such_module:train': No module named 'no_such_module'" in out.stderr
