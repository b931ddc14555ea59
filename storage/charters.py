"""Charter adoption: which charter text the bot was enforcing, and since when.

Rules:
- Loading a charter whose content (sha256 of its text) differs from the last adopted one appends a
  ``charter-adopted`` audit entry with payload ``{"version", "sha256", "source"}``.
- Loading the same content again (a restart, or the same file under another path) appends
  nothing, so the log only records real changes.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from storage import audit

KIND = "charter-adopted"
ACTOR = "system"


def adopted_sha256(session: Session) -> str | None:
    """sha256 of the charter adopted last, or None when none was ever adopted."""
    last = audit.last_of_kind(session, KIND)
    if last is None:
        return None
    sha = json.loads(last.payload).get("sha256")
    return sha if isinstance(sha, str) else None


def adopt(session: Session, loaded_sha256: str, version: int, source: str, at: datetime) -> bool:
    """Record the charter as adopted unless it is already the adopted one; True when recorded."""
    audit.lock(session)  # check-then-append must not race another process adopting
    if adopted_sha256(session) == loaded_sha256:
        return False
    audit.append(
        session,
        actor=ACTOR,
        kind=KIND,
        subject="charter",
        payload={"version": version, "sha256": loaded_sha256, "source": source},
        charter_version=version,
        at=at,
    )
    return True
