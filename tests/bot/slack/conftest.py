"""Slack test fixtures: the stand-in server and a fake core."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # so `tests.standins` imports without a root conftest
    sys.path.insert(0, str(ROOT))

from tests.bot.slack.fake_core import FakeCore  # noqa: E402
from tests.standins.slack_server import SlackStandIn  # noqa: E402


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    server = await SlackStandIn().start()
    yield server
    await server.stop()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()
