"""Bring a store's schema up to date when it is opened, with Alembic (as Optuna does).

    upgrade(db)   # called by Store(); nothing to do (one read) when the store is current

- A new database runs every revision under sweeper/store/migrations/versions/ from the first.
- A store written before golf used Alembic has no `alembic_version` table but a
  golf_meta.schema_version (1 or 2): it is stamped with that revision, then upgraded.
- A store whose revision this golf does not know was written by a newer golf: refused, with a
  message that says what to run.
- The view run_summary is derived: it is dropped before the revisions run and created again from
  sweeper/store/schema.py after them, so a revision never has to carry a copy of it.

Everything happens in one write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: under an
advisory lock), so workers that open a new store at the same moment migrate it once.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from sweeper.errors import StoreError
from sweeper.store.engine import Database
from sweeper.store.schema import _RUN_SUMMARY_VIEW, SCHEMA_VERSION

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# golf_meta.schema_version of stores written before Alembic -> the revision that is that schema.
LEGACY_REVISIONS = {1: "0001", 2: "0002"}
# Any fixed number: the key of the PostgreSQL advisory lock that serializes migrations.
_PG_LOCK_KEY = 0x601F5709


def _config(connection: Optional[Connection] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    """(head revision, every revision this golf knows)."""
    script = ScriptDirectory.from_config(_config())
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def _legacy_version(db: Database, conn: Connection) -> Optional[int]:
    """golf_meta.schema_version of a store from before Alembic, None for an empty database."""
    if not inspect(conn).has_table("golf_meta"):
        return None
    found = conn.execute(text("SELECT value FROM golf_meta WHERE key = 'schema_version'")).scalar()
    if found is None:
        return None
    try:
        return int(found)
    except ValueError:
        raise StoreError(f"{db.url}: golf_meta.schema_version is {found!r}, not a number (expected an integer): "
                         "not a golf store, or a damaged one") from None


def _newer(db: Database, found: str) -> StoreError:
    return StoreError(f"{db.url}: its schema ({found}) was written by a newer golf than this one (which knows "
                      f"schema {SCHEMA_VERSION}); upgrade golf there: pip install -U golf")


def upgrade(db: Database) -> None:
    """Migrate the store to the newest schema this golf knows, or refuse one from a newer golf."""
    head, known = _revisions()
    with db.read("read the schema version") as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    if current is not None and current not in known:
        raise _newer(db, f"revision {current}")
    with db.write("migrate the schema") as conn:
        if not db.is_sqlite:
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"))
        current = MigrationContext.configure(conn).get_current_revision()  # again, under the lock
        if current == head:
            return
        config = _config(conn)
        if current is None:
            legacy = _legacy_version(db, conn)
            if legacy is not None and legacy not in LEGACY_REVISIONS:
                raise _newer(db, f"golf_meta schema_version {legacy}")
            if legacy is not None:
                command.stamp(config, LEGACY_REVISIONS[legacy])
        conn.execute(text("DROP VIEW IF EXISTS run_summary"))
        command.upgrade(config, "head")
        conn.execute(text(_RUN_SUMMARY_VIEW))
