"""Verifying the audit log in the database.

What a verified log is (the rules and their wording are storage.verify_export's ChainWalker,
shared with the standalone verifier):
- seq runs 1, 2, …, N with no gap; entry 1's prev_hash is 64 zeros and every later prev_hash is
  the previous entry's hash; every hash is sha256(prev bytes + canonical bytes); the hashed
  bytes are an envelope (a JSON object of exactly the envelope's fields) and every stored
  column equals what they say; a published head given as
  ``expected_head`` is in the log (at its seq, when one is given).
- The first entry that breaks a rule is named, with a plain sentence saying why.

How, fast (the goal is a million entries in a few seconds):
- Blocks of ``batch`` entries are confirmed in bulk (storage.audit_blocks): the database
  compares every column and returns the block as one row; its hashes are recomputed by Python
  (SQLite) or by the server (PostgreSQL).
- The bulk check can only *confirm* a block. A block it does not confirm, for whatever reason
  (including a false alarm), is re-checked row by row by the exact check, which names the first
  bad entry or accepts the block. Every failure message therefore comes from the exact check.
- Blocks are checked in parallel, up to ``WORKERS`` at a time (one per core): on PostgreSQL by
  threads with a connection each (the server does its part in one backend per connection); on
  SQLite, from ``PARALLEL_FROM`` entries on, by worker processes (storage.audit_workers), since
  threads on SQLite connections in one process run no faster than one. This process stitches
  the blocks together in order. A log only this process can see (in-memory SQLite, a session
  bound to a connection) is checked on the session's own connection.
- Entries appended after the check started are outside it: it verifies up to the largest seq it
  saw first.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Text, func, select, type_coerce
from sqlmodel import Session

from storage import audit_blocks
from storage.audit_blocks import Block, Expected
from storage.audit_workers import parallel_blocks
from storage.canonical import json_string as _str
from storage.models.audit import AuditEntry
from storage.verify_export import ENVELOPE, ChainError, ChainWalker, strict_json

_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_SEQ = _TABLE.c.seq
# Blocks checked at once: at most this many (one per core); SQLite's worker processes only from
# this many entries on (below it, starting them costs more than they save).
WORKERS = 2
PARALLEL_FROM = 20_000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int  # entries verified good (all of them when ok)
    head_seq: int  # last good entry, 0 for an empty log
    head_hash: str  # its hash, 64 zeros for an empty log
    first_bad_seq: int | None = None
    reason: str = ""
    rechecked: int = 0  # (when ok) entries the bulk check left to the exact, row-by-row check


def verify(
    session: Session,
    *,
    expected_head: tuple[int | None, str] | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 2000,
    workers: int | None = None,
) -> VerifyResult:
    """Check the whole log; ``expected_head`` = (seq or None, hex) of a published head."""
    walker = ChainWalker(expected_head)
    rechecked = 0
    try:
        count, low, high = session.execute(
            select(func.count(), func.min(_SEQ), func.max(_SEQ))
        ).one()
        if count and low < 1:  # outside the blocks over 1…max, and the first bad entry
            rechecked = _exact(session, walker, low - 1, low)
        elif count:
            rechecked = _check_blocks(session, walker, int(high), batch, workers, progress)
        seq, digest = walker.finish()
    except ChainError as exc:
        return VerifyResult(
            False, walker.count, walker.count, walker.head_hash, exc.seq, exc.reason, rechecked
        )
    return VerifyResult(True, seq, seq, digest, rechecked=rechecked)


def _check_blocks(
    session: Session,
    walker: ChainWalker,
    high: int,
    batch: int,
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> int:
    """Confirm blocks in bulk, in order, re-checking exactly any that is not confirmed or does
    not continue the chain so far; returns the entries re-checked exactly."""
    rechecked = 0
    blocks = _blocks(session, high, batch, workers, walker.expected)
    with closing(blocks):
        for block in blocks:
            if not (
                block.confirmed
                and walker.extend(block.lo, block.prev, block.hi, block.last, block.anchor)
            ):
                rechecked += _exact(session, walker, block.lo, block.hi)
            if progress is not None:
                progress(walker.count)
    return rechecked


def _blocks(
    session: Session,
    high: int,
    batch: int,
    workers: int | None,
    expected: Expected,
) -> Generator[Block, None, None]:
    """Bulk-check every block of 1 … ``high``, in order."""
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    spans = [(lo, min(lo + batch, high)) for lo in range(0, high, batch)]
    jobs = min(WORKERS, os.cpu_count() or 1) if workers is None else workers
    jobs = min(jobs, len(spans))
    if isinstance(bind, Engine) and jobs > 1:
        if postgres:
            yield from _threads(bind, spans, expected, jobs)
            return
        path = _sqlite_file(bind)
        if path is not None and (workers is not None or high >= PARALLEL_FROM):
            yield from parallel_blocks(path, audit_blocks.SQLITE_BLOCK, spans, expected, jobs)
            return
    connection = session.connection()
    sql = audit_blocks.PG_BLOCK if postgres else audit_blocks.SQLITE_BLOCK
    with _mmap(connection), closing(connection.connection.cursor()) as cursor:
        for statement in audit_blocks.PG_SETUP if postgres else ():
            cursor.execute(statement)
        for lo, hi in spans:
            yield audit_blocks.confirm(cursor, sql, lo, hi, expected, guarded=postgres)


def _threads(
    engine: Engine, spans: list[tuple[int, int]], expected: Expected, jobs: int
) -> Generator[Block, None, None]:
    """PostgreSQL: ``jobs`` threads, each on its own connection; while one hashes a block
    (holding the interpreter lock), the server aggregates the others (measured on 200,000
    entries: 1.6× one connection, and faster than worker processes, which pay for starting up
    and importing the driver; more threads gain nothing on two cores)."""
    local, lock = threading.local(), threading.Lock()
    with ExitStack() as stack, ThreadPoolExecutor(jobs, thread_name_prefix="audit-verify") as pool:

        def check(span: tuple[int, int]) -> Block:
            if not hasattr(local, "cursor"):
                with lock:
                    connection = stack.enter_context(engine.connect())
                    local.cursor = stack.enter_context(closing(connection.connection.cursor()))
                for statement in audit_blocks.PG_SETUP:
                    local.cursor.execute(statement)
            return audit_blocks.confirm(
                local.cursor, audit_blocks.PG_BLOCK, *span, expected, guarded=True
            )

        try:
            yield from pool.map(check, spans)
        finally:  # stop queued blocks when the caller stops early (a bad entry)
            pool.shutdown(cancel_futures=True)


def _sqlite_file(engine: Engine) -> str | None:
    """The SQLite database's file, for worker processes; None when only this process can see
    it (in memory) or it is named by a URI."""
    database = engine.url.database
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    return os.path.abspath(database)


@contextmanager
def _mmap(connection: Connection) -> Iterator[None]:
    """SQLite: read the file through a memory map while verifying; back to the default
    afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql(audit_blocks.SQLITE_MMAP)
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA mmap_size = 0")


