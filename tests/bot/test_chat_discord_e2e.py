"""Discord end to end: discord.py's real interaction parsing into the one service and store.

A ``CharterBot`` around the real ``Governance`` of a running charterbot, logged in against the
Discord REST stand-in; interactions are the docs' samples fed to ``parse_interaction_create``.

Rules proven here:
- A Discord user proves their GitHub login with a one-time code posted as a GitHub comment;
  until then they may read but not vote.
- A vote from ``/charter vote`` or from a ``vote:<n>:<choice>`` button counts as the linked
  login's, via Discord: in the read API, in the audit log and in the GitHub tracking comment
  ("via Discord"). Every answer is ephemeral and pings nobody (``allowed_mentions`` parse []).
- Proposal-number autocomplete lists open proposals first.
- With the journal (as served), every interaction is durable before it is deferred, and one a
  crash stranded is answered once on its follow-up token while the token lives; past the
  token's life it is still run, judged at receipt, and its answer sent to the asker by direct
  message (a ``link`` excepted: asked to run again). A refused DM leaves a note in the channel
  that never holds the answer; the fallback is logged and what failed kept on the journal.
- An interaction whose deferral Discord refused (10062: its 3 s had passed) was never
  acknowledged: it is closed, not run, and never replayed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlmodel import select

from bot.chat import InboxJournal, discord_replay_step
from bot.discord.client import CharterBot
from storage import audit, audit_query, identities
from storage.db import session_scope
from storage.models.core import InboxRow
from tests.bot.discord.clients import logged_in
from tests.bot.discord.wire import USER_ID, button, command, option
from tests.bot.harness import Bot, later
from tests.standins.discord_server import APP_ID, DiscordStandIn
from tests.standins.github_server import GitHubStandin

EPHEMERAL = 64
_tokens = itertools.count(1)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


@pytest.fixture
async def client(bot: Bot, discord_api: DiscordStandIn) -> AsyncIterator[CharterBot]:
    """The Discord client around the real service, logged in against the stand-in."""
    async with logged_in(bot.gov, discord_api.api_url) as c:
        yield c


async def interact(
    client: CharterBot, discord_api: DiscordStandIn, payload: dict[str, Any]
) -> dict[str, Any]:
    """Deliver one interaction (with its own id and token); the follow-up JSON it produced."""
    token = f"token-{next(_tokens)}"
    payload = payload | {"id": str(10**17 + next(_tokens)), "token": token}
    client._connection.parse_interaction_create(payload)
    [followup] = await discord_api.wait_for("POST", f"/webhooks/{APP_ID}/{token}")
    [callback] = discord_api.calls("POST", f"/interactions/{payload['id']}/{token}/callback")
    assert callback.json == {"type": 5, "data": {"flags": EPHEMERAL}}  # deferred at once
    sent: dict[str, Any] = followup.json
    assert sent["flags"] & EPHEMERAL, sent
    assert sent["allowed_mentions"] == {"parse": []}, sent
    return sent


def shown(sent: dict[str, Any]) -> str:
    return json.dumps(sent.get("embeds", []), ensure_ascii=False)


async def open_proposal(bot: Bot, title: str = "Raise the gas target") -> int:
    return await bot.open_issue(title)


async def link_mason(bot: Bot, client: CharterBot, discord_api: DiscordStandIn, login: str) -> None:
    """Mason (the samples' Discord user) links to ``login`` with a code posted on GitHub."""
    answer = shown(await interact(client, discord_api, command("link")))
    code = re.search(r"charterbot link ([A-Z0-9]{4}-[A-Z0-9]{4})", answer)
    assert code is not None, answer
    n = await open_proposal(bot, "Somewhere to comment")
    await bot.comment(n, f"charterbot link {code.group(1)}", login)
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        row = identities.lookup(session, "discord", USER_ID)
        assert row is not None and row.login == login


def vote_command(n: int, choice: str, reason: str | None = None) -> dict[str, Any]:
    options = [option("number", n), option("choice", choice)]
    if reason is not None:
        options.append(option("reason", reason))
    return command("vote", options)


async def test_linked_discord_user_votes_by_command_and_button(
    bot: Bot, client: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Unlinked, Mason is refused; linked as carmen-borealis, Mason's /charter vote and then a
    vote button each count as carmen-borealis's vote via Discord (the later replacing the
    earlier), in the read API, the audit log and the GitHub tracking comment."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    refused = shown(await interact(client, discord_api, vote_command(n, "approve")))
    assert "run /charter link first" in refused

    await link_mason(bot, client, discord_api, "carmen-borealis")
    whoami = shown(await interact(client, discord_api, command("whoami")))
    assert "carmen-borealis" in whoami and "Borealis" in whoami

    voted = shown(
        await interact(client, discord_api, vote_command(n, "approve", "tested on devnet"))
    )
    assert "Recorded approve" in voted
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["choice"], v["via"]) for v in view["votes"]] == [
        ("carmen-borealis", "approve", "discord")
    ]
    assert "carmen-borealis (via Discord)" in bot.tracking(n)[0].body

    clicked = shown(await interact(client, discord_api, button(f"vote:{n}:reject")))
    assert "Recorded reject" in clicked
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["choice"], v["via"]) for v in view["votes"]][-1] == (
        "carmen-borealis",
        "reject",
        "discord",
    )
    assert (view["tally"]["approve"], view["tally"]["reject"]) == (0, 1)  # replaced, not added
    tracking = bot.tracking(n)[0].body
    assert "carmen-borealis (via Discord)" in tracking and "reject" in tracking.lower()
    with session_scope(bot.rt.engine) as session:
        assert audit.verify(session).ok
        cast = {e.actor for e in audit_query.entries(session, kind="vote-cast")}
        refusals = [e.actor for e in audit_query.entries(session, kind="command-refused")]
    assert cast == {"carmen-borealis"}
    assert refusals == [f"discord:{USER_ID}"]


