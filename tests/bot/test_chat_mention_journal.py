"""An ``@charterbot`` mention is durable before Slack hears it arrived, like a slash command.

Through Bolt's real dispatcher (signed Events API requests to ``POST /slack/events``):
- the mention is journalled (keyed by its ``event_id``) before the ack and closed after the
  answer in its thread; Slack's retry of a handled event has no second effect;
- a crash between the ack and the answer loses nothing: after the restart, Slack's retry of the
  same event is acked without running twice, and the leader's replay runs the command once and
  answers it in the mention's thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.messages import Actor, Message
from storage.db import session_scope
from storage.models.core import InboxRow
from tests.bot.harness import Bot, slack_settings
from tests.bot.slack.wire import mention_body, signed_headers
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

THREAD = "1700000000.000100"  # the sample mention's ts


class Gate:
    """Holds the core's ``run`` until ``open`` (never, for a crash), and says when it entered."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def __call__(self, text: str, actor: Actor) -> Message:
        self.entered.set()
        await self.open.wait()
        result: Message = await self._run(text, actor)
        return result


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    yield b
    await b.close()


def _journal(bot: Bot) -> dict[str, InboxRow]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(InboxRow).where(InboxRow.source == "chat-command:slack")).all()
        session.expunge_all()
        return {row.key: row for row in rows}


async def _mention(bot: Bot, body: str, retry: int = 0) -> int:
    headers = signed_headers(body, content_type="application/json")
    if retry:
        headers |= {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    return response.status_code


def _answers(slack: SlackStandIn) -> list[dict[str, Any]]:
    """What was posted in the mention's thread (announcements go to channels, not there)."""
    posts = [c.data for c in slack.calls("/api/chat.postMessage")]
    return [p for p in posts if p.get("thread_ts") == THREAD]


async def _until(done: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_mention_is_journalled_before_its_ack_and_closed_after(
    bot: Bot, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(bot.rt.gov.run)
    monkeypatch.setattr(bot.rt.gov, "run", gate)
    body = mention_body("Ev-live", "<@UBOT0001> whoami")
    assert await _mention(bot, body) == 200
    row = _journal(bot)["Ev-live"]  # there when the ack arrived, before the command ran
    assert json.loads(row.body) == {
        "text": "whoami",
        "user_id": "U0ASKER",
        "user_name": "",
        "channel_id": "C0001",
        "thread_ts": THREAD,
    }
    assert row.processed_at is None
    gate.open.set()
    [posted] = await slack.wait_for("/api/chat.postMessage")
    assert (posted.data["channel"], posted.data["thread_ts"]) == ("C0001", THREAD)
    await _until(lambda: _journal(bot)["Ev-live"].processed_at)  # closed after its answer
    assert _journal(bot)["Ev-live"].error is None
    assert await _mention(bot, body, retry=1) == 200  # Slack's retry: no second effect
    await asyncio.sleep(0.2)
    assert len(slack.calls("/api/chat.postMessage")) == 1


async def test_a_mention_stranded_by_a_crash_is_replayed_once(
    sqlite_url: str,
    github: GitHubStandin,
    slack: SlackStandIn,
    bot: Bot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = await bot.open_voting()
    bot.link("U0ALICE")
    gate = Gate(bot.rt.gov.run)  # never opened: the process dies first
    monkeypatch.setattr(bot.rt.gov, "run", gate)
    body = mention_body("Ev-crash", f"<@UBOT0001> vote {n} approve", user="U0ALICE")
    assert await _mention(bot, body) == 200
    await asyncio.wait_for(gate.entered.wait(), 5)
    # The crash: the in-flight listener dies with the process, and so does the heartbeat
    # renewing its lease (left running, it only held up the close below for its two-second
    # wait, renewing nothing: the bot's clock does not move).
    for task in asyncio.all_tasks():
        listener = "run_ack_function_asynchronously" in repr(task.get_coro())
        if listener or task.get_name() == "chat-journal-leases":
            task.cancel()
    await bot.close()

    settings: dict[str, Any] = slack_settings(slack)
    restarted = Bot(sqlite_url, github, bot.clock, **settings)
    try:
        assert await _mention(restarted, body, retry=1) == 200  # Slack retries the event
        await restarted.settle()
        await asyncio.sleep(0.2)
        assert _answers(slack) == []  # acked, not run a second time
        await restarted.advance(timedelta(seconds=31))  # the crashed handler's lease ran out
        await _until(lambda: _answers(slack))
        [answer] = _answers(slack)
        assert answer["channel"] == "C0001" and "Recorded approve" in json.dumps(answer)
        await restarted.advance(timedelta(minutes=1))
        assert len(_answers(slack)) == 1
        votes = (await restarted.http.get(f"/api/proposals/{n}")).json()["votes"]
        assert [(v["voter"], v["via"]) for v in votes] == [("alice-aurora", "slack")]
        row = _journal(restarted)["Ev-crash"]
        assert row.processed_at is not None and row.error is None
    finally:
        await restarted.close()
