"""One tracking message per proposal per chat channel, edited in place only when its text changes
(bot.chat_tracking), against the Slack and Discord HTTP stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat_tracking import ChatTracking
from bot.senders.discord import DiscordSender
from bot.senders.pacing import Limits, Pacer
from bot.senders.slack import SlackSender
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal
from charter.standing import Choice, Vote
from storage import outbox, proposals as repo
from storage.db import session_scope
from storage.models.core import OutboxRow, TrackingMessageRow
from tests.bot.broadcast.conftest import SCALE
from tests.bot.broadcast.support import NOW, charter
from tests.bot.harness import Bot, later, slack_settings
from tests.standins.discord_server import DiscordStandIn
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import Recorded, SlackStandIn

CHARTER = charter()
SLACK_MAIN, DISCORD_MAIN, COUNCIL = "C0MERIDIAN1", "1180000000000000001", "G0COUNCIL01"
# The council's private channel also hears of new proposals (the reference charter's does not).
WITH_COUNCIL = CHARTER.model_copy(
    update={
        "announce": {
            **CHARTER.announce,
            "proposal-opened": (*CHARTER.announce["proposal-opened"], "council-private"),
        }
    }
)


class Slack(SlackStandIn):
    """Also answers ``message_not_found`` for a message someone deleted."""

    deleted: set[str]

    def _answer(self, path: str, record: Recorded) -> web.StreamResponse:
        if path == "/api/chat.update" and record.data.get("ts") in self.deleted:
            return web.json_response({"ok": False, "error": "message_not_found"})
        return super()._answer(path, record)


class Discord(DiscordStandIn):
    """Also edits channel messages (PATCH), 404 Unknown Message for a deleted one."""

    deleted: set[str]

    def _answer(self, r):  # type: ignore[no-untyped-def]
        parts = r.path.strip("/").split("/")
        if r.method == "PATCH" and parts[0] == "channels" and parts[2] == "messages":
            if parts[3] in self.deleted:
                return web.json_response({"message": "Unknown Message", "code": 10008}, status=404)
            return web.json_response({"id": parts[3], "channel_id": parts[1]})
        return super()._answer(r)


class InstantSleep:
    """The pacer's clock and sleep: waits are counted, not slept."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


@pytest.fixture
async def stands() -> AsyncIterator[tuple[Slack, Discord]]:
    slack, discord = Slack(), Discord()
    slack.deleted, discord.deleted = set(), set()
    await slack.start()
    await discord.start()
    yield slack, discord
    await slack.stop()
    await discord.stop()


@pytest.fixture
async def senders(stands: tuple[Slack, Discord]) -> AsyncIterator[dict[str, Any]]:
    slack, discord = stands
    made = {
        "slack": SlackSender("xoxb-test", slack.api_url),
        "discord": DiscordSender("bot-token", discord.api_url),
    }
    yield made
    for sender in made.values():
        await sender.aclose()


def tracker(engine: Engine, senders: dict[str, Any], rules: Charter = CHARTER) -> ChatTracking:
    clock = InstantSleep()
    pacer = Pacer(Limits().scaled(SCALE), clock=clock, sleep=clock.sleep)
    return ChatTracking(
        engine, lambda: rules, senders, lambda: pacer, public_url="http://charterbot.test"
    )


