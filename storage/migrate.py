"""Schema migrations, run from code.

Rules:
- Alembic's scripts live inside the package (``storage/migrations``); the configuration is built
  here, so no alembic.ini is needed at run time.
- Revisions form one chain: 0001_audit → 0002_core → 0003_rollouts → …, one per area, and later
  ones that rework an area (0007_audit_rowid).
- ``upgrade`` runs in one transaction on the given engine (or a URL, for which an engine is made
  and disposed).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.db import make_engine

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged scripts."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)
        try:
            upgrade(engine, revision)
        finally:
            engine.dispose()
        return
    config = alembic_config()
    with engine_or_url.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001_audit
        raise RuntimeError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    return current_revision(engine) == head_revision()
