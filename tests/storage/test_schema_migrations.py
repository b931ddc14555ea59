"""Migrations: one linear chain, runnable from code, producing exactly the models' schema."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from storage import migrate
from storage.db import make_engine
from storage.models import metadata


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
