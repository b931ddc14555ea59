"""inbox.store: an acknowledgement's write, committed when it returns, once per key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from storage import inbox
from storage.db import read_scope

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_store_is_durable_on_return_and_once_per_key(engine: Engine) -> None:
    """The first store of a key is new and already visible to every other connection (its
    transaction committed); the same key again is a duplicate and changes nothing."""
    assert inbox.store(engine, source="github", key="d1", event="ping", body=b"{}", now=NOW)
    with read_scope(engine) as session:  # another connection
        rows = session.execute(text("SELECT key, processed_at FROM inbox")).all()
    assert [(r.key, r.processed_at) for r in rows] == [("d1", None)]
    assert not inbox.store(engine, source="github", key="d1", event="ping", body=b"x", now=NOW)
    assert inbox.store(
        engine, source="slack", key="d1", event="e", body=b"", now=NOW, processed=True
    )  # keys are per source; a marker is stored already processed
    with read_scope(engine) as session:
        rows = session.execute(text("SELECT source, body, processed_at FROM inbox")).all()
    assert sorted((r.source, bytes(r.body), r.processed_at is None) for r in rows) == [
        ("github", b"{}", True),
        ("slack", b"", False),
    ]
