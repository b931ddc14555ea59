"""A slow database does not cost a chat command its acknowledgment (``bot.acks``).

Scenario 6 of the platform notes: with the database slow, Discord must still get its defer and
Slack its ack within 3 s. The journal write (durable before accepted) is given ``ACK_BUDGET``
(shortened here); past it the interim acknowledgment goes out (Discord's defer, Slack's
"working on it" or empty ack), and the command runs and is answered once the write committed.
A write that fails is answered "NOT recorded", never with silence. A fast write changes
nothing: no extra interim message.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot import acks
from bot.chat import InboxJournal
from bot.discord.client import CharterBot
from bot.slack.app import WORKING
from tests.bot.discord.clients import logged_in
from tests.bot.discord.wire import command
from tests.bot.harness import Bot, slack_settings
from tests.bot.slack.wire import block_actions_body, signed_headers, slash_body
from tests.standins.discord_server import APP_ID, DiscordStandIn
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

BUDGET = 0.2  # seconds: ACK_BUDGET shortened, so the tests stay fast
SLOW = 1.0  # seconds the journal write takes when slowed: well past the budget
NOT_RECORDED = "NOT recorded"
_ids = itertools.count(1)


@dataclass
class SlowWrites:
    """Fault injection on the chat journal's INSERT (nothing else is slowed)."""

    delay: float = 0.0
    fail: bool = False
    ended: list[float] = field(default_factory=list)  # when each slowed write went on

    def before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOX") and "chat-command:" in str(
            params
        ):
            time.sleep(self.delay)
            self.ended.append(time.perf_counter())
            if self.fail:
                raise RuntimeError("injected: the database did not take the journal row")


@contextmanager
def slowed(engine: Engine, writes: SlowWrites) -> Iterator[SlowWrites]:
    event.listen(engine, "before_cursor_execute", writes.before)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", writes.before)


@pytest.fixture(autouse=True)
def short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acks, "ACK_BUDGET", BUDGET)


# -- Discord -------------------------------------------------------------------------------------


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    yield b
    await b.close()


@pytest.fixture
async def journalled(bot: Bot, discord_api: DiscordStandIn) -> AsyncIterator[CharterBot]:
    """The Discord client as ``charterbot serve`` builds it: with the durable journal."""
    async with logged_in(bot.gov, discord_api.api_url, journal=InboxJournal(bot.rt)) as c:
        yield c


async def discord_whoami(
    client: CharterBot, api: DiscordStandIn, writes: SlowWrites
) -> tuple[float, bool, str]:
    """Deliver ``/charter whoami``; (seconds to the defer, whether the journal write was still
    going on then, the content of the follow-up)."""
    token = f"slow-{next(_ids)}"
    payload = command("whoami") | {"id": str(10**17 + next(_ids)), "token": token}
    started = time.perf_counter()
    client._connection.parse_interaction_create(payload)
    callback = f"/interactions/{payload['id']}/{token}/callback"
    while not api.calls("POST", callback):
        await asyncio.sleep(0.005)
        assert time.perf_counter() - started < 10, "no defer"
    deferred, writing = time.perf_counter() - started, not writes.ended
    [followup] = await api.wait_for("POST", f"/webhooks/{APP_ID}/{token}")
    assert len(api.calls("POST", callback)) == 1
    return deferred, writing, str(followup.json.get("content") or followup.json.get("embeds"))


async def test_discord_defers_at_the_budget_and_answers_once_recorded(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    with slowed(bot.rt.engine, SlowWrites(delay=SLOW)) as writes:
        deferred, writing, answer = await discord_whoami(journalled, discord_api, writes)
    assert writing and BUDGET <= deferred < SLOW  # deferred without waiting for the write
    assert "You are not linked" in answer


async def test_discord_says_not_recorded_when_the_slow_write_fails(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    with slowed(bot.rt.engine, SlowWrites(delay=SLOW, fail=True)) as writes:
        deferred, writing, answer = await discord_whoami(journalled, discord_api, writes)
    assert writing and deferred < SLOW
    assert NOT_RECORDED in answer and "You are" not in answer


async def test_discord_fast_write_is_deferred_after_it(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Durable before the defer when the write is quick: the row is in before Discord hears."""
    with slowed(bot.rt.engine, SlowWrites(delay=0.0)) as writes:
        deferred, writing, answer = await discord_whoami(journalled, discord_api, writes)
    assert not writing and deferred < BUDGET
    assert "You are not linked" in answer


# -- Slack ---------------------------------------------------------------------------------------


async def slack_post(bot: Bot, body: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text
    return time.perf_counter() - started, response.text


async def test_slack_command_acks_at_the_budget_and_answers_on_its_response_url(
    bot: Bot, slack: SlackStandIn
) -> None:
    body = slash_body("whoami", slack.response_url("slow"), encoded=True)
    with slowed(bot.rt.engine, SlowWrites(delay=SLOW)) as writes:
        took, ack = await slack_post(bot, body)
        writing = not writes.ended
        [answer] = await slack.wait_for("/response/slow")
    assert writing and BUDGET <= took < SLOW and WORKING in ack
    assert "You are not linked" in answer.data["text"]


async def test_slack_click_gets_an_empty_ack_at_the_budget(bot: Bot, slack: SlackStandIn) -> None:
    n = await bot.open_voting()
    body = block_actions_body(f"vote:{n}:approve", slack.response_url("click"))
    with slowed(bot.rt.engine, SlowWrites(delay=SLOW)) as writes:
        took, ack = await slack_post(bot, body)
        writing = not writes.ended
        [answer] = await slack.wait_for("/response/click")
    assert writing and took < SLOW and ack == ""
    assert answer.data["replace_original"] is False and NOT_RECORDED not in answer.data["text"]


@pytest.mark.parametrize("delay", [SLOW, 0.0], ids=["slow", "fast"])
async def test_slack_says_not_recorded_when_the_write_fails(
    bot: Bot, slack: SlackStandIn, delay: float
) -> None:
    body = slash_body("whoami", slack.response_url("lost"), encoded=True)
    with slowed(bot.rt.engine, SlowWrites(delay=delay, fail=True)):
        took, _ack = await slack_post(bot, body)
        [answer] = await slack.wait_for("/response/lost")
    assert took < SLOW and NOT_RECORDED in answer.data["text"]
    await asyncio.sleep(0.1)
    assert len(slack.calls("/response/lost")) == 1  # and the command was not run


async def test_slack_fast_write_acks_empty_after_it(bot: Bot, slack: SlackStandIn) -> None:
    """No extra interim message when the database is fast: an empty ack, then the answer."""
    body = slash_body("whoami", slack.response_url("fast"), encoded=True)
    with slowed(bot.rt.engine, SlowWrites(delay=0.0)) as writes:
        _took, ack = await slack_post(bot, body)
        assert writes.ended  # the row was written before the ack
        [answer] = await slack.wait_for("/response/fast")
    assert ack == "" and "You are not linked" in answer.data["text"]
