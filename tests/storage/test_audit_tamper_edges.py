"""Odd tampering that once split the two verifiers or crashed them.

Each case is done directly in the database with the append-only triggers dropped, then checked
by ``audit.verify`` (bulk blocks, and blocks of 3 in worker processes/threads) and, where the
hashed bytes themselves changed, by the standalone verifier on an export. Both must name the
same first bad entry with a reason, never pass the log and never raise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from storage import audit
from storage.canonical import entry_hash
from storage.db import read_scope
from storage.verify_export import ChainError, verify_file
from tests.storage.audit_fixtures import fill
from tests.storage.test_audit_tamper import N, _drop_triggers, _row

Tamper = Callable[[Connection], None]


def _rewrite_tail(conn: Connection, old: str, new: str, **columns: str) -> None:
    """Entry N rewritten: ``old`` → ``new`` in its canonical text, the given columns set, its
    hash recomputed, so only rules beyond the hash can catch it."""
    row = _row(conn, N)
    canonical = row["canonical"].replace(old, new, 1)
    assert canonical != row["canonical"]
    values = {**columns, "canonical": canonical}
    values["hash"] = entry_hash(row["prev_hash"], canonical.encode())
    sets = ", ".join(f"{name} = :{name}" for name in values)
    conn.execute(text(f"UPDATE audit_entry SET {sets} WHERE seq = :seq"), {**values, "seq": N})


def shift_hash_chars(conn: Connection) -> None:
    """Two characters moved from entry 7's hash to the front of entry 8's: the hashes joined
    end to end are unchanged (and so are the links: entry 8's prev_hash is left alone)."""
    if conn.dialect.name == "postgresql":  # what an owner can do to VARCHAR(64) first
        for column in ("hash", "prev_hash"):
            conn.execute(text(f"ALTER TABLE audit_entry ALTER COLUMN {column} TYPE text"))
    h7 = _row(conn, 7)["hash"]
    conn.execute(text("UPDATE audit_entry SET hash = :h WHERE seq = 7"), {"h": h7[:-2]})
    h8 = _row(conn, 8)["hash"]
    conn.execute(text("UPDATE audit_entry SET hash = :h WHERE seq = 8"), {"h": h7[-2:] + h8})


def raw_control_character(conn: Connection) -> None:
    """Entry N's actor holds a raw U+0001 in its column and in its hashed text."""
    actor = _row(conn, N)["actor"]
    _rewrite_tail(conn, f'"actor":"{actor}"', f'"actor":"{actor}\x01"', actor=f"{actor}\x01")


def nan_payload(conn: Connection) -> None:
    """Entry N's payload holds NaN, which Python's parser takes but JSON does not have."""
    payload = _row(conn, N)["payload"]
    assert '"approve"' in payload
    nan = payload.replace('"approve"', "NaN", 1)
    _rewrite_tail(conn, f'"payload":{payload}', f'"payload":{nan}', payload=nan)


CASES: list[tuple[Tamper, int, str, bool]] = [
    # (tamper, first bad seq, reason, hashed bytes changed: the export must fail too)
    (shift_hash_chars, 7, "entry 7: stored hash does not match the hash of its contents", True),
    (raw_control_character, N, f"entry {N}: the hashed bytes are not valid JSON", True),
    (nan_payload, N, f"entry {N}: the hashed bytes are not valid JSON", True),
]


@pytest.mark.parametrize(("batch", "workers"), [(2000, None), (3, 2)], ids=["bulk", "parallel"])
@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason", "in_export"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_both_verifiers_name_the_first_bad_entry(
    engine: Engine,
    tmp_path: Path,
    tamper: Tamper,
    bad_seq: int,
    reason: str,
    in_export: bool,
    batch: int,
    workers: int | None,
) -> None:
    fill(engine, N)
    with read_scope(engine) as session:
        published = audit.head(session)
    _drop_triggers(engine)
    with engine.begin() as conn:
        tamper(conn)
    for anchor in (None, published):
        with read_scope(engine) as session:
            result = audit.verify(session, expected_head=anchor, batch=batch, workers=workers)
        assert (result.ok, result.first_bad_seq) == (False, bad_seq), result.reason
        assert reason in result.reason
    export = tmp_path / "audit.jsonl"
    with read_scope(engine) as session, export.open("w", encoding="utf-8") as handle:
        audit.export(session, handle)
    assert in_export
    with pytest.raises(ChainError) as info:
        verify_file(str(export), workers=workers)
    assert (info.value.seq, reason in info.value.reason) == (bad_seq, True), info.value.reason


@pytest.mark.parametrize("column", ["actor", "payload", "canonical", "hash"])
@pytest.mark.parametrize(("batch", "workers"), [(2000, None), (3, 2)], ids=["bulk", "parallel"])
def test_a_column_of_another_storage_type_is_named_not_a_crash(
    sqlite_engine: Engine, column: str, batch: int, workers: int | None
) -> None:
    """SQLite lets any column hold a BLOB: verification names the entry and the column instead
    of failing with an error from the database or the worker processes."""
    fill(sqlite_engine, N)
    _drop_triggers(sqlite_engine)
    with sqlite_engine.begin() as conn:
        blob = f"UPDATE audit_entry SET {column} = CAST({column} AS BLOB) WHERE seq = 5"
        conn.execute(text(blob))
    with read_scope(sqlite_engine) as session:
        result = audit.verify(session, batch=batch, workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, 5), result.reason
    assert f"entry 5: the {column} column does not hold text" in result.reason


@pytest.mark.parametrize("new_seq", [0, -3])
def test_a_seq_below_one_is_named_as_such(engine: Engine, tmp_path: Path, new_seq: int) -> None:
    """Entry 3 moved to seq 0 or below: both verifiers name that row and say why, instead of an
    "entry 0 appears again after entry 0"."""
    fill(engine, N)
    _drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET seq = :s WHERE seq = 3"), {"s": new_seq})
    with read_scope(engine) as session:
        result = audit.verify(session)
        export = tmp_path / "audit.jsonl"
        with export.open("w", encoding="utf-8") as handle:
            audit.export(session, handle)
    why = f"seq {new_seq} is not a position in the log"
    assert (result.ok, result.first_bad_seq, why in result.reason) == (False, new_seq, True)
    with pytest.raises(ChainError, match=why):
        verify_file(str(export), workers=1)


@pytest.mark.parametrize(
    "line",
    [
        b'{"seq": 1, "prev": "\xff\xfe", "hash": "00", "canonical": "{}"}\n',  # not UTF-8
        b"[" * 100_000 + b"]" * 100_000 + b"\n",  # nested past any parser's depth
    ],
    ids=["invalid-utf8", "deeply-nested"],
)
def test_the_standalone_verifier_names_a_malformed_line(tmp_path: Path, line: bytes) -> None:
    export = tmp_path / "audit.jsonl"
    export.write_bytes(line)
    with pytest.raises(ChainError, match="line 1: not an audit export line"):
        verify_file(str(export), workers=1)


def test_deeply_nested_hashed_bytes_are_not_valid_json(tmp_path: Path) -> None:
    """A hashed text nested past the parser's depth is 'not valid JSON', not a crash."""
    canonical = "[" * 100_000 + "]" * 100_000
    line = {"seq": 1, "prev": "0" * 64, "hash": "0" * 64, "canonical": canonical}
    export = tmp_path / "audit.jsonl"
    export.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(ChainError, match="entry 1: the hashed bytes are not valid JSON"):
        verify_file(str(export), workers=1)
