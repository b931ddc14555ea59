"""Small named state as JSON: poller ETags and watermarks, fired alert keys, counters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models.core import StateRow


def get(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(StateRow, key)
    return default if row is None else json.loads(row.value)


def put(session: Session, key: str, value: Any, now: datetime) -> None:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    row = session.get(StateRow, key)
    if row is None:
        session.add(StateRow(key=key, value=text, updated_at=now))
    elif row.value != text:
        row.value = text
        row.updated_at = now
        session.add(row)


def add_to_set(session: Session, key: str, member: str, now: datetime) -> bool:
    """Add ``member`` to the set stored at ``key``; True when it was not there yet."""
    members = set(get(session, key, []))
    if member in members:
        return False
    members.add(member)
    put(session, key, sorted(members), now)
    return True
