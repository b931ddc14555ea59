"""Migrations: one linear chain, runnable from code, producing exactly the models' schema."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from storage import audit, migrate
from storage.db import make_engine, read_scope, session_scope
from storage.models import metadata
from tests.storage.audit_fixtures import draft, fill


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """After `upgrade`, alembic finds no difference between the database and the metadata.

    When this fails, a table or column was added to storage/models without a migration (or
    the migration differs from the model): add or fix that area's revision.
    """
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_upgrade_from_empty_reaches_head(engine_url: str) -> None:
    """An empty database has no revision; upgrade (by URL) brings it to head, idempotently."""
    engine = make_engine(engine_url)
    try:
        assert migrate.current_revision(engine) is None
        assert not migrate.is_current(engine)
        migrate.upgrade(engine_url)
        migrate.upgrade(engine)  # a second run is a no-op
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.is_current(engine)
        assert "audit_entry" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrations_need_no_alembic_ini(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrations run from any working directory: the script location is inside the package."""
    monkeypatch.chdir(tmp_path)
    migrate.upgrade(sqlite_url)
    assert not (tmp_path / "alembic.ini").exists()
    engine = make_engine(sqlite_url)
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_revisions_form_one_chain_starting_at_0001_audit() -> None:
    """Revisions are linear (no branches) and the first one is 0001_audit."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    chain = list(scripts.walk_revisions())  # head first
    assert chain[-1].revision == "0001_audit"
    assert chain[-1].down_revision is None
    for newer, older in itertools.pairwise(chain):
        assert newer.down_revision == older.revision


def test_sqlite_audit_seq_is_the_rowid_and_0007_keeps_the_log(sqlite_url: str) -> None:
    """0007_audit_rowid rebuilds a populated SQLite log: same rows, seq now the rowid (a scan in
    seq order reads the table itself, no index lookup per row), append-only triggers back."""
    engine = make_engine(sqlite_url)
    try:
        migrate.upgrade(engine, "0006_notify")
        fill(engine, 30)
        with read_scope(engine) as session:
            before = [tuple(row) for row in session.execute(text("SELECT * FROM audit_entry"))]
        migrate.upgrade(engine)
        with read_scope(engine) as session:
            after = [tuple(row) for row in session.execute(text("SELECT * FROM audit_entry"))]
            plan = session.execute(
                text("EXPLAIN QUERY PLAN SELECT * FROM audit_entry ORDER BY seq")
            ).all()
            assert audit.verify(session).ok
        assert after == before and len(after) == 30
        assert [row[-1] for row in plan] == ["SCAN audit_entry"]
        with session_scope(engine) as session:
            audit.append_many(session, [draft(31)])
        for statement in ("UPDATE audit_entry SET kind = 'x'", "DELETE FROM audit_entry"):
            with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
                session.execute(text(statement))
        config = migrate.alembic_config()  # and back down: BIGINT again, rows kept
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006_notify")
        with read_scope(engine) as session:
            assert session.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 31
            plan = session.execute(
                text("EXPLAIN QUERY PLAN SELECT * FROM audit_entry ORDER BY seq")
            ).all()
        assert "INDEX" in plan[0][-1]
    finally:
        engine.dispose()


def test_0009_dates_stored_comment_votes_by_their_last_edit(engine_url: str) -> None:
    """Comments stored before 0009 keep the date their votes had (``updated_at``); the column
    is then required, and the downgrade drops it again."""
    engine = make_engine(engine_url)
    try:
        migrate.upgrade(engine, "0008_check_head_branch")
        row = {
            "id": "7",
            "created": "2026-01-01 10:00:00+00:00",
            "edited": "2026-01-02 10:00:00+00:00",
        }
        with session_scope(engine) as session:
            session.execute(
                text(
                    "INSERT INTO gh_comment (comment_id, proposal, author, body, created_at,"
                    " updated_at, deleted) VALUES (:id, 1, 'alice', '/vote approve', :created,"
                    " :edited, false)"
                ),
                row,
            )
        migrate.upgrade(engine)
        with read_scope(engine) as session:
            voted, edited = session.execute(
                text("SELECT voted_at, updated_at FROM gh_comment")
            ).one()
        assert voted == edited
        assert not {c["name"]: c for c in inspect(engine).get_columns("gh_comment")}["voted_at"][
            "nullable"
        ]
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008_check_head_branch")
        assert "voted_at" not in {c["name"] for c in inspect(engine).get_columns("gh_comment")}
    finally:
        engine.dispose()


def _audit_triggers(engine: Engine) -> set[str]:
    with read_scope(engine) as session:
        rows = session.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entry'"
            )
        )
        return set(rows.scalars())


def test_0014_refuses_replace_on_sqlite_and_its_downgrade_drops_it(sqlite_url: str) -> None:
    """At head, SQLite's audit log has its three append-only triggers; 0014 adds the one that
    refuses REPLACE (which deletes without firing DELETE triggers), and its downgrade drops it."""
    engine = make_engine(sqlite_url)
    try:
        migrate.upgrade(engine)
        assert _audit_triggers(engine) == {
            "audit_entry_no_update",
            "audit_entry_no_delete",
            "audit_entry_no_replace",
        }
        fill(engine, 2)
        replace = text(
            "REPLACE INTO audit_entry SELECT seq, at, 'mallory', kind, subject, payload,"
            " charter_version, prev_hash, hash, canonical FROM audit_entry WHERE seq = 2"
        )
        with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
            session.execute(replace)
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0013_subscription_failures")
        assert _audit_triggers(engine) == {"audit_entry_no_update", "audit_entry_no_delete"}
        with session_scope(engine) as session:  # what 0014 is for: this went through before
            session.execute(replace)
        migrate.upgrade(engine)
        assert "audit_entry_no_replace" in _audit_triggers(engine)
    finally:
        engine.dispose()


def test_0015_adds_the_audit_witness_table_and_its_downgrade_drops_it(engine_url: str) -> None:
    """Witnessed heads get their own table, one row per period; the audit log is left as it
    was (a post must not change the head it witnesses)."""
    engine = make_engine(engine_url)
    try:
        migrate.upgrade(engine, "0014_audit_no_replace")
        fill(engine, 3)
        migrate.upgrade(engine, "0015_audit_witness")
        assert "audit_witness" in inspect(engine).get_table_names()
        period = {"at": "2026-11-28 00:00:00+00:00", "hash": "a" * 64}
        insert = text(
            "INSERT INTO audit_witness (period_start, seq, hash, queued_at)"
            " VALUES (:at, 3, :hash, :at)"
        )
        with session_scope(engine) as session:
            session.execute(insert, period)
        with pytest.raises(DBAPIError, match=r"(?i)unique"), session_scope(engine) as session:
            session.execute(insert, period)
        with read_scope(engine) as session:
            assert audit.verify(session).count == 3
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0014_audit_no_replace")
        assert "audit_witness" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0016_adds_the_feedback_request_table_and_its_downgrade_drops_it(engine_url: str) -> None:
    """Feedback requests get their own table, empty at first; the audit log is left as it was,
    and the downgrade drops the table again."""
    assert migrate.head_revision() == "0016_feedback_requests"
    engine = make_engine(engine_url)
    try:
        migrate.upgrade(engine, "0015_audit_witness")
        fill(engine, 3)
        migrate.upgrade(engine)
        assert "feedback_request" in inspect(engine).get_table_names()
        row = {"at": "2026-11-28 00:00:00+00:00"}
        insert = text(
            "INSERT INTO feedback_request (proposal, login, asked_by, asked_at, note)"
            " VALUES (7, 'bob', 'alice', :at, '')"
        )
        with session_scope(engine) as session:
            session.execute(insert, row)
        with read_scope(engine) as session:
            assert audit.verify(session).count == 3
            query = "SELECT answered_at FROM feedback_request WHERE proposal = 7"
            assert session.execute(text(query)).scalar_one() is None
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0015_audit_witness")
        assert "feedback_request" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_docs_list_every_migration_in_order() -> None:
    """docs/CONTRACTS.md names the chain twice (the seams, and storage's tables): both follow
    the migrations as they are, from the first to the head."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md").read_text("utf-8")
    listings = [
        re.findall(r"`(\d{4}_\w+)`", paragraph)
        for paragraph in doc.split("\n- ")
        if "`0001_audit`" in paragraph
    ]
    assert len(listings) == 2
    assert all(listing == chain for listing in listings), (chain, listings)
