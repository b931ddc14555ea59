"""The inbox worker: processes stored deliveries off the request path, each exactly once.

Rules:
- An event and the mark that it was processed commit together: a crash before the commit
  leaves it pending (processed again at the next start), after the commit it is done.
- Events are processed in arrival order, several per transaction (one commit per batch), each
  inside its own SAVEPOINT: a failing event is rolled back alone and its failed attempt is
  recorded in the batch's transaction while the others commit. It is retried with backoff and,
  after ``storage.inbox.MAX_ATTEMPTS``, left for an operator (``failed``) while the others go on.
- Each event sees the session as a fresh transaction would: the identity map and the
  per-transaction caches in ``session.info`` are cleared before it (and again when its
  savepoint rolls back), so sharing a transaction changes nothing an event can observe.
- A batch stops after ``BATCH_SIZE`` events, ``BATCH_SECONDS`` of work, or as soon as an
  acknowledgement waits for the SQLite writer lock (storage.db.WriterLock), so a webhook's 202
  waits for at most the one event in progress.
- A batch of one (deliveries trickling in) needs no savepoint: it is exactly a transaction of
  its own, and its failure is recorded in a new transaction after the rollback.
- If a batch fails as a whole (its commit, or a savepoint that cannot roll back), nothing of it
  was committed; its events are processed again one transaction each (the fallback path).
- One call moves past each event once (a cursor), so a failing event is not retried within it.
- On PostgreSQL, rows are claimed with ``FOR UPDATE SKIP LOCKED``, so even two workers never
  process one event twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.metrics import METRICS
from storage import inbox
from storage.db import session_scope, urgent_writer_waiting
from storage.inbox import InboxEvent

log = logging.getLogger("charterbot.pipeline")

# Turns a stored row into a domain event and applies it in the session's transaction.
Processor = Callable[[Session, InboxEvent, datetime], None]

BATCH_SIZE = 32
BATCH_SECONDS = 0.005


@dataclass(frozen=True)
class _Result:
    row_id: int
    what: str  # "<event> delivery <key>", for the log
    delivery_id: str  # "<source>:<key>"
    ok: bool


class _BatchFailed(Exception):
    """A batch could not commit; ``ids`` are the events it attempted (none of them committed)."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"a batch of {len(ids)} inbox events failed")
        self.ids = ids


