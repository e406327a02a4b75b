"""The small rules behind golf's failure behaviour: the stall watchdog (injected clock), URL
redaction, path confinement, core sharing, and a real attempt writer that notices a stall."""
import threading

import pytest

from model.config import TrainConfig
from sweeper.errors import GolfError
from sweeper.names import check_name, confined
from sweeper.run.local_launcher import plan_slots
from sweeper.run.threads import cores_held, free_cores
from sweeper.run.watchdog import ProgressWatchdog
from sweeper.run.attempt_writer import AttemptWriter
from sweeper.store import Store
from sweeper.store.urls import redact


def test_watchdog_limit_follows_the_run_and_waits_for_the_first_event():
    dog = ProgressWatchdog(start_s=100.0, factor=10.0, floor_s=5.0)
    dog.start(0.0)
    assert not dog.stalled(99.0) and dog.stalled(101.0)  # start-up: data, compile
    dog.progress(50.0)
    assert dog.limit_s() == 5.0 and not dog.stalled(54.0) and dog.stalled(56.0)  # floor until a gap is known
    dog.progress(52.0)  # a 2 s gap: limit 20 s
    assert not dog.stalled(71.0) and dog.stalled(73.0)
    assert "no training progress for 21 s" in dog.describe(73.0) and "limit is 20 s" in dog.describe(73.0)


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://golf:pw@db:5432/golf", "postgresql+psycopg://golf:***@db:5432/golf"),
    ("postgresql://golf@db/golf", "postgresql://golf@db/golf"),
    ("sqlite:///results.db", "sqlite:///results.db"),
    ("weird://user:pw@host:notaport/x", "weird://user:***@host:notaport/x"),
])
def test_redact_hides_only_the_password(url, shown):
    assert redact(url) == shown


def test_confined_paths_never_leave_their_root(tmp_path):
    root = tmp_path / ".golf" / "logs"
    assert confined(root, "ok", "run1") == root / "ok" / "run1"
    for parts in (("..", "x"), ("/etc",), ("a", "../../..")):
        with pytest.raises(GolfError, match="would leave"):
            confined(root, *parts)
    for bad in ("../x", ".hidden", "a\nb", "", "x" * 201):
        with pytest.raises(GolfError):
            check_name(bad)


def test_workers_take_only_the_cores_that_other_workers_on_the_host_leave(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    config = TrainConfig.preset("tiny").to_dict()
    store.enqueue_many("s", [dict(variant="v", seed=i, key=f"k{i}", config=config) for i in range(3)])
    store.claim("other-1", info={"host": "h1", "device": "cpu x2"})
    store.claim("other-2", info={"host": "h2", "device": "cpu x8"})  # another machine
    assert cores_held(["cpu x2", "gpu 0", "cpu x1"]) == 3
    assert free_cores(store, "h1", total=4) == (2, 2)
    assert free_cores(store, "h1", total=2) == (1, 2)  # never below one core
    slots = plan_slots(cores=2, cpu=True)
    assert [s.env["OMP_NUM_THREADS"] for s in slots] == ["1", "1"]
    assert [s.env["OMP_NUM_THREADS"] for s in plan_slots(cores=4, threads=2, cpu=True)] == ["2", "2"]


def test_attempt_writer_reports_a_run_that_stops_emitting_events(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.enqueue_many("s", [dict(variant="v", seed=0, key="k", config=TrainConfig.preset("tiny").to_dict())])
    run = store.claim("w", lease_s=30)
    stalled = threading.Event()
    writer = AttemptWriter(store, run, lease_s=30, flush_s=0.05,
                            watchdog=ProgressWatchdog(start_s=0.3, factor=10, floor_s=0.3),
                            on_stall=stalled.set, stall_grace_s=5)
    writer.start()
    assert stalled.wait(10), "the watchdog never fired"
    writer.close()
    assert writer.stalled.startswith("no training progress") and writer.lost.is_set()
    with pytest.raises(Exception, match="no longer ours"):
        writer.on_event(object())  # training is told to stop at its next event
