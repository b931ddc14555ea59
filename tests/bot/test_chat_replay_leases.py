"""The journal's replay runs only commands whose handler is gone, judged when they arrived.

- A live command whose answer is slow (a slow response_url) is never run a second time by the
  leader's replay, however long it takes: the process running it holds it.
- A command another replica is running is held by its lease, renewed while it runs; once that
  replica dies the lease runs out and the leader replays the command, once.
- An answer on a response_url gives up after ``ANSWER_TIMEOUT`` and closes its entry.
- A replayed command is judged at the time it was received: a vote acknowledged 5 s before the
  voting deadline counts, although the replay runs after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from sqlmodel import select

import bot.slack.app as slack_app
from bot.chat import InboxJournal
from storage import audit_query
from storage.db import session_scope
from storage.models.core import InboxRow
from storage.times import aware
from tests.bot.harness import START, Bot, slack_settings
from tests.bot.slack.wire import signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

STEVE = "U2147483697"  # the user of Slack's sample slash command


class SlowAnswers:
    """A response_url whose first answer is held until ``release``; later ones are at once."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gate = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        if len(self.bodies) == 1:
            await self.gate.wait()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slow", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/slow"

    async def stop(self) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def slow() -> AsyncIterator[SlowAnswers]:
    server = SlowAnswers()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, deadline_grace_seconds=30, **slack_settings(slack))
    yield b
    await b.close()


def _row(bot: Bot, key: str) -> InboxRow:
    with session_scope(bot.rt.engine) as session:
        row = session.exec(select(InboxRow).where(InboxRow.key == key)).one()
        session.expunge(row)
        return row


def _votes_cast(bot: Bot) -> int:
    with session_scope(bot.rt.engine) as session:
        return sum(e.kind == "vote-cast" for e in audit_query.entries(session))


async def _until(done: Callable[[], object], within: float = 5.0) -> None:
    for _ in range(int(within / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_a_slow_answer_is_not_replayed(bot: Bot, slow: SlowAnswers) -> None:
    n = await bot.open_voting()
    bot.link(STEVE)
    body = slash_body(f"vote {n} approve", slow.url, encoded=True)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    await _until(lambda: slow.bodies)  # voted; its answer is on its way, slowly
    bot.clock.advance(timedelta(seconds=31))
    await bot.settle()  # the leader's loops, the journal's replay among them
    slow.gate.set()
    await _until(lambda: _row(bot, "13345224609.738474920.8088930838d88f008e0").processed_at)
    assert len(slow.bodies) == 1
    assert _votes_cast(bot) == 1


async def test_another_replicas_command_is_held_by_its_lease(bot: Bot, slack: SlackStandIn) -> None:
    replica = InboxJournal(bot.rt, renew_every=0.02)  # a live replica over the same database
    entry = {"text": "whoami", "user_id": "U0B", "user_name": "b", "channel_id": "C1"}
    assert await replica.record("slack", "on-replica", entry | {"response_url": slack.url})
    bot.clock.advance(timedelta(seconds=31))
    renewed = bot.clock.now() + timedelta(seconds=1)  # a beat after the clock moved on
    await _until(lambda: aware(_row(bot, "on-replica").next_attempt_at or START) > renewed)
    await bot.settle()
    assert _row(bot, "on-replica").processed_at is None  # still the replica's
    await replica.aclose()  # the replica dies
    bot.clock.advance(timedelta(seconds=31))
    await bot.settle()
    await bot.settle()
    row = _row(bot, "on-replica")
    assert row.processed_at is not None and row.error is None


async def test_a_hung_answer_gives_up_and_closes_its_entry(
    bot: Bot, slow: SlowAnswers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_app, "ANSWER_TIMEOUT", 0.2)
    body = slash_body("whoami", slow.url, encoded=True)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    key = "13345224609.738474920.8088930838d88f008e0"
    await _until(lambda: _row(bot, key).processed_at, within=3)
    assert (_row(bot, key).error or "").startswith("answer not delivered: TimeoutError")


async def test_a_replayed_vote_is_judged_when_it_arrived(bot: Bot, slack: SlackStandIn) -> None:
    n = await bot.open_voting()
    bot.link("U0ALICE")
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    closes = datetime.fromisoformat(view["deadlines"]["voting_closes"])
    bot.clock.advance(closes - bot.clock.now() - timedelta(seconds=5))
    received = bot.clock.now()
    crashed = InboxJournal(bot.rt)  # acked it 5 s before the deadline, then died
    entry = {"text": f"vote {n} approve", "user_id": "U0ALICE", "user_name": "alice"}
    entry |= {"channel_id": "C1", "response_url": slack.response_url("lost")}
    assert await crashed.record("slack", "trigger-lost", entry)
    await crashed.aclose()
    await bot.advance(timedelta(seconds=31))  # restarted; the leader replays it (grace: 30 s)
    [answer] = await slack.wait_for("/response/lost")
    assert "Recorded approve" in json.dumps(answer.data)
    [vote] = (await bot.http.get(f"/api/proposals/{n}")).json()["votes"]
    assert (vote["voter"], vote["via"]) == ("alice-aurora", "slack")
    assert datetime.fromisoformat(vote["at"]) == received.replace(microsecond=0)
