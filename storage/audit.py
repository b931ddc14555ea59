"""The audit log: append decisions to the hash chain, read its head, verify it.

Rules:
- Appends happen inside the caller's transaction, so a decision and its audit entry commit or
  roll back together. Appenders serialise: on PostgreSQL a transaction-scoped advisory lock is
  taken first; on SQLite every transaction already starts with BEGIN IMMEDIATE (storage.db).
  Two appenders therefore never read the same head, and ``prev_hash`` UNIQUE backs that up.
- ``at`` must be timezone-aware; it is stored and hashed as UTC.
- Entry bytes and hashes are defined in storage.canonical; the chain rules shared with the
  standalone verifier live in storage.verify_export.
- ``verify`` streams the table and checks, per entry: seq contiguous from 1, prev_hash equal to
  the previous hash, the hash recomputed over the stored canonical bytes, and every stored column
  equal to what the hashed bytes say. It reports the first bad entry in a plain sentence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Text, func, insert, select, text, type_coerce
from sqlmodel import Session

from charter.actors import Actor
from storage.canonical import GENESIS, canonical_json, entry_bytes, json_string as _str
from storage.models.audit import AuditEntry
from storage.verify_export import ChainError, ChainWalker

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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int  # entries verified good (all of them when ok)
    head_seq: int  # last good entry, 0 for an empty log
    head_hash: str  # its hash, 64 zeros for an empty log
    first_bad_seq: int | None = None
    reason: str = ""


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


def verify(
    session: Session,
    *,
    expected_head: tuple[int | None, str] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 2000,
) -> VerifyResult:
    """Walk the whole log; ``expected_head`` = (seq or None, hex) of a published head."""
    walker = ChainWalker(expected_head)
    result = session.execute(
        select(*_verify_columns(session)).order_by(_TABLE.c.seq).execution_options(yield_per=batch)
    )
    try:
        for partition in result.partitions():
            _verify_rows(walker, partition)
            if progress is not None:
                progress(walker.count)
        seq, digest = walker.finish()
    except ChainError as exc:
        return VerifyResult(
            False, walker.count, walker.count, walker.head_hash, exc.seq, exc.reason
        )
    finally:
        result.close()
    return VerifyResult(True, seq, seq, digest)


def _verify_columns(session: Session) -> tuple[ColumnElement[Any], ...]:
    """The stored columns in envelope order, with ``at`` rendered as RFC 3339 text by the
    database itself (no datetime objects: parsing and re-formatting them dominated the cost)."""
    at = type_coerce(_TABLE.c.at, Text)
    at_text: ColumnElement[str]
    if session.get_bind().dialect.name == "postgresql":
        at_text = func.to_char(
            func.timezone("UTC", _TABLE.c.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=Text
        )
    else:  # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here)
        at_text = func.replace(at, " ", "T", type_=Text).concat("Z")
    names = ("actor", "kind", "subject", "payload", "charter_version", "prev_hash", "hash")
    return (_TABLE.c.seq, at_text, *(_TABLE.c[name] for name in names), _TABLE.c.canonical)


def _verify_rows(walker: ChainWalker, rows: Sequence[Any]) -> None:
    """Check a batch of rows; the fast path rebuilds each entry's canonical text from its
    columns and compares it with the stored (hashed) text, which proves every column agrees
    without parsing JSON. Any mismatch is re-checked slowly to name the first problem."""
    n, last, sha256, fromhex = walker.count, walker.head_hash, hashlib.sha256, bytes.fromhex
    anchored = walker.anchored
    try:
        for row in rows:
            seq, at, actor, kind, subject, payload, version, prev, digest, canonical = row
            data = canonical.encode("utf-8")
            rebuilt = (
                f'{{"actor":{_str(actor)},"at":"{at}","charter_version":'
                f'{"null" if version is None else version},"kind":{_str(kind)},'
                f'"payload":{payload},"prev":"{prev}","seq":{seq},"subject":{_str(subject)}}}'
            )
            if (
                seq != n + 1
                or prev != last
                or rebuilt != canonical
                or sha256(fromhex(prev) + data).hexdigest() != digest
            ):
                walker.count, walker.head_hash = n, last
                _diagnose(walker, row, data)
            n, last = seq, digest
            if anchored:
                walker.check_expected(n, last)
    finally:
        walker.count, walker.head_hash = n, last


def _diagnose(walker: ChainWalker, row: Sequence[Any], data: bytes) -> None:
    """Raise ChainError naming what is wrong with ``row`` (the chain rules first)."""
    obj = walker.feed(row[0], row[7], row[8], data)  # raises for chain problems
    for name, index in (
        ("at", 1),
        ("actor", 2),
        ("kind", 3),
        ("subject", 4),
        ("charter_version", 6),
    ):
        if row[index] != obj[name] or isinstance(obj[name], bool):
            raise ChainError(
                row[0], f"entry {row[0]}: {name} column does not match the hashed bytes"
            )
    raise ChainError(row[0], f"entry {row[0]}: {_payload_or_form(row[5], row[9])}")


def _payload_or_form(payload: str, canonical: str) -> str:
    # Envelope keys are sorted, so the payload's text sits between '"payload":' and the last
    # ',"prev":"' (string values cannot contain an unescaped quote, so neither marker can
    # occur inside actor, kind or subject).
    start = canonical.find(',"payload":') + len(',"payload":')
    if canonical[start : canonical.rfind(',"prev":"')] != payload:
        return "payload column does not match the hashed bytes"
    return "the hashed bytes are not in canonical form (RFC 8785)"


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
