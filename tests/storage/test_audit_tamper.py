"""Tampering is refused by the database, and what gets past it is caught by verification.

Each tamper is done directly in the database with the append-only triggers dropped (what a
table owner can do). The log is then checked twice: by ``audit.verify`` on the database and by
the standalone verifier on an export. Both must name the first bad entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text, update
from sqlalchemy.exc import DBAPIError

from storage import audit
from storage.canonical import entry_hash
from storage.db import read_scope, session_scope
from storage.models.audit import AuditEntry
from storage.verify_export import ChainError, main as verify_main, verify_file
from tests.storage.audit_fixtures import draft, fill

N = 8
TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    row = conn.execute(text("SELECT * FROM audit_entry WHERE seq = :s"), {"s": seq}).one()
    return dict(row._mapping)


def _set(conn: Connection, seq: int, **values: Any) -> None:
    conn.execute(update(TABLE).where(TABLE.c.seq == seq).values(**values))


def edit_payload(conn: Connection) -> None:
    row = _row(conn, 5)
    _set(
        conn,
        5,
        payload=row["payload"].replace("approve", "reject"),
        canonical=row["canonical"].replace("approve", "reject"),
    )


def delete_row(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))


def swap_rows(conn: Connection) -> None:
    for old, new in ((3, -3), (4, 3), (-3, 4)):
        conn.execute(text("UPDATE audit_entry SET seq = :n WHERE seq = :o"), {"n": new, "o": old})


def truncate_tail(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq >= 7"))


def _forge(conn: Connection, seq: int) -> None:
    row = _row(conn, seq)
    canonical = row["canonical"].replace("approve", "reject")
    digest = entry_hash(row["prev_hash"], canonical.encode("utf-8"))
    _set(
        conn,
        seq,
        payload=row["payload"].replace("approve", "reject"),
        canonical=canonical,
        hash=digest,
    )


def forge_entry(conn: Connection) -> None:
    _forge(conn, 5)


def forge_tail(conn: Connection) -> None:
    _forge(conn, N)


def _rechain(conn: Connection, seq: int, prev: str) -> str:
    """Rewrite entry ``seq`` to follow ``prev`` (its columns, hashed bytes and hash all agree)."""
    row = _row(conn, seq)
    canonical = row["canonical"].replace(row["prev_hash"], prev)
    digest = entry_hash(prev, canonical.encode("utf-8"))
    _set(conn, seq, prev_hash=prev, canonical=canonical, hash=digest)
    return digest


def misdirect_prev(conn: Connection) -> None:
    """Entry 6 names another predecessor, but its hash was computed over the real one."""
    row = _row(conn, 6)
    canonical = row["canonical"].replace(row["prev_hash"], "ee" * 32)
    _set(
        conn,
        6,
        prev_hash="ee" * 32,
        canonical=canonical,
        hash=entry_hash(row["prev_hash"], canonical.encode("utf-8")),
    )


def relink_tail(conn: Connection) -> None:
    """Entries 7 and 8 rewritten into a consistent chain that hangs off a foreign hash."""
    _rechain(conn, 8, _rechain(conn, 7, "ee" * 32))


def delete_before_boundary(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 6"))


def delete_and_rechain(conn: Connection) -> None:
    """Entry 6 removed and 7, 8 rewritten to chain straight onto entry 5: only seq shows it."""
    delete_before_boundary(conn)
    _rechain(conn, 8, _rechain(conn, 7, _row(conn, 5)["hash"]))


def non_hex_prev(conn: Connection) -> None:
    """Entry 4's prev column and hashed bytes agree on a prev that is not hex at all."""
    row = _row(conn, 4)
    _set(
        conn,
        4,
        prev_hash="zz" * 32,
        canonical=row["canonical"].replace(row["prev_hash"], "zz" * 32),
    )


def flip_hash_bit(conn: Connection) -> None:
    digest = _row(conn, 6)["hash"]
    _set(conn, 6, hash=digest[:-1] + format(int(digest[-1], 16) ^ 1, "x"))


def edit_prev_column(conn: Connection) -> None:
    _set(conn, 6, prev_hash="ee" * 32)