def _exact(session: Session, walker: ChainWalker, lo: int, hi: int) -> int:
    """Row-by-row check of entries lo+1 … hi (raises ChainError); returns the rows checked."""
    rows = session.execute(
        select(*_verify_columns(session)).where(_SEQ.between(lo + 1, hi)).order_by(_SEQ)
    ).all()
    _verify_rows(walker, rows)
    return len(rows)


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
    """Check rows in order; each entry's canonical text is rebuilt from its columns and compared
    with the stored (hashed) text, and the hashed text must also read back as an envelope whose
    fields are the columns (equal texts alone could hide JSON spliced into a column: see
    storage.audit_blocks). Any mismatch is examined closely to name the first problem."""
    n, last = walker.count, walker.head_hash
    anchored = walker.anchored
    try:
        for row in rows:
            seq, digest = row[0], row[8]
            data = _hashed_bytes(row[9])
            if seq != n + 1 or row[7] != last or not _agrees(row, data):
                walker.count, walker.head_hash = n, last
                _diagnose(walker, row, data)
            n, last = seq, digest
            if anchored:
                walker.check_expected(n, last)
    finally:
        walker.count, walker.head_hash = n, last


def _hashed_bytes(canonical: object) -> bytes:
    # A column of another storage type (SQLite lets any column hold any) is judged by its bytes.
    if isinstance(canonical, bytes):
        return canonical
    return str(canonical).encode("utf-8")


def _agrees(row: Sequence[Any], data: bytes) -> bool:
    """Whether the row's columns rebuild its hashed text, which hashes to its hash and reads
    back as its columns; False (never an exception) for columns of the wrong type."""
    seq, at, actor, kind, subject, payload, version, prev, digest, canonical = row
    try:
        rebuilt = (
            f'{{"actor":{_str(actor)},"at":"{at}","charter_version":'
            f'{"null" if version is None else version},"kind":{_str(kind)},'
            f'"payload":{payload},"prev":"{prev}","seq":{seq},"subject":{_str(subject)}}}'
        )
        return (
            rebuilt == canonical
            and hashlib.sha256(bytes.fromhex(prev) + data).hexdigest() == digest
            and _reads_back(row, data)
        )
    except (TypeError, ValueError):
        return False


def _reads_back(row: Sequence[Any], data: bytes) -> bool:
    """Whether the hashed bytes parse as an envelope holding exactly the row's columns, its
    payload column being one JSON value."""
    try:
        obj = strict_json(data.decode("utf-8"))
        strict_json(row[5])
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(obj, dict)
        and obj.keys() == ENVELOPE
        and all(
            row[index] == obj[name] and not isinstance(obj[name], bool) for name, index in _FIELDS
        )
    )


# The envelope fields checked against columns, by their place in the verified row.
_FIELDS = (("at", 1), ("actor", 2), ("kind", 3), ("subject", 4), ("charter_version", 6))


# Columns that hold text, by their place in the verified row.
_TEXT = (("actor", 2), ("kind", 3), ("subject", 4), ("payload", 5), ("prev_hash", 7), ("hash", 8))


def _diagnose(walker: ChainWalker, row: Sequence[Any], data: bytes) -> None:
    """Raise ChainError naming what is wrong with ``row``: a column of the wrong type, then the
    chain rules, then the columns against the hashed bytes."""
    seq = row[0]
    for name, index in (*_TEXT, ("canonical", 9)):
        if not isinstance(row[index], str):
            raise ChainError(seq, f"entry {seq}: the {name} column does not hold text")
    version = row[6]
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ChainError(seq, f"entry {seq}: the charter_version column is not an integer")
    obj = walker.feed(seq, row[7], row[8], data)  # raises for chain problems
    for name, index in _FIELDS:
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
