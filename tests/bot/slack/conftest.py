"""Slack test fixtures: the stand-in server and a fake core."""

from __future__ import annotations

import pytest

from tests.bot.slack.fake_core import FakeCore
from tests.standins.slack_server import SlackStandIn


@pytest.fixture
def standin(slack: SlackStandIn) -> SlackStandIn:
    """The folder's name for the shared per-test Slack stand-in (tests/bot/conftest.py)."""
    return slack


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()
