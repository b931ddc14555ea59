"""The notify relay's credentials breaker: a platform refusing charterbot's own token (Discord
401, Slack ``invalid_auth``) is held, tried again once per pause, and nothing is lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.notify_relay import NotifyRelay
from bot.senders.breaker import CREDENTIALS_PAUSE, CredentialsBreaker
from bot.senders.pacing import Limits, Pacer
from storage.db import session_scope
from storage.models.core import OutboxRow
from tests.bot.test_notify_relay import (
    ANA_SLACK,
    BO_DISCORD,
    CHARTER,
    NOTIFY,
    SCALE,
    World,
    _world,
    dm_channel,
    enqueue,
    items,
)

ITEMS = 10


@pytest.fixture
async def world(sqlite_engine: Engine) -> AsyncIterator[World]:
    async for w in _world(sqlite_engine):
        yield w


def revoke(world: World, platform: str, revoked: bool = True) -> None:
    if platform == "discord":
        world.discord.revoked = revoked
    else:
        world.slack.revoke("slack", revoked)


def refusals(world: World, platform: str) -> int:
    if platform == "discord":
        return world.discord.unauthorized
    return world.slack.refused.get("slack", 0)


def notices(world: World) -> list[str]:
    """The coordinators' notices that a platform refused charterbot's credentials."""
    with session_scope(world.engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        texts = [json.loads(r.payload)["text"] for r in rows]
    return [t for t in texts if "refused charterbot's credentials" in t]


@pytest.mark.parametrize("platform", ["discord", "slack"])
async def test_refused_credentials_hold_the_platform_and_lose_nothing(
    world: World, platform: str
) -> None:
    """An hour of steps with the token refused: the platform is asked once per pause (not once
    per item and attempt), no item is failed or has an attempt counted, the coordinators are told
    once per pause; once the token works again every message goes out."""
    revoke(world, platform)
    for n in range(ITEMS):
        enqueue(world.engine, "notify", {**NOTIFY, "text": f"n{n}"})
    relay = world.relay()
    steps = 30
    for _ in range(steps):  # an hour of clock
        await relay.step()
        world.clock.advance(timedelta(minutes=2))
    pauses = steps * timedelta(minutes=2) / CREDENTIALS_PAUSE
    assert 1 <= refusals(world, platform) <= pauses + 1
    mine = items(world.engine)[:ITEMS]
    assert [(status, attempts) for status, _, attempts in mine] == [("pending", 0)] * ITEMS
    assert all(f"{platform} refused our credentials; held" in (e or "") for _, e, _ in mine)
    assert 1 <= len(notices(world)) <= pauses + 1
    assert all(t.startswith(f"{platform} refused") for t in notices(world))
    revoke(world, platform, revoked=False)
    world.clock.advance(CREDENTIALS_PAUSE)
    await relay.step()
    assert [s for s, _, _ in items(world.engine)[:ITEMS]] == ["sent"] * ITEMS
    if platform == "discord":
        posts = world.discord.posts(dm_channel(BO_DISCORD))
    else:
        posts = world.slack_posts(ANA_SLACK)
    texts = sorted(p.rsplit("\n", 1)[-1] for p in posts if "refused charterbot" not in p)
    assert texts == sorted(f"n{n}" for n in range(ITEMS))  # each once, the notices besides


async def test_the_breaker_is_shared_with_the_broadcast_relay(world: World) -> None:
    """A platform the broadcast relay found refusing the token is not tried by the notify relay
    during the pause; the other platform goes on."""
    breaker = CredentialsBreaker()
    breaker.trip("discord", world.clock.now())
    relay = NotifyRelay(
        world.engine,
        CHARTER,
        world.senders,
        pacer=Pacer(Limits().scaled(SCALE)),
        breaker=breaker,
        clock=world.clock,
        rate_wait_limit=5.0 * SCALE,
    )
    enqueue(world.engine, "notify", NOTIFY)
    assert await relay.step() == 0
    assert world.discord.requests == []
    assert len(world.slack_posts(ANA_SLACK)) == 1
    assert items(world.engine)[0][0::2] == ("pending", 0)
