"""The salt the appender adds to every payload (storage.audit, format in storage.canonical).

A withheld entry's hash is public; with 128 random bits in its hashed bytes, hashing guessed
texts cannot recover it. The envelope does not change, so old entries (no salt) and new ones
verify alike, in the database and in an export.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from storage import audit
from storage.canonical import GENESIS, SALT_KEY, canonical_json, entry_hash
from storage.db import read_scope, session_scope
from storage.models.audit import AuditEntry
from storage.verify_export import verify_file
from tests.storage.audit_fixtures import KNOWN_ANSWER, draft

TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
HEX32 = re.compile(r"[0-9a-f]{32}")


class Undone(Exception):
    """Raised to roll an append back."""


def _append_and_roll_back(engine: Engine, item: audit.AuditDraft) -> audit.AuditRecord:
    """The record ``item`` got in a transaction that was then rolled back."""
    records: list[audit.AuditRecord] = []

    def append_then_fail() -> None:
        with session_scope(engine) as session:
            records.extend(audit.append_many(session, [item]))
            raise Undone

    with pytest.raises(Undone):
        append_then_fail()
    return records[0]


def _export(engine: Engine, path: Path) -> tuple[int, str]:
    with read_scope(engine) as session, path.open("w", encoding="utf-8") as out:
        return audit.export(session, out)


def test_identical_drafts_get_different_salts_and_hashes(engine: Engine, tmp_path: Path) -> None:
    """The same entry appended twice at the same place (same seq, time, actor, payload, prev)
    has different bytes and hashes: each got its own 32-hex salt. The log still verifies, in
    the database and as an export."""
    first = _append_and_roll_back(engine, draft(1))
    with session_scope(engine) as session:
        second = audit.append_many(session, [draft(1)])[0]
    assert (first.seq, first.prev_hash, first.at) == (second.seq, second.prev_hash, second.at)
    assert first.canonical != second.canonical
    assert first.hash != second.hash
    for record in (first, second):
        payload = json.loads(record.canonical)["payload"]
        assert HEX32.fullmatch(payload[SALT_KEY])
        assert record.payload == canonical_json(payload).decode()
        assert {k: v for k, v in payload.items() if k != SALT_KEY} == draft(1).payload
    with read_scope(engine) as session:
        assert audit.verify(session).ok
    export = tmp_path / "audit.jsonl"
    head = _export(engine, export)
    assert verify_file(str(export), head) == (1, second.hash)


def test_old_entries_without_salt_and_new_ones_verify_together(
    engine: Engine, tmp_path: Path
) -> None:
    """A log written before the salt (the known answers, stored as they were) continues with
    salted entries; both checks accept the whole log."""
    rows = []
    prev = GENESIS
    for seq, (text, digest) in enumerate(
        zip(KNOWN_ANSWER["canonical"], KNOWN_ANSWER["heads"], strict=True), start=1
    ):
        entry = json.loads(text)
        rows.append(
            {
                "seq": seq,
                "at": datetime.fromisoformat(entry["at"].replace("Z", "+00:00")),
                "actor": entry["actor"],
                "kind": entry["kind"],
                "subject": entry["subject"],
                "payload": canonical_json(entry["payload"]).decode(),
                "charter_version": entry["charter_version"],
                "prev_hash": prev,
                "hash": digest,
                "canonical": text,
            }
        )
        prev = digest
    with session_scope(engine) as session:
        session.execute(insert(TABLE), rows)
    with session_scope(engine) as session:
        added = audit.append_many(session, [draft(9), draft(10)])
    assert added[0].prev_hash == KNOWN_ANSWER["heads"][-1]
    with read_scope(engine) as session:
        result = audit.verify(session)
        assert (result.ok, result.count) == (True, 10), result.reason
    export = tmp_path / "audit.jsonl"
    assert verify_file(str(export), _export(engine, export)) == (10, added[1].hash)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"choice": "approve", "salt": "mine"}, 'payload key "salt" is reserved'),
        ({"salt": None}, 'payload key "salt" is reserved'),
        (["approve"], "must be a JSON object \\(a dict\\), got list"),
        ("approve", "must be a JSON object \\(a dict\\), got str"),
        (None, "must be a JSON object \\(a dict\\), got NoneType"),
    ],
)
def test_payloads_the_appender_cannot_salt_are_refused(
    sqlite_engine: Engine, payload: Any, message: str
) -> None:
    """A caller's "salt" is never overwritten, and a payload that is not an object has nowhere
    to put one: both are refused before anything is written."""
    with pytest.raises(ValueError, match=message), session_scope(sqlite_engine) as session:
        audit.append_many(session, [draft(1), draft(2, payload=payload)])
    with read_scope(sqlite_engine) as session:
        assert audit.head(session) is None


@pytest.mark.parametrize(
    "bad", ["", "ab" * 15, "AB" * 16, "zz" * 16, "ab" * 17, 5, None, b"ab" * 16, ["ab" * 16]]
)
def test_a_salt_source_must_give_32_lowercase_hex(sqlite_engine: Engine, bad: object) -> None:
    """An injected salt source cannot weaken the salt (nor leave it out)."""
    with pytest.raises(ValueError, match="32 lowercase hex"), session_scope(sqlite_engine) as s:
        audit.append_many(s, [draft(1)], salt=lambda: bad)


def test_new_salt_is_random_hex() -> None:
    salts = {audit.new_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(HEX32.fullmatch(s) for s in salts)


@pytest.mark.parametrize(
    ("stored", "shown", "data"),
    [
        ('{"choice":"approve","salt":"' + "0a" * 16 + '"}', '{"choice":"approve"}', None),
        ('{"salt":"' + "0a" * 16 + '"}', "{}", None),
        ('{"choice":"approve"}', '{"choice":"approve"}', None),  # written before the salt
        ('["a list",1]', '["a list",1]', None),
        ('{"a":{"salt":"kept"},"é":1.5}', '{"a":{"salt":"kept"},"é":1.5}', None),
        ("not json", "not json", ValueError),
        ('"salty"', '"salty"', None),  # JSON, not an object: nothing to take out
        ('["salt"]', '["salt"]', None),
        ('"salt"', '"salt"', None),
    ],
)
def test_shown_payload_and_payload_of_leave_the_salt_out(
    stored: str, shown: str, data: type[Exception] | None
) -> None:
    """What a person reads (and what code compares) is the payload without its salt; only the
    top-level reserved key is the salt."""
    assert audit.shown_payload(stored) == shown
    if data is None:
        assert audit.payload_of(stored) == json.loads(shown)
    else:
        with pytest.raises(data):
            audit.payload_of(stored)


def test_the_salt_is_inside_the_hashed_bytes(sqlite_engine: Engine) -> None:
    """The stored hash covers the salt: the entry hashed without it does not give its hash."""
    with session_scope(sqlite_engine) as session:
        record = audit.append_many(session, [draft(1)])[0]
    envelope = json.loads(record.canonical)
    del envelope["payload"][SALT_KEY]
    unsalted = canonical_json(envelope)
    assert entry_hash(record.prev_hash, record.canonical.encode()) == record.hash
    assert entry_hash(record.prev_hash, unsalted) != record.hash
