"""deploy/postgres-roles.sql: the application role can append to the audit log, never rewrite it.

Run as documented: migrate, apply the script, connect as ``charterbot_app``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import make_engine
from tests.paths import REPO

pytestmark = pytest.mark.postgres

SCRIPT = (REPO / "deploy" / "postgres-roles.sql").read_text()


def _libpq(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    schema = parsed.query["options"].split("=", 1)[1]
    plain = parsed.set(drivername="postgresql").set(query={})
    return plain.render_as_string(hide_password=False), schema


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE audit_entry SET actor = 'mallory'", "permission denied"),
        ("DELETE FROM audit_entry", "permission denied"),
        ("TRUNCATE audit_entry", "permission denied"),
        ("ALTER TABLE audit_entry DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TABLE audit_entry", "must be owner"),
    ],
)
def test_app_role_cannot_rewrite_the_audit_log(pg_url: str, statement: str, refusal: str) -> None:
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    engine.dispose()
    url, schema = _libpq(pg_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(SCRIPT)
        conn.execute("SET ROLE charterbot_app")
        now = datetime.now(UTC)
        canonical = '{"x":1}'
        conn.execute(
            "INSERT INTO audit_entry (seq, at, actor, kind, subject, payload, charter_version, "
            "prev_hash, hash, canonical) VALUES (1, %s, 'a', 'k', 's', '{}', 1, %s, %s, %s)",
            (now, "0" * 64, "1" * 64, canonical),
        )
        assert conn.execute("SELECT count(*) FROM audit_entry").fetchone() == (1,)
        conn.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('k', '1', now())")
        with pytest.raises(psycopg.Error, match=refusal):
            conn.execute(statement)
        conn.execute("RESET ROLE")
