"""Appending to the audit log: known answers, transactions, serialisation, input rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select, text

from charter.actors import SYSTEM, Actor
from storage import audit
from storage.canonical import GENESIS, CanonicalError
from storage.db import read_scope, session_scope
from storage.models.audit import AuditEntry
from tests.storage.audit_fixtures import APPENDED, T0, draft, fill, known_drafts, known_salts


def test_known_answer_heads_one_entry_per_transaction(engine: Engine) -> None:
    """Appending the fixed 8 entries with the fixed salts yields the checked-in head hash after
    each one (data/known_answer.json "appended", made without storage.canonical)."""
    salts = known_salts()
    for expected_seq, (item, expected_head) in enumerate(
        zip(known_drafts(), APPENDED["heads"], strict=True), start=1
    ):
        with session_scope(engine) as session:
            record = audit.append(
                session,
                actor=item.actor,
                kind=item.kind,
                subject=item.subject,
                payload=item.payload,
                charter_version=item.charter_version,
                at=item.at,
                salt=salts,
            )
        assert (record.seq, record.hash) == (expected_seq, expected_head)
        with read_scope(engine) as session:
            assert audit.head(session) == (expected_seq, expected_head)
    with read_scope(engine) as session:
        stored = session.execute(select(AuditEntry.canonical).order_by(AuditEntry.seq))  # type: ignore[call-overload]
        assert [row[0] for row in stored] == APPENDED["canonical"]
        assert audit.verify(session).ok


def test_known_answer_heads_batched(engine: Engine) -> None:
    """append_many in one transaction produces the same chain as one-by-one appends."""
    with session_scope(engine) as session:
        records = audit.append_many(session, known_drafts(), salt=known_salts())
    assert [r.hash for r in records] == APPENDED["heads"]
    assert [r.prev_hash for r in records] == [GENESIS, *APPENDED["heads"][:-1]]


def test_append_rolls_back_with_the_callers_transaction(engine: Engine) -> None:
    """An entry is part of the caller's transaction: if the caller fails, it was never written."""
    fill(engine, 2)

    def decide_and_fail() -> None:
        with session_scope(engine) as session:
            audit.append_many(session, [draft(3)])
            raise RuntimeError("the decision failed after auditing")

    with pytest.raises(RuntimeError):
        decide_and_fail()
    with read_scope(engine) as session:
        result = audit.verify(session)
        assert (result.ok, result.count) == (True, 2)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"at": datetime(2024, 1, 1)}, ValueError, "timezone-aware"),
        ({"payload": {"discord_user": 1234567890123456789}}, CanonicalError, "as strings"),
        ({"payload": {"ratio": float("nan")}}, CanonicalError, "payload.ratio"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    sqlite_engine: Engine, changes: dict[str, object], error: type[Exception], message: str
) -> None:
    """Bad input raises a clear error before anything is appended."""
    with pytest.raises(error, match=message), session_scope(sqlite_engine) as session:
        audit.append_many(session, [draft(1), draft(2, **changes)])
    with read_scope(sqlite_engine) as session:
        assert audit.head(session) is None


def test_times_are_stored_as_utc(engine: Engine) -> None:
    """An aware time in another zone is stored, hashed and read back as the same UTC instant."""
    local = datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        record = audit.append_many(session, [draft(1, at=local)])[0]
    assert '"at":"2024-05-01T12:30:00.123456Z"' in record.canonical
    with read_scope(engine) as session:
        last = audit.last_of_kind(session, "vote")
        assert last is not None
        assert last.at == local
        assert last.at.tzinfo == UTC
        assert audit.verify(session).ok


@pytest.mark.parametrize(
    ("actor", "written"),
    [
        (Actor(login="alice", surface="slack", surface_id="U1"), "alice"),
        (
            Actor(login=None, surface="discord", surface_id="1234567890123456789"),
            "discord:1234567890123456789",
        ),
        (SYSTEM, "system"),
        ("bob", "bob"),
    ],
)
def test_actor_names(actor: Actor | str, written: str) -> None:
    """Actors are written as their verified login, else surface:id, and the system as 'system'."""
    assert audit.actor_name(actor) == written


def test_empty_log_verifies(engine: Engine) -> None:
    """An empty log is valid: zero entries, head at the genesis value."""
    with read_scope(engine) as session:
        assert audit.verify(session) == audit.VerifyResult(True, 0, 0, GENESIS)
        assert audit.head(session) is None


def _concurrent_appends(engine: Engine, writers: int, each: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(w: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with session_scope(engine) as session:
                    audit.append_many(session, [draft(i, actor=f"writer{w}")])
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_make_one_linear_chain(engine: Engine) -> None:
    """4 writers × 50 appends, one per transaction, serialise into one chain that verifies."""
    assert _concurrent_appends(engine, writers=4, each=50) == []
    with read_scope(engine) as session:
        result = audit.verify(session)
        assert (result.ok, result.count) == (True, 200), result.reason
        per_writer = session.execute(
            select(AuditEntry.actor, func.count()).group_by(AuditEntry.actor)  # type: ignore[call-overload]
        ).all()
        assert sorted(per_writer) == [(f"writer{w}", 50) for w in range(4)]


def test_verify_reports_progress(sqlite_engine: Engine) -> None:
    """verify calls the progress callback with the running count, ending at the total."""
    fill(sqlite_engine, 12)
    seen: list[int] = []
    with read_scope(sqlite_engine) as session:
        assert audit.verify(session, progress=seen.append, batch=5).ok
    assert seen == [5, 10, 12]


def test_expected_head_may_be_older_than_the_log(engine: Engine) -> None:
    """A published head stays valid while the log grows past it (HEX or SEQ:HEX)."""
    fill(engine, 3)
    with read_scope(engine) as session:
        published = audit.head(session)
    assert published is not None
    fill(engine, 2)
    with read_scope(engine) as session:
        assert audit.verify(session, expected_head=published).ok
        assert audit.verify(session, expected_head=(None, published[1])).ok
        unknown = audit.verify(session, expected_head=(None, "ab" * 32))
        assert (unknown.ok, unknown.first_bad_seq) == (False, None)
        assert "not in the log" in unknown.reason


def test_prev_hash_unique_forbids_a_fork(sqlite_engine: Engine) -> None:
    """Even a writer bypassing the appender cannot attach a second entry to the same parent."""
    fill(sqlite_engine, 1)
    with read_scope(sqlite_engine) as session:
        head = audit.head(session)
    assert head is not None
    fork = text(
        "INSERT INTO audit_entry (seq, at, actor, kind, subject, payload, prev_hash, "
        "hash, canonical) VALUES (2, :at, 'x', 'k', 's', '{}', :prev, :h, '{}')"
    )
    values = {"at": T0, "prev": GENESIS, "h": "cd" * 32}
    # The 0014 trigger (there against REPLACE) refuses it first; the constraint stands behind.
    with pytest.raises(Exception, match="append-only"), sqlite_engine.begin() as conn:
        conn.execute(fork, values)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_replace")
    with pytest.raises(Exception, match="UNIQUE"), sqlite_engine.begin() as conn:
        conn.execute(fork, values)
