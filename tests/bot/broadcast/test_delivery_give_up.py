"""Subscriber deliveries during an outage: retried for a day or more, then given up loudly.

Rules proven:
- The retry policy (storage.outbox) spans a realistic outage: waits grow to ``MAX_WAIT`` and a
  delivery is given up only after 24–50 hours of failed tries.
- A receiver down for hours loses nothing: the delivery is still pending, and goes out once
  the receiver is back.
- A delivery given up is ``failed``, logged as a warning, counted by surface
  (``charterbot_deliveries_given_up_total``) and the coordinators are told, once; ``charterbot
  outbox retry`` (``requeue``) revives it.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.metrics import METRICS
from bot.relay import Relay
from bot.senders.base import Envelope, SendResult, transient
from bot.senders.pacing import Limits, Pacer
from storage import deliveries as store, outbox
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, charter, enqueue, subscribe

HOUR = 3600.0


class Receiver:
    """A webhook sender stand-in whose receiver is down (a transient error) until ``up``."""

    platform = "webhook"

    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    async def send(self, envelope: Envelope) -> SendResult:
        self.calls += 1
        if not self.up:
            return transient("webhook: HTTP 503")
        return SendResult(True, message_id=f"m{self.calls}")

    async def aclose(self) -> None:
        return None


def test_the_policy_spans_a_day_or_two() -> None:
    least, most = outbox.give_up_after()
    assert least >= 24 * HOUR and most <= 50 * HOUR
    rng = random.Random(7)
    assert max(outbox.backoff(n, rng=rng) for n in range(outbox.MAX_ATTEMPTS)) <= HOUR
    assert outbox.backoff(1000, rng=rng) <= HOUR  # no overflow, however many tries


def _delivery(engine: Engine) -> DeliveryRow:
    with session_scope(engine) as session:
        [row] = session.exec(select(DeliveryRow)).all()
        session.expunge(row)
        return row


def _notices(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        return [json.loads(r.payload)["text"] for r in rows]


def _given_up(surface: str) -> float:
    sample = "charterbot_deliveries_given_up_total"
    return METRICS.registry.get_sample_value(sample, {"surface": surface}) or 0.0


async def _outage(engine: Engine, hours: float) -> tuple[Relay, Receiver, FixedClock]:
    """One announcement to one webhook whose receiver is down for ``hours``, the relay
    stepping every 10 minutes."""
    subscribe(engine, "webhook", "https://hooks.example.org/in")
    enqueue(engine, announce("vote", proposal=1))
    receiver, clock = Receiver(), FixedClock(NOW)
    relay = Relay(
        engine, charter(), {"webhook": receiver}, pacer=Pacer(Limits({}, {})), clock=clock
    )
    for _ in range(int(hours * 6)):
        await relay.step()
        clock.advance(timedelta(minutes=10))
    return relay, receiver, clock


async def test_an_outage_of_hours_loses_nothing(sqlite_engine: Engine) -> None:
    relay, receiver, clock = await _outage(sqlite_engine, 6)
    row = _delivery(sqlite_engine)
    assert row.status == "pending" and row.attempts > 8  # the old policy gave up at 8 (~3 min)
    receiver.up = True
    clock.advance(timedelta(hours=1))  # past the longest wait
    await relay.step()
    assert _delivery(sqlite_engine).status == "sent"
    assert _notices(sqlite_engine) == []


async def test_a_delivery_given_up_is_logged_counted_told_and_can_be_retried(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    before = _given_up("webhook")
    with caplog.at_level(logging.WARNING, logger="charterbot.relay"):
        relay, receiver, clock = await _outage(sqlite_engine, 51)
    row = _delivery(sqlite_engine)
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert receiver.calls == outbox.MAX_ATTEMPTS
    assert f"delivery {row.id} to webhook given up after {row.attempts} tries" in caplog.text
    assert _given_up("webhook") == before + 1
    [notice] = _notices(sqlite_engine)
    assert "failed and will not be retried: webhook: HTTP 503" in notice
    # ``charterbot outbox retry d<id>``: tried again, with fresh attempts
    with session_scope(sqlite_engine) as session:
        assert store.requeue(session, ids=[row.id or 0], now=clock.now()) == 1
    receiver.up = True
    await relay.step()
    assert _delivery(sqlite_engine).status == "sent"
    assert len(_notices(sqlite_engine)) == 1