async def test_autocomplete_lists_open_proposals_first(
    bot: Bot, client: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Autocomplete of a proposal number offers open proposals before closed ones, each as
    "#<n> <title>", from the real store."""
    first = await open_proposal(bot, "First idea")
    withdrawn = await open_proposal(bot, "Withdrawn idea")
    third = await open_proposal(bot, "Third idea")
    await bot.comment(withdrawn, "/withdraw", "alice-aurora")
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{withdrawn}")).json()["state"] == "withdrawn"

    payload = command("vote", [option("number", "", focused=True)], kind=4)
    payload |= {"id": "990000000000000001", "token": "autocomplete-token"}
    client._connection.parse_interaction_create(payload)
    [callback] = await discord_api.wait_for("POST", "/interactions/990000000000000001/")
    assert callback.json["type"] == 8
    choices = callback.json["data"]["choices"]
    assert [c["value"] for c in choices] == [third, first, withdrawn]
    assert choices[0]["name"] == f"#{third} Third idea"


@pytest.fixture
async def journalled(bot: Bot, discord_api: DiscordStandIn) -> AsyncIterator[CharterBot]:
    """The Discord client as ``charterbot serve`` builds it: with the durable journal."""
    async with logged_in(bot.gov, discord_api.api_url, journal=InboxJournal(bot.rt)) as c:
        yield c


def discord_journal(bot: Bot) -> dict[str, InboxRow]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(InboxRow).where(InboxRow.source == "chat-command:discord"))
        found = {row.key: row for row in rows}
        session.expunge_all()
        return found


async def test_interactions_are_durable_before_they_are_acknowledged(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command and a button click are each journalled before the deferral goes out (at
    record time Discord has seen no callback) and marked done after the follow-up."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    callbacks_at_record: list[int] = []
    journal = journalled.journal
    assert isinstance(journal, InboxJournal)
    record = journal.record

    async def spying(surface: str, key: str, entry: dict[str, str]) -> bool:
        callbacks_at_record.append(len(discord_api.calls("POST", "/interactions/")))
        return await record(surface, key, entry)

    monkeypatch.setattr(journal, "record", spying)
    await interact(journalled, discord_api, command("whoami"))
    await interact(journalled, discord_api, button(f"vote:{n}:approve"))
    assert callbacks_at_record == [0, 1]  # none of *its own* callback had gone out yet
    rows = discord_journal(bot)
    texts = sorted(json.loads(row.body)["text"] for row in rows.values())
    assert texts == [f"vote {n} approve", "whoami"]
    for _ in range(500):  # marked done just after the follow-up's answer arrives
        if all(row.processed_at is not None for row in rows.values()):
            break
        await asyncio.sleep(0.01)
        rows = discord_journal(bot)
    assert all(row.processed_at is not None and row.error is None for row in rows.values())
    assert all(json.loads(row.body)["token"].startswith("token-") for row in rows.values())


async def test_a_stranded_interaction_is_answered_once_on_its_token(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    """A command recorded and deferred, then lost to a crash, is run by the leader's replay
    and answered on its follow-up token, once; one older than the token's life is answered in
    its channel instead, never on its dead token."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    await link_mason(bot, journalled, discord_api, "carmen-borealis")
    journal = journalled.journal
    assert isinstance(journal, InboxJournal)
    entry = {
        "text": f"vote {n} approve stranded",
        "user_id": USER_ID,
        "user_name": "Mason",
        "channel_id": "41771983423143937",
        "application_id": APP_ID,
        "token": "stranded-token",
    }
    crashed = InboxJournal(bot.rt)  # the process that deferred them, then died
    old = {**entry, "text": "whoami", "token": "dead-token"}
    assert await crashed.record("discord", "too-old", old)
    bot.clock.advance(timedelta(minutes=20))
    assert await crashed.record("discord", "stranded", entry)
    await crashed.aclose()
    bot.clock.advance(timedelta(minutes=1))
    step = discord_replay_step(bot.rt, journal, journalled)
    assert await step(bot.clock.now()) == 2
    assert await step(bot.clock.now()) == 0  # answered once
    [followup] = await discord_api.wait_for("POST", f"/webhooks/{APP_ID}/stranded-token")
    assert "Recorded approve" in shown(followup.json) and followup.json["flags"] & EPHEMERAL
    assert discord_api.calls("POST", f"/webhooks/{APP_ID}/dead-token") == []
    [dm] = discord_api.dms
    [late] = discord_api.calls("POST", f"/channels/{dm}/messages")
    assert "carmen-borealis" in shown(late.json)
    assert discord_api.calls("POST", "/channels/41771983423143937/messages") == []
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["via"]) for v in view["votes"]] == [("carmen-borealis", "discord")]
    rows = discord_journal(bot)
    assert rows["stranded"].processed_at is not None and rows["stranded"].error is None
    assert rows["too-old"].processed_at is not None and rows["too-old"].error is None


