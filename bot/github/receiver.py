"""``POST /github/webhook``: verify, store durably, answer 202; processing happens elsewhere.

Order matters and is the rule:
1. Bodies over 25 MB (GitHub's own cap) are refused with 413 before they are read in full.
2. The signature is checked over the raw bytes, in constant time, *before* anything parses them;
   a missing or wrong signature gets 401 and is counted.
3. ``ping`` is answered (200) and not stored.
4. Anything else is stored keyed by ``X-GitHub-Delivery`` and acknowledged with 202. A
   redelivery (same id) is acknowledged too and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.github.signature import verify_signature

log = logging.getLogger("charterbot.github")

MAX_BODY = 25 * 1024 * 1024

# store(delivery_id, event_name, body) -> True when new, False when a duplicate
StoreDelivery = Callable[[str, str, bytes], Awaitable[bool]]


@dataclass
class ReceiverStats:
    received: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


class GitHubReceiver:
    def __init__(
        self,
        secret: bytes | None,
        store: StoreDelivery,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self._secret = secret
        self._store = store
        self._on_stored = on_stored
        self.stats = ReceiverStats()

    async def __call__(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            self.stats.reject("too-large")
            return _error(413, "payload larger than 25 MB")
        body = await _read_capped(request)
        if body is None:
            self.stats.reject("too-large")
            return _error(413, "payload larger than 25 MB")
        if not self._secret:
            self.stats.reject("not-configured")
            return _error(401, "webhook secret not configured (CHARTERBOT_GITHUB_WEBHOOK_SECRET)")
        if not verify_signature(self._secret, body, request.headers.get("x-hub-signature-256")):
            self.stats.reject("bad-signature")
            log.warning("github delivery rejected: bad or missing signature")
            return _error(401, "bad signature")
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            zen = _zen(body)
            return JSONResponse({"ok": True, "zen": zen})
        delivery = request.headers.get("x-github-delivery", "")
        if not delivery or not event:
            self.stats.reject("missing-headers")
            return _error(400, "X-GitHub-Delivery and X-GitHub-Event headers are required")
        new = await self._store(delivery, event, body)
        self.stats.received += 1
        if not new:
            self.stats.duplicates += 1
        else:
            self._on_stored()
        return JSONResponse({"accepted": True, "duplicate": not new}, status_code=202)


async def _read_capped(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _zen(body: bytes) -> str:
    try:
        value = json.loads(body).get("zen", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
