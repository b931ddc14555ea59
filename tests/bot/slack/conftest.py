"""Slack test fixtures: the stand-in server and a fake core."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.slack.fake_core import FakeCore
from tests.standins.slack_server import SlackStandIn


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    server = await SlackStandIn().start()
    yield server
    await server.stop()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()
