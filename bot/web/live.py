"""Live updates: a server-sent events stream that says "something changed".

Rules:
- ``notify`` may be called from any thread (the service calls ``on_change`` inside worker
  threads, before its transaction commits), so it only schedules work on the event loop; the
  broadcast waits ``settle`` seconds so that readers see the committed state, and coalesces
  a burst of changes into one event.
- Changes made by another replica reach this one through a cheap poll of the audit head.
- Each subscriber has a bounded queue; a slow reader loses intermediate events, never the last.
- Streams end when the hub stops and, in any case, after ``lifetime`` seconds: uvicorn waits
  for open responses before it stops, so an open browser tab must not hold a shutdown for
  long. The browser reconnects by itself (``retry``) and sends the last event id it saw; a
  stream that starts with an id other than the current one announces a change at once, so no
  change is lost across a reconnect.
- Every stream opens with the current id (``retry`` and ``id``, no event): a tab that has seen
  no change yet still has an id to send back, so a change made while it reconnects is
  announced. A page carries the id it was rendered at (``since``, for the first connection).
- An event id is ``<epoch>.<version>``; the epoch is random per hub (one per process), so an id
  from before a restart, or from another replica behind the same address, never matches and
  reads as a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

PING_SECONDS = 10.0
LIFETIME_SECONDS = 25.0


class LiveHub:
    def __init__(self, head: Callable[[], object], *, settle: float = 0.25, poll: float = 2.0):
        self._head = head
        self._settle = settle
        self._poll = poll
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[int]] = set()
        self._pending = False
        self._version = 0
        self._epoch = secrets.token_hex(4)
        self._last_head: object = None
        self.stopped = asyncio.Event()

    @property
    def version(self) -> int:
        """Raised on every broadcast change (caches key on it)."""
        return self._version

    @property
    def event_id(self) -> str:
        """The current version as an SSE event id, unique to this hub (see the module rules)."""
        return self._id(self._version)

    def _id(self, version: int) -> str:
        return f"{self._epoch}.{version}"

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def notify(self) -> None:
        """Something changed (any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing
            loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self._pending or self._loop is None:
            return
        self._pending = True
        self._loop.call_later(self._settle, self._broadcast)

    def _broadcast(self) -> None:
        self._pending = False
        self._version += 1
        for queue in list(self._queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(self._version)

    async def run(self) -> None:
        """Bind to the running loop and poll the audit head until stopped."""
        self._loop = asyncio.get_running_loop()
        self._last_head = await asyncio.to_thread(self._head)
        try:
            while not self.stopped.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopped.wait(), timeout=self._poll)
                head = await asyncio.to_thread(self._head)
                if head != self._last_head:
                    self._last_head = head
                    self._schedule()
        finally:
            self.stopped.set()

    async def stream(
        self, last_id: str | None = None, lifetime: float = LIFETIME_SECONDS
    ) -> AsyncIterator[str]:
        """The SSE lines for one subscriber."""
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=4)
        self._queues.add(queue)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime
        try:
            current = self.event_id
            yield f"retry: 2000\nid: {current}\n\n"
            if last_id is not None and last_id != current:
                yield f"event: change\nid: {current}\ndata: {current}\n\n"
            while not self.stopped.is_set() and loop.time() < deadline:
                getter = asyncio.ensure_future(queue.get())
                stopper = asyncio.ensure_future(self.stopped.wait())
                try:
                    done, _ = await asyncio.wait(
                        {getter, stopper},
                        timeout=min(PING_SECONDS, max(0.0, deadline - loop.time())),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:  # also when the client went away while waiting (cancelled)
                    for task in (getter, stopper):
                        if not task.done():
                            task.cancel()
                if getter in done:
                    changed = self._id(getter.result())
                    yield f"event: change\nid: {changed}\ndata: {changed}\n\n"
                elif stopper not in done:
                    yield ": ping\n\n"
        finally:
            self._queues.discard(queue)
