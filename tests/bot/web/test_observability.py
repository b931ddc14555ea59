"""Operators' view: /metrics moves with real traffic, logs carry delivery and command ids.

Real traffic: signed webhook deliveries (new, duplicate, forged) into the running app against
the GitHub stand-in, commands through the command path, a deadline fired by the clock, the
relay delivering to GitHub. The scrape is parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.logs import JsonFormatter
from bot.messages import Actor
from storage import outbox
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def scrape(bot: Bot) -> Samples:
    response = await bot.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_move_with_real_traffic(bot: Bot) -> None:
    """Each metric the issue names changes after the traffic that should change it."""
    before = await scrape(bot)
    number = bot.standin.store.add_issue(
        "Raise the gas target", valid_body(), "alice-aurora", ("upgrade-proposal",)
    ).number
    payload = bot.issue_payload("opened", number, valid_body())
    assert (await bot.post("issues", payload, delivery="m-1")).status_code == 202
    assert (await bot.post("issues", payload, delivery="m-1")).status_code == 202  # redelivery
    assert (await bot.post("issues", payload, secret="wrong")).status_code == 401
    queued = await scrape(bot)  # the tracking comment waits in the outbox
    assert value(queued, "charterbot_outbox_backlog") == 0
    bot.rt.worker.process_pending(bot.clock.now())
    queued = await scrape(bot)
    assert value(queued, "charterbot_outbox_backlog") >= 1
    await bot.advance(later(days=7, seconds=30))  # review ends 30 s late: deadline lag
    alice = Actor(login="alice-aurora", surface="console", surface_id="a", display="alice")
    mallory = Actor(login="mallory", surface="console", surface_id="m", display="mallory")
    assert bot.gov.run_sync(f"vote {number} approve", alice).ok
    assert not bot.gov.run_sync(f"vote {number} approve", mallory).ok
    assert not bot.gov.run_sync("vote banana", alice).ok
    await bot.settle()
    after = await scrape(bot)

    deliveries = "charterbot_deliveries_total"
    assert moved(before, after, deliveries, source="github", result="accepted") == 1
    assert moved(before, after, deliveries, source="github", result="duplicate") == 1
    assert moved(before, after, deliveries, source="github", result="rejected") == 1
    for outcome in ("ok", "refused", "parse-error"):
        assert moved(before, after, "charterbot_commands_total", outcome=outcome) == 1
    assert moved(before, after, "charterbot_delivery_latency_seconds_count", kind="github") >= 1
    assert moved(before, after, "charterbot_ack_latency_seconds_count", source="github") == 3
    assert moved(before, after, "charterbot_deadline_lag_seconds_count") == 1
    assert moved(before, after, "charterbot_deadline_lag_seconds_sum") >= 29
    assert value(after, "charterbot_audit_entries") >= 4
    with session_scope(bot.rt.engine) as session:  # the gauges say what the database holds
        count, age = outbox.backlog(session, bot.clock.now())
    assert value(after, "charterbot_outbox_backlog") == count
    assert value(after, "charterbot_outbox_oldest_age_seconds") == age


# (platform, status) of each subscriber delivery; "sending" counts as pending, "sent" not at all
HELD = [
    ("slack", "pending"),
    ("slack", "sending"),
    ("slack", "failed"),
    ("webhook", "failed"),
    ("webhook", "failed"),
    ("email", "sent"),
    ("discord", "skipped"),
]


@pytest.mark.parametrize(
    ("surface", "pending", "failed"),
    [("slack", 2, 1), ("webhook", 0, 2), ("email", 0, 0), ("discord", 0, 0)],
)
async def test_delivery_gauges_say_what_waits_and_what_failed(
    bot: Bot, surface: str, pending: int, failed: int
) -> None:
    """Subscriber deliveries show on /metrics by surface, as the database holds them; a
    surface with none reads 0, not "no data"."""
    with session_scope(bot.rt.engine) as session:
        for n, (platform, status) in enumerate(HELD):
            session.add(
                DeliveryRow(
                    outbox_id=1,
                    destination=f"{platform}:a{n}",
                    platform=platform,
                    address=f"a{n}",
                    status=status,
                    created_at=bot.clock.now(),
                )
            )
    after = await scrape(bot)
    assert value(after, "charterbot_deliveries_pending", surface=surface) == pending
    assert value(after, "charterbot_deliveries_failed", surface=surface) == failed
    assert ("charterbot_deliveries_pending", (("surface", surface),)) in after


async def test_leader_gauge_follows_leadership(bot: Bot) -> None:
    """The process that takes the leadership lock reports charterbot_leader 1."""
    task = asyncio.create_task(bot.rt.background())
    try:
        for _ in range(100):
            if value(await scrape(bot), "charterbot_leader") == 1:
                break
            await asyncio.sleep(0.02)
        assert value(await scrape(bot), "charterbot_leader") == 1
        ready = (await bot.http.get("/readyz")).json()
        assert ready["leader"] is True and ready["database"] == "ok"
    finally:
        bot.rt.stop.set()
        await asyncio.wait_for(task, timeout=5)


@pytest.mark.parametrize(
    ("logger", "key"),
    [("charterbot.pipeline", "delivery_id"), ("charterbot.service", "command_id")],
)
async def test_json_logs_carry_delivery_and_command_ids(
    bot: Bot, caplog: pytest.LogCaptureFixture, logger: str, key: str
) -> None:
    """The inbox worker logs each delivery with its id, the command path each command with a
    fresh id; the JSON formatter puts them in the record."""
    caplog.set_level(logging.INFO)
    number = bot.standin.store.add_issue(
        "Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)
    ).number
    payload = bot.issue_payload("opened", number, valid_body())
    await bot.post("issues", payload, delivery="log-1")
    bot.rt.worker.process_pending(bot.clock.now())
    alice = Actor(login="alice-aurora", surface="console", surface_id="a", display="alice")
    bot.gov.run_sync(f"show {number}", alice)
    records = [r for r in caplog.records if r.name == logger and hasattr(r, key)]
    assert records, f"no {logger} record with {key}"
    entry = json.loads(JsonFormatter().format(records[-1]))
    assert entry[key]
    if key == "delivery_id":
        assert entry[key] == "github:log-1"
