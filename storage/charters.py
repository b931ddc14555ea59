"""Charter adoption: which charter text the bot was enforcing, and since when.

Rules:
- Loading a charter whose content (sha256 of its text) differs from the last adopted one appends a
  ``charter-adopted`` audit entry with payload ``{"version", "sha256", "source"}``.
- Loading the same content again (a restart, or the same file under another path) appends
  nothing, so the log only records real changes.
- The text of every version is kept (``charter_text``, one row per version number: the text
  last adopted under it), because a proposal is decided by the version in force when it was
  opened. Its sha256 matches the ``charter-adopted`` entry that adopted it.
- Which charter was running at a past moment: the one the last ``charter-adopted`` entry at or
  before it adopted (``adoption_at``), from its kept text when that text is still the one the
  entry adopted (``kept_charter``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, select

from charter.load import CharterInvalid, load_charter
from charter.model import Charter
from storage import audit, audit_query
from storage.models.charters import CharterTextRow
from storage.times import aware

KIND = "charter-adopted"
ACTOR = "system"


def adopted_sha256(session: Session) -> str | None:
    """sha256 of the charter adopted last, or None when none was ever adopted."""
    last = audit.last_of_kind(session, KIND)
    if last is None:
        return None
    sha = json.loads(last.payload).get("sha256")
    return sha if isinstance(sha, str) else None


def adopted_version(session: Session) -> int | None:
    """Version of the charter adopted last, or None when none was ever adopted."""
    last = audit.last_of_kind(session, KIND)
    if last is None:
        return None
    version = json.loads(last.payload).get("version")
    return version if isinstance(version, int) else None


def adopt(
    session: Session,
    loaded_sha256: str,
    version: int,
    source: str,
    at: datetime,
    text: str | None = None,
) -> bool:
    """Record the charter as adopted unless it is already the adopted one; True when recorded.

    ``text`` (the file's text) is kept as this version's text in either case, so a database
    that predates the kept texts gets the running version's text at its next start.
    """
    audit.lock(session)  # check-then-append must not race another process adopting
    if text is not None:
        _keep_text(session, version, loaded_sha256, text, at)
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


def _keep_text(session: Session, version: int, sha256: str, text: str, at: datetime) -> None:
    row = session.get(CharterTextRow, version)
    if row is not None and row.sha256 == sha256:
        return
    if row is None:
        row = CharterTextRow(version=version, sha256=sha256, text=text, adopted_at=at)
    else:  # the same version number with other content: the newer text stands for it
        row.sha256, row.text, row.adopted_at = sha256, text, at
    session.add(row)
    session.flush()


def adopted_at(session: Session, version: int) -> datetime | None:
    """When charter ``version`` (its current text) was adopted, or None when never kept."""
    row = session.get(CharterTextRow, version)
    return None if row is None else aware(row.adopted_at)


def version_text(session: Session, version: int) -> str | None:
    """The text of charter ``version`` as last adopted, or None when it was never kept."""
    row = session.get(CharterTextRow, version)
    return None if row is None else row.text


def version_texts(session: Session) -> dict[int, str]:
    """The kept text of every charter version, by version number."""
    rows = session.exec(select(CharterTextRow)).all()
    return {row.version: row.text for row in rows}


def adoption_at(session: Session, at: datetime) -> tuple[int, str] | None:
    """(version, sha256) the last ``charter-adopted`` entry at or before ``at`` adopted, or None
    when none was adopted by then."""
    for entry in audit_query.entries(session, kind=KIND, limit=100_000):  # newest first
        if aware(entry.at) <= at:
            payload = json.loads(entry.payload)
            return payload.get("version"), payload.get("sha256")
    return None


def kept_charter(session: Session, version: int, sha256: str) -> Charter | None:
    """Charter ``version`` as its kept text, when that text is still the one with ``sha256``
    (not replaced by other content under the same number) and still loads; else None."""
    row = session.exec(select(CharterTextRow).where(col(CharterTextRow.version) == version)).first()
    if row is None or row.sha256 != sha256:
        return None
    try:
        return load_charter(row.text, f"charter v{version} (kept)", kept=True).charter
    except CharterInvalid:
        return None
