"""The Slack adapter over real transports: HTTP (Starlette + uvicorn on 127.0.0.1) and Socket
Mode (a websocket to the stand-in), with the Web API on the stand-in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette

from bot.slack.app import build_slack_app
from bot.slack.serve import MAX_BODY, slack_routes, start_socket_mode
from tests.bot.slack.fake_core import FakeCore
from tests.bot.slack.wire import (
    SECRET,
    TOKEN,
    fixture_text,
    mention_body,
    signed_headers,
    slash_body,
)
from tests.standins.loopback import serving
from tests.standins.slack_server import SlackStandIn


@pytest.fixture
async def http_bot(core: FakeCore, standin: SlackStandIn) -> AsyncIterator[str]:
    """The bot's Slack endpoint served by uvicorn; yields its base URL."""
    app = build_slack_app(core, signing_secret=SECRET, bot_token=TOKEN, api_url=standin.api_url)
    async with serving(Starlette(routes=slack_routes(app)), lifespan="off") as url:
        yield url


@pytest.mark.parametrize(
    ("secret", "skew", "status", "runs"),
    [(SECRET, 0, 200, 1), ("not-our-secret", 0, 401, 0), (SECRET, -400, 401, 0)],
    ids=["signed", "wrong-signature", "stale"],
)
async def test_http_slash_command(
    http_bot: str,
    core: FakeCore,
    standin: SlackStandIn,
    secret: str,
    skew: int,
    status: int,
    runs: int,
) -> None:
    """Over HTTP, a signed /charter is acked at once (the core runs after the ack) and answered
    on response_url; a bad signature or a stale timestamp gets 401 and never reaches the core."""
    core.delay = 0.2  # slower than the ack: the ack must not wait for it
    body = slash_body("vote 42 approve", standin.response_url(), encoded=True)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{http_bot}/slack/events",
            content=body,
            headers=signed_headers(body, secret=secret, skew=skew),
        )
    assert response.status_code == status
    if runs:
        assert response.text == ""
        assert standin.calls("/response/r1") == []  # acked before the answer existed
        [posted] = await standin.wait_for("/response/r1")
        assert posted.data["response_type"] == "ephemeral"
    await asyncio.sleep(0.05)
    assert len(core.runs) == runs


async def test_http_event_retry_storm_has_one_effect(
    http_bot: str, core: FakeCore, standin: SlackStandIn
) -> None:
    """The same event_id delivered with the retry headers, concurrently, has one effect."""
    body = mention_body("Ev-http", "<@UBOT0001> vote 42 reject")

    async def deliver(client: httpx.AsyncClient, attempt: int) -> int:
        headers = signed_headers(body, content_type="application/json")
        if attempt:
            headers |= {"x-slack-retry-num": str(attempt), "x-slack-retry-reason": "http_timeout"}
        response = await client.post(f"{http_bot}/slack/events", content=body, headers=headers)
        return response.status_code

    async with httpx.AsyncClient() as client:
        statuses = await asyncio.gather(*(deliver(client, n) for n in range(4)))
    assert statuses == [200] * 4
    await standin.wait_for("/api/chat.postMessage")
    await asyncio.sleep(0.1)
    assert [t for t, _ in core.runs] == ["vote 42 reject"]
    assert len(standin.calls("/api/chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"content-length": str(MAX_BODY + 1)}, 413)],
)
async def test_http_oversized_body_refused(
    http_bot: str, core: FakeCore, headers: dict[str, str], status: int
) -> None:
    """A body over MAX_BODY is refused before it is read whole or verified."""
    body = "x" * (MAX_BODY + 1)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{http_bot}/slack/events", content=body, headers=signed_headers(body) | headers
        )
    assert response.status_code == status
    assert core.runs == []


def slash_payload(response_url: str) -> dict[str, Any]:
    fields = dict(parse_qsl(fixture_text("slash_command.body.txt")))
    return fields | {"command": "/charter", "text": "show 42", "response_url": response_url}


async def test_socket_mode_round_trip(core: FakeCore, standin: SlackStandIn) -> None:
    """Socket Mode: the bot opens the socket via apps.connections.open (app token), acks each
    envelope by id, answers on response_url, and a redelivered event runs the core once. No
    signing secret is needed (as served with SLACK_APP_TOKEN alone)."""
    app = build_slack_app(core, signing_secret=None, bot_token=TOKEN, api_url=standin.api_url)
    handler = await start_socket_mode(app, "xapp-test")
    try:
        await standin.wait_connected()
        [opened] = standin.calls("/api/apps.connections.open")
        assert opened.headers["Authorization"] == "Bearer xapp-test"

        await standin.send_envelope(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": slash_payload(standin.response_url("s1")),
            }
        )
        [ack] = await standin.wait_frames(1)
        assert ack["envelope_id"] == "env-1"
        await standin.wait_for("/response/s1")

        event = json.loads(mention_body("Ev-socket", "<@UBOT0001> vote 42 approve"))
        for n, envelope_id in enumerate(["env-2", "env-3"]):
            envelope = {"envelope_id": envelope_id, "type": "events_api", "payload": event}
            await standin.send_envelope(
                envelope | ({"retry_attempt": n, "retry_reason": "timeout"})
            )
        frames = await standin.wait_frames(3)
        assert [f["envelope_id"] for f in frames] == ["env-1", "env-2", "env-3"]
        await standin.wait_for("/api/chat.postMessage")
        await asyncio.sleep(0.1)
        assert [t for t, _ in core.runs] == ["show 42", "vote 42 approve"]
    finally:
        await handler.close_async()


async def test_socket_mode_needs_an_app_token(core: FakeCore, standin: SlackStandIn) -> None:
    """A bot token given as SLACK_APP_TOKEN is refused with what to use instead."""
    app = build_slack_app(core, signing_secret=SECRET, bot_token=TOKEN, api_url=standin.api_url)
    with pytest.raises(ValueError, match="xapp-"):
        await start_socket_mode(app, TOKEN)


@pytest.mark.parametrize("secret", ["", "unused-in-socket-mode", SECRET])
async def test_a_socket_mode_app_refuses_http_requests(
    core: FakeCore, standin: SlackStandIn, secret: str
) -> None:
    """An app built without a signing secret takes Socket Mode envelopes only: an HTTP request
    routed to it anyway is refused (401) and never reaches the core, however it is signed
    (an empty key, the constant once used as a stand-in, any other)."""
    app = build_slack_app(core, signing_secret=None, bot_token=TOKEN, api_url=standin.api_url)
    body = slash_body("vote 42 approve", standin.response_url(), encoded=True)
    headers = signed_headers(body, secret=secret)
    async with (
        serving(Starlette(routes=slack_routes(app)), lifespan="off") as url,
        httpx.AsyncClient() as client,
    ):
        response = await client.post(f"{url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    await asyncio.sleep(0.1)
    assert core.runs == []
