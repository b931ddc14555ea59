"""The bulk check confirms intact logs on its own; anything else goes to the exact check.

The tamper matrix (test_audit_tamper.py) proves bad entries are named, in one block and in
blocks of 3. These tests prove the other half: an intact log — with every awkward character the
escaping rules know — is confirmed in bulk without a single entry re-checked row by row (so the
databases rebuild the canonical text exactly as Python does), on one connection and on worker
connections; and that the exact check settles whatever the bulk check does not confirm.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from storage import audit, audit_blocks
from storage.audit_blocks import Block
from storage.db import read_scope, session_scope
from tests.storage.audit_fixtures import draft, fill

# Every ASCII character but NUL (PostgreSQL text cannot hold it), and the non-ASCII ones that
# JSON encoders are known to treat specially.
AWKWARD = "".join(chr(c) for c in range(1, 128)) + "\u2028\u2029\ufeff\u00a0é😀"
CONTROLS = "".join(chr(c) for c in range(1, 32))
PRINTABLE = "".join(c for c in AWKWARD if c not in CONTROLS)


def awkward_log(engine: Engine, n: int, strings: str = PRINTABLE) -> None:
    """Entries with awkward ``strings`` in actor, kind and subject, and every awkward character
    in the payload."""
    t0 = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    with session_scope(engine) as session:
        audit.append_many(
            session,
            [
                draft(
                    i,
                    actor=f"{strings[i % 7 :]}#{i}",
                    kind=strings if i % 2 else "vote",
                    subject="" if i % 3 == 0 else strings[::-1],
                    payload={"text": AWKWARD, "n": i, "f": 0.1 * i, "list": [None, True, i]},
                    charter_version=None if i % 4 == 0 else i,
                    at=t0 + timedelta(microseconds=0 if i % 2 else 7 * i),
                )
                for i in range(1, n + 1)
            ],
        )


@pytest.mark.parametrize("workers", [1, 2])
def test_an_intact_log_is_confirmed_in_bulk(engine: Engine, workers: int) -> None:
    """Across blocks, awkward strings included, nothing is left to the exact check."""
    awkward_log(engine, 10)
    with read_scope(engine) as session:
        result = audit.verify(session, batch=4, workers=workers)
        head = audit.head(session)
    assert result.ok, result.reason
    assert (result.count, result.rechecked) == (10, 0)
    assert head == (result.head_seq, result.head_hash)


def test_control_characters_in_the_envelope_cost_time_not_verdicts(engine: Engine) -> None:
    """An actor, kind or subject holding a control character is confirmed in bulk on SQLite;
    PostgreSQL's cheaper escaping leaves those entries to the exact check, which accepts them."""
    awkward_log(engine, 10, strings=AWKWARD)
    with read_scope(engine) as session:
        result = audit.verify(session, batch=4)
    assert (result.ok, result.count) == (True, 10), result.reason
    expected = 0 if engine.dialect.name == "sqlite" else 10
    assert result.rechecked == expected


def test_what_the_bulk_check_does_not_confirm_is_checked_exactly(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A false alarm (here: every block) costs time, never a wrong verdict; the exact check
    also holds the log to a published head."""
    fill(engine, 7)
    with read_scope(engine) as session:
        fifth = str(session.execute(text("SELECT hash FROM audit_entry WHERE seq = 5")).scalar())
    monkeypatch.setattr(audit_blocks, "confirm", lambda _c, _s, lo, hi, _e, **_: Block(lo, hi))
    with read_scope(engine) as session:
        result = audit.verify(session, batch=3)
        anchored = audit.verify(session, batch=3, expected_head=(5, fifth))
        wrong = audit.verify(session, batch=3, expected_head=(4, fifth))
    assert (result.ok, result.count, result.rechecked) == (True, 7, 7)
    assert (anchored.ok, anchored.rechecked) == (True, 7)
    assert (wrong.ok, wrong.first_bad_seq) == (False, 4)


@pytest.mark.parametrize("anchor_seq", [None, 5])
def test_a_published_head_inside_a_confirmed_block(
    sqlite_engine: Engine, anchor_seq: int | None
) -> None:
    """The published head is found inside a bulk-confirmed block, and a different hash at its
    seq is named there."""
    fill(sqlite_engine, 10)
    with read_scope(sqlite_engine) as session:
        rows = session.execute(text("SELECT seq, hash FROM audit_entry ORDER BY seq")).all()
        hashes = {int(seq): str(digest) for seq, digest in rows}
        good = audit.verify(session, expected_head=(anchor_seq, hashes[5]), batch=4)
        wrong = audit.verify(session, expected_head=(5, hashes[6]), batch=4)
        absent = audit.verify(session, expected_head=(anchor_seq, "ab" * 32), batch=4)
        # Half of entry 5's hash and half of entry 6's: present in the text, but not a hash.
        straddling = hashes[5][32:] + hashes[6][:32]
        unaligned = audit.verify(session, expected_head=(None, straddling), batch=4)
    assert (good.ok, good.count, good.rechecked) == (True, 10, 0)
    assert (wrong.ok, wrong.first_bad_seq) == (False, 5)
    assert "hash differs from the expected head" in wrong.reason
    assert not absent.ok
    assert (unaligned.ok, unaligned.reason.startswith("the expected head")) == (False, True)


def test_progress_is_reported_after_each_block(sqlite_engine: Engine) -> None:
    fill(sqlite_engine, 10)
    seen: list[int] = []
    with read_scope(sqlite_engine) as session:
        assert audit.verify(session, batch=4, progress=seen.append).ok
    assert seen == [4, 8, 10]


def test_rows_numbered_below_one_are_walked_exactly(sqlite_engine: Engine) -> None:
    """A row slipped in at seq 0 lies outside every block; the whole log is walked instead."""
    fill(sqlite_engine, 3)
    with sqlite_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_entry (seq, at, actor, kind, subject, payload, "
                "charter_version, prev_hash, hash, canonical) SELECT 0, at, actor, kind, subject, "
                "payload, charter_version, 'ff' || substr(prev_hash, 3), 'ff' || substr(hash, 3), "
                "canonical FROM audit_entry WHERE seq = 1"
            )
        )
    with read_scope(sqlite_engine) as session:
        result = audit.verify(session)
    # Blocks over 1…3 would not see it, and would call this log intact.
    assert (result.ok, result.first_bad_seq) == (False, 0), result.reason
