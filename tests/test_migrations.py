"""Schema migrations (Alembic): stores written by golf's first version (schema 1) and by the
version before Alembic (schema 2) upgrade in place when opened; their run keys are rewritten to
the stable rule so re-running the same spec trains nothing again; a store from a newer golf is
refused. The old stores are built from SQL dumps made by that code (tests/fixtures/store/)."""
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, text

from model.config import TRAIN_CORE_VERSION, TrainConfig
from sweeper.errors import StoreError
from sweeper.spec import expand, parse_spec
from sweeper.store import SCHEMA_VERSION, Store
from sweeper.store import migrate
from sweeper.store.schema import metadata

FIXTURES = Path(__file__).parent / "fixtures" / "store"


def _old_store(tmp_path, version: str) -> str:
    path = tmp_path / f"{version}.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / f"{version}.sql").read_text())
    return f"sqlite:///{path}"


def _check_upgraded(store: Store) -> None:
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate._revisions()[0]
        assert conn.execute(text("SELECT value FROM golf_meta")).scalar() == str(SCHEMA_VERSION)
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    # Keys follow today's rule (non-default fields) under the core version that trained them (1):
    # the same spec at that core adds nothing and retrains nothing ...
    sweep = store.get_sweep("fx")
    runs = store.list_runs("fx")
    assert len(runs) == 4 and all(r.key == TrainConfig.from_dict(r.config).run_key(core_version=1) for r in runs)
    plans = expand(parse_spec(sweep.spec_text, "fx.yaml"), "tiny").plans
    assert store.enqueue_many("fx", [dict(variant=p.variant, seed=p.seed, key=p.config.run_key(core_version=1),
                                          config=p.config.to_dict()) for p in plans]) == 0
    assert [r.status for r in store.list_runs("fx")].count("finished") == 1
    # ... while today's core (TRAIN_CORE_VERSION 2 changed the numerics) trains them anew.
    assert TRAIN_CORE_VERSION > 1 and {p.key for p in plans}.isdisjoint(r.key for r in runs)
    # What was stored is still there, the view works and the queue goes on.
    curves = store.curves_frame("fx")
    assert len(curves) == 6 and curves["current"].sum() == 4
    assert store.runs_frame("imp").loc[0, "val_loss"] == 4.1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM run_summary WHERE threshold_step = 2")).scalar() == 1
    run = store.claim("w3", info={"device": "cpu x1"})
    assert run is not None and store.heartbeat(run.id, run.attempts, progress={"live_step": 2})


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_old_sqlite_store_upgrades_in_place(tmp_path, version):
    url = _old_store(tmp_path, version)
    old_keys = {r[0] for r in sqlite3.connect(url.removeprefix("sqlite:///")).execute("SELECT key FROM runs")}
    store = Store(url)
    _check_upgraded(store)
    assert not old_keys & {r.key for r in store.list_runs("fx")}  # every golf key was rewritten
    store.close()
    Store(url).close()  # opening it again is a no-op


def test_old_store_copied_into_postgresql_upgrades_in_place(tmp_path, postgres_url):
    """The v2 store's rows in a PostgreSQL database at schema 2 (as golf 0.1 made it there)."""
    url = _old_store(tmp_path, "v2")
    pg = _fresh_pg(postgres_url)
    engine = create_engine(pg)
    with engine.begin() as conn:
        config = migrate._config(conn)
        command.upgrade(config, "0002")
        conn.execute(text("DROP TABLE alembic_version"))  # as before Alembic (its view: created on open)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as old:
            old.row_factory = sqlite3.Row
            for table in ("sweeps", "runs", "evals", "attempts"):
                rows = [dict(r) for r in old.execute(f"SELECT * FROM {table}")]
                for r in rows:
                    if "stopped_early" in r and r["stopped_early"] is not None:
                        r["stopped_early"] = bool(r["stopped_early"])
                conn.execute(insert(metadata.tables[table]), rows)
        conn.execute(text("SELECT setval('evals_id_seq', (SELECT max(id) FROM evals))"))
    engine.dispose()
    store = Store(pg)
    _check_upgraded(store)
    store.close()


def _fresh_pg(postgres_url: str) -> str:
    import uuid

    import psycopg
    name = "m_" + uuid.uuid4().hex[:10]
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def test_new_store_is_built_by_the_migrations_exactly_as_schema_py_says(store_url):
    store = Store(store_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.close()


def test_store_from_a_newer_golf_is_refused_with_what_to_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    Store(url).close()
    with sqlite3.connect(tmp_path / "r.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    with pytest.raises(StoreError, match=r"revision 0999\) was written by a newer golf.*pip install -U golf"):
        Store(url)
    # A store from before Alembic that says it is newer than schema 2 is refused the same way.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.executescript((FIXTURES / "v2.sql").read_text())
        conn.execute("UPDATE golf_meta SET value = '7'")
    with pytest.raises(StoreError, match="schema_version 7\\) was written by a newer golf"):
        Store(url)
