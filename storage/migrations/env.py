"""Alembic environment, driven from code (storage.migrate) — no alembic.ini needed.

The caller passes an open connection in ``config.attributes["connection"]``; as a fallback
(the ``alembic`` command line) ``sqlalchemy.url`` from the config or CHARTERBOT_DATABASE_URL
is used.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import default_url, make_engine
from storage.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("CHARTERBOT_DATABASE_URL")
        or default_url()
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `charterbot db upgrade`")
run_migrations_online()
