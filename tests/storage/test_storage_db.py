"""Engines and transactions: durability settings, writer serialisation, unit of work."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.db import (
    DatabaseUrlError,
    WriterLock,
    default_url,
    make_engine,
    normalise_url,
    read_scope,
    session_scope,
    shown_url,
    urgent_writer_waiting,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///./x.db", "sqlite:///./x.db"),
    ],
)
def test_urls_are_normalised_to_psycopg(url: str, expected: str) -> None:
    """Plain PostgreSQL URLs use psycopg 3; SQLite URLs pass through."""
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database URL"),
        ("postgresql+psycopg2://u@h/db", "psycopg 3"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    """Backends or drivers we do not support fail with the URL forms we do."""
    with pytest.raises(DatabaseUrlError, match=message):
        normalise_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@h/db", "unsupported database URL 'mysql://root:***@h/db'"),
        ("postgresql+psycopg2://u:hunter2@h/db", "(got 'postgresql+psycopg2://u:***@h/db')"),
        ("charterbot.db", "not a database URL: use sqlite:///path/to/file.db"),
        ("u:hunter2@h/db", "not a database URL"),
        ("postgresql://u:hunter2@h:port/db", "the URL's port is not a number"),
        ("sqlite:///x.db?check_same_thread=maybe", "cannot use 'sqlite:///x.db"),
    ],
)
def test_url_errors_never_show_the_password(url: str, message: str) -> None:
    """Every refusal is a DatabaseUrlError (not SQLAlchemy's ArgumentError or a ValueError
    from its port parsing) and shows the URL, if at all, with its password hidden."""
    with pytest.raises(DatabaseUrlError, match=re.escape(message)) as refused:
        make_engine(url).dispose()
    assert "hunter2" not in str(refused.value)


def test_shown_url_hides_the_password() -> None:
    assert shown_url("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"
    assert shown_url("not a url") == "(not a URL)"


def test_default_url_is_a_local_sqlite_file() -> None:
    """Without configuration the bot keeps its state in ./charterbot.db."""
    assert default_url() == "sqlite:///./charterbot.db"


@pytest.mark.parametrize(
    ("pragma", "value"),
    [("journal_mode", "wal"), ("synchronous", 2), ("foreign_keys", 1), ("busy_timeout", 30000)],
)
def test_sqlite_durability_pragmas(sqlite_engine: Engine, pragma: str, value: object) -> None:
    """SQLite runs with WAL, synchronous=FULL (2), foreign keys and a busy timeout."""
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == value


def _try_write_lock(engine: Engine) -> str:
    """Try to take the write lock from an independent connection without waiting."""
    database = make_url(str(engine.url)).database
    assert database is not None
    other = sqlite3.connect(database, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return "free"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()


def test_sqlite_transactions_begin_immediate(sqlite_engine: Engine) -> None:
    """A transaction holds the write lock from its first statement, even a read, so two
    writers can never both read the same audit head."""
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))
        assert _try_write_lock(sqlite_engine) == "database is locked"
    assert _try_write_lock(sqlite_engine) == "free"


def test_sqlite_read_scope_does_not_block_writers(sqlite_engine: Engine) -> None:
    """Long reads (verify, export) use a deferred snapshot and leave the write lock free."""
    with read_scope(sqlite_engine) as session:
        session.execute(text("SELECT count(*) FROM audit_entry"))
        assert _try_write_lock(sqlite_engine) == "free"


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    """A unit of work commits when its block succeeds and rolls back when it raises."""
    with session_scope(engine) as session:
        session.execute(text("CREATE TABLE scratch (n INTEGER)"))
        session.execute(text("INSERT INTO scratch VALUES (1)"))

    def insert_and_fail() -> None:
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO scratch VALUES (2)"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        insert_and_fail()
    with read_scope(engine) as session:
        assert session.execute(text("SELECT n FROM scratch")).scalars().all() == [1]


def test_sqlite_memory_engine_works() -> None:
    """An in-memory SQLite URL is accepted (WAL does not apply there, nothing fails)."""
    engine = make_engine("sqlite://")
    try:
        with session_scope(engine) as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_writer_lock_lets_an_urgent_writer_go_first() -> None:
    """While a holder works, an urgent writer that arrives *after* an ordinary one still gets
    the lock first; re-entry by the holder never waits, even with an urgent writer queued."""
    lock = WriterLock()
    order: list[str] = []
    lock.acquire()

    def writer(name: str, urgent: bool) -> None:
        with lock.held(urgent=urgent):
            order.append(name)

    ordinary = threading.Thread(target=writer, args=("ordinary", False))
    ordinary.start()
    _wait_until(lambda: ordinary.is_alive())
    time.sleep(0.05)  # the ordinary writer is now waiting on the lock
    urgent = threading.Thread(target=writer, args=("urgent", True))
    urgent.start()
    _wait_until(lambda: lock.urgent_waiting)
    with lock.held():  # re-entry by the holder: does not wait for anyone
        order.append("holder again")
    lock.release()
    ordinary.join(5)
    urgent.join(5)
    assert order == ["holder again", "urgent", "ordinary"]
    assert not lock.urgent_waiting


def test_urgent_writer_waiting_is_false_on_postgresql_and_idle_sqlite(
    sqlite_engine: Engine,
) -> None:
    assert not urgent_writer_waiting(sqlite_engine)
    assert not urgent_writer_waiting(make_engine("postgresql://nobody@127.0.0.1:1/x"))


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)