CHANNEL = "41771983423143937"


async def strand(bot: Bot, key: str, text: str) -> dict[str, str]:
    """``text`` from Mason in CHANNEL, journalled and deferred by a process that then died."""
    entry = {
        "text": text,
        "user_id": USER_ID,
        "user_name": "Mason",
        "channel_id": CHANNEL,
        "application_id": APP_ID,
        "token": f"{key}-token",
    }
    crashed = InboxJournal(bot.rt)
    assert await crashed.record("discord", key, entry)
    await crashed.aclose()
    return entry


def refuse(discord_api: DiscordStandIn, monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """Discord refuses every request whose path starts with ``what``: 404 Unknown interaction
    on an interaction or a webhook (the token is dead), 403 Missing Access on a channel."""
    real = discord_api._answer
    code, status, text = (50001, 403, "Missing Access")
    if what in ("interactions", "webhooks"):
        code, status, text = (10062, 404, "Unknown interaction")

    def answer(r: Any) -> Any:
        if r.path.strip("/").split("/")[0] == what:
            body = json.dumps({"message": text, "code": code}).encode()
            return web.Response(body=body, status=status, content_type="application/json")
        return real(r)

    monkeypatch.setattr(discord_api, "_answer", answer)


async def test_a_stranded_interaction_past_its_token_is_answered_by_direct_message(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """The notes' scenario 7: a stranded vote replayed at 15 min + 1 s is not followed up on
    its expired token. It is run, judged at the time it was received, and its answer sent to
    Mason alone, by direct message (it may be about a confidential proposal: never posted in
    the channel); the log records the fallback."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    await link_mason(bot, journalled, discord_api, "carmen-borealis")
    received = bot.clock.now()
    await strand(bot, "late", f"vote {n} approve")
    bot.clock.advance(timedelta(minutes=15, seconds=1))
    step = discord_replay_step(bot.rt, journalled.journal, journalled)
    assert await step(bot.clock.now()) == 1
    assert await step(bot.clock.now()) == 0  # answered once
    assert discord_api.calls("POST", f"/webhooks/{APP_ID}/late-token") == []
    [opened] = discord_api.calls("POST", "/users/@me/channels")
    assert opened.json == {"recipient_id": int(USER_ID)}
    [dm] = discord_api.dms
    [late] = discord_api.calls("POST", f"/channels/{dm}/messages")
    assert f"<t:{int(received.timestamp())}:f>" in late.json["content"]
    assert "Recorded approve" in shown(late.json)
    assert discord_api.calls("POST", f"/channels/{CHANNEL}/messages") == []
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["at"]) for v in view["votes"]] == [
        ("carmen-borealis", received.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ]
    row = discord_journal(bot)["late"]
    assert row.processed_at is not None and row.error is None
    assert "interaction token expired; answering by direct message" in caplog.text


async def test_a_refused_dm_leaves_a_note_without_the_answer_in_the_channel(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Mason allows no DMs: the channel is told the command was carried out, pinging Mason
    alone, and the answer (here who Mason is linked as) is not in it."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    await link_mason(bot, journalled, discord_api, "carmen-borealis")
    received = bot.clock.now()
    await strand(bot, "no-dm", f"vote {n} approve")
    bot.clock.advance(timedelta(minutes=16))
    discord_api.dm_refused = True
    step = discord_replay_step(bot.rt, journalled.journal, journalled)
    assert await step(bot.clock.now()) == 1
    [note] = discord_api.calls("POST", f"/channels/{CHANNEL}/messages")
    assert "embeds" not in note.json or note.json["embeds"] == []
    text = note.json["content"]
    assert text.startswith(f"<@{USER_ID}> your command of <t:{int(received.timestamp())}:f>")
    assert "was carried out" in text
    assert "Recorded approve" not in text and "carmen-borealis" not in text
    assert note.json["allowed_mentions"] == {"parse": [], "users": [int(USER_ID)]}
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [v["voter"] for v in view["votes"]] == ["carmen-borealis"]
    row = discord_journal(bot)["no-dm"]
    assert row.processed_at is not None and row.error is not None
    assert row.error.startswith("late answer: DM refused (Forbidden") and "50007" in row.error


async def test_a_late_answer_that_reaches_nobody_is_recorded(
    bot: Bot,
    journalled: CharterBot,
    discord_api: DiscordStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No DM and a channel the bot may not post in: what failed is logged and kept on the
    journal entry, which is closed (the command ran; it is not run again)."""
    await strand(bot, "unposted", "whoami")
    bot.clock.advance(timedelta(minutes=16))
    refuse(discord_api, monkeypatch, "channels")
    step = discord_replay_step(bot.rt, journalled.journal, journalled)
    assert await step(bot.clock.now()) == 1
    assert await step(bot.clock.now()) == 0
    assert len(discord_api.calls("POST", f"/channels/{CHANNEL}/messages")) == 1
    row = discord_journal(bot)["unposted"]
    assert row.processed_at is not None and row.error is not None
    assert row.error.startswith("late answer undelivered: DM Forbidden")
    assert "channel Forbidden" in row.error
    assert "late answer undelivered" in caplog.text


async def test_a_late_link_is_not_run(
    bot: Bot, journalled: CharterBot, discord_api: DiscordStandIn
) -> None:
    """A ``link`` past its token's life is not run (its code would have expired): the asker is
    told by DM to run it again, and no code is made."""
    await strand(bot, "late-link", "link")
    bot.clock.advance(timedelta(minutes=15, seconds=1))
    step = discord_replay_step(bot.rt, journalled.journal, journalled)
    assert await step(bot.clock.now()) == 1
    [dm] = discord_api.dms
    [late] = discord_api.calls("POST", f"/channels/{dm}/messages")
    text = shown(late.json)
    assert "run /charter link again" in text
    assert not re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text + late.json["content"])
    assert discord_api.calls("POST", f"/channels/{CHANNEL}/messages") == []
    with session_scope(bot.rt.engine) as session:  # no link was started
        assert identities.pending_requests(session, bot.clock.now()) == []


async def test_a_refused_deferral_is_closed_not_run_nor_replayed(
    bot: Bot,
    journalled: CharterBot,
    discord_api: DiscordStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Discord refuses the deferral (10062: the 3 s passed while the journal was written), so
    Mason was told "The application did not respond": the vote is not run, its entry is
    closed as not acknowledged, and the leader's replay minutes later leaves it alone."""
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    await link_mason(bot, journalled, discord_api, "carmen-borealis")
    refuse(discord_api, monkeypatch, "interactions")
    payload = vote_command(n, "approve") | {"id": "100000000000099999", "token": "late-token"}
    journalled._connection.parse_interaction_create(payload)
    await discord_api.wait_for("POST", "/interactions/100000000000099999/late-token/callback")
    for _ in range(500):  # closed just after the refusal arrives
        if discord_journal(bot)["100000000000099999"].processed_at is not None:
            break
        await asyncio.sleep(0.01)
    row = discord_journal(bot)["100000000000099999"]
    assert row.error is not None and row.error.startswith("not acknowledged: NotFound")
    assert "10062" in row.error and "not run: not acknowledged" in caplog.text
    bot.clock.advance(timedelta(minutes=6))  # past HOLD_AT_MOST: a lost handler's would replay
    step = discord_replay_step(bot.rt, journalled.journal, journalled)
    assert await step(bot.clock.now()) == 0
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["votes"] == []
    assert discord_api.calls("POST", f"/webhooks/{APP_ID}/late-token") == []


async def test_concern_resolve_and_withdraw_subcommands_follow_the_grammar(
    bot: Bot, client: CharterBot, discord_api: DiscordStandIn
) -> None:
    """/charter concern takes the concern's one-word name and its text separately, so the
    concern is named as given, not after the text's first word; /charter resolve names it; a
    name the grammar would misread is refused and nothing is raised."""
    n = await open_proposal(bot)
    await link_mason(bot, client, discord_api, "carmen-borealis")

    def concern(name: str) -> dict[str, Any]:
        text = option("text", "The gas limit target is too high")
        return command("concern", [option("number", n), option("name", name), text])

    raised = shown(await interact(client, discord_api, concern("gas-limit")))
    assert "gas-limit" in raised, raised
    for bad in ("gas limit", "gas:limit"):
        payload = concern(bad) | {"id": str(10**17 + next(_tokens)), "token": "refused"}
        client._connection.parse_interaction_create(payload)
        [refused] = await discord_api.wait_for("POST", f"/interactions/{payload['id']}/refused")
        assert refused.json["type"] == 4 and refused.json["data"]["flags"] & EPHEMERAL
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(c["name"], c["text"], c["resolved"]) for c in view["concerns"]] == [
        ("gas-limit", "The gas limit target is too high", False)
    ]

    resolve = command("resolve", [option("number", n), option("name", "gas-limit")])
    assert "gas-limit" in shown(await interact(client, discord_api, resolve))
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(c["name"], c["resolved"]) for c in view["concerns"]] == [("gas-limit", True)]


