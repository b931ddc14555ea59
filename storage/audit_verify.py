"""Verifying the audit log in the database.

What a verified log is (the rules and their wording are storage.verify_export's ChainWalker,
shared with the standalone verifier):
- seq runs 1, 2, …, N with no gap; entry 1's prev_hash is 64 zeros and every later prev_hash is
  the previous entry's hash; every hash is sha256(prev bytes + canonical bytes); every stored
  column equals what the hashed canonical bytes say; a published head given as
  ``expected_head`` is in the log (at its seq, when one is given).
- The first entry that breaks a rule is named, with a plain sentence saying why.

How, fast (the goal is a million entries in a few seconds):
- Blocks of ``batch`` entries are confirmed in bulk. The database returns a block as one row:
  the canonical texts joined by U+001E (never unescaped in RFC 8785 text), the prev hashes and
  the hashes each concatenated, and how many rows' canonical text differs from the text rebuilt
  from their other columns — so every column is compared inside the database, and Python builds
  no object per entry. Python recomputes the block's hashes in one loop and compares them, and
  the links between them, with single string comparisons.
- The bulk check can only *confirm* a block. A block it does not confirm, for whatever reason
  (including a false alarm), is re-checked row by row by the exact check, which names the first
  bad entry or accepts the block. Every failure message therefore comes from the exact check.
- The databases' JSON string escaping (SQLite ``json_quote``, PostgreSQL ``to_json``) equals
  RFC 8785's for every ASCII character and the non-ASCII ones encoders treat specially (tested),
  so the rebuilt text matches exactly when Python's would; any other difference would only be a
  false alarm, settled by the exact check.
- Two worker connections take turns: while Python hashes one block (holding the interpreter
  lock), the database aggregates the next (the PostgreSQL server, or SQLite's C code, which
  runs without the lock).
- Entries appended after the check started are outside it: it verifies up to the largest seq it
  saw first.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Text, func, select, text, type_coerce
from sqlmodel import Session

from storage.canonical import json_string as _str
from storage.models.audit import AuditEntry
from storage.verify_export import ChainError, ChainWalker

_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_SEQ = _TABLE.c.seq
# Connections aggregating blocks while Python hashes another (measured on two cores: 1.3× on
# SQLite and 2× on PostgreSQL over one connection; more than two gain nothing).
WORKERS = 2


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
            follows = walker.count == block.lo and walker.head_hash == block.prev
            if block.confirmed and follows:
                walker.count, walker.head_hash = block.hi, block.last
                if block.anchor is not None:
                    walker.check_expected(*block.anchor)
            else:
                rechecked += _exact(session, walker, block.lo, block.hi)
            if progress is not None:
                progress(walker.count)
    return rechecked


@dataclass(frozen=True)
class _Block:
    lo: int  # the block is seq lo+1 … hi
    hi: int
    confirmed: bool = False
    prev: str = ""  # prev_hash of entry lo+1
    last: str = ""  # hash of entry hi
    anchor: tuple[int, str] | None = None  # (seq, hash) where the expected head would sit


def _blocks(
    session: Session,
    high: int,
    batch: int,
    workers: int | None,
    expected: tuple[int | None, str] | None,
) -> Generator[_Block, None, None]:
    """Bulk-check every block of 1 … ``high``, in order."""
    bind = session.get_bind()
    sql = _PG_BLOCK if bind.dialect.name == "postgresql" else _SQLITE_BLOCK
    spans = [(lo, min(lo + batch, high)) for lo in range(0, high, batch)]
    jobs = WORKERS if workers is None else workers
    # Workers open their own connections: not for a session bound to a connection, nor for an
    # in-memory SQLite database (one per connection: only this one can see it).
    engine = bind if isinstance(bind, Engine) else None
    if engine is None or engine.url.database in (None, "", ":memory:"):
        jobs = 1
    if jobs <= 1 or len(spans) == 1:
        connection = session.connection()
        with _mmap(connection):
            for lo, hi in spans:
                yield _confirm(connection, sql, lo, hi, expected)
        return
    with (
        _worker_connections(engine) as connection_here,
        ThreadPoolExecutor(jobs, thread_name_prefix="audit-verify") as pool,
    ):
        try:
            yield from pool.map(
                lambda span: _confirm(connection_here(), sql, span[0], span[1], expected), spans
            )
        finally:  # stop queued blocks when the caller stops early (a bad entry)
            pool.shutdown(cancel_futures=True)


@contextmanager
def _worker_connections(bind: Engine | None) -> Iterator[Callable[[], Connection]]:
    """One connection per worker thread, all closed at the end."""
    assert bind is not None
    local, lock = threading.local(), threading.Lock()
    with ExitStack() as stack:

        def connection() -> Connection:
            if not hasattr(local, "connection"):
                with lock:
                    local.connection = stack.enter_context(bind.connect())
                    stack.enter_context(_mmap(local.connection))
            result: Connection = local.connection
            return result

        yield connection


@contextmanager
def _mmap(connection: Connection) -> Iterator[None]:
    """SQLite: read the file through a memory map while verifying (about twice as fast as
    copying pages through read() here); back to the default afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA mmap_size = 1073741824")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA mmap_size = 0")


