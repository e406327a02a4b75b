"""The queue inside the store (SQLite and PostgreSQL): batch enqueue, attempts, release, cancel,
retry, progress (schema migrations: test_migrations.py). Worker processes are exercised in test_workers.py."""
import pytest

from model.config import TrainConfig
from sweeper.errors import StoreError
from sweeper.store import Store


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def _runs(n, variant="base"):
    return [dict(variant=variant, seed=i, key=f"{variant}-{i}", config={"seed": i}) for i in range(n)]


def _attempts(store, run_id):
    return store.run_detail(run_id)[2]


def test_enqueue_many_is_one_idempotent_batch_in_order(store):
    assert store.enqueue_many("s", _runs(5)) == 5
    assert store.enqueue_many("s", _runs(5) + _runs(2, "other")) == 2
    assert [r.key for r in store.list_runs("s")] == [f"base-{i}" for i in range(5)] + ["other-0", "other-1"]
    claimed = [store.claim("w").key for _ in range(3)]
    assert claimed == ["base-0", "base-1", "base-2"]  # claims follow the enqueue order


def test_attempts_record_lost_then_finished(store):
    store.enqueue_many("s", _runs(1))
    run = store.claim("w1", lease_s=5, now=100.0, info={"host": "h1", "device": "cpu x1", "git_commit": "abc"})
    store.add_evals(run.id, 1, [{"step": 0, "val_loss": 7.0}])
    assert store.requeue_expired(now=106.0) == 1
    again = store.claim("w2", lease_s=5, now=107.0)
    assert store.finish_run(again.id, 2, {"val_loss": 4.0}) is True
    got = _attempts(store, run.id)
    assert [(a["attempt"], a["outcome"], a["worker"]) for a in got] == [(1, "lost", "w1"), (2, "finished", "w2")]
    assert "w1 stopped renewing its lease" in got[0]["error"]
    row = store.run_detail(run.id)[1]
    assert (row["host"], row["git_commit"]) == ("h1", "abc")


def test_release_does_not_spend_an_attempt(store):
    store.enqueue_many("s", _runs(1), max_attempts=1)
    run = store.claim("w")
    assert store.release(run.id, 1) is True
    assert store.release(run.id, 1) is False  # not ours any more
    rec = store.get_run(run.id)
    assert (rec.status, rec.attempts, rec.max_attempts) == ("queued", 1, 2)
    run = store.claim("w")
    assert store.fail_attempt(run.id, 2, "boom") == "failed"  # max_attempts still 1 real try + 1 interrupted
    assert [a["outcome"] for a in _attempts(store, run.id)] == ["interrupted", "failed"]


def test_release_worker_runs_only_touches_those_workers(store):
    store.enqueue_many("s", _runs(3))
    a, b = store.claim("wa"), store.claim("wb")
    assert store.release_worker_runs(["wa", "nobody"]) == 1
    assert store.get_run(a.id).status == "queued" and store.get_run(b.id).status == "running"


def test_cancel_stops_heartbeat_and_retry_requeues(store):
    store.enqueue_many("s", _runs(3))
    running = store.claim("w")
    store.claim("w2")
    store.finish_run(store.list_runs("s", "running")[1].id, 1, {"val_loss": 3.0})
    assert store.cancel(sweep="s") == 2  # one running + one queued; the finished one is left alone
    assert store.heartbeat(running.id, 1) is False  # the worker learns it must stop
    assert store.finish_run(running.id, 1, {"val_loss": 1.0}) is False
    assert store.status_counts("s") == {"s": {"cancelled": 2, "finished": 1}}
    assert store.retry(run_id=running.id[:6]) == 1
    assert store.retry(sweep="s") == 1  # the other cancelled run; finished runs are never re-run
    assert store.status_counts("s") == {"s": {"queued": 2, "finished": 1}}
    with pytest.raises(StoreError, match="not found"):
        store.cancel(run_id="zzzz")


def test_live_runs_show_progress_and_latest_eval(store):
    store.enqueue_many("s", _runs(2))
    run = store.claim("w", info={"device": "cpu x2"})
    store.add_evals(run.id, 1, [{"step": 0, "val_loss": 7.0}, {"step": 10, "val_loss": 5.5}])
    assert store.heartbeat(run.id, 1, progress={"live_step": 12, "live_total_steps": 40, "live_train_loss": 5.2,
                                                "live_train_time_s": 6.0})
    live = {r.id: r for r in store.live_runs("s")}
    r = live[run.id]
    assert (r.status, r.live_step, r.live_total_steps, r.latest_val_loss, r.device) == ("running", 12, 40, 5.5, "cpu x2")
    assert sum(x.status == "queued" for x in live.values()) == 1
    # progress arrives every few steps; finishing records the last step (and clock) the run reached
    assert store.finish_run(run.id, 1, {"steps": 40, "train_time_s": 19.5, "val_loss": 4.7})
    r = {r.id: r for r in store.live_runs("s")}[run.id]
    assert (r.status, r.live_step, r.live_total_steps, r.live_train_time_s) == ("finished", 40, 40, 19.5)


def test_run_keys_survive_the_store_round_trip(store):
    config = TrainConfig.preset("tiny", value_embeds=((0, -1), (1,)), seed=3)
    store.enqueue_many("s", [dict(variant="v", seed=3, key=config.run_key(), config=config.to_dict())])
    stored = store.list_runs("s")[0]
    assert TrainConfig.from_dict(stored.config).run_key() == stored.key == config.run_key()
