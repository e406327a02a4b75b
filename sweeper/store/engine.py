"""The store's connection to its database: the engine, transactions, the database's clock, and the
one place where database errors become `StoreError`.

Every store method runs its SQL inside `Database.write(what)` or `Database.read(what)`; a driver
or SQLAlchemy error raised there leaves as `StoreError("cannot WHAT (URL): ...")` with the original
as its cause. `retry_transient` re-runs a whole method when that cause was lock contention.
"""
from __future__ import annotations

import functools
import os
import random
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from sweeper.errors import StoreError
from sweeper.store import urls

_TRANSIENT = ("database is locked", "database is busy", "deadlock detected", "could not serialize",
              "database table is locked")


def default_db_url() -> str:
    """The store URL: $GOLF_DB, else `sqlite:///results.db` in the current directory."""
    return os.environ.get("GOLF_DB") or "sqlite:///results.db"


def utc_now() -> str:
    """Wall-clock time for the store's *_at columns (ISO 8601, UTC, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # The driver's own implicit BEGIN is switched off so that `_sqlite_begin` decides the mode.
    dbapi_conn.isolation_level = None
    # WAL lets readers (report, status) run while workers write; busy_timeout waits out short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the lock in WAL mode: SQLite
    # fails it at once with "database is locked". Writers therefore take the lock up front (and wait
    # up to busy_timeout for it); readers stay deferred and never block anyone.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("golf_write") else "BEGIN")


def is_transient(exc: Optional[BaseException]) -> bool:
    """Lock contention or a serialization conflict: worth retrying the whole transaction."""
    if exc is None:
        return False
    message = str(exc.orig if isinstance(exc, DBAPIError) else exc).lower()
    return any(s in message for s in _TRANSIENT)


def retry_transient(method=None, *, integrity: bool = False):
    """Re-run a store method (one transaction) on transient lock errors, with bounded, jittered
    back-off. integrity=True also retries a unique-key conflict: another process inserted the
    same rows just now, and the next pass sees them (PostgreSQL; SQLite writers are serialized)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for attempt in range(8):
                try:
                    return fn(*args, **kwargs)
                except StoreError as exc:
                    cause = exc.__cause__
                    again = is_transient(cause) or (integrity and isinstance(cause, IntegrityError))
                    if attempt == 7 or not again:
                        raise
                    time.sleep(random.uniform(0.05, 0.2) * 2 ** attempt)
        return wrapper
    return decorate(method) if method is not None else decorate


class Database:
    """An engine on one store URL (SQLite file or PostgreSQL) and its transactions."""

    def __init__(self, url: str):
        # `url` is for people and logs (password hidden); `connect_url` for engines and the
        # environment of worker processes, never printed.
        self.connect_url, self.url = url, urls.redact(url)
        parsed = urls.parse(url)
        urls.require_shared(url)
        self._password = parsed.password
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        try:
            self.engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot open results store {self.url!r}: {self.hide(str(exc))}") from exc
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._write_engine = self.engine.execution_options(golf_write=True)
        # Raw DB-API cursors (the frames) raise the driver's own errors, not SQLAlchemy's.
        self._errors = (SQLAlchemyError, self.engine.dialect.dbapi.Error)

    @contextmanager
    def write(self, what: str) -> Iterator[Connection]:
        """A write transaction (on SQLite it holds the write lock from its first statement)."""
        with self.translating(what):
            with self._write_engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self, what: str) -> Iterator[Connection]:
        """A read-only transaction: never takes the write lock."""
        with self.translating(what):
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def translating(self, what: str, *extra: type[BaseException]) -> Iterator[None]:
        """Database errors (and `extra` ones, e.g. a reader library's) -> StoreError."""
        try:
            yield
        except (*self._errors, *extra) as exc:
            raise StoreError(f"cannot {what} ({self.url}): {self.hide(str(exc))}") from exc

    def hide(self, text: str) -> str:
        """`text` (a driver's error message) without the store's password."""
        return text.replace(self._password, "***") if self._password else text

    def now(self, conn: Connection) -> float:
        """The database's clock in epoch seconds: leases are judged by one clock for all workers."""
        sql = ("SELECT (julianday('now') - 2440587.5) * 86400.0" if self.is_sqlite
               else "SELECT extract(epoch from clock_timestamp())")
        return float(conn.execute(text(sql)).scalar())

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
