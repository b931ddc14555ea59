"""Audit-log helpers shared by the storage tests: the known entries and filled logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from storage import audit
from storage.db import session_scope

KNOWN_ANSWER = json.loads((Path(__file__).parent / "data" / "known_answer.json").read_text("utf-8"))
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


APPENDED = KNOWN_ANSWER["appended"]  # the same entries as the appender writes them, salted


def known_salts() -> audit.SaltSource:
    """The known answers' fixed salts, one per call in order (in place of random ones)."""
    salts: list[str] = APPENDED["salts"]
    return iter(salts).__next__


def known_drafts() -> list[audit.AuditDraft]:
    """The 8 fixed entries of data/known_answer.json as handed to the appender ("appended")."""
    return [
        audit.AuditDraft(
            actor=entry["actor"],
            kind=entry["kind"],
            subject=entry["subject"],
            payload=entry["payload"],
            charter_version=entry["charter_version"],
            at=datetime.fromisoformat(entry["at"].replace("Z", "+00:00")),
        )
        for entry in APPENDED["entries"]
    ]


def draft(i: int, **changes: Any) -> audit.AuditDraft:
    """A plain vote entry number ``i`` (times one minute apart)."""
    fields: dict[str, Any] = {
        "actor": f"user{i % 3}",
        "kind": "vote",
        "subject": f"proposal#{i % 5}",
        "payload": {"choice": "approve", "i": i, "note": 'ok, "quoted" — ü', "prev": "x"},
        "charter_version": 1,
        "at": T0 + timedelta(minutes=i),
    }
    fields.update(changes)
    return audit.AuditDraft(**fields)


def fill(engine: Engine, n: int) -> None:
    """Append ``n`` plain entries, one transaction each."""
    for i in range(1, n + 1):
        with session_scope(engine) as session:
            audit.append_many(session, [draft(i)])