def _smuggle(column: str, into: Callable[[Any], Any]) -> Callable[[Connection], None]:
    """Entry N's ``column`` and hashed bytes rewritten alike (hash recomputed), so that the text
    rebuilt from the columns still equals the hashed bytes, which no longer say the columns."""

    def tamper(conn: Connection) -> None:
        row = _row(conn, N)
        old, new = row[column], into(row[column])
        key = "charter_version" if column == "charter_version" else column
        if column == "at":  # SQLite's stored text: 'YYYY-MM-DD HH:MM:SS.ffffff'
            old, text_new = f'"{old.replace(" ", "T")}', f'"{new.replace(" ", "T")}'
        else:
            text_new = str(new)
        canonical = row["canonical"].replace(f'"{key}":{old}', f'"{key}":{text_new}', 1)
        assert canonical != row["canonical"]
        digest = entry_hash(row["prev_hash"], canonical.encode("utf-8"))
        conn.execute(  # as raw text: SQLAlchemy's column types would refuse these values
            text(f"UPDATE audit_entry SET {column} = :v, canonical = :c, hash = :h WHERE seq = :s"),
            {"v": new, "c": canonical, "h": digest, "s": N},
        )

    tamper.__name__ = f"smuggle_{column}"
    return tamper


def _column(seq: int, name: str, value: Any) -> Callable[[Connection], None]:
    def tamper(conn: Connection) -> None:
        if callable(value):
            _set(conn, seq, **{name: value(_row(conn, seq)[name])})
        else:
            _set(conn, seq, **{name: value})

    tamper.__name__ = f"edit_{name}_column"
    return tamper


# (tamper, anchored to the published head?, first bad seq, reason, caught by the export too?)
# Columns outside the hashed bytes' copy in the export (actor, payload, at, …) are only the
# database's business: the export carries the hashed bytes themselves, which are intact.
MATRIX = [
    (edit_payload, False, 5, "entry 5: stored hash does not match the hash of its contents", True),
    (delete_row, False, 4, "sequence jumps from 3 to 5: entry 4 is missing or out", True),
    (swap_rows, False, 3, "entry 3: seq does not match the hashed bytes", True),
    (truncate_tail, True, 7, "entry 7 missing: the log ends at entry 6", True),
    (forge_entry, False, 5, "entry 5 was rewritten after entry 6 was written", True),
    (forge_tail, True, N, f"entry {N}: hash differs from the expected head", True),
    (flip_hash_bit, False, 6, "entry 6: stored hash does not match", True),
    (edit_prev_column, False, 6, "entry 6: prev_hash does not match the hashed bytes", True),
    (misdirect_prev, False, 6, "entry 6: prev_hash does not match the hash of entry 5", True),
    (relink_tail, False, 6, "entry 6 was rewritten after entry 7 was written", True),
    (
        delete_before_boundary,
        False,
        6,
        "sequence jumps from 5 to 7: entry 6 is missing or out",
        True,
    ),
    (non_hex_prev, False, 4, "entry 4: prev_hash is not hex", True),
    (delete_and_rechain, False, 6, "sequence jumps from 5 to 7: entry 6 is missing or out", True),
    (
        _smuggle("payload", lambda p: p + ',"x":1'),
        False,
        N,
        f"entry {N}: the hashed bytes are not an audit entry envelope",
        True,
    ),
    (
        _smuggle("payload", lambda p: p[:-1]),
        False,
        N,
        f"entry {N}: the hashed bytes are not valid JSON",
        True,
    ),
    (_column(2, "actor", "mallory"), False, 2, "entry 2: actor column does not match", False),
    (
        _column(3, "payload", lambda p: p.replace("approve", "reject")),
        False,
        3,
        "entry 3: payload column does not match the hashed bytes",
        False,
    ),
    (
        _column(4, "at", datetime(2023, 5, 1, 9, 4, tzinfo=UTC)),
        False,
        4,
        "entry 4: at column",
        False,
    ),
    (_column(5, "charter_version", 2), False, 5, "entry 5: charter_version column", False),
    (_column(6, "kind", "veto"), False, 6, "entry 6: kind column", False),
    (_column(7, "subject", "proposal#99"), False, 7, "entry 7: subject column", False),
]


def _drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_change ON audit_entry")
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")


