"""The verified audit head the dashboard shows, and when it was last verified.

``storage.audit.verify`` walks the whole chain, so it runs in a background task (every
``every`` seconds) or on demand, never on a page view; pages read the cached result.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from storage import audit
from storage.db import read_scope


@dataclass(frozen=True)
class Checked:
    result: audit.VerifyResult
    at: datetime
    seconds: float


class AuditCheck:
    def __init__(self, engine: Engine, now: Callable[[], datetime], every: float = 300.0):
        self._engine = engine
        self._now = now
        self._every = every
        self._lock = asyncio.Lock()
        self.last: Checked | None = None
        self.stopped = asyncio.Event()

    def verify_now(self) -> Checked:
        import time

        started = time.perf_counter()
        # A read snapshot: verifying a long log must not hold the write lock (SQLite).
        with read_scope(self._engine) as session:
            result = audit.verify(session)
        self.last = Checked(result, self._now(), time.perf_counter() - started)
        return self.last

    async def check(self) -> Checked:
        async with self._lock:  # one walk at a time, however many people press the button
            return await asyncio.to_thread(self.verify_now)

    async def run(self) -> None:
        while not self.stopped.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), timeout=self._every)
