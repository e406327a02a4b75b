"""Shared test set-up: CPU only, one thread, so tests are fast and deterministic on 2 cores."""

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


@pytest.fixture(scope="session")
def golf_data_dir(tmp_path_factory):
    """One prepared default corpus per test session; subprocesses inherit GOLF_DATA_DIR."""
    from model.config import TrainConfig
    from model.data import resolve_data
    d = tmp_path_factory.mktemp("golf_data")
    os.environ["GOLF_DATA_DIR"] = str(d)
    resolve_data(TrainConfig())
    return d


@dataclass
class MainJob:
    """The README's main job as readme_main_job ran it: interrupted once, then resumed."""
    folder: Path
    url: str
    interrupted: subprocess.CompletedProcess  # the first `golf sweep`, stopped by SIGINT
    before: dict  # run id -> (status, eval rows) right after the interrupt
    out: subprocess.CompletedProcess  # the same command again, run to the end


@pytest.fixture(scope="session")
def readme_main_job(tmp_path_factory, golf_data_dir) -> MainJob:
    """The README's main job, run once per session for every test that reads it (the ranking, the
    sweep's HTML page, Ctrl-C and resume): `golf sweep ablations/remove_ve.yaml --base tiny --seeds 1
    --yes`, 12 real tiny runs on one worker per core (~3.5 min on 2 cores). One seed, not the README's
    2: a second would add another ~3.5 min to CI. As the README says a person may, it is stopped with
    Ctrl-C once two runs finished and the next are training, then the same command resumes it: the
    interrupt costs the two fresh runs' first seconds, not a sweep of its own.
    A test that adds runs works on a copy of the store, so the others see the job as it ended."""
    import sys
    from sweeper.store import Store
    repo = Path(__file__).resolve().parent.parent
    folder = tmp_path_factory.mktemp("readme_main_job")
    url = f"sqlite:///{folder / 'results.db'}"
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    env.pop("GOLF_DB", None)
    command = [sys.executable, "-m", "cli", "sweep", str(repo / "ablations/remove_ve.yaml"), "--base", "tiny",
               "--seeds", "1", "--yes", "--db", url]
    sweep = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=sigint_as_a_terminal_sends_it)
    try:
        store = wait_for(lambda: (folder / "results.db").exists() and Store(url), 120, "the store")
        wait_for(lambda: store.status_counts("remove_ve-tiny").get("remove_ve-tiny", {}).get("finished", 0) >= 2
                 and any(len(store.run_detail(r.id)[3]) >= 1 for r in store.list_runs("remove_ve-tiny", "running")),
                 600, "two finished runs and a running run with evals", poll=0.2)
        sweep.send_signal(signal.SIGINT)
        stdout, stderr = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    interrupted = subprocess.CompletedProcess(command, sweep.returncode, stdout, stderr)
    before = {r.id: (r.status, len(store.run_detail(r.id)[3])) for r in store.list_runs("remove_ve-tiny")}
    store.close()
    out = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=840)
    return MainJob(folder, url, interrupted, before, out)


def _pg_bin(name: str):
    import glob
    import shutil
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    return found if isinstance(found, str) else (found[0] if found else None)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A throwaway PostgreSQL cluster on a free loopback port; yields a psycopg URL.

    initdb refuses root, so as uid 0 the server runs as `nobody` in a folder it owns.
    Missing server binaries: FAIL under CI (never a silent skip there), else skip with a reason."""
    import socket
    import subprocess
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        msg = "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    import pathlib
    import shutil
    import tempfile
    # Not under pytest's tmp dir: that is 0700 root, which `nobody` cannot traverse.
    base = pathlib.Path(tempfile.mkdtemp(prefix="golf-pg-"))
    os.chmod(base, 0o777)
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    os.chmod(sock, 0o777)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_user = ["runuser", "-u", "nobody", "--"] if os.getuid() == 0 else []
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)
    run(initdb, "-D", str(data), "-U", "golf", "--auth=trust", "-E", "UTF8")
    run(pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={port} user=golf dbname=postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE golf_test")
        yield f"postgresql+psycopg://golf@127.0.0.1:{port}/golf_test"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh store URL per backend: a new SQLite file, or a fresh schema-less PG database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    import uuid
    import psycopg
    base = request.getfixturevalue("postgres_url")
    name = "t_" + uuid.uuid4().hex[:10]
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name


def sigint_as_a_terminal_sends_it() -> None:
    """preexec_fn for a child that a test stops with SIGINT: a shell's background job (`cmd &`)
    starts with SIGINT ignored and Python then never raises KeyboardInterrupt, so restore the
    default, as a terminal's foreground process has it."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(predicate, timeout: float, what: str, poll: float = 0.1):
    """Poll `predicate` until it returns something truthy, and return that; fail naming `what`
    after `timeout` seconds (tests of real processes wait on the store, never on a fixed sleep)."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")
