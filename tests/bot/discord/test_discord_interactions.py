"""The Discord adapter end to end without a gateway: real discord.py parsing of interaction
payloads (``parse_interaction_create``), with every REST call read back off the stand-in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from bot.discord.client import CharterBot, parse_guild_id
from bot.messages import Mention, Message
from tests.bot.discord.clients import GUILD_ID, logged_in
from tests.bot.discord.wire import USER_ID, button, command, option
from tests.bot.slack.fake_core import FakeCore
from tests.standins.discord_server import APP_ID, DiscordStandIn

SUBCOMMANDS = [
    "run",
    "proposals",
    "show",
    "vote",
    "concern",
    "resolve",
    "feedback",
    "withdraw",
    "link",
    "whoami",
    "todo",
    "help",
    "rollout",  # a group: rollout pause, rollout resume
]
FOLLOWUP = f"/webhooks/{APP_ID}/A_UNIQUE_TOKEN"


async def test_sync_publishes_the_charter_group(
    bot: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Login syncs one /charter group to the configured guild, with described options,
    vote choices and autocomplete on proposal numbers."""
    [put] = discord_api.calls("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    [group] = put.json
    assert group["name"] == "charter"
    subs = {o["name"]: o for o in group["options"]}
    assert sorted(subs) == sorted(SUBCOMMANDS)
    assert all(o["type"] == 1 and o["description"] for k, o in subs.items() if k != "rollout")
    assert subs["rollout"]["type"] == 2
    rollout = {o["name"]: o for o in subs["rollout"]["options"]}
    assert sorted(rollout) == ["pause", "resume"]
    assert all(o["type"] == 1 and o["description"] for o in rollout.values())
    assert rollout["pause"]["options"][0]["autocomplete"] is True
    vote = {o["name"]: o for o in subs["vote"]["options"]}
    assert [c["value"] for c in vote["choice"]["choices"]] == ["approve", "reject", "abstain"]
    assert vote["number"]["autocomplete"] is True
    assert vote["number"]["type"] == 4
    assert all(o["description"] for s in subs.values() for o in s.get("options", []))


async def test_global_sync_without_guild(discord_api: DiscordStandIn, core: FakeCore) -> None:
    """Without DISCORD_GUILD_ID the commands are synced globally."""
    async with logged_in(core, discord_api.api_url, guild_id=None):
        pass
    [put] = discord_api.calls("PUT", f"/applications/{APP_ID}/commands")
    assert put.json[0]["name"] == "charter"


@pytest.mark.parametrize(
    ("sub", "options", "text"),
    [
        ("proposals", [], "proposals"),
        ("show", [option("number", 42)], "show 42"),
        ("vote", [option("number", 42), option("choice", "approve")], "vote 42 approve"),
        (
            "vote",
            [option("number", 7), option("choice", "reject"), option("reason", "too\nrisky  now")],
            "vote 7 reject too risky now",
        ),
        (
            "concern",
            [option("number", 42), option("name", "v1"), option("text", "breaks v1 clients")],
            "concern 42 v1: breaks v1 clients",
        ),
        ("resolve", [option("number", 42), option("name", "c1")], "resolve 42 c1"),
        ("withdraw", [option("number", 42)], "withdraw 42"),
        ("link", [], "link"),
        ("whoami", [], "whoami"),
        ("todo", [], "todo"),
        ("help", [option("topic", "vote")], "help vote"),
        ("show", [option("number", 999_999)], "show 999999"),
    ],
)
async def test_subcommand_reaches_core_and_answers_ephemerally(
    bot: CharterBot,
    core: FakeCore,
    discord_api: DiscordStandIn,
    sub: str,
    options: list[dict[str, Any]],
    text: str,
) -> None:
    """Each subcommand defers at once (ephemeral, thinking), sends the equivalent chat text to
    the core as the invoking user, and follows up ephemerally with mentions disabled."""
    bot._connection.parse_interaction_create(command(sub, options))
    [followup] = await discord_api.wait_for("POST", FOLLOWUP)
    [callback] = discord_api.calls(
        "POST", "/interactions/786008729715212338/A_UNIQUE_TOKEN/callback"
    )
    assert callback.json == {"type": 5, "data": {"flags": 64}}
    assert core.identities == [("discord", USER_ID, "Mason")]
    assert [t for t, _ in core.runs] == [text]
    sent = followup.json
    assert sent["flags"] & 64
    assert sent["allowed_mentions"] == {"parse": []}
    assert sent["embeds"][0]["title"] == f"ran: {text}"
    assert sent["components"][0]["components"][0]["custom_id"] == "vote:42:approve"


async def test_announcement_is_posted_publicly(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn
) -> None:
    """A non-ephemeral Message replaces the thinking placeholder with a confirmation and is
    posted as a public follow-up."""
    core.reply = lambda text, actor: Message(title="Voting opened on #42", ephemeral=False)
    bot._connection.parse_interaction_create(command("show", [option("number", 42)]))
    [public] = await discord_api.wait_for("POST", FOLLOWUP)
    [edit] = discord_api.calls("PATCH", f"{FOLLOWUP}/messages/@original")
    assert edit.json["content"] == "Posted in the channel."
    assert edit.json["allowed_mentions"] == {"parse": []}
    assert not public.json.get("flags", 0) & 64
    assert public.json["allowed_mentions"] == {"parse": []}


async def test_only_listed_users_are_pinged(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn
) -> None:
    """A deliberate Mention pings exactly that user: listed in content and allowed by id,
    with @everyone and roles still off."""
    target = "123456789012345678"
    core.reply = lambda text, actor: Message(
        lines=(("@everyone your turn ", Mention(target, "discord")),)
    )
    bot._connection.parse_interaction_create(command("whoami"))
    [followup] = await discord_api.wait_for("POST", FOLLOWUP)
    sent = followup.json
    assert sent["content"] == f"<@{target}>"
    assert sent["allowed_mentions"]["parse"] == []
    assert sent["allowed_mentions"]["users"] == [int(target)]
    assert "@\u200beveryone" in sent["embeds"][0]["description"]


async def test_core_failure_is_an_ephemeral_error(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn
) -> None:
    """A crash in the core is answered with a short ephemeral error, no internals."""
    core.fail = True
    bot._connection.parse_interaction_create(command("whoami"))
    [followup] = await discord_api.wait_for("POST", FOLLOWUP)
    assert followup.json["flags"] & 64
    assert "failed on our side" in followup.json["embeds"][0]["description"]
    assert "exploded" not in str(followup.json)


class Journal:
    """A CommandJournal that remembers what was recorded and how each entry was closed."""

    def __init__(self) -> None:
        self.recorded: list[str] = []
        self.closed: dict[str, str | None] = {}

    async def record(self, surface: str, key: str, entry: dict[str, str]) -> bool:
        self.recorded.append(key)
        return True

    async def done(self, surface: str, key: str, error: str | None = None) -> None:
        self.closed[key] = error


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(404, 10062, "NotFound"), (400, 40060, "HTTPException")],
    ids=["unknown-interaction", "refused"],
)
async def test_a_refused_deferral_runs_nothing(
    core: FakeCore,
    discord_api: DiscordStandIn,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    code: int,
    error: str,
) -> None:
    """When Discord refuses the deferral the user saw no acknowledgement, so the command is
    not run and not answered, and its journal entry is closed as not acknowledged."""
    real = discord_api._answer

    def answer(r: Any) -> Any:
        if r.path.startswith("/interactions/"):
            body = json.dumps({"message": "refused", "code": code}).encode()
            return web.Response(body=body, status=status, content_type="application/json")
        return real(r)

    monkeypatch.setattr(discord_api, "_answer", answer)
    journal = Journal()
    async with logged_in(core, discord_api.api_url, journal=journal) as client:
        client._connection.parse_interaction_create(command("whoami"))
        await discord_api.wait_for("POST", "/interactions/")
        for _ in range(200):
            if journal.closed:
                break
            await asyncio.sleep(0.01)
    [key] = journal.recorded
    why = journal.closed[key]
    assert why is not None and why.startswith(f"not acknowledged: {error}") and str(code) in why
    assert core.runs == []
    assert discord_api.calls("POST", "/webhooks/") == []


