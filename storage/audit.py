"""The audit log: append decisions to the hash chain, read its head, verify it.

Rules:
- Appends happen inside the caller's transaction, so a decision and its audit entry commit or
  roll back together. Appenders serialise: on PostgreSQL a transaction-scoped advisory lock is
  taken first; on SQLite every transaction already starts with BEGIN IMMEDIATE (storage.db).
  Two appenders therefore never read the same head, and ``prev_hash`` UNIQUE backs that up.
- ``at`` must be timezone-aware; it is stored and hashed as UTC.
- Every payload is a JSON object (a dict; anything else is refused with a ValueError) and the
  appender adds 128 random bits to it as the reserved key ``"salt"`` (32 lowercase hex digits,
  ``secrets.token_hex(16)``), so the hashed bytes of an entry cannot be guessed: the public
  export publishes a withheld entry's hash, and without the salt its low-entropy text (who,
  what, which proposal, around when) could be recovered by hashing candidates. A caller's
  payload that already has ``"salt"`` is refused, never overwritten. The salt is part of the
  stored payload and the canonical text (the envelope is unchanged, so every check of old and
  new entries stays the same); readers that look up keys are unaffected, and what shows a
  payload to a person shows :func:`shown_payload` (without the salt, which is noise to a reader).
  Entries appended before this rule have no salt and verify as before.
- Entry bytes and hashes are defined in storage.canonical; the chain rules shared with the
  standalone verifier live in storage.verify_export.
- ``verify`` (storage.audit_verify) checks, per entry: seq contiguous from 1, prev_hash equal to
  the previous hash, the hash recomputed over the stored canonical bytes, and every stored column
  equal to what the hashed bytes say. It reports the first bad entry in a plain sentence.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from charter.actors import Actor
from storage.audit_verify import VerifyResult as VerifyResult, verify as verify
from storage.canonical import GENESIS, SALT_KEY, canonical_json, entry_bytes
from storage.models.audit import AuditEntry

# Arbitrary but fixed: the advisory lock every PostgreSQL appender takes ("CHARTRBT" as ASCII).
ADVISORY_LOCK_KEY = 0x43484152_54524254
_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_SALT = re.compile(r"[0-9a-f]{32}")
# Where an appender's salts come from: each call returns 32 lowercase hex digits.
SaltSource = Callable[[], str]


def new_salt() -> str:
    """A fresh salt: 128 bits from the operating system's CSPRNG, as 32 lowercase hex."""
    return secrets.token_hex(16)


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
    salt: SaltSource | None = None,
) -> AuditRecord:
    """Append one entry in the caller's transaction and return it (``salt``: see append_many)."""
    draft = AuditDraft(actor, kind, subject, payload, charter_version, at)
    return append_many(session, [draft], salt=salt)[0]


def append_many(
    session: Session, drafts: Iterable[AuditDraft], *, salt: SaltSource | None = None
) -> list[AuditRecord]:
    """Append entries in order, in the caller's transaction (one lock, one head read).

    Each payload gets a salt from ``salt``, called once per entry; leave it None (random,
    :func:`new_salt`) except in known-answer tests, which need the same bytes every run."""
    source = new_salt if salt is None else salt
    prepared = [_prepare(draft, source) for draft in drafts]  # reject bad input before locking
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


def _prepare(draft: AuditDraft, salt: SaltSource) -> tuple[str, AuditDraft, datetime, str]:
    if draft.at.tzinfo is None or draft.at.utcoffset() is None:
        raise ValueError(f"audit entry time must be timezone-aware UTC, got naive {draft.at}")
    salted = _salted(draft.payload, salt())
    payload = canonical_json(salted, where="payload").decode("utf-8")
    return actor_name(draft.actor), draft, draft.at.astimezone(UTC), payload


def _salted(payload: Any, salt: str) -> dict[str, Any]:
    """``payload`` with the salt added under the reserved key (see the module rules)."""
    if not isinstance(payload, dict):
        raise ValueError(
            f"audit payload must be a JSON object (a dict), got {type(payload).__name__}: "
            'put the value under a key, e.g. {"items": [...]}'
        )
    if SALT_KEY in payload:
        raise ValueError(
            f'audit payload key "{SALT_KEY}" is reserved: the appender adds a random salt '
            "there; name the caller's value otherwise"
        )
    if not isinstance(salt, str) or not _SALT.fullmatch(salt):
        raise ValueError(f"audit salt must be 32 lowercase hex digits, got {salt!r}")
    return {**payload, SALT_KEY: salt}


def payload_of(text: str) -> Any:
    """A stored payload text as data, without the salt: what the entry says, not its noise."""
    data = json.loads(text)
    if isinstance(data, dict):
        data.pop(SALT_KEY, None)
    return data


def shown_payload(text: str) -> str:
    """A stored payload text as a person reads it: canonical JSON without the salt.

    Only for display: the hashed bytes (the ``canonical`` column, the export) keep the salt,
    and a text that is not a JSON object with a salt is returned unchanged."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict) or SALT_KEY not in data:
        return text
    del data[SALT_KEY]
    return canonical_json(data, where="payload").decode("utf-8")


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