def proposal(
    state: State = State.REVIEW, track: str = "protocol-change", **extra: object
) -> Proposal:
    reviewed = None if state is State.DRAFT else NOW
    return Proposal(
        number=7, title="Raise the gas target", author="alice-aurora", track=track, state=state,
        fields={}, charter_version=CHARTER.version, created_at=NOW - timedelta(days=1),
        entered_review_at=reviewed, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def queue(session: Session, number: int) -> None:
    """What ``Governance.queue_sync`` queues for the chats (the last test checks it does)."""
    key = f"sync-chat:{number}:pending"
    outbox.enqueue(session, kind="sync-chat", payload={"proposal": number}, now=NOW, key=key)


def vote(voter: str, choice: Choice = Choice.APPROVE) -> Vote:
    return Vote(voter=voter, choice=choice, reason="", at=NOW)


async def sync(
    engine: Engine, tracking: ChatTracking, p: Proposal, *, disclosed: bool = False
) -> None:
    """Store ``p`` as its change would, queue its sync, and let the tracker send."""
    with session_scope(engine) as session:
        repo.save(session, repo.Stored(p, (), disclosed), CHARTER, NOW)
        queue(session, p.number)
    await tracking.step(NOW)


def calls(stands: tuple[Slack, Discord]) -> dict[str, list[str]]:
    """Each API call made, by kind: the channel (Slack) or path (Discord) it went to."""
    slack, discord = stands
    return {
        "post": [r.data["channel"] for r in slack.calls("/api/chat.postMessage")],
        "update": [r.data["channel"] for r in slack.calls("/api/chat.update")],
        "discord post": [r.path for r in discord.calls("POST", "/channels/")],
        "discord patch": [r.path for r in discord.calls("PATCH", "/channels/")],
    }


async def test_one_card_per_channel_edited_only_when_its_text_changes(
    sqlite_engine: Engine, stands: tuple[Slack, Discord], senders: dict[str, Any]
) -> None:
    """Draft: nothing. Review: one post per channel. Each later change that alters the text is
    one edit of that message; a sync that changes nothing calls nobody."""
    tracking = tracker(sqlite_engine, senders)
    await sync(sqlite_engine, tracking, proposal(State.DRAFT))
    assert calls(stands) == {"post": [], "update": [], "discord post": [], "discord patch": []}
    steps = [
        proposal(),
        proposal(),  # unchanged: no call
        proposal(State.VOTING, voting_opened_at=NOW, votes=(vote("alice-aurora"),)),
        proposal(State.VOTING, voting_opened_at=NOW, votes=(vote("alice-aurora"),)),
        proposal(
            State.VOTING,
            voting_opened_at=NOW,
            votes=(vote("alice-aurora"), vote("carmen-borealis")),
        ),
        proposal(State.ACCEPTED, voting_opened_at=NOW, decided_at=NOW),
    ]
    for p in steps:
        await sync(sqlite_engine, tracking, p)
    slack, discord = stands
    texts = [str(r.data["blocks"]) for r in slack.requests if r.path.startswith("/api/chat.")]
    assert len(texts) == len(set(texts)) == 4  # every call a new text: one post, three edits
    [posted] = slack.calls("/api/chat.postMessage")
    assert calls(stands) == {
        "post": [SLACK_MAIN],
        "update": [SLACK_MAIN] * 3,
        "discord post": [f"/channels/{DISCORD_MAIN}/messages"],
        "discord patch": [f"/channels/{DISCORD_MAIN}/messages/{_discord_id(sqlite_engine)}"] * 3,
    }
    assert "accepted" in texts[-1] and "http://charterbot.test/proposals/7" in texts[-1]
    assert {r.data["ts"] for r in slack.calls("/api/chat.update")} == {_slack_ts(sqlite_engine)}
    for patch in discord.calls("PATCH", "/channels/"):
        assert patch.json["allowed_mentions"] == {"parse": []}
    assert posted.data["unfurl_links"] is False


async def test_confidential_is_tracked_on_private_channels_until_disclosed(
    sqlite_engine: Engine, stands: tuple[Slack, Discord], senders: dict[str, Any]
) -> None:
    tracking = tracker(sqlite_engine, senders, WITH_COUNCIL)
    secret = proposal(track="security-patch")
    await sync(sqlite_engine, tracking, secret)
    assert calls(stands)["post"] == [COUNCIL] and not calls(stands)["discord post"]
    await sync(sqlite_engine, tracking, secret, disclosed=True)
    found = calls(stands)
    assert found["post"] == [COUNCIL, SLACK_MAIN] and len(found["discord post"]) == 1
    assert found["update"] == []  # the council's card did not change


async def test_a_deleted_card_is_posted_anew(
    sqlite_engine: Engine, stands: tuple[Slack, Discord], senders: dict[str, Any]
) -> None:
    tracking = tracker(sqlite_engine, senders)
    await sync(sqlite_engine, tracking, proposal())
    slack, discord = stands
    slack.deleted.add(_slack_ts(sqlite_engine))
    discord.deleted.add(_discord_id(sqlite_engine))
    old = _slack_ts(sqlite_engine), _discord_id(sqlite_engine)
    await sync(sqlite_engine, tracking, proposal(State.VOTING, voting_opened_at=NOW))
    found = calls(stands)
    assert len(found["post"]) == 2 and len(found["update"]) == 1
    assert len(found["discord post"]) == 2 and len(found["discord patch"]) == 1
    assert (_slack_ts(sqlite_engine), _discord_id(sqlite_engine)) != old
    await sync(sqlite_engine, tracking, proposal(State.ACCEPTED, decided_at=NOW))
    assert len(calls(stands)["post"]) == 2  # the new card is edited from then on
    assert calls(stands)["update"][-1] == SLACK_MAIN and len(calls(stands)["update"]) == 2


async def test_a_burst_of_changes_is_one_edit_with_the_state_current_at_send_time(
    sqlite_engine: Engine, stands: tuple[Slack, Discord], senders: dict[str, Any]
) -> None:
    tracking = tracker(sqlite_engine, senders)
    await sync(sqlite_engine, tracking, proposal())
    voted = proposal(State.VOTING, voting_opened_at=NOW, votes=(vote("alice-aurora"),))
    for p in (proposal(State.VOTING, voting_opened_at=NOW), voted):
        with session_scope(sqlite_engine) as session:
            repo.save(session, repo.Stored(p), CHARTER, NOW)
            queue(session, p.number)
    with session_scope(sqlite_engine) as session:
        kinds = session.exec(select(OutboxRow.status).where(OutboxRow.kind == "sync-chat")).all()
    assert sorted(kinds) == ["pending", "sent"]  # the two syncs queued are one item
    await tracking.step(NOW)
    slack, _ = stands
    [update] = slack.calls("/api/chat.update")
    assert "1 approve" in str(update.data["blocks"])


async def test_a_rate_limited_edit_waits_as_slack_asked(
    sqlite_engine: Engine, stands: tuple[Slack, Discord], senders: dict[str, Any]
) -> None:
    tracking = tracker(sqlite_engine, senders)
    await sync(sqlite_engine, tracking, proposal())
    slack, _ = stands
    slack.fail_next("/api/chat.update", 429, retry_after=30)
    await sync(sqlite_engine, tracking, proposal(State.VOTING, voting_opened_at=NOW))
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(OutboxRow).where(OutboxRow.status == "pending")).one()
        assert row.next_attempt_at is not None
        assert row.next_attempt_at.replace(tzinfo=NOW.tzinfo) >= NOW + timedelta(seconds=30)
    await tracking.step(NOW + timedelta(seconds=31))
    assert len(slack.calls("/api/chat.update")) == 2  # the refused one, then the edit
    assert len(calls(stands)["discord patch"]) == 1  # Discord's card was current already