# Blocks of 2000 hold the whole log; blocks of 3 put block boundaries at 3|4 and 6|7, so every
# tamper also meets the bulk check's hand-over between blocks and to the exact check.
@pytest.mark.parametrize(
    ("batch", "workers"),
    [(2000, None), (3, 1), (3, 2)],
    # blocks-of-3-parallel: SQLite's worker processes, PostgreSQL's worker threads
    ids=["one-block", "blocks-of-3", "blocks-of-3-parallel"],
)
@pytest.mark.parametrize(
    ("tamper", "anchored", "bad_seq", "reason", "in_export"),
    MATRIX,
    ids=[
        row[0].__name__ + (f"@{row[2]}" if row[0].__name__.startswith("edit_") else "")
        for row in MATRIX
    ],
)
def test_tampering_is_caught_by_both_verifiers(
    engine: Engine,
    tmp_path: Path,
    tamper: Callable[[Connection], None],
    anchored: bool,
    bad_seq: int,
    reason: str,
    in_export: bool,
    batch: int,
    workers: int | None,
) -> None:
    """Every kind of edit behind the appender's back is named at its first bad entry."""
    fill(engine, N)
    with read_scope(engine) as session:
        published = audit.head(session)
        assert audit.verify(session).ok
    _drop_triggers(engine)
    with engine.begin() as conn:
        tamper(conn)
    anchor = published if anchored else None

    with read_scope(engine) as session:
        result = audit.verify(session, expected_head=anchor, batch=batch, workers=workers)
        if anchored:  # without the published head, a shortened or re-tailed log looks fine
            assert audit.verify(session, batch=batch, workers=workers).ok
        export = tmp_path / "audit.jsonl"
        with export.open("w", encoding="utf-8") as handle:
            audit.export(session, handle)
    assert (result.ok, result.first_bad_seq) == (False, bad_seq), result.reason
    assert reason in result.reason

    if not in_export:
        assert verify_file(str(export), anchor, workers=workers) == published
        return
    with pytest.raises(ChainError) as info:
        verify_file(str(export), anchor, workers=workers)
    assert (info.value.seq, reason in info.value.reason) == (bad_seq, True), info.value.reason


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_entry SET payload = payload",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
    ],
)
def test_triggers_refuse_update_and_delete(engine: Engine, statement: str) -> None:
    """The table is append-only: UPDATE and DELETE are refused by the database itself."""
    fill(engine, 3)
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with read_scope(engine) as session:
        assert audit.verify(session).count == 3


@pytest.mark.postgres
def test_trigger_refuses_truncate_on_postgres(pg_engine: Engine) -> None:
    """On PostgreSQL, TRUNCATE (which skips row triggers) is refused too."""
    fill(pg_engine, 2)
    with pytest.raises(Exception, match="append-only: TRUNCATE refused"), pg_engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_entry"))
    with read_scope(pg_engine) as session:
        assert audit.verify(session).count == 2


_COLUMNS = "seq, at, actor, kind, subject, payload, charter_version, prev_hash, hash, canonical"


