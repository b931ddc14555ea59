"""Discord's rate-limit answers as the sender reads them and the pacer applies them: a 429
marked ``global: true`` holds every Discord destination, and a route bucket reporting
``X-RateLimit-Remaining: 0`` holds its destination until ``X-RateLimit-Reset-After``. Every
announcement, to a channel or a person, carries ``allowed_mentions: {"parse": []}``, so a
mention in its text never pings anyone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.render.model import Notice
from bot.senders.base import Envelope, SendResult
from bot.senders.discord import DiscordSender
from bot.senders.pacing import Pacer

CHANNEL, OTHER = "111", "222"
NOW = 1000.0  # the pacer's clock, seconds


def envelope(address: str = CHANNEL, text: str = "x") -> Envelope:
    notice = Notice(
        kind="vote",
        label="Vote",
        title="t",
        text=text,
        at=datetime(2026, 1, 1, tzinfo=UTC),
        when="now",
    )
    return Envelope(delivery_id=1, key="k1", address=address, notice=notice)


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


@pytest.mark.parametrize("address", [CHANNEL, "@42"], ids=["channel", "direct-message"])
async def test_an_announcement_pings_no_one_whatever_its_text(address: str) -> None:
    messages: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/messages"):
            messages.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "1"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sender = DiscordSender("tok", "http://discord.test/api/v10", client=client)
    pings = "@everyone @here <@123> <@&456> voted"
    try:
        result = await sender.send(envelope(address, text=pings))
    finally:
        await sender.aclose()
    # The content defuses mentions too; allowed_mentions is what Discord itself enforces, so
    # a mention the escaping misses still pings no one.
    assert result.ok and len(messages) == 1
    assert messages[0]["allowed_mentions"] == {"parse": []}
