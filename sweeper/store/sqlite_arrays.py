"""Read a query's numeric columns from a SQLite file straight into a numpy array.

Why: Python's sqlite3 module builds a tuple per row and a Python object per cell, which costs ~1.5 s
for a report's 1M eval rows before pandas even sees them. Here a numba loop calls SQLite's C API
(sqlite3_step / sqlite3_column_double) and writes doubles into a preallocated array: ~0.3 s.

It loads SQLite through the `_sqlite3` extension module, so it is the very copy of the library the
sqlite3 module (and SQLAlchemy) use: SQLite warns that two copies in one process break each other's
POSIX file locks. Where that copy's symbols cannot be reached (some static builds, Windows) or the
URL is not a plain file, `snapshot_path` says None and callers use the ordinary driver.

The SQL itself is written in sweeper/store.py (all of golf's SQL lives there); this module only runs
it, and counts its rows to size the array.
"""

from __future__ import annotations

import ctypes
import functools
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np

_SQLITE_ROW, _SQLITE_DONE, _SQLITE_NULL = 100, 101, 5
_SQLITE_INTEGER, _SQLITE_FLOAT, _SQLITE_TEXT = 1, 2, 3
# read-write (not create): a WAL reader needs the -shm file; no mutex: this connection never leaves one thread
_OPEN_FLAGS = 0x00000002 | 0x00008000
_TRANSIENT = ctypes.c_void_p(-1)  # SQLITE_TRANSIENT: SQLite copies bound text at once
# Below this many rows the plain driver (~1.5 us a row) beats importing numba and loading its kernel (~0.6 s).
MIN_ROWS = 200_000


def to_sql(query, dialect) -> tuple[str, tuple | dict]:
    """A SQLAlchemy select compiled for `dialect`: (SQL text, DB-API parameters)."""
    compiled = query.compile(dialect=dialect)
    params = compiled.construct_params()
    return str(compiled), (tuple(params[k] for k in compiled.positiontup) if compiled.positional else params)