def _confirm(
    connection: Connection,
    sql: Any,
    lo: int,
    hi: int,
    expected: tuple[int | None, str] | None,
) -> _Block:
    """Bulk-check entries lo+1 … hi; unconfirmed unless every check holds.

    seq is the primary key, so ``hi - lo`` rows in (lo, hi] are exactly lo+1 … hi. A missing or
    extra part, hash or link makes the joined digests or links differ from the stored ones.
    """
    count, texts, prevs, hashes, differing = connection.execute(sql, {"lo": lo, "hi": hi}).one()
    if count != hi - lo or differing:
        return _Block(lo, hi)
    try:
        digest = bytes.fromhex(prevs[:64])
    except ValueError:
        return _Block(lo, hi)
    sha256, digests = hashlib.sha256, list[bytes]()
    append = digests.append
    for data in texts.encode("utf-8").split(b"\x1e"):
        digest = sha256(digest + data).digest()
        append(digest)
    if b"".join(digests).hex() != hashes or prevs[64:] != hashes[:-64]:
        return _Block(lo, hi)
    return _Block(lo, hi, True, prevs[:64], hashes[-64:], _anchor(expected, lo, hi, hashes))


def _anchor(
    expected: tuple[int | None, str] | None, lo: int, hi: int, hashes: str
) -> tuple[int, str] | None:
    """Where the expected head falls in a confirmed block: (seq, the hash stored there)."""
    if expected is None:
        return None
    want_seq, want_hash = expected
    if want_seq is not None:
        if lo < want_seq <= hi:
            at = (want_seq - lo - 1) * 64
            return want_seq, hashes[at : at + 64]
        return None
    at = hashes.find(want_hash)
    while at != -1 and at % 64:  # only whole hashes count
        at = hashes.find(want_hash, at + 1)
    return None if at == -1 else (lo + at // 64 + 1, want_hash)


# The canonical text rebuilt from the other columns, in the envelope's fixed key order
# (storage.canonical); the rows whose stored canonical text differs are counted.
_SQLITE_BLOCK = text(
    """SELECT count(*), group_concat(canonical, char(30)),
    group_concat(prev_hash, ''), group_concat(hash, ''),
    sum(canonical IS NOT ('{"actor":' || json_quote(actor) || ',"at":"' || replace(at, ' ', 'T')
        || 'Z","charter_version":' || coalesce(charter_version, 'null') || ',"kind":'
        || json_quote(kind) || ',"payload":' || payload || ',"prev":"' || prev_hash
        || '","seq":' || seq || ',"subject":' || json_quote(subject) || '}'))
    FROM audit_entry WHERE seq > :lo AND seq <= :hi"""
)
# The subquery's order is the aggregates' order (an ORDER BY inside string_agg sorts again,
# twice as slow); were it ever different, the hashes would not match and the exact check runs.
_PG_BLOCK = text(
    """SELECT count(*), string_agg(canonical, chr(30)),
    string_agg(prev_hash, ''), string_agg(hash, ''),
    count(*) FILTER (WHERE canonical IS DISTINCT FROM concat('{"actor":', to_json(actor),
        ',"at":"', to_char(timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        '","charter_version":', coalesce(CAST(charter_version AS text), 'null'), ',"kind":',
        to_json(kind), ',"payload":', payload, ',"prev":"', prev_hash, '","seq":', seq,
        ',"subject":', to_json(subject), '}'))
    FROM (SELECT * FROM audit_entry WHERE seq > :lo AND seq <= :hi ORDER BY seq) AS block"""
)


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
    with the stored (hashed) text, which proves every column agrees without parsing JSON. Any
    mismatch is examined closely to name the first problem."""
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
