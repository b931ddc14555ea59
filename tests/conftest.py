"""Shared fixtures: fresh, migrated databases on SQLite and PostgreSQL.

Rules:
- Every test gets its own database: a temporary SQLite file, or a fresh PostgreSQL schema
  (``search_path`` set through the URL) on ``CHARTERBOT_TEST_PG_URL``
  (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped afterwards.
- PostgreSQL tests are skipped with a clear message when the server is unreachable, except on
  CI (``CI=true``), where that is a failure: CI must run them.
- Engines are disposed in teardown (psycopg warns about undisposed connections, and warnings
  are errors here). A PostgreSQL session of the test still open when it ends fails that test
  by name; left to the garbage collector, its warning would fail whichever test came later.
- Tests that need PostgreSQL are marked ``@pytest.mark.postgres``; the ``engine`` and
  ``engine_url`` fixtures run a test on both databases and mark the PostgreSQL half.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import make_engine

DEFAULT_TEST_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _libpq_url(url: str) -> str:
    """psycopg.connect wants a plain libpq URL, without SQLAlchemy's ``+driver``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of a reachable PostgreSQL database (skip, or fail on CI, when there is none)."""
    url = _libpq_url(os.environ.get("CHARTERBOT_TEST_PG_URL", DEFAULT_TEST_PG_URL))
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        message = (
            f"PostgreSQL is unreachable at {url} ({str(exc).strip()}); start it "
            "(pg_ctlcluster 15 main start) or point CHARTERBOT_TEST_PG_URL at a server"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh, empty SQLite database file."""
    return f"sqlite:///{tmp_path / 'charterbot.db'}"


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema (dropped after the test)."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    # The schema's name is also the sessions' application_name, so the teardown can see them.
    url = url.update_query_dict({"options": f"-csearch_path={schema}", "application_name": schema})
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        left = _sessions_left(conn, schema)
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if left:
        pytest.fail(
            f"{len(left)} PostgreSQL session(s) of this test still open after it ended (every "
            f"engine disposed, every connection closed?); last statements: {left}"
        )


def _sessions_left(conn: psycopg.Connection[tuple[object, ...]], name: str) -> list[str]:
    """The test's sessions still open once it ended, ended by force (a leaked connection's
    warning would otherwise surface in whichever later test collects it). A closed client's
    backend takes a moment to leave pg_stat_activity, hence the short wait."""
    query = (
        "SELECT pid, state, query FROM pg_stat_activity"
        " WHERE application_name = %s AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 2.0
    while rows := conn.execute(query, (name,)).fetchall():
        if time.monotonic() > deadline:
            for pid, _, _ in rows:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            return [f"{state}: {str(text)[:80]}" for _, state, text in rows]
        time.sleep(0.02)
    return []


def _migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite engine on a temporary file."""
    yield from _migrated(sqlite_url)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL engine on a fresh schema."""
    yield from _migrated(pg_url)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated engine, once per backend."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    result: Engine = request.getfixturevalue(name)
    return result


@pytest.fixture(params=BACKENDS)
def engine_url(request: pytest.FixtureRequest) -> str:
    """URL of an empty (unmigrated) database, once per backend."""
    result: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return result
