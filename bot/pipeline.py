"""The inbox worker: processes stored deliveries off the request path, each exactly once.

Rules:
- An event and the mark that it was processed commit together: a crash before the commit
  leaves it pending (processed again at the next start), after the commit it is done.
- Events are processed in arrival order, one transaction each; a failing event is retried with
  backoff and, after ``storage.inbox.MAX_ATTEMPTS``, left for an operator (``failed``) while the
  others go on.
- On PostgreSQL, rows are claimed with ``FOR UPDATE SKIP LOCKED``, so even two workers never
  process one event twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.metrics import METRICS
from storage import inbox
from storage.db import session_scope
from storage.models.core import InboxRow

log = logging.getLogger("charterbot.pipeline")

# Turns a stored row into a domain event and applies it in the session's transaction.
Processor = Callable[[Session, InboxRow, datetime], None]


class InboxWorker:
    def __init__(self, engine: Engine, processors: dict[str, Processor]) -> None:
        self._engine = engine
        self._processors = processors

    def process_pending(self, now: datetime, limit: int = 100) -> int:
        """Process what is waiting; returns how many events were processed."""
        with session_scope(self._engine) as session:
            ids = [row.id for row in inbox.pending(session, now=now, limit=limit)]
        done = 0
        for row_id in ids:
            assert row_id is not None
            done += self._process_one(row_id, now)
        return done

    def _process_one(self, row_id: int, now: datetime) -> int:
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
                inbox.mark_processed(session, row, now)
            log.info("processed %s", what, extra=delivery)
        except Exception as exc:
            log.exception("processing inbox event %s failed", row_id, extra=delivery)
            with session_scope(self._engine) as session:
                inbox.record_failure(session, row_id, f"{type(exc).__name__}: {exc}")
            METRICS.events_processed.labels(result="failed").inc()
            return 0
        METRICS.events_processed.labels(result="ok").inc()
        return 1
