"""What every sender returns, and what the relay hands it.

Rules:
- A sender makes one attempt and classifies the answer; it never sleeps or retries (pacing
  and retries belong to the relay, which sees every destination at once).
- ``ok`` carries the platform's message id (Slack ``channel/ts``, Discord message id, the
  e-mail Message-ID, the webhook delivery key) — the relay records it before marking sent.
- ``retry_after`` (seconds) is set on a rate limit; ``permanent`` when retrying cannot help
  (channel gone, bot removed, 403, account inactive, address refused). A permanent failure is
  the destination refusing, counted against its subscription, unless ``message_refused``: only
  this message was refused (a mail server rejecting its content), which says nothing of the
  destination.
- ``global_limit``: the rate limit covers the whole platform (Discord's global limit), not just
  this channel. ``bucket_remaining``/``bucket_reset_after`` report the route's bucket headers.
- A sender classifies the failures it knows; the relays call it through :func:`attempt`, which
  turns any other exception (a bug, an input the sender did not expect) into a logged transient
  failure, so a delivery is always recorded and never left ``sending``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from bot.render.model import Notice

log = logging.getLogger("charterbot.senders")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    error: str = ""
    global_limit: bool = False
    bucket_remaining: int | None = None
    bucket_reset_after: float | None = None
    # The platform refused our credentials or our own settings (a revoked or invalid token, a
    # sender address the mail server does not allow): every send to it will fail alike until an
    # operator fixes them, whatever the destination.
    credentials: bool = False
    # Permanent for this message only (its content refused): the destination did not refuse,
    # so its subscription is not counted toward removal.
    message_refused: bool = False


@dataclass(frozen=True)
class Envelope:
    """One delivery: where, what, and the stable identifiers of this copy."""

    delivery_id: int
    key: str  # stable per delivery ("<outbox id>.<delivery id>"): Message-ID, nonce, webhook id
    address: str
    notice: Notice
    payload: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None  # webhook signing secret
    list_id: str | None = None  # e-mail List-Id


class Sender(Protocol):
    platform: str

    async def send(self, envelope: Envelope) -> SendResult: ...

    async def aclose(self) -> None: ...


def retry_after_header(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from ``now``: either form HTTP allows, a number of seconds or
    an HTTP date (RFC 9110 §10.2.3). Never negative (a date already past means "now"); None when
    absent or unreadable (not a finite number, not a date), so the usual backoff applies."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, now or datetime.now(UTC))
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(value: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": a time in UTC whose source zone is unknown
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def transient(error: str, retry_after: float | None = None) -> SendResult:
    return SendResult(False, retry_after=retry_after, error=error)


def permanent(error: str) -> SendResult:
    return SendResult(False, permanent=True, error=error)


def refused_message(error: str) -> SendResult:
    return SendResult(False, permanent=True, error=error, message_refused=True)


def refused_credentials(error: str) -> SendResult:
    return SendResult(False, error=error, credentials=True)


async def attempt(sender: Sender, envelope: Envelope) -> SendResult:
    """``sender.send``, with an unexpected exception turned into a transient failure (logged
    with its traceback): retried with backoff, and failed for good when attempts run out."""
    try:
        return await sender.send(envelope)
    except Exception as exc:  # cancellation (a BaseException) still propagates
        log.exception("%s sender raised on delivery %s", sender.platform, envelope.key)
        return transient(f"{sender.platform}: unexpected {type(exc).__name__}: {exc}")
