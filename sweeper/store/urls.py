"""Store URLs: which ones golf accepts, and how they are shown without their password.

A URL given with --db or $GOLF_DB may carry a PostgreSQL password. golf shows it only as
`redact(url)` (stdout, logs, error messages) and hands the real one to worker processes through
their environment, never their argv (which `ps` shows to every user of the machine).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sweeper.errors import StoreError

# SQLAlchemy backend name -> what the user types. Other dialects are not tested against golf's SQL
# (SKIP LOCKED claims, WAL pragmas), and their drivers are not installed with golf.
SUPPORTED = {"sqlite": "sqlite:///PATH", "postgresql": "postgresql+psycopg://USER@HOST/DB"}


def parse(url: str) -> URL:
    """The parsed URL of a supported store; StoreError naming the problem otherwise."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # A bare path is the usual slip: say the URL it meant (sqlite:/// + an absolute path gives 4 slashes).
        hint = f"; for this file: sqlite:///{url}" if "://" not in url else ""
        raise StoreError(f"store URL {redact(url)!r} is not a URL (expected one of "
                         f"{', '.join(SUPPORTED.values())}{hint})") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise StoreError(f"store URL {redact(url)!r}: golf does not support {parsed.get_backend_name()!r} "
                         f"(supported: {', '.join(SUPPORTED.values())})")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:"):
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():  # SQLite itself only says "unable to open database file"
            raise StoreError(f"store URL {redact(url)!r}: folder '{folder}' does not exist "
                             f"(expected an existing folder for the SQLite file; create it first)")
    return parsed


def require_existing(url: str) -> None:
    """For commands that only read: an SQLite file that is not there is a wrong path or folder, not a
    store to create (an empty results.db left behind would hide the mistake next time)."""
    parsed = parse(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:") and not Path(parsed.database).expanduser().exists():
        raise StoreError(f"no results store at '{parsed.database}' (golf sweep or golf import creates one; "
                         f"--db URL or GOLF_DB names another)")


def is_in_memory(url: str) -> bool:
    """An SQLite database that lives only inside one process (`sqlite://`, `:memory:`, mode=memory)."""
    parsed = make_url(url)
    return (parsed.get_backend_name() == "sqlite"
            and (not parsed.database or parsed.database == ":memory:" or parsed.query.get("mode") == "memory"))


def require_shared(url: str) -> None:
    """Refuse a store that other processes cannot open: the workers of a sweep would each get an
    empty database of their own, and every result would vanish with them."""
    if is_in_memory(url):
        raise StoreError(f"store URL {url!r} is an in-memory SQLite database that workers cannot see "
                         "and that vanishes on exit (expected a file, e.g. sqlite:///results.db)")


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for anything a person or a log may see."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Not parseable: hide whatever sits between the scheme's '//' user ':' and the host's '@'.
        head, sep, tail = url.rpartition("@")
        if not sep or "//" not in head:
            return url
        scheme, _, userinfo = head.partition("//")
        user = userinfo.split(":", 1)[0]
        return f"{scheme}//{user}{':***' if ':' in userinfo else ''}@{tail}"
