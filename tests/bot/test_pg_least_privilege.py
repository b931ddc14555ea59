"""deploy/README.md's least-privilege steps, followed literally on a scratch database.

1. superuser: create the owner and app roles and a database the owner owns;
2. owner: ``charterbot db upgrade``;
3. ``deploy/postgres-roles.sql`` (as the superuser, and again as the owner: both work);
4. ``serve`` as the app role.
Roles and database get unique names (roles are cluster-wide) and are dropped afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.bootstrap import SchemaNotMigrated, build
from bot.cli import app
from bot.settings import Settings
from storage import migrate
from tests.paths import REPO

pytestmark = pytest.mark.postgres

SCRIPT = (REPO / "deploy" / "postgres-roles.sql").read_text()
BEFORE_HEAD = "0011_adhoc_private"  # a revision before the newest: a pending migration


@dataclass
class Scratch:
    superuser: str  # libpq URLs of the scratch database, one per role
    owner: str
    app: str
    owner_role: str
    app_role: str

    def script(self) -> str:
        return SCRIPT.replace("charterbot_owner", self.owner_role).replace(
            "charterbot_app", self.app_role
        )


@pytest.fixture
def scratch(pg_server_url: str) -> Iterator[Scratch]:
    name = f"cb_lp_{uuid.uuid4().hex[:10]}"
    owner, app_role, database = f"{name}_owner", f"{name}_app", f"{name}_db"
    base = make_url(pg_server_url)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app_role}" LOGIN')
        conn.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')

    def url(user: str) -> str:
        return base.set(username=user, database=database).render_as_string(hide_password=False)

    try:
        yield Scratch(url(base.username or "postgres"), url(owner), url(app_role), owner, app_role)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{app_role}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')


def _cli(args: list[str], url: str) -> tuple[int, str]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(app, args, env={"CHARTERBOT_DATABASE_URL": url})
    finally:  # serve points the root logger at the stderr CliRunner captured: put it back
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout + result.stderr


def _refused(url: str, statement: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(statement)
    return str(caught.value)


def test_the_documented_steps_work_and_keep_the_app_in_its_place(scratch: Scratch) -> None:
    # 2. The owner creates the tables (in schema public, which PostgreSQL 15 lets only the
    #    database's owner create in).
    assert _cli(["db", "upgrade"], scratch.owner)[0] == 0
    # 3. The grants, as the superuser and (repeated, as after an upgrade) as the owner.
    for who in (scratch.superuser, scratch.owner):
        with psycopg.connect(who, autocommit=True) as conn:
            conn.execute(scratch.script())
    # 4. The app starts (nothing to migrate) and works.
    rt = build(Settings(database_url=scratch.app))
    try:
        assert migrate.is_current(rt.engine)
    finally:
        rt.engine.dispose()
    with psycopg.connect(scratch.app, autocommit=True) as conn:
        conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('k', '1', now())")
        conn.execute("UPDATE kv_state SET value = '2' WHERE key = 'k'")
        assert conn.execute("SELECT count(*) FROM audit_entry").fetchone() == (1,)  # adoption
    assert "permission denied" in _refused(
        scratch.app, "UPDATE alembic_version SET version_num = 'x'"
    )
    assert "permission denied" in _refused(scratch.app, "DELETE FROM alembic_version")
    assert "permission denied" in _refused(scratch.app, "UPDATE audit_entry SET actor = 'm'")
    assert "permission denied" in _refused(scratch.app, "CREATE TABLE evil (x int)")
    assert "must be owner" in _refused(scratch.app, "ALTER TABLE audit_entry DISABLE TRIGGER ALL")
    # A table a later migration creates (as the owner) is the app's to use, by default.
    with psycopg.connect(scratch.owner, autocommit=True) as conn:
        conn.execute("CREATE TABLE later_table (id serial PRIMARY KEY, v int)")
    with psycopg.connect(scratch.app, autocommit=True) as conn:
        conn.execute("INSERT INTO later_table (v) VALUES (1)")
        assert conn.execute("SELECT v FROM later_table").fetchall() == [(1,)]


def test_serve_as_the_app_with_a_pending_migration_says_who_must_migrate(
    scratch: Scratch,
) -> None:
    migrate.upgrade(scratch.owner.replace("postgresql://", "postgresql+psycopg://"), BEFORE_HEAD)
    with psycopg.connect(scratch.superuser, autocommit=True) as conn:
        conn.execute(scratch.script())
    with pytest.raises(SchemaNotMigrated):
        build(Settings(database_url=scratch.app))
    code, said = _cli(["serve"], scratch.app)
    assert code == 2
    assert f"the database schema is at {BEFORE_HEAD}" in said
    assert f"{scratch.app_role} may not change the schema" in said
    assert "run `charterbot db upgrade` as the schema's owner" in said
    code, said = _cli(["db", "upgrade"], scratch.app)  # the app cannot migrate either
    assert code == 2
    assert "run as the schema's owner" in said
    # Once the owner migrates, the app starts.
    assert _cli(["db", "upgrade"], scratch.owner)[0] == 0
    rt = build(Settings(database_url=scratch.app))
    rt.engine.dispose()
