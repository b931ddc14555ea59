"""The notify relay in a process that lives on after a step did not finish (leadership lost
mid-send, or an outcome the database would not take): the same relay's next step finishes the
item, every person reached once. Unlike the broadcast relay it settles nothing once per
process (it takes ``sending`` records afresh each step), so nothing can be stranded there."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine

from bot.clock import FixedClock
from bot.notify_relay import NotifyRelay
from bot.senders.base import Envelope, Sender, SendResult
from bot.senders.pacing import Limits, Pacer
from storage import notify_deliveries
from tests.bot.test_notify_relay import (
    ANA_SLACK,
    CHARTER,
    NOTIFY,
    NOW,
    SLACK_FALLBACK,
    enqueue,
    items,
    link,
)


class Slack:
    """A Slack sender stand-in that records each message's channel, or hangs."""

    platform = "slack"

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.sent: list[str] = []
        self.started = asyncio.Event()

    async def send(self, envelope: Envelope) -> SendResult:
        self.started.set()
        if self.hang:
            await asyncio.sleep(3600)
        self.sent.append(envelope.address)
        return SendResult(True, message_id=f"{envelope.address}/{len(self.sent)}")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def notify(sqlite_engine: Engine) -> Engine:
    """A notify for the coordinators: Ana privately on Slack, the rest in the council channel."""
    link(sqlite_engine, "slack", ANA_SLACK, "ana")
    enqueue(sqlite_engine, "notify", NOTIFY)
    return sqlite_engine


def relay(engine: Engine, senders: dict[str, Sender]) -> NotifyRelay:
    pacer = Pacer(Limits({}, {}))
    return NotifyRelay(engine, CHARTER, senders, pacer=pacer, clock=FixedClock(NOW))


async def test_a_step_cancelled_mid_send_is_finished_by_the_next(notify: Engine) -> None:
    hanging = Slack(hang=True)
    senders: dict[str, Sender] = {"slack": hanging}
    r = relay(notify, senders)
    task = asyncio.create_task(r.step())
    await asyncio.wait_for(hanging.started.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    working = Slack()
    senders["slack"] = working
    assert await r.step() == 1
    assert Counter(working.sent) == {f"@{ANA_SLACK}": 1, SLACK_FALLBACK: 1}
    assert items(notify)[0][0] == "sent"


async def test_a_message_id_the_database_would_not_take_is_not_sent_twice(
    notify: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ana's private message went out; committing its id failed, and the step ended. The next
    step records the id it kept and does not message Ana again."""
    real = notify_deliveries.record_id
    failures: list[int] = []

    def flaky(*args: Any) -> None:
        if not failures:
            failures.append(1)
            raise sqlalchemy.exc.OperationalError("UPDATE", {}, Exception("server closed"))
        real(*args)

    monkeypatch.setattr(notify_deliveries, "record_id", flaky)
    slack = Slack()
    r = relay(notify, {"slack": slack})
    with pytest.raises(sqlalchemy.exc.OperationalError):
        await r.step()
    assert await r.step() == 1
    assert Counter(slack.sent) == {f"@{ANA_SLACK}": 1, SLACK_FALLBACK: 1}
    assert items(notify)[0][0] == "sent"