class InboxWorker:
    def __init__(
        self,
        engine: Engine,
        processors: dict[str, Processor],
        *,
        batch_size: int = BATCH_SIZE,
        batch_seconds: float = BATCH_SECONDS,
    ) -> None:
        self._engine = engine
        self._processors = processors
        self._batch_size = max(1, batch_size)
        self._batch_seconds = batch_seconds

    def process_pending(self, now: datetime, limit: int = 100) -> int:
        """Process what is waiting (at most ``limit`` events); returns how many were processed."""
        done, after, seen, more = 0, 0, 0, True
        while more and seen < limit:
            try:
                scanned, results, more = self._batch(
                    now, after, min(self._batch_size, limit - seen)
                )
            except _BatchFailed as failed:
                scanned, results = failed.ids, []
                done += sum(self._process_one(row_id, now) for row_id in failed.ids)
            if not scanned:
                break
            done += self._report(results)
            after, seen = scanned[-1], seen + len(scanned)
            if more:
                time.sleep(0)  # let a waiting writer (a webhook's insert) take the lock
        return done

    def _batch(
        self, now: datetime, after: int, limit: int
    ) -> tuple[list[int], list[_Result], bool]:
        """One transaction: the pending events after id ``after``, each in a savepoint.

        Returns the ids it moved past (processed, failed, or not yet due for a retry), the
        results of those it attempted, and whether more may be waiting.
        """
        scanned: list[int] = []
        attempted: list[InboxEvent] = []
        results: list[_Result] = []
        started = time.perf_counter()
        try:
            with session_scope(self._engine) as session:
                # Only sources this worker processes: others (chat-command journal entries)
                # have their own owner and must not be marked processed here.
                rows = inbox.claim_batch(
                    session, after=after, limit=limit, sources=list(self._processors)
                )
                for row in rows:
                    if results and (
                        time.perf_counter() - started > self._batch_seconds
                        or urgent_writer_waiting(self._engine)
                    ):
                        break  # the rest is claimed again by the next batch
                    scanned.append(row.id)
                    if inbox.retry_due(row, now):
                        attempted.append(row)
                        results.append(self._run(session, row, now, alone=len(rows) == 1))
        except Exception as exc:
            if not attempted:
                raise
            if len(rows) == 1:  # a lone event, no savepoint: its failure failed the transaction
                return scanned, [self._failed_alone(attempted[0], exc, now)], len(rows) == limit
            log.warning(
                "inbox batch failed (%s: %s); processing its events one by one",
                type(exc).__name__,
                exc,
            )
            raise _BatchFailed([r.id for r in attempted]) from exc
        return scanned, results, len(rows) == limit or len(scanned) < len(rows)

    def _run(self, session: Session, row: InboxEvent, now: datetime, *, alone: bool) -> _Result:
        """Process one event. In a batch it runs in a SAVEPOINT: a failure rolls back to it and
        the failed attempt is recorded in the batch's transaction. A lone event needs no
        savepoint: its failure rolls the transaction back (see ``_failed_alone``)."""
        result = _Result(row.id, f"{row.event} delivery {row.key}", _delivery_id(row), ok=True)
        if alone:
            self._apply(session, row, now)
            return result
        _fresh(session)
        try:
            with session.begin_nested():
                self._apply(session, row, now)
        except Exception as exc:
            log.exception(
                "processing inbox event %s failed",
                row.id,
                extra={"delivery_id": result.delivery_id},
            )
            _fresh(session)
            inbox.record_failure(session, row.id, f"{type(exc).__name__}: {exc}", now=now)
            return _Result(result.row_id, result.what, result.delivery_id, ok=False)
        return result

    def _apply(self, session: Session, row: InboxEvent, now: datetime) -> None:
        """The event's effects and the mark that it was processed, in the same transaction."""
        processor = self._processors.get(row.source)
        if processor is not None:
            processor(session, row, now)
        inbox.mark_done(session, row.id, now)

    def _failed_alone(self, row: InboxEvent, exc: Exception, now: datetime) -> _Result:
        """Record a lone event's failed attempt in a new transaction (the first rolled back)."""
        log.exception(
            "processing inbox event %s failed",
            row.id,
            exc_info=exc,
            extra={"delivery_id": _delivery_id(row)},
        )
        with session_scope(self._engine) as session:
            inbox.record_failure(session, row.id, f"{type(exc).__name__}: {exc}", now=now)
        return _Result(row.id, f"{row.event} delivery {row.key}", _delivery_id(row), ok=False)

    def _report(self, results: list[_Result]) -> int:
        """Log and count a committed batch; returns how many events it processed."""
        for r in results:
            if r.ok:
                log.info("processed %s", r.what, extra={"delivery_id": r.delivery_id})
            METRICS.events_processed.labels(result="ok" if r.ok else "failed").inc()
        return sum(r.ok for r in results)

    def _process_one(self, row_id: int, now: datetime) -> int:
        """The fallback: one event in its own transaction, its failure recorded in another."""
        delivery = {"delivery_id": f"inbox:{row_id}"}  # until the row is read
        try:
            with session_scope(self._engine) as session:
                row = inbox.claim(session, row_id)
                if row is None:
                    return 0
                delivery = {"delivery_id": f"{row.source}:{row.key}"}
                what = f"{row.event} delivery {row.key}"
                processor = self._processors.get(row.source)
                if processor is not None:
                    processor(session, row, now)
                inbox.mark_done(session, row.id, now)
            log.info("processed %s", what, extra=delivery)
        except Exception as exc:
            log.exception("processing inbox event %s failed", row_id, extra=delivery)
            with session_scope(self._engine) as session:
                inbox.record_failure(session, row_id, f"{type(exc).__name__}: {exc}", now=now)
            METRICS.events_processed.labels(result="failed").inc()
            return 0
        METRICS.events_processed.labels(result="ok").inc()
        return 1


def _delivery_id(row: InboxEvent) -> str:
    return f"{row.source}:{row.key}"


def _fresh(session: Session) -> None:
    """Give the next event what a new transaction has: no loaded objects, no cached proposals."""
    session.expunge_all()
    session.info.clear()