@pytest.mark.parametrize(
    ("sub", "typed", "values"),
    [
        ("vote", "4", [42, 420]),
        ("vote", "", [42, 7, 420]),
        ("vote", "legacy", [7]),
        ("vote", "9", []),
        ("rollout pause", "4", [42, 420]),  # in the nested group too
        ("rollout resume", "legacy", [7]),
    ],
)
async def test_number_autocomplete(
    bot: CharterBot,
    core: FakeCore,
    discord_api: DiscordStandIn,
    sub: str,
    typed: str,
    values: list[int],
) -> None:
    """Typing a proposal number offers matching proposals from core.open_proposals."""
    payload = command(sub, [option("number", typed, focused=True)], kind=4)
    bot._connection.parse_interaction_create(payload)
    [callback] = await discord_api.wait_for("POST", "/interactions/")
    assert callback.json["type"] == 8
    choices = callback.json["data"]["choices"]
    assert [c["value"] for c in choices] == values
    assert all(c["name"].startswith(f"#{c['value']} ") for c in choices)
    assert core.prefixes == [typed]
    assert core.runs == []


@pytest.mark.parametrize("choice", ["approve", "reject", "abstain"])
async def test_vote_button_votes_as_the_clicker(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn, choice: str
) -> None:
    """A click on a vote:42:<choice> button — registered as a dynamic item, so it works on
    messages from before a restart — runs "vote 42 <choice>" as the clicking member."""
    bot._connection.parse_interaction_create(button(f"vote:42:{choice}"))
    [followup] = await discord_api.wait_for("POST", f"/webhooks/{APP_ID}/unique_interaction_token")
    [callback] = discord_api.calls("POST", "/interactions/846462639134605312/")
    assert callback.json == {"type": 5, "data": {"flags": 64}}
    assert [(t, a.surface_id) for t, a in core.runs] == [(f"vote 42 {choice}", USER_ID)]
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_other_buttons_are_ignored(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn
) -> None:
    """A button whose id is not a vote id never reaches the core."""
    import asyncio

    bot._connection.parse_interaction_create(button("vote:42:maybe"))
    await asyncio.sleep(0.2)
    assert core.runs == []
    assert discord_api.calls("POST", "/interactions/") == []


@pytest.mark.parametrize(
    ("value", "parsed"), [(None, None), ("", None), (" 290926798626357999 ", 290926798626357999)]
)
def test_guild_id(value: str | None, parsed: int | None) -> None:
    """DISCORD_GUILD_ID is optional and numeric."""
    assert parse_guild_id(value) == parsed


def test_guild_id_must_be_numeric() -> None:
    """A guild name instead of its id is refused with how to find the id."""
    with pytest.raises(ValueError, match="Copy Server ID"):
        parse_guild_id("my-server")
