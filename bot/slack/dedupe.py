"""One effect per Slack event, however often Slack delivers it.

Rules:
- The Events API retries a delivery it thinks failed (``X-Slack-Retry-Num``: immediately, after
  ~1 min, after ~5 min) and sends a retry on ``http_timeout`` even when the first attempt later
  succeeded. Socket Mode redelivers unacknowledged envelopes, and Bolt drops the retry metadata
  there (bolt-python#1484). So the key is the payload's ``event_id``, never a header.
- ``seen(key)`` answers False the first time a key is offered and True ever after (within the
  store's memory). The in-memory store forgets the oldest keys past ``capacity``; a durable store
  (the lead's, backed by the database) survives restarts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol


class SlackDedupe(Protocol):
    async def seen(self, key: str) -> bool:
        """False the first time ``key`` is offered (and records it), True afterwards."""
        ...


class InMemoryDedupe:
    """Bounded first-seen set. Slack's retries span ~5 minutes; 10,000 keys is hours of traffic."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    async def seen(self, key: str) -> bool:
        # No await between check and insert: atomic on the event loop.
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return False


def event_key(body: Mapping[str, Any]) -> str:
    """The dedupe key of an Events API body: ``event_id``; for a body without one (older or
    blanked payloads) the event's channel, timestamp and user, which Slack keeps across retries."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    event = body.get("event") or {}
    return "event:" + ":".join(str(event.get(k, "")) for k in ("channel", "event_ts", "ts", "user"))
