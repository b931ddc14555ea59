"""``fan_out`` returns how many deliveries were new: none for an item with no destinations
(nothing to insert, and nothing counted)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from storage import deliveries
from storage.db import session_scope

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_no_destinations_is_no_new_delivery(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        assert deliveries.fan_out(session, 1, [], NOW) == 0
        assert deliveries.unfinished(session) == 0