async def test_withdraw_subcommand_withdraws(
    bot: Bot, client: CharterBot, discord_api: DiscordStandIn
) -> None:
    """/charter withdraw (the number only, as the grammar has it) withdraws the author's
    proposal."""
    n = await open_proposal(bot)
    await link_mason(bot, client, discord_api, "alice-aurora")
    answer = shown(await interact(client, discord_api, command("withdraw", [option("number", n)])))
    assert "error" not in answer.lower(), answer
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["state"] == "withdrawn"


@pytest.fixture
async def served(
    sqlite_url: str, github: GitHubStandin, discord_api: DiscordStandIn
) -> AsyncIterator[tuple[Bot, CharterBot]]:
    """A charterbot with Discord configured (so it can deliver to Discord subscriptions) and
    its Discord client, logged in against the stand-in."""
    b = Bot.fresh(
        sqlite_url, github, discord_token="stand-in-token", discord_api_url=discord_api.api_url
    )
    try:
        async with logged_in(b.gov, discord_api.api_url) as c:
            yield b, c
    finally:
        await b.close()


async def test_run_reaches_commands_without_a_typed_subcommand(
    served: tuple[Bot, CharterBot], discord_api: DiscordStandIn
) -> None:
    """/charter run text:<command> reaches what Discord has no typed subcommand for, through
    the same parser as Slack's /charter <text>: a vote by alias, a status, a subscription with
    a severity threshold (the ">=" as typed)."""
    bot, client = served
    n = await open_proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    await link_mason(bot, client, discord_api, "carmen-borealis")

    async def run(text: str) -> str:
        return shown(await interact(client, discord_api, command("run", [option("text", text)])))

    assert "Recorded approve" in await run(f"approve {n} tested on devnet")
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["reason"], v["via"]) for v in view["votes"]] == [
        ("carmen-borealis", "tested on devnet", "discord")
    ]
    assert f"#{n}" in await run(f"/charter status {n}")
    subscribed = await run("subscribe me incident severity >= sev2")
    assert "Subscribed" in subscribed, subscribed
    listed = await run("subscriptions")
    assert "sev2" in listed, listed
    assert "is not a command" in await run("vot 1 approve")
