"""Slack slash commands and vote clicks are durable before they are acknowledged.

The command is journalled (inbox source ``chat-command:slack``) before the ack and marked done
after its answer; a command a crash stranded between the two is replayed by the leader and
answered on its response_url once; one too old to answer is closed as expired, not run.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.chat import InboxJournal
from storage.db import session_scope
from storage.models.core import InboxRow
from tests.bot.harness import Bot, slack_settings
from tests.bot.slack.wire import block_actions_body, signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    yield b
    await b.close()


async def _crashed(bot: Bot, entries: dict[str, dict[str, str]]) -> None:
    """Journal ``entries`` as a process that acked them and then died: its leases are not
    renewed (a live process never replays what it still runs itself)."""
    journal = InboxJournal(bot.rt)
    for key, entry in entries.items():
        assert await journal.record("slack", key, entry)
    await journal.aclose()


def _journal(bot: Bot) -> list[InboxRow]:
    with session_scope(bot.rt.engine) as session:
        rows = list(session.exec(select(InboxRow).where(InboxRow.source == "chat-command:slack")))
        session.expunge_all()  # plain objects, readable after the session closes
        return rows


async def test_command_is_journalled_and_closed(bot: Bot, slack: SlackStandIn) -> None:
    body = slash_body("whoami", slack.response_url("w1"), encoded=True)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    await slack.wait_for("/response/w1")
    await bot.close()  # lets the post-ack task finish
    [row] = _journal(bot)
    assert json.loads(row.body)["text"] == "whoami"
    assert row.processed_at is not None and row.error is None


async def test_stranded_command_is_replayed_once(bot: Bot, slack: SlackStandIn) -> None:
    n = await bot.open_voting()
    # alice-aurora proved her login earlier (see test_chat_e2e for the proof itself)
    bot.link("U0ALICE")
    entry = {
        "text": f"vote {n} approve",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "channel_id": "C1",
        "response_url": slack.response_url("lost"),
    }
    stale = {**entry, "response_url": slack.response_url("too-late")}
    await _crashed(bot, {"trigger-too-late": stale})  # stranded long ago
    bot.clock.advance(timedelta(minutes=31))
    click = {**entry, "response_url": slack.response_url("lost-click"), "replace_original": "false"}
    # the ack went out, then a crash; a vote button, likewise
    await _crashed(bot, {"trigger-lost": entry, "click-lost": click})
    bot.clock.advance(timedelta(minutes=1))
    # The inbox worker does not touch journal entries: they belong to the journal's replay.
    assert bot.rt.worker.process_pending(bot.clock.now()) == 0
    await bot.settle()  # runs the relays, the replay among them (leader)
    [answer] = await slack.wait_for("/response/lost")
    assert "Recorded approve" in json.dumps(answer.data)
    assert "replace_original" not in answer.data
    [clicked] = await slack.wait_for("/response/lost-click")
    assert clicked.data["replace_original"] is False  # the buttons' message stays
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["via"]) for v in view["votes"]] == [("alice-aurora", "slack")] * 2
    rows = {r.key: r for r in _journal(bot)}
    assert rows["trigger-lost"].processed_at is not None and rows["trigger-lost"].error is None
    assert rows["trigger-too-late"].error == "expired before replay"
    await bot.settle()
    assert not [r for r in slack.requests if re.search("/response/too-late", r.path)]
    assert len([r for r in slack.requests if r.path == "/response/lost"]) == 1


async def test_vote_click_is_journalled_before_its_ack(bot: Bot, slack: SlackStandIn) -> None:
    """A vote button click is recorded before Slack gets its 200 (the ack), answered on its
    response_url without replacing the buttons' message, and then marked done."""
    n = await bot.open_voting()
    body = block_actions_body(f"vote:{n}:approve", slack.response_url("click"))
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    [row] = _journal(bot)  # already there when the ack arrived
    entry = json.loads(row.body)
    assert entry["text"] == f"vote {n} approve" and entry["replace_original"] == "false"
    [answer] = await slack.wait_for("/response/click")
    assert answer.data["replace_original"] is False
    await bot.close()  # lets the post-ack task finish
    [row] = _journal(bot)
    assert row.processed_at is not None and row.error is None


async def test_a_replay_that_fails_is_closed_not_repeated(bot: Bot) -> None:
    """A stranded command whose replay fails is closed with the error, not run again on
    every tick (it may have run before it failed)."""
    journal: InboxJournal = bot.rt.extras["chat_journal"]
    entry = {"text": "whoami", "user_id": "U0X", "user_name": "x", "channel_id": "C1"}
    await _crashed(bot, {"trigger-broken": entry | {"response_url": ""}})
    bot.clock.advance(timedelta(minutes=1))
    runs: list[dict[str, str]] = []

    async def broken(stranded: dict[str, str]) -> None:
        runs.append(stranded)
        raise RuntimeError("the answer could not be sent")

    assert await journal.replay(bot.clock.now(), broken) == 0
    assert await journal.replay(bot.clock.now(), broken) == 0
    assert len(runs) == 1
    [row] = _journal(bot)
    assert row.processed_at is not None
    assert row.error == "replay failed: RuntimeError: the answer could not be sent"


async def test_a_stranded_mention_is_answered_at_any_age(bot: Bot, slack: SlackStandIn) -> None:
    """A mention is answered with chat.postMessage in its thread, which does not expire: one
    stranded longer than a response_url lives is still run and answered once, in its thread,
    while a command from the same moment is closed unrun."""
    n = await bot.open_voting()
    bot.link("U0ALICE")
    mention = {
        "text": f"vote {n} approve",
        "user_id": "U0ALICE",
        "user_name": "",
        "channel_id": "C0001",
        "thread_ts": "1700000000.000100",
    }
    command = {k: v for k, v in mention.items() if k != "thread_ts"}
    command["response_url"] = slack.response_url("too-late")
    await _crashed(bot, {"Ev-old": mention, "trigger-old": command})
    bot.clock.advance(timedelta(hours=2))
    await bot.settle()  # the leader's replay among the relays
    [posted] = _in_thread(slack, "1700000000.000100")
    assert posted.data["channel"] == "C0001" and "Recorded approve" in json.dumps(posted.data)
    rows = {r.key: r for r in _journal(bot)}
    assert rows["Ev-old"].processed_at is not None and rows["Ev-old"].error is None
    assert rows["trigger-old"].error == "expired before replay"
    await bot.settle()
    assert len(_in_thread(slack, "1700000000.000100")) == 1
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["via"]) for v in view["votes"]] == [("alice-aurora", "slack")]
    assert not [r for r in slack.requests if r.path == "/response/too-late"]


def _in_thread(slack: SlackStandIn, thread_ts: str) -> list[Any]:
    """What was posted in one thread (announcements go to their channels too)."""
    return [r for r in slack.calls("/api/chat.postMessage") if r.data.get("thread_ts") == thread_ts]
