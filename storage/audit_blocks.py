"""The bulk check of one block of the audit log, on a plain DB-API connection.

A block is entries lo+1 … hi. The database returns it as one row: the canonical texts joined by
U+001E (never unescaped in RFC 8785 text), the prev hashes and the hashes each concatenated, and
how many rows' canonical text differs from the text rebuilt from their other columns — so every
column is compared inside the database, and Python builds no object per entry. On SQLite, Python
recomputes the block's hashes in one loop and compares them; PostgreSQL recomputes them itself
(its built-in sha256, in the server process beside the column checks: 1.3× as fast as shipping
the texts to Python, measured) and counts a row whose hash differs as differing. The links
between hashes are compared in Python with single string comparisons.

The check can only *confirm* a block; storage.audit_verify re-checks any other block row by row.
This module needs nothing but the standard library and a DB-API connection, so the worker
processes (storage.audit_workers) import it without SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

# The canonical text rebuilt from the other columns, in the envelope's fixed key order
# (storage.canonical); the rows whose stored canonical text differs are counted. Strings are
# escaped the cheapest way each database allows that cannot confirm a wrong row: SQLite's
# json_quote equals RFC 8785's escaping for every ASCII character and the non-ASCII ones encoders
# treat specially (tested); on PostgreSQL (where to_json costs as much as the rest of the check)
# only the quote and the backslash are escaped, so an actor, kind or subject holding a control
# character counts as differing (RFC 8785 escapes it; the text rebuilt here would not, and a
# hashed text holding it raw is not JSON), settled by the exact check.
#
# Joined hashes are compared as one string, so every hash and prev_hash must also be exactly
# 64 characters (SQLite does not enforce VARCHAR(64); an owner can widen PostgreSQL's): else
# characters moved from one row's hash to the next would leave the joined strings equal.
#
# Equal texts are not enough on their own: a column spliced in unquoted could carry JSON
# structure into the hashed bytes (a payload column of '{…},"x":1' rebuilds the very bytes
# that hold it, which are then no envelope). So a row also counts as differing unless its
# payload is exactly one JSON value, and (SQLite, where any column may hold any value) its time
# is plain digits in SQLAlchemy's fixed layout, its charter version an integer or null and its
# other columns text (a BLOB of the same bytes would compare equal here; json_quote, which
# refuses a BLOB and would fail the whole query, is given every value as text).
# PostgreSQL's column types already guarantee the last two; its payload is cast to json, which
# fails the whole query on a bad one (confirm() then leaves the block to the exact check).
_D2 = "[0-9][0-9]"
_SQLITE_AT = f"{_D2}{_D2}-{_D2}-{_D2} {_D2}:{_D2}:{_D2}.{_D2}{_D2}{_D2}"
SQLITE_BLOCK = f"""SELECT count(*), group_concat(canonical, char(30)),
    group_concat(prev_hash, ''), group_concat(hash, ''),
    sum(canonical IS NOT printf('{{"actor":%s,"at":"%sZ","charter_version":%s,"kind":%s,'
        || '"payload":%s,"prev":"%s","seq":%d,"subject":%s}}',
        json_quote(CAST(actor AS TEXT)), replace(at, ' ', 'T'), coalesce(charter_version, 'null'),
        json_quote(CAST(kind AS TEXT)), payload, prev_hash, seq, json_quote(CAST(subject AS TEXT)))
        OR NOT json_valid(payload) OR at NOT GLOB '{_SQLITE_AT}'
        OR typeof(charter_version) NOT IN ('integer', 'null')
        OR length(hash) != 64 OR length(prev_hash) != 64 OR typeof(canonical) != 'text'
        OR typeof(payload) != 'text' OR typeof(hash) != 'text' OR typeof(prev_hash) != 'text'
        OR typeof(actor) != 'text' OR typeof(kind) != 'text' OR typeof(subject) != 'text')
    FROM audit_entry WHERE seq > :lo AND seq <= :hi"""


def _pg_quoted(column: str) -> str:
    # chr(92) is the backslash, whatever standard_conforming_strings says.
    escaped = f"replace(replace({column}, chr(92), chr(92) || chr(92)), '\"', chr(92) || '\"')"
    return f"""'\"' || {escaped} || '\"'"""


# The subquery's order is the aggregates' order (an ORDER BY inside string_agg sorts again,
# twice as slow); were it ever different, the links would not match and the exact check runs.
# No texts are returned (NULL): each row's hash is recomputed by the server, from the prev_hash
# column's bytes (decode fails the query on a prev_hash that is not hex) and the canonical text
# as UTF-8.
PG_BLOCK = f"""SELECT count(*), NULL::text, string_agg(prev_hash, ''), string_agg(hash, ''),
    count(*) FILTER (WHERE hash IS DISTINCT FROM
            encode(sha256(decode(prev_hash, 'hex') || convert_to(canonical, 'UTF8')), 'hex')
        OR payload::json IS NULL OR length(hash) <> 64
        OR length(prev_hash) <> 64 OR (actor || kind || subject) ~ '[\\x01-\\x1f]'
        OR canonical IS DISTINCT FROM ('{{"actor":' || {_pg_quoted("actor")}
        || ',"at":"' || to_char(timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        || '","charter_version":' || coalesce(charter_version::text, 'null') || ',"kind":'
        || {_pg_quoted("kind")} || ',"payload":' || payload || ',"prev":"' || prev_hash::text
        || '","seq":' || seq::text || ',"subject":' || {_pg_quoted("subject")} || '}}'))
    FROM (SELECT canonical, prev_hash, hash, actor, at, charter_version, kind, payload, seq,
        subject FROM audit_entry WHERE seq > %(lo)s AND seq <= %(hi)s ORDER BY seq) AS block"""
# SQLite: read the file through a memory map while checking blocks (about twice as fast as
# copying pages through read() here).
SQLITE_MMAP = "PRAGMA mmap_size = 1073741824"

# Run at the start of the verifier's transaction, on every connection it uses.
# - Blocks are ranges of the primary key, read in its order: an index scan. On a table whose
#   statistics are missing or stale (a restored or freshly filled log) the planner picks a
#   bitmap scan and sorts every block instead — 40% slower (measured) — so that is ruled out.
# - The checks call built-in functions and operators by their plain names (sha256, replace,
#   =, ||, …). pg_catalog goes first in the search path, so a same-named function or operator
#   someone created in a schema listed before it cannot answer for them; the table is still
#   found where the connection's own search path finds it.
PG_SETUP = (
    "SET LOCAL enable_bitmapscan = off",
    "SELECT set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), true)",
)

Expected = tuple[int | None, str] | None  # a published head: (seq or None, hex)


@dataclass(frozen=True)
class Block:
    lo: int  # the block is seq lo+1 … hi
    hi: int
    confirmed: bool = False
    prev: str = ""  # prev_hash of entry lo+1
    last: str = ""  # hash of entry hi
    anchor: tuple[int, str] | None = None  # (seq, hash) where the expected head would sit


def confirm(
    cursor: Any, sql: str, lo: int, hi: int, expected: Expected, *, guarded: bool = False
) -> Block:
    """Bulk-check entries lo+1 … hi on a DB-API ``cursor``; unconfirmed unless every check holds.

    seq is the primary key, so ``hi - lo`` rows in (lo, hi] are exactly lo+1 … hi. A missing or
    extra part, hash or link makes the joined digests or links differ from the stored ones.
    ``guarded`` (PostgreSQL): the query runs in a savepoint, and failing (a payload that cannot
    be cast to json) leaves the block unconfirmed, for the exact check to name what is wrong.
    """
    row = _guarded(cursor, sql, lo, hi) if guarded else _fetch(cursor, sql, lo, hi)
    if row is None:
        return Block(lo, hi)
    count, texts, prevs, hashes, differing = row
    if count != hi - lo or differing:
        return Block(lo, hi)
    if texts is not None and not _hashes_agree(texts, prevs, hashes):
        return Block(lo, hi)
    if prevs[64:] != hashes[:-64]:
        return Block(lo, hi)
    return Block(lo, hi, True, prevs[:64], hashes[-64:], anchor(expected, lo, hi, hashes))


def _hashes_agree(texts: str, prevs: str, hashes: str) -> bool:
    """Whether chaining sha256 from the block's first prev hash over ``texts`` (joined by
    U+001E) gives exactly ``hashes``."""
    try:
        digest = bytes.fromhex(prevs[:64])
    except ValueError:
        return False
    sha256, digests = hashlib.sha256, list[bytes]()
    append = digests.append
    for data in texts.encode("utf-8").split(b"\x1e"):
        digest = sha256(digest + data).digest()
        append(digest)
    return b"".join(digests).hex() == hashes


def _fetch(cursor: Any, sql: str, lo: int, hi: int) -> Any:
    cursor.execute(sql, {"lo": lo, "hi": hi})
    return cursor.fetchone()


def _guarded(cursor: Any, sql: str, lo: int, hi: int) -> Any:
    """PostgreSQL: the block query inside a savepoint; None when it failed (a payload that is not
    JSON fails the cast), with the transaction restored. A failure that is not the block's, such
    as a lost connection, fails the rollback too and is raised from there."""
    cursor.execute("SAVEPOINT audit_block")
    try:
        row = _fetch(cursor, sql, lo, hi)
    except Exception:
        cursor.execute("ROLLBACK TO SAVEPOINT audit_block")
        return None
    cursor.execute("RELEASE SAVEPOINT audit_block")
    return row


def anchor(expected: Expected, lo: int, hi: int, hashes: str) -> tuple[int, str] | None:
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