@functools.cache
def _library() -> Optional[ctypes.CDLL]:
    """libsqlite3 as linked by the sqlite3 module, with argument types set; None if unreachable."""
    try:
        import _sqlite3
        lib = ctypes.CDLL(_sqlite3.__file__)  # dlsym searches its dependencies: the same libsqlite3
        p, i, c, d, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_double, ctypes.c_int64
        for name, res, args in (
                ("sqlite3_open_v2", i, [c, ctypes.POINTER(p), i, c]), ("sqlite3_close_v2", i, [p]),
                ("sqlite3_busy_timeout", i, [p, i]), ("sqlite3_errmsg", c, [p]),
                ("sqlite3_exec", i, [p, c, p, p, p]), ("sqlite3_prepare_v2", i, [p, c, i, ctypes.POINTER(p), p]),
                ("sqlite3_finalize", i, [p]), ("sqlite3_bind_null", i, [p, i]),
                ("sqlite3_bind_int64", i, [p, i, i64]), ("sqlite3_bind_double", i, [p, i, d]),
                ("sqlite3_bind_text", i, [p, i, c, i, p]), ("sqlite3_step", i, [p]),
                ("sqlite3_column_count", i, [p]), ("sqlite3_column_type", i, [p, i]),
                ("sqlite3_column_double", d, [p, i]), ("sqlite3_column_int64", i64, [p, i]),
                ("sqlite3_column_text", c, [p, i])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        return lib
    except (ImportError, OSError, AttributeError):
        return None


def snapshot_path(url) -> Optional[str]:
    """The database file of a SQLAlchemy SQLite URL when the fast reader can open it, else None."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or url.query:
        return None
    return database if _library() is not None else None


def _fill(step, column_type, column_double, stmt, out):
    """Step `stmt` and write its rows into `out` (NULL -> NaN) until it is full or the rows end.
    Returns (rows written, last step result code)."""
    n = 0
    while n < out.shape[0]:
        rc = step(stmt)
        if rc != _SQLITE_ROW:
            return n, rc
        for j in range(out.shape[1]):
            v = column_double(stmt, j)
            # SQLite reads NULL as 0.0, so only a 0.0 is worth a second call to ask for the type
            out[n, j] = np.nan if v == 0.0 and column_type(stmt, j) == _SQLITE_NULL else v
        n += 1
    return n, step(stmt)


@functools.cache
def _fill_kernel():
    # Compiled on first use (numba caches it next to this file), so importing golf never pays for numba.
    from numba import njit
    return njit(cache=True)(_fill)


class Snapshot:
    """One read transaction on a SQLite file: every query sees the same state of the database."""

    def __init__(self, lib: ctypes.CDLL, db: ctypes.c_void_p):
        self._lib, self._db = lib, db

    def _error(self, what: str) -> RuntimeError:
        return RuntimeError(f"{what}: {self._lib.sqlite3_errmsg(self._db).decode(errors='replace')}")

    @contextmanager
    def _statement(self, sql: str, params) -> Iterator[ctypes.c_void_p]:
        lib, stmt = self._lib, ctypes.c_void_p()
        if lib.sqlite3_prepare_v2(self._db, sql.encode(), -1, ctypes.byref(stmt), None) != 0:
            raise self._error("cannot prepare query")
        try:
            for k, value in enumerate(params, start=1):
                if value is None:
                    rc = lib.sqlite3_bind_null(stmt, k)
                elif isinstance(value, (bool, int)):
                    rc = lib.sqlite3_bind_int64(stmt, k, int(value))
                elif isinstance(value, float):
                    rc = lib.sqlite3_bind_double(stmt, k, value)
                else:
                    rc = lib.sqlite3_bind_text(stmt, k, str(value).encode(), -1, _TRANSIENT)
                if rc != 0:
                    raise self._error(f"cannot bind parameter {k}")
            yield stmt
        finally:
            lib.sqlite3_finalize(stmt)

    def rows(self, sql: str, params=()) -> list[tuple]:
        """All rows as tuples of Python values (for small results: one ctypes call per cell)."""
        lib, out = self._lib, []
        with self._statement(sql, params) as stmt:
            ncol = lib.sqlite3_column_count(stmt)
            while (rc := lib.sqlite3_step(stmt)) == _SQLITE_ROW:
                row = []
                for j in range(ncol):
                    kind = lib.sqlite3_column_type(stmt, j)
                    row.append(lib.sqlite3_column_int64(stmt, j) if kind == _SQLITE_INTEGER else
                               lib.sqlite3_column_double(stmt, j) if kind == _SQLITE_FLOAT else
                               lib.sqlite3_column_text(stmt, j).decode() if kind == _SQLITE_TEXT else None)
                out.append(tuple(row))
            if rc != _SQLITE_DONE:
                raise self._error("query failed")
        return out

    def count(self, sql: str, params=()) -> int:
        """How many rows `sql` returns (SQLite answers from an index where it can)."""
        (n,), = self.rows(f"SELECT count(*) FROM ({sql})", params)
        return n

    def numeric(self, sql: str, params=(), count: Optional[int] = None) -> np.ndarray:
        """All rows as a float64 array (rows, columns), column-major; NULL -> NaN, integers exact below
        2**53. `count`: the row count from `self.count` when the caller already has it."""
        lib = self._lib
        count = self.count(sql, params) if count is None else count  # same snapshot: the exact size
        with self._statement(sql, params) as stmt:
            out = np.empty((count, lib.sqlite3_column_count(stmt)), order="F")
            n, rc = _fill_kernel()(lib.sqlite3_step, lib.sqlite3_column_type, lib.sqlite3_column_double, stmt.value, out)
            if rc != _SQLITE_DONE or n != count:
                raise self._error(f"query failed after {n} of {count} rows")
        return out


@contextmanager
def snapshot(path: str, busy_timeout_ms: int = 30_000) -> Iterator[Snapshot]:
    """Open `path` (see `snapshot_path`) and hold one read transaction for the block."""
    lib, db = _library(), ctypes.c_void_p()
    rc = lib.sqlite3_open_v2(path.encode(), ctypes.byref(db), _OPEN_FLAGS, None)
    try:
        snap = Snapshot(lib, db)
        if rc != 0:
            raise snap._error(f"cannot open {path}")
        lib.sqlite3_busy_timeout(db, busy_timeout_ms)
        if lib.sqlite3_exec(db, b"BEGIN", None, None, None) != 0:
            raise snap._error("cannot begin a read transaction")
        try:
            yield snap
        finally:
            lib.sqlite3_exec(db, b"ROLLBACK", None, None, None)  # read only: nothing to keep
    finally:
        lib.sqlite3_close_v2(db)
