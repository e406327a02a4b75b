"""Store API on a real SQLite file: sweeps, enqueue idempotency, imported-run upsert, frames, view."""
import pandas as pd
import pytest

from sweeper.store import Store, default_db_url


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def _evals(n, start=5.0):
    return [{"step": i * 10, "train_time_s": float(i), "val_loss": start - 0.1 * i, "val_bpb": 1.5 - 0.01 * i}
            for i in range(n)]


def test_default_url_reads_env(monkeypatch):
    monkeypatch.setenv("GOLF_DB", "sqlite:////tmp/x.db")
    assert default_db_url() == "sqlite:////tmp/x.db"
    monkeypatch.delenv("GOLF_DB")
    assert default_db_url() == "sqlite:///results.db"


def test_ensure_sweep_creates_then_updates(store):
    rec = store.ensure_sweep("abl", spec_text="x: 1")
    assert rec.threshold_value is None
    rec = store.ensure_sweep("abl", threshold_metric="val_loss", threshold_value=3.28)
    assert (rec.spec_text, rec.threshold_metric, rec.threshold_value) == ("x: 1", "val_loss", 3.28)
    assert store.get_sweep("abl") == rec and store.get_sweep("missing") is None


def test_enqueue_twice_adds_nothing(store):
    store.ensure_sweep("abl")
    assert store.enqueue_many("abl", [dict(variant="base", seed=0, key="k0", config={"seed": 0})]) == 1
    assert store.enqueue_many("abl", [dict(variant="base", seed=0, key="k0", config={"seed": 0})]) == 0
    runs = store.list_runs("abl")
    assert len(runs) == 1 and runs[0].status == "queued" and runs[0].config == {"seed": 0}


def test_upsert_imported_run_added_unchanged_replaced(store):
    args = ("abl", "log1#0", "h1", "base", 0)
    assert store.upsert_imported_run(*args, _evals(10), {"val_loss": 4.1, "steps": 90}, "a.log") == ("added", 10)
    assert store.upsert_imported_run(*args, _evals(10), {"val_loss": 4.1, "steps": 90}, "a.log") == ("unchanged", 0)
    assert store.upsert_imported_run("abl", "log1#0", "h2", "base", 0, _evals(3), {"val_loss": 4.0}, "a.log") == ("replaced", 3)
    runs = store.runs_frame("abl")
    assert len(runs) == 1 and runs.loc[0, "val_loss"] == 4.0 and runs.loc[0, "source"] == "import"
    assert len(store.curves_frame("abl")) == 3  # old curve replaced, not appended


def test_imported_run_without_results_is_failed(store):
    store.upsert_imported_run("abl", "empty", "h", "base", 0, [], {}, "e.log")
    run = store.list_runs("abl")[0]
    assert run.status == "failed" and "no evals" in run.error


def test_curves_current_flag_and_summary_view(store):
    store.ensure_sweep("abl", threshold_metric="val_loss", threshold_value=4.55)
    store.upsert_imported_run("abl", "r", "h", "base", 0, _evals(10), {"val_loss": 4.1}, "a.log")
    run_id = store.list_runs("abl")[0].id
    store.add_evals(run_id, 0, [{"step": 5, "val_loss": 9.0}])  # an older, killed attempt
    curves = store.curves_frame("abl")
    assert curves["current"].sum() == 10 and (~curves["current"]).sum() == 1
    summary = pd.read_sql("SELECT * FROM run_summary", store.engine)
    assert summary.loc[0, "threshold_step"] == 50  # first eval with val_loss <= 4.55 (5.0 - 0.5)
    assert summary.loc[0, "threshold_train_time_s"] == 5.0


def test_wal_and_foreign_keys_on(store):
    if not store.is_sqlite:
        pytest.skip("SQLite pragmas only")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_claim_lease_expiry_and_finished_never_rewritten(store):
    store.ensure_sweep("q")
    store.enqueue_many("q", [dict(variant="base", seed=0, key="k0", config={})], max_attempts=2)
    run = store.claim("w1", lease_s=10, now=1000.0)
    assert run.status == "running" and run.attempts == 1
    assert store.claim("w2", now=1000.0) is None  # nothing else queued: no double claim
    store.add_evals(run.id, 1, [{"step": 10, "val_loss": 5.0}])  # partial curve of the lost attempt
    assert store.requeue_expired(now=1011.0) == 1
    assert store.heartbeat(run.id, 1, now=1011.0) is False  # the lost worker learns it is not the owner
    again = store.claim("w2", lease_s=10, now=1012.0)
    assert again.id == run.id and again.attempts == 2
    assert store.finish_run(run.id, 2, {"val_loss": 4.0, "steps": 20}) is True
    assert store.finish_run(run.id, 2, {"val_loss": 9.9}) is False
    assert store.fail_attempt(run.id, 2, "late") is None
    frame = store.runs_frame("q")
    assert frame.loc[0, "status"] == "finished" and frame.loc[0, "val_loss"] == 4.0
    curves = store.curves_frame("q")
    assert list(curves["attempt"]) == [1] and not curves["current"].any()


def test_failed_attempts_end_failed_after_max(store):
    store.ensure_sweep("q")
    store.enqueue_many("q", [dict(variant="base", seed=0, key="k0", config={})], max_attempts=2)
    r = store.claim("w")
    assert store.fail_attempt(r.id, 1, "boom 1") == "queued"
    r = store.claim("w")
    assert store.fail_attempt(r.id, 2, "boom 2") == "failed"
    assert store.get_run(r.id).error == "boom 2"
