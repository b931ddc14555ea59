"""Schema migrations, run from code.

Rules:
- Alembic's scripts live inside the package (``storage/migrations``); the configuration is built
  here, so no alembic.ini is needed at run time.
- Revisions form one chain: 0001_audit → 0002_core → 0003_rollouts → …, one per area, and later
  ones that rework an area (0007_audit_rowid).
- ``upgrade`` runs in one transaction on the given engine (or a URL, for which an engine is made
  and disposed).
- A database at a revision this code does not ship was migrated by a newer charterbot: nothing
  here can read or downgrade it, so every entry point refuses it with :class:`UnknownRevision`
  (its message says what to do) rather than Alembic's "Can't locate revision".
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


class UnknownRevision(Exception):
    """The database is at a revision this charterbot does not ship (a newer one migrated it)."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        super().__init__(
            f"the database is at revision {revision}, which this charterbot does not know (it was"
            f" migrated by a newer version; this one's newest is {head_revision()}): run the newer"
            " charterbot, or restore a backup taken before it migrated the database"
        )


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)
        try:
            upgrade(engine, revision)
        finally:
            engine.dispose()
        return
    refuse_unknown(engine_or_url)
    config = alembic_config()
    with engine_or_url.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known(revision: str | None) -> bool:
    """True for an empty database and for a revision this code ships."""
    if revision is None:
        return True
    scripts = ScriptDirectory.from_config(alembic_config()).walk_revisions()
    return revision in {script.revision for script in scripts}


def refuse_unknown(engine: Engine) -> str | None:
    """The database's revision; :class:`UnknownRevision` when this code does not ship it."""
    revision = current_revision(engine)
    if not known(revision):
        raise UnknownRevision(str(revision))
    return revision


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001_audit
        raise RuntimeError(f"no migrations found in {SCRIPT_LOCATION}")
    return head


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    return current_revision(engine) == head_revision()
