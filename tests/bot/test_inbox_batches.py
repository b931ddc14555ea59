"""The inbox worker processes several events per transaction, each in its own savepoint.

Rules proven here, on SQLite and PostgreSQL:
- one commit per batch; every event's effects and its processed mark commit together;
- a poisoned event in a batch is rolled back alone (none of its writes survive) and its failed
  attempt is recorded, while the others are processed; it is retried later, and nothing is
  ever processed twice;
- a lone event that fails leaves nothing behind and its attempt is recorded;
- a batch that cannot commit is processed again one event per transaction, exactly once;
- events are processed in arrival order whatever the batch size or time budget;
- each event sees a fresh session (no loaded objects, no per-transaction caches);
- on SQLite a batch ends early for an acknowledgement waiting on the writer lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.pipeline import InboxWorker
from storage import inbox, outbox
from storage.db import session_scope, urgent_writer_waiting
from storage.inbox import InboxEvent
from storage.models.core import InboxRow, OutboxRow

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Recorder:
    """A processor (the narrowest interface the worker has) that writes one outbox row per
    event and fails, after writing, for the keys it is told to poison."""

    def __init__(self, poison: Iterable[str] = ()) -> None:
        self.poison = set(poison)
        self.seen: list[str] = []
        self.fresh: list[bool] = []

    def __call__(self, session: Session, row: InboxEvent, now: datetime) -> None:
        self.fresh.append(not session.info and len(session.identity_map) == 0)
        self.seen.append(row.key)
        outbox.enqueue(session, kind="test", payload={"key": row.key}, now=now)
        session.info["charterbot.proposals"] = {1: row.key}  # a per-transaction cache
        session.add(OutboxRow(kind="orm", payload=row.key, created_at=now))  # a loaded object
        session.flush()
        if row.key in self.poison:
            raise RuntimeError(f"poisoned {row.key}")


def _accept(engine: Engine, *keys: str) -> None:
    with session_scope(engine) as session:
        for key in keys:
            inbox.accept(session, source="github", key=key, event="x", body=b"{}", now=T0)


def _effects(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "test")).all()
        return sorted(outbox.payload(r)["key"] for r in rows)


def _inbox(engine: Engine) -> dict[str, tuple[bool, int, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(InboxRow)).all()
        return {r.key: (r.processed_at is not None, r.attempts, r.error) for r in rows}


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    counted = [0]

    def count(_connection: Any) -> None:
        counted[0] += 1

    event.listen(engine, "commit", count)
    yield counted
    event.remove(engine, "commit", count)


def test_a_poisoned_event_is_rolled_back_alone(engine: Engine, commits: list[int]) -> None:
    """One batch, one commit: the others are processed, the poisoned one leaves no write and
    has its failed attempt recorded; later it is retried alone and nothing runs twice."""
    _accept(engine, "a", "b", "c", "d")
    recorder = Recorder(poison={"b"})
    worker = InboxWorker(engine, {"github": recorder}, batch_seconds=60)
    commits[0] = 0
    assert worker.process_pending(T0) == 3
    assert commits[0] == 1
    assert _effects(engine) == ["a", "c", "d"]
    state = _inbox(engine)
    assert state["b"] == (False, 1, "RuntimeError: poisoned b")
    assert all(state[k] == (True, 0, None) for k in "acd")
    assert all(recorder.fresh), "every event starts with a fresh session"

    recorder.poison.clear()
    assert worker.process_pending(T0) == 0  # its backoff has not passed yet
    assert worker.process_pending(T0 + timedelta(minutes=10)) == 1
    assert recorder.seen == ["a", "b", "c", "d", "b"]
    assert _effects(engine) == ["a", "b", "c", "d"]
    assert worker.process_pending(T0 + timedelta(hours=1)) == 0


def test_a_lone_failing_event_leaves_nothing_and_counts_an_attempt(engine: Engine) -> None:
    """A batch of one runs without a savepoint: its failure rolls it back and is recorded."""
    _accept(engine, "only")
    worker = InboxWorker(engine, {"github": Recorder(poison={"only"})})
    assert worker.process_pending(T0) == 0
    assert _effects(engine) == []
    assert _inbox(engine)["only"] == (False, 1, "RuntimeError: poisoned only")


def test_a_batch_that_cannot_commit_is_processed_one_by_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the batch's commit fails nothing of it persists; each event is then processed in
    its own transaction, exactly once."""
    _accept(engine, "a", "b", "c")
    real_commit = Session.commit
    failures = [1]

    def flaky_commit(self: Session) -> None:
        if failures[0]:
            failures[0] -= 1
            raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))
        real_commit(self)

    monkeypatch.setattr(Session, "commit", flaky_commit)
    recorder = Recorder()
    worker = InboxWorker(engine, {"github": recorder}, batch_seconds=60)
    assert worker.process_pending(T0) == 3
    assert recorder.seen == ["a", "b", "c", "a", "b", "c"]
    assert _effects(engine) == ["a", "b", "c"]
    assert all(v == (True, 0, None) for v in _inbox(engine).values())


@pytest.mark.parametrize(
    ("batch_size", "batch_seconds", "limit", "expected_commits"),
    [(2, 60.0, 100, 4), (32, 60.0, 100, 1), (32, 0.0, 100, 7), (3, 60.0, 5, 2)],
)
def test_arrival_order_and_batch_bounds(
    engine: Engine,
    commits: list[int],
    batch_size: int,
    batch_seconds: float,
    limit: int,
    expected_commits: int,
) -> None:
    """Events run in arrival order; a batch ends at its size or time budget (at least one
    event each), and one call processes at most ``limit`` events."""
    keys = [f"k{i}" for i in range(7)]
    _accept(engine, *keys)
    recorder = Recorder()
    worker = InboxWorker(
        engine, {"github": recorder}, batch_size=batch_size, batch_seconds=batch_seconds
    )
    commits[0] = 0
    processed = worker.process_pending(T0, limit=limit)
    assert processed == min(limit, len(keys))
    assert recorder.seen == keys[:processed]
    assert commits[0] == expected_commits
    assert worker.process_pending(T0) == len(keys) - processed
    assert recorder.seen == keys
    assert _effects(engine) == sorted(keys)


def test_a_batch_ends_early_when_an_acknowledgement_waits(sqlite_engine: Engine) -> None:
    """SQLite: once a webhook's store waits for the writer lock, the batch commits after the
    event in progress, and the store goes before the worker's next batch."""
    _accept(sqlite_engine, *(f"k{i}" for i in range(6)))
    order: list[str] = []
    stored = threading.Event()

    def store() -> None:
        with session_scope(sqlite_engine, urgent=True) as session:
            inbox.accept(session, source="github", key="late", event="x", body=b"{}", now=T0)
        order.append("stored")
        stored.set()

    def processor(session: Session, row: InboxEvent, now: datetime) -> None:
        order.append(row.key)
        if row.key == "k1":  # an acknowledgement arrives while k1 is processed
            threading.Thread(target=store).start()
            deadline = time.monotonic() + 5
            while not urgent_writer_waiting(sqlite_engine):
                assert time.monotonic() < deadline
                time.sleep(0.001)

    worker = InboxWorker(sqlite_engine, {"github": processor}, batch_size=32, batch_seconds=60)
    assert worker.process_pending(T0) == 7
    assert stored.wait(5)
    assert order[:3] == ["k0", "k1", "stored"]
    assert order[3:] == ["k2", "k3", "k4", "k5", "late"]
