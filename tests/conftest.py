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
- The real migrations run once per session for the migrated fixtures: a SQLite test starts
  from a copy of the migrated file, a PostgreSQL test's schema gets the SQL the migrations
  sent, replayed (checked to make the same schema, else the test migrates for real). Tests of
  migrating and of starting on an empty database use the URL fixtures and migrate themselves.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event
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
    schema = _new_schema(pg_server_url)
    yield _schema_url(pg_server_url, schema)
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


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file brought to head by the real migrations, once per session. Migrating every
    test's own file cost about a tenth of a second a test; the migrations are deterministic DDL
    on an empty database, so a copy of this file is what they would have made."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    # Closed cleanly: the WAL was checkpointed into the file and removed, so the file is whole.
    others = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert others == [], f"the migrated SQLite template left {others} behind"
    return path


@pytest.fixture
def sqlite_engine(sqlite_url: str, migrated_sqlite_file: Path) -> Iterator[Engine]:
    """A migrated SQLite engine on a temporary file (a copy of the session's migrated file)."""
    database = make_url(sqlite_url).database
    assert database is not None and not Path(database).exists()
    shutil.copyfile(migrated_sqlite_file, database)
    engine = make_engine(sqlite_url)
    try:
        yield engine
    finally:
        engine.dispose()


# The schema as PostgreSQL describes it, with the schema's own name taken out: what a replay
# of the migrations' SQL must reproduce exactly (see ``pg_migration_sql``).
_CATALOG = {
    "columns": """
        SELECT c.relname, c.relkind, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_class c
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(schema)s::regnamespace ORDER BY 1, 3""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = %(schema)s::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = %(schema)s ORDER BY 1, 2""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(schema)s::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = %(schema)s::regnamespace ORDER BY 1, 2""",
    "types": """
        SELECT t.typname, t.typtype,
               array(SELECT enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                     ORDER BY e.enumsortorder)
        FROM pg_type t WHERE t.typnamespace = %(schema)s::regnamespace ORDER BY 1""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, last_value
        FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY 1""",
    "owned sequences": """
        SELECT d.objid::regclass::text, d.refobjid::regclass::text, d.refobjsubid, d.deptype
        FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
        WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'S'
          AND d.refclassid = 'pg_class'::regclass ORDER BY 1, 2""",
}

_Statement = tuple[str, Any]


def _catalog(conn: psycopg.Connection[tuple[Any, ...]], schema: str) -> dict[str, Any]:
    described: dict[str, Any] = {}
    for name, query in _CATALOG.items():
        rows = conn.execute(query, {"schema": schema}).fetchall()
        described[name] = [
            tuple(None if v is None else str(v).replace(schema, "<schema>") for v in row)
            for row in rows
        ]
    described["alembic_version"] = conn.execute(
        f'SELECT version_num FROM "{schema}".alembic_version'
    ).fetchall()
    return described


def _replay(server_url: str, schema: str, statements: list[_Statement]) -> None:
    """Run the recorded statements in ``schema``, in one transaction, as the migration did."""
    with psycopg.connect(
        server_url, options=f"-csearch_path={schema}", application_name=schema
    ) as conn:
        with conn.pipeline():
            for statement, parameters in statements:
                conn.execute(statement, parameters)
        conn.commit()


def _new_schema(server_url: str) -> str:
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def _schema_url(server_url: str, schema: str) -> str:
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    # The schema's name is also the sessions' application_name, so the teardown can see them.
    url = url.update_query_dict({"options": f"-csearch_path={schema}", "application_name": schema})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_migration_sql(pg_server_url: str) -> Iterator[list[_Statement] | None]:
    """The SQL the real migrations send to an empty schema, recorded once per session, or None
    when replaying it does not make the same schema.

    Migrating each test's schema through Alembic cost about a fifth of a second a test. The
    migrations are deterministic DDL on an empty schema and name no schema (``search_path``
    places everything), so sending the same statements to a fresh schema makes the same schema.
    That is checked here, not assumed: the recording is replayed into a second schema and both
    are compared object by object (columns, defaults, constraints, indexes, triggers,
    functions, types, sequences, the Alembic revision). Should a migration ever name its schema,
    use executemany, or otherwise not replay identically, every test migrates for real again."""
    recorded_in = _new_schema(pg_server_url)
    replayed_in = _new_schema(pg_server_url)
    statements: list[_Statement] = []
    unfit: list[str] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        if many or recorded_in in statement or recorded_in in repr(parameters):
            unfit.append(statement)
        if isinstance(parameters, Mapping):
            parameters = dict(parameters)
        statements.append((statement, parameters))

    engine = make_engine(_schema_url(pg_server_url, recorded_in))
    try:
        event.listen(engine, "before_cursor_execute", record)
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    try:
        same = False
        if not unfit:
            try:
                _replay(pg_server_url, replayed_in, statements)
            except psycopg.Error:
                pass  # not replayable as recorded: every test migrates for real
            else:
                with psycopg.connect(pg_server_url, autocommit=True) as conn:
                    same = _catalog(conn, recorded_in) == _catalog(conn, replayed_in)
        yield statements if same else None
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            for schema in (recorded_in, replayed_in):
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_engine(
    pg_url: str, pg_server_url: str, pg_migration_sql: list[_Statement] | None
) -> Iterator[Engine]:
    """A migrated PostgreSQL engine on a fresh schema: the session's recorded migration SQL
    replayed into it (see ``pg_migration_sql``), or the migrations run when that cannot be."""
    if pg_migration_sql is None:
        yield from _migrated(pg_url)
        return
    schema = make_url(pg_url).query["application_name"]
    assert isinstance(schema, str)
    _replay(pg_server_url, schema, pg_migration_sql)
    engine = make_engine(pg_url)
    try:
        yield engine
    finally:
        engine.dispose()


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
