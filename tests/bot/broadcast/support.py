"""Shared helpers for the broadcast tests: the reference charter, announcements, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from charter.effects import Announce
from charter.load import load_charter
from charter.model import Charter
from storage import outbox, subscriptions as repo
from storage.db import session_scope
from tests.paths import reference_charter_text

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def charter() -> Charter:
    return load_charter(reference_charter_text(), "reference-charter.yaml").charter


def announce(kind: str = "decision", **fields: Any) -> Announce:
    fields.setdefault("title", f"{kind} title")
    fields.setdefault("text", f"{kind} text")
    return Announce(kind=kind, **fields)  # type: ignore[arg-type]


def payload(a: Announce, at: datetime = NOW) -> dict[str, Any]:
    """The outbox payload the service writes for ``a`` (bot.announcements.announce)."""
    return {
        "kind": a.kind,
        "title": a.title,
        "text": a.text,
        "proposal": a.proposal,
        "track": a.track,
        "clients": list(a.clients),
        "severity": a.severity,
        "confidential": a.confidential,
        "data": dict(a.data),
        "at": at.isoformat(),
    }


def enqueue(engine: Engine, *items: Announce, at: datetime = NOW) -> None:
    with session_scope(engine) as session:
        for a in items:
            outbox.enqueue(session, kind="announce", payload=payload(a, at), now=at)


def subscribe(engine: Engine, platform: str, address: str, **filters: Any) -> int:
    extra = {k: filters.pop(k) for k in ("lang", "zone", "digest_at", "secret") if k in filters}
    new = repo.NewSubscription(platform, address, owner="test:1", filters=filters, **extra)
    with session_scope(engine) as session:
        row, _ = repo.add(session, new, NOW)
        return row.id or 0
