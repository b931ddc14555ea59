"""Discord's rate-limit answers as the sender reads them and the pacer applies them: a 429
marked ``global: true`` holds every Discord destination, and a route bucket reporting
``X-RateLimit-Remaining: 0`` holds its destination until ``X-RateLimit-Reset-After``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from bot.render.model import Notice
from bot.senders.base import Envelope, SendResult
from bot.senders.discord import DiscordSender
from bot.senders.pacing import Pacer

CHANNEL, OTHER = "111", "222"
NOW = 1000.0  # the pacer's clock, seconds


def envelope() -> Envelope:
    notice = Notice(
        kind="vote",
        label="Vote",
        title="t",
        text="x",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        when="now",
    )
    return Envelope(delivery_id=1, key="k1", address=CHANNEL, notice=notice)


async def answered(handler: Callable[[httpx.Request], httpx.Response]) -> SendResult:
    """What the Discord sender makes of ``handler``'s answer to one message."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sender = DiscordSender("tok", "http://discord.test/api/v10", client=client)
    try:
        return await sender.send(envelope())
    finally:
        await sender.aclose()


def observed(result: SendResult) -> Pacer:
    pacer = Pacer(clock=lambda: NOW)
    pacer.observe("discord", f"discord:{CHANNEL}", result)
    return pacer


async def test_a_global_429_pauses_every_discord_destination() -> None:
    result = await answered(lambda r: httpx.Response(429, json={"retry_after": 7, "global": True}))
    assert result.global_limit and result.retry_after == 7
    pacer = observed(result)
    assert pacer.paused_until("discord") >= NOW + 7  # another channel waits too


async def test_a_route_429_pauses_its_destination_only() -> None:
    result = await answered(lambda r: httpx.Response(429, json={"retry_after": 7}))
    pacer = observed(result)
    assert pacer.paused_until(f"discord:{CHANNEL}") >= NOW + 7
    assert pacer.paused_until("discord") == 0.0 and pacer.paused_until(f"discord:{OTHER}") == 0.0


async def test_an_exhausted_route_bucket_waits_for_its_reset() -> None:
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "4.5",
        "X-RateLimit-Bucket": "abc",
    }
    result = await answered(lambda r: httpx.Response(200, json={"id": "1"}, headers=headers))
    assert result.ok and (result.bucket_remaining, result.bucket_reset_after) == (0, 4.5)
    pacer = observed(result)
    assert pacer.paused_until(f"discord:{CHANNEL}") >= NOW + 4.5
    assert pacer.paused_until("discord") == 0.0


async def test_a_bucket_with_requests_left_does_not_wait() -> None:
    headers = {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "4.5"}
    result = await answered(lambda r: httpx.Response(200, json={"id": "1"}, headers=headers))
    assert observed(result).paused_until(f"discord:{CHANNEL}") == 0.0
