"""The audit log: append decisions to the hash chain, read its head, verify it.

Rules:
- Appends happen inside the caller's transaction, so a decision and its audit entry commit or
  roll back together. Appenders serialise: on PostgreSQL a transaction-scoped advisory lock is
  taken first; on SQLite every transaction already starts with BEGIN IMMEDIATE (storage.db).
  Two appenders therefore never read the same head, and ``prev_hash`` UNIQUE backs that up.
- ``at`` must be timezone-aware; it is stored and hashed as UTC.
- Entry bytes and hashes are defined in storage.canonical; the chain rules shared with the
  standalone verifier live in storage.verify_export.
- ``verify`` (storage.audit_verify) checks, per entry: seq contiguous from 1, prev_hash equal to
  the previous hash, the hash recomputed over the stored canonical bytes, and every stored column
  equal to what the hashed bytes say. It reports the first bad entry in a plain sentence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from charter.actors import Actor
from storage.audit_verify import VerifyResult as VerifyResult, verify as verify
from storage.canonical import GENESIS, canonical_json, entry_bytes
from storage.models.audit import AuditEntry

# Arbitrary but fixed: the advisory lock every PostgreSQL appender takes ("CHARTRBT" as ASCII).
ADVISORY_LOCK_KEY = 0x43484152_54524254
_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditDraft:
    """An entry to append; seq, prev and hash are assigned by the appender."""

    actor: str | Actor
    kind: str
    subject: str
    payload: Any
    charter_version: int | None
    at: datetime


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    kind: str
    subject: str
    payload: str  # canonical JSON text of the payload
    charter_version: int | None
    prev_hash: str
    hash: str
    canonical: str


def actor_name(actor: str | Actor) -> str:
    """How an actor is written in the log: the verified login, else ``surface:id`` or 'system'."""
    if isinstance(actor, str):
        return actor
    if actor.login is not None:
        return actor.login
    if actor.surface == "system":
        return "system"
    return f"{actor.surface}:{actor.surface_id or actor.display or 'anonymous'}"


def append(
    session: Session,
    *,
    actor: str | Actor,
    kind: str,
    subject: str,
    payload: Any,
    charter_version: int | None,
    at: datetime,
) -> AuditRecord:
    """Append one entry in the caller's transaction and return it."""
    draft = AuditDraft(actor, kind, subject, payload, charter_version, at)
    return append_many(session, [draft])[0]


def append_many(session: Session, drafts: Iterable[AuditDraft]) -> list[AuditRecord]:
    """Append entries in order, in the caller's transaction (one lock, one head read)."""
    prepared = [_prepare(draft) for draft in drafts]  # reject bad input before locking
    if not prepared:
        return []
    lock(session)
    top = head(session)
    seq, prev = top if top is not None else (0, GENESIS)
    records = []
    for actor, draft, at, payload in prepared:
        seq += 1
        canonical = entry_bytes(
            seq=seq,
            at=at,
            actor=actor,
            kind=draft.kind,
            subject=draft.subject,
            payload_canonical=payload,
            charter_version=draft.charter_version,
            prev=prev,
        )
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        records.append(
            AuditRecord(
                seq,
                at,
                actor,
                draft.kind,
                draft.subject,
                payload,
                draft.charter_version,
                prev,
                digest,
                canonical.decode("utf-8"),
            )
        )
        prev = digest
    session.execute(insert(_TABLE), [vars(record) for record in records])
    return records


def _prepare(draft: AuditDraft) -> tuple[str, AuditDraft, datetime, str]:
    if draft.at.tzinfo is None or draft.at.utcoffset() is None:
        raise ValueError(f"audit entry time must be timezone-aware UTC, got naive {draft.at}")
    payload = canonical_json(draft.payload, where="payload").decode("utf-8")
    return actor_name(draft.actor), draft, draft.at.astimezone(UTC), payload


def lock(session: Session) -> None:
    """Serialise with other appenders until the transaction ends (re-entrant)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


# Built once: every decision reads the head, so it should cost a bound statement, not a build.
_HEAD = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)


def head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the newest entry, or None when the log is empty."""
    row = session.connection().execute(_HEAD).first()
    return None if row is None else (int(row.seq), str(row.hash))


def last_of_kind(session: Session, kind: str) -> AuditRecord | None:
    """The newest entry of ``kind``, or None."""
    row = session.execute(
        select(_TABLE).where(_TABLE.c.kind == kind).order_by(_TABLE.c.seq.desc()).limit(1)
    ).first()
    if row is None:
        return None
    fields = row._asdict()
    fields["at"] = _utc(fields["at"])
    return AuditRecord(**fields)


def _utc(at: datetime) -> datetime:
    # SQLite hands back the naive UTC value that was stored; PostgreSQL an aware one.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def size(session: Session) -> int:
    """Number of entries (for progress reporting)."""
    return int(session.execute(select(func.count()).select_from(_TABLE)).scalar_one())


def export(
    session: Session,
    out: TextIO,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 5000,
) -> tuple[int, str]:
    """Write the log as JSON Lines for storage.verify_export; returns (head seq, head hash).

    One object per line, in seq order: ``{"seq", "hash", "prev", "canonical"}``.
    """
    columns = (_TABLE.c.seq, _TABLE.c.hash, _TABLE.c.prev_hash, _TABLE.c.canonical)
    result = session.execute(
        select(*columns).order_by(_TABLE.c.seq).execution_options(yield_per=batch)
    )
    written, last = 0, (0, GENESIS)
    try:
        for partition in result.partitions():
            for seq, digest, prev, canonical in partition:
                line = {"seq": seq, "hash": digest, "prev": prev, "canonical": canonical}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                last = (int(seq), str(digest))
            written += len(partition)
            if progress is not None:
                progress(written)
    finally:
        result.close()
    return last
