"""Broadcast fixtures: the rate-limited Slack/Discord stand-in, scaled down for speed."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # so `tests.standins` imports without a root conftest
    sys.path.insert(0, str(ROOT))

from tests.standins.ratelimited import RateLimitedStandIn  # noqa: E402
from tests.standins.receivers import SmtpServer  # noqa: E402

# Stand-in limits are the platforms' shapes at 1/20 of their intervals: Slack 1 message per
# 50 ms per channel, Discord 50 per 50 ms globally and 5 per 250 ms per channel. The stand-in
# judges by arrival time; client and server share one event loop here, so arrival latency
# jitters by up to ~10 ms. GRACE absorbs that (at real intervals it is noise).
SCALE = 0.05
GRACE = 0.015


@pytest.fixture
async def chat() -> AsyncIterator[RateLimitedStandIn]:
    server = RateLimitedStandIn(
        slack_interval=1.0 * SCALE,
        discord_rate=(50, 1.0 * SCALE),
        discord_route=(5, 5.0 * SCALE),
        grace=GRACE,
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A local SMTP server that keeps what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