@pytest.mark.parametrize("verb", ["REPLACE INTO", "INSERT OR REPLACE INTO"])
@pytest.mark.parametrize(
    "collide",
    [
        pytest.param(lambda row: {**row, "actor": "mallory"}, id="same-seq"),
        pytest.param(lambda row: {**row, "seq": 4, "hash": "ef" * 32}, id="new-seq-same-prev"),
        pytest.param(lambda row: {**row, "seq": 4, "prev_hash": "ef" * 32}, id="new-seq-same-hash"),
    ],
)
def test_sqlite_refuses_replace(
    sqlite_engine: Engine, verb: str, collide: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """SQLite's REPLACE deletes the row it collides with and fires no DELETE trigger: with the
    append-only triggers in place it would still rewrite or drop an entry. 0014 refuses it."""
    fill(sqlite_engine, 3)
    with read_scope(sqlite_engine) as session:
        row = dict(
            session.execute(text(f"SELECT {_COLUMNS} FROM audit_entry WHERE seq = 3"))
            .mappings()
            .one()
        )
    names = _COLUMNS.split(", ")
    statement = text(f"{verb} audit_entry ({_COLUMNS}) VALUES (:{', :'.join(names)})")
    refused = pytest.raises(DBAPIError, match="append-only: INSERT or REPLACE over an existing")
    with refused, sqlite_engine.begin() as conn:
        conn.execute(statement, collide(row))
    with read_scope(sqlite_engine) as session:
        kept = session.execute(text(f"SELECT {_COLUMNS} FROM audit_entry WHERE seq = 3"))
        assert dict(kept.mappings().one()) == row
        assert audit.verify(session).count == 3
    with session_scope(sqlite_engine) as session:  # ordinary appends still go in
        audit.append_many(session, [draft(4), draft(5)])
    with read_scope(sqlite_engine) as session:
        result = audit.verify(session)
    assert (result.ok, result.count) == (True, 5), result.reason


@pytest.mark.postgres
def test_postgres_refuses_insert_on_conflict_do_update(pg_engine: Engine) -> None:
    """PostgreSQL's upsert fires the row UPDATE trigger: refused like any UPDATE."""
    fill(pg_engine, 3)
    upsert = text(
        "INSERT INTO audit_entry SELECT * FROM audit_entry WHERE seq = 2 "
        "ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'"
    )
    with pytest.raises(DBAPIError, match="append-only: UPDATE refused"), pg_engine.begin() as conn:
        conn.execute(upsert)
    with read_scope(pg_engine) as session:
        result = audit.verify(session)
    assert (result.ok, result.count) == (True, 3), result.reason


# Columns that only SQLite lets hold any text (PostgreSQL's types refuse these values).
ENVELOPE = "not an audit entry envelope"


@pytest.mark.parametrize(
    ("tamper", "reason", "export_reason"),
    [
        (_smuggle("at", lambda at: at + '","x":"1'), ENVELOPE, ENVELOPE),
        (_smuggle("at", lambda at: at[:19] + '","x":"'), ENVELOPE, ENVELOPE),
        (
            _smuggle("charter_version", lambda v: f'{v},"x":1'),
            "the charter_version column is not an integer",
            ENVELOPE,
        ),
        (_smuggle("charter_version", lambda v: f"{v}.0"), "not in canonical form", None),
    ],
    ids=["at-spliced", "at-spliced-same-length", "version-spliced", "version-float"],
)
@pytest.mark.parametrize(("batch", "workers"), [(2000, None), (3, 2)])
def test_sqlite_columns_cannot_smuggle_json(
    sqlite_engine: Engine,
    tmp_path: Path,
    tamper: Callable[[Connection], None],
    reason: str,
    export_reason: str | None,
    batch: int,
    workers: int | None,
) -> None:
    """Text spliced into the hashed bytes through a column is caught by the database verifier,
    and (where it breaks the envelope) by the standalone one."""
    fill(sqlite_engine, N)
    _drop_triggers(sqlite_engine)
    with sqlite_engine.begin() as conn:
        tamper(conn)
    with read_scope(sqlite_engine) as session:
        result = audit.verify(session, batch=batch, workers=workers)
        export = tmp_path / "audit.jsonl"
        with export.open("w", encoding="utf-8") as handle:
            audit.export(session, handle)
    assert (result.ok, result.first_bad_seq) == (False, N), result.reason
    assert reason in result.reason
    if export_reason is not None:
        with pytest.raises(ChainError, match=export_reason):
            verify_file(str(export))


def test_a_duplicate_key_spliced_into_the_payload_is_not_canonical(
    engine: Engine,
) -> None:
    """A payload column that repeats an envelope key with the same value still reads back as the
    columns, but the hashed bytes are no longer canonical: the database verifier says so."""
    fill(engine, N)
    _drop_triggers(engine)
    with engine.begin() as conn:
        actor = _row(conn, N)["actor"]
        _smuggle("payload", lambda p: f'{p},"actor":"{actor}"')(conn)
    with read_scope(engine) as session:
        result = audit.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, N)
    assert "not in canonical form" in result.reason


def test_standalone_cli_names_the_first_bad_entry(
    sqlite_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verifier's command line prints the first bad entry and why, and exits 1."""
    fill(sqlite_engine, 5)
    _drop_triggers(sqlite_engine)
    with sqlite_engine.begin() as conn:
        delete_row(conn)
    export = tmp_path / "audit.jsonl"
    with read_scope(sqlite_engine) as session, export.open("w", encoding="utf-8") as handle:
        audit.export(session, handle)
    assert verify_main([str(export)]) == 1
    expected = (
        "FAILED (first bad entry: 4): sequence jumps from 3 to 5: entry 4 is missing or out of"
        " order\n"
    )
    assert capsys.readouterr().out == expected