def _tracked(engine: Engine, surface: str) -> str:
    with session_scope(engine) as session:
        row = session.get(TrackingMessageRow, (7, surface))
        assert row is not None
        return row.message_id


def _slack_ts(engine: Engine) -> str:
    return _tracked(engine, f"slack:{SLACK_MAIN}").partition("/")[2]


def _discord_id(engine: Engine) -> str:
    return _tracked(engine, f"discord:{DISCORD_MAIN}")


async def test_a_proposal_filed_on_github_gets_one_card_on_slack_edited_as_it_moves(
    sqlite_url: str, github: GitHubStandin, slack: SlackStandIn
) -> None:
    """Wired in: every change queues a chat sync with the GitHub one (``queue_sync``), and the
    serve process's broadcast install runs the tracker with the relay's senders."""
    bot = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    try:
        n = await bot.open_issue()
        await bot.advance(later(days=7, seconds=1))  # voting opens
        cards = [
            r
            for r in slack.calls("/api/chat.postMessage")
            if "Open concerns" in str(r.data.get("blocks"))
        ]
        assert [c.data["channel"] for c in cards] == [SLACK_MAIN]
        assert f"/issues/{n}" in str(cards[0].data["blocks"])
        [edit] = slack.calls("/api/chat.update")
        assert "voting" in str(edit.data["blocks"])
    finally:
        await bot.close()
