"""Engines and transactions.

Rules:
- SQLite runs in WAL mode with ``synchronous=FULL`` (a committed decision survives power loss),
  foreign keys on, and a busy timeout so a waiting writer queues instead of failing at once.
- Every SQLite transaction starts with ``BEGIN IMMEDIATE``: pysqlite's own deferred ``BEGIN``
  would let two writers read the same audit head and then collide, so we switch its transaction
  handling off (``isolation_level=None``) and issue the ``BEGIN`` ourselves. Writers serialise.
- PostgreSQL goes through psycopg 3: ``postgresql://`` and ``postgres://`` URLs are rewritten to
  ``postgresql+psycopg://``. Audit appends serialise there with an advisory lock (storage.audit).
- ``session_scope`` is one unit of work: commit on success, roll back on any error.
- ``read_scope`` is for long reads (verify, export, dashboards): on SQLite it begins DEFERRED, so
  it reads a WAL snapshot without holding the write lock; it never commits.
- Within one process, SQLite writers queue on an in-process lock before ``BEGIN IMMEDIATE``.
  SQLite's own busy handler waits by sleeping with growing back-off (up to 100 ms a step), so
  a short transaction arriving while another commits could stall for far longer than the other
  needed; the lock hands over the moment the holder finishes, to acknowledgements first
  (:class:`WriterLock`). Other processes still meet the busy timeout.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

DEFAULT_URL = "sqlite:///./charterbot.db"
BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "charterbot_sqlite_begin"


class DatabaseUrlError(ValueError):
    """The database URL names a backend charterbot does not support."""


def default_url() -> str:
    return DEFAULT_URL


_FORMS = "use sqlite:///path/to/file.db or postgresql://user@host:port/dbname"


def parse_url(url: str) -> URL:
    """``url`` parsed; a string that is not a URL at all (``charterbot.db``) is a
    :class:`DatabaseUrlError` that does not repeat it (it might hold a password)."""
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"not a database URL: {_FORMS} (sqlite:///charterbot.db for a file in the working"
            " directory)"
        ) from None
    except ValueError:  # SQLAlchemy's int() of the port
        raise DatabaseUrlError(f"the URL's port is not a number: {_FORMS}") from None


def shown_url(url: str | URL) -> str:
    """``url`` fit for an error or log line: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(not a URL)"


def normalise_url(url: str) -> str:
    """Rewrite plain PostgreSQL URLs to the psycopg 3 driver; refuse unsupported backends."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            parse_url(url)
            return url
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"unsupported database URL {shown_url(parsed)!r}: {_FORMS}")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseUrlError(
            f"use the psycopg 3 driver: postgresql+psycopg://… (got {shown_url(parsed)!r})"
        )
    return url


def missing_sqlite_file(url: str | None = None) -> Path | None:
    """The file a SQLite ``url`` names, when it does not exist (connecting would create it
    empty); None for an existing file, an in-memory database or another backend."""
    parsed = parse_url(normalise_url(url or default_url()))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: SQLite's own rules apply
        return None
    path = Path(database)
    return None if path.exists() else path


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default :func:`default_url`) with charterbot's durability rules."""
    url = normalise_url(url or default_url())
    try:
        if make_url(url).get_backend_name() == "sqlite":
            connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
            engine = create_engine(url, connect_args=connect_args, **kwargs)
            _sqlite_rules(engine)
            return engine
        return create_engine(url, pool_pre_ping=True, **kwargs)
    except (ArgumentError, ValueError) as exc:  # e.g. a query argument the driver refuses
        raise DatabaseUrlError(f"cannot use {shown_url(url)!r}: {exc}") from None


def _sqlite_rules(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Disable pysqlite's implicit BEGIN so the "begin" hook below owns transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class WriterLock:
    """The in-process queue of SQLite writers: re-entrant, and *urgent* writers go first.

    Urgent writers are acknowledgements (a delivery stored before its 202): they wait only for
    the current holder, while other writers also give way to any urgent one already waiting,
    and a batch holder can see one waiting (``urgent_waiting``) and end its batch early. So a
    webhook waits for at most one event of the worker's batch, not for the whole batch and
    then the next one (a plain lock lets the releasing thread take it straight back).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._urgent = 0

    def acquire(self, *, urgent: bool = False) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:  # re-entry never waits (it would wait for itself)
                self._depth += 1
                return
            self._urgent += urgent
            try:
                while self._owner is not None or (not urgent and self._urgent):
                    self._cond.wait()
            finally:
                self._urgent -= urgent
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    @property
    def urgent_waiting(self) -> bool:
        return self._urgent > 0

    @contextmanager
    def held(self, *, urgent: bool = False) -> Iterator[None]:
        self.acquire(urgent=urgent)
        try:
            yield
        finally:
            self.release()


_WRITERS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> WriterLock | None:
    if engine.dialect.name != "sqlite":
        return None
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = WriterLock()
        return lock


def urgent_writer_waiting(engine: Engine) -> bool:
    """True while an urgent writer (an acknowledgement) waits for this engine's SQLite lock."""
    lock = _writer_lock(engine)
    return lock is not None and lock.urgent_waiting


@contextmanager
def session_scope(engine: Engine, *, urgent: bool = False) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises.

    ``urgent``: an acknowledgement's write, which other SQLite writers let go first.
    """
    lock = _writer_lock(engine)
    with (
        lock.held(urgent=urgent) if lock is not None else nullcontext(),
        Session(engine) as session,
    ):
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def reader(engine: Engine) -> Engine:
    """``engine`` for reading only: on SQLite its transactions begin DEFERRED, so a read takes a
    snapshot and never the write lock (it neither waits for writers nor holds them up)."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read-only snapshot session (rolled back at the end, never committed)."""
    with Session(reader(engine)) as session:
        try:
            yield session
        finally:
            session.rollback()
