"""Crash safety: the relay process is SIGKILLed at each point, restarted, and nothing is lost.

The relay runs as ``python -m bot.relay --until-idle`` in a subprocess against the rate-limited
stand-in. ``CHARTERBOT_RELAY_FAULT`` makes it kill itself (SIGKILL) at a named point; "during
a send" is a real kill from outside while the stand-in holds the request unanswered.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from storage import migrate
from storage.db import make_engine, session_scope
from storage.models.broadcast import DeliveryRow
from tests.bot.broadcast.support import announce, enqueue, subscribe
from tests.paths import REFERENCE_CHARTER
from tests.standins.ratelimited import RateLimitedStandIn

ROOT = Path(__file__).resolve().parents[3]
CHANNELS = ("CA", "CB", "CC")

# point → duplicates expected after the restart. Only "after-send" (the platform answered,
# the process died before committing the message id) may duplicate, and there exactly the one
# message that was in flight (one send at a time here).
POINTS = [
    ("after-fanout", 0),
    ("after-claim", 0),
    ("during-send", 0),
    ("after-send", 1),
    ("after-record", 0),
]


async def _relay(
    url: str, chat: RateLimitedStandIn, fault: str | None
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": chat.slack_url,
        "CHARTERBOT_CHARTER": str(REFERENCE_CHARTER),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CHARTERBOT_RELAY_FAULT", None)
    if fault is not None:
        env["CHARTERBOT_RELAY_FAULT"] = fault
    args = ["-m", "bot.relay", "--database-url", url, "--until-idle", "--timeout", "20"]
    args += ["--scale", "0.05", "--concurrency", "1"]
    return await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT, env=env)


def _unrecorded_but_posted(url: str, chat: RateLimitedStandIn) -> int:
    """Deliveries left in ``sending`` without an id whose message the platform has."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(select(DeliveryRow)).all()
            return sum(
                1
                for r in rows
                if r.status == "sending"
                and r.platform_message_id is None
                and chat.messages(r.address)
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(("point", "duplicates"), POINTS)
async def test_killed_relay_delivers_everything_after_restart(
    point: str, duplicates: int, sqlite_url: str, chat: RateLimitedStandIn
) -> None:
    """After a SIGKILL at ``point`` and a restart, every channel has the announcement at least
    once; a duplicate appears only when the kill fell between the platform's answer and
    recording its message id, and the restart reconciles everything else by message id."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    for channel in CHANNELS:
        subscribe(engine, "slack", channel, kinds=["vote"])
    enqueue(engine, announce("vote", proposal=3, title="crash"))
    engine.dispose()

    if point == "during-send":
        chat.hold_next = 1
        proc = await _relay(sqlite_url, chat, None)
        await asyncio.wait_for(chat.arrived.wait(), 15)
        proc.kill()
        assert await proc.wait() == -9
        chat.release()
        await asyncio.sleep(0.05)  # let the held handler see the closed connection
    else:
        proc = await _relay(sqlite_url, chat, point)
        assert await asyncio.wait_for(proc.wait(), 30) == -9, f"no kill at {point}"

    expected = _unrecorded_but_posted(sqlite_url, chat)
    assert expected == duplicates

    proc = await _relay(sqlite_url, chat, None)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    counts = {c: len(chat.messages(c)) for c in CHANNELS}
    assert all(n >= 1 for n in counts.values()), counts
    assert sum(n - 1 for n in counts.values()) == duplicates, counts

    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        rows = session.exec(select(DeliveryRow)).all()
        assert {(r.status, r.platform_message_id is not None) for r in rows} == {("sent", True)}
    engine.dispose()
