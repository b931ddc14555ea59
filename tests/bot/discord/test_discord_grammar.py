"""The /charter group matches the command grammar: what each typed subcommand registers, what
text its options become, and ``/charter run`` for every command of the grammar.

Registration is read off the stand-in (the command tree's sync); interactions are the docs'
sample payload reshaped (``wire.command``) and parsed by discord.py itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.discord.client import CharterBot
from charter.usage import USAGE
from tests.bot.discord.clients import GUILD_ID
from tests.bot.discord.wire import USER_ID, command, option
from tests.bot.slack.fake_core import FakeCore
from tests.standins.discord_server import APP_ID, DiscordStandIn

FOLLOWUP = f"/webhooks/{APP_ID}/A_UNIQUE_TOKEN"
CALLBACK = "/interactions/786008729715212338/A_UNIQUE_TOKEN/callback"
# How a placeholder of a USAGE line is named as a Discord option.
OPTION_NAMES = {"n": "number", "approve|reject|abstain": "choice", "--override": "override"}
# Discord's limits for one command (docs: Application Commands; platform-limits notes §3).
MAX_OPTIONS = 25
NAME_CHARS = 32
DESCRIPTION_CHARS = 100
COMMAND_CHARS = 4000  # name, description and values of the command, its options and choices


def synced_group(discord_api: DiscordStandIn) -> dict[str, Any]:
    [put] = discord_api.calls("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    [group] = put.json
    assert isinstance(group, dict)
    return group


def usage_options(key: str) -> list[tuple[str, bool]]:
    """The arguments of a grammar USAGE line as (option name, required), in order."""
    words = USAGE[key].split()[1 + len(key.split()) :]  # after "/charter <key>"
    found = []
    for word in words:
        required = not word.startswith("[")
        bare = word.strip("[]").rstrip(":").strip('"').strip("<>")
        found.append((OPTION_NAMES.get(bare, bare), required))
    return found


def typed_commands(group: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each typed subcommand by its grammar key: a nested group's as ``<group> <sub>``."""
    found = {}
    for sub in group["options"]:
        if sub["type"] == 2:  # a subcommand group
            found.update({f"{sub['name']} {s['name']}": s for s in sub["options"]})
        else:
            found[sub["name"]] = sub
    return found


def char_count(node: dict[str, Any]) -> int:
    """Characters Discord counts against a command: names, descriptions and choice values."""
    total = len(node.get("name", "")) + len(node.get("description", ""))
    for choice in node.get("choices") or []:
        total += len(choice["name"]) + len(str(choice["value"]))
    return total + sum(char_count(o) for o in node.get("options") or [])


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for o in node.get("options") or [] for n in walk(o))]


async def test_typed_subcommands_take_exactly_the_grammars_arguments(
    bot: CharterBot, discord_api: DiscordStandIn
) -> None:
    """Every typed subcommand registers the arguments of its grammar line, in order, required
    where the grammar requires them: withdraw takes no reason, concern a name and a text,
    resolve a required name, rollout pause a required reason and rollout resume an optional
    one."""
    subs = typed_commands(synced_group(discord_api))
    typed = sorted(set(subs) - {"run"})
    assert {"rollout pause", "rollout resume"} <= set(typed)
    assert typed == sorted(k for k in typed if k in USAGE)  # each is a grammar command
    for name in typed:
        registered = [(o["name"], o.get("required", False)) for o in subs[name].get("options", [])]
        assert registered == usage_options(name), name
    assert [o["name"] for o in subs["withdraw"]["options"]] == ["number"]


async def test_run_takes_one_required_text(bot: CharterBot, discord_api: DiscordStandIn) -> None:
    """/charter run has one required string option, ``text``, without autocomplete."""
    subs = {o["name"]: o for o in synced_group(discord_api)["options"]}
    [text] = subs["run"]["options"]
    assert (text["name"], text["type"], text["required"]) == ("text", 3, True)
    assert not text.get("autocomplete")


async def test_registration_is_within_discords_limits(
    bot: CharterBot, discord_api: DiscordStandIn
) -> None:
    """≤ 25 subcommands and options each, names ≤ 32, descriptions 1–100 characters, and the
    whole command within 4,000 characters; the one-word options say they are one word."""
    group = synced_group(discord_api)
    assert len(group["options"]) <= MAX_OPTIONS
    for node in walk(group):
        assert len(node.get("options") or []) <= MAX_OPTIONS
        assert re.fullmatch(r"[a-z_-]{1,32}", node["name"]), node["name"]
        assert 1 <= len(node["description"]) <= DESCRIPTION_CHARS, node
    assert char_count(group) <= COMMAND_CHARS
    subs = {o["name"]: {x["name"]: x for x in o.get("options", [])} for o in group["options"]}
    assert "one word" in subs["concern"]["name"]["description"]
    assert subs["concern"]["text"]["description"] != subs["concern"]["name"]["description"]


@pytest.mark.parametrize(
    ("sub", "options", "text"),
    [
        (
            "concern",
            [
                option("number", 1),
                option("name", "gas-limit"),
                option("text", "The gas limit target is too high"),
            ],
            "concern 1 gas-limit: The gas limit target is too high",
        ),
        (
            "concern",
            [option("number", 1), option("name", " gas_limit\n"), option("text", "a: b")],
            "concern 1 gas_limit: a: b",
        ),
        ("resolve", [option("number", 1), option("name", "gas-limit")], "resolve 1 gas-limit"),
        ("withdraw", [option("number", 1)], "withdraw 1"),
        (
            "feedback",
            [option("number", 7), option("people", "bob-aurora, @carol\n<@123>")],
            "feedback 7 @bob-aurora @carol <@123>",
        ),
        (
            "feedback",
            [option("number", 7), option("people", "@bob"), option("note", "@dan knows more")],
            "feedback 7 @bob: @dan knows more",
        ),
        (
            "rollout pause",
            [option("number", 7), option("reason", "devnet\nforks  at 1200")],
            "rollout pause 7 devnet forks at 1200",
        ),
        ("rollout resume", [option("number", 7)], "rollout resume 7"),
        (
            "rollout resume",
            [option("number", 7), option("reason", "fix verified")],
            "rollout resume 7 fix verified",
        ),
        (
            "rollout resume",
            [option("number", 7), option("override", True), option("reason", "the fix itself")],
            "rollout resume 7 --override the fix itself",
        ),
        ("rollout resume", [option("number", 7), option("override", False)], "rollout resume 7"),
        ("run", [option("text", "subscribe me severity >= sev2")], "subscribe me severity >= sev2"),
        ("run", [option("text", "approve 7 lgtm")], "approve 7 lgtm"),
        ("run", [option("text", "/charter status 7")], "status 7"),
        ("run", [option("text", "charter  incident\nupdate #3 fixed")], "incident update #3 fixed"),
        ("run", [option("text", 'meeting schedule "Q3 call" tomorrow 14:00')], None),
        ("run", [option("text", "charterbot")], "charterbot"),
    ],
)
async def test_options_become_the_grammars_text(
    bot: CharterBot,
    core: FakeCore,
    discord_api: DiscordStandIn,
    sub: str,
    options: list[dict[str, Any]],
    text: str | None,
) -> None:
    """Each subcommand's options reach the core as the text the grammar reads (a concern's
    name ends at its ':'); /charter run passes its text on as Slack's /charter does."""
    sent = options[-1]["value"] if text is None else text
    bot._connection.parse_interaction_create(command(sub, options))
    await discord_api.wait_for("POST", FOLLOWUP)
    assert [(t, a.surface_id) for t, a in core.runs] == [(sent, USER_ID)]


@pytest.mark.parametrize("key", sorted(USAGE))
async def test_every_grammar_command_is_reachable(
    bot: CharterBot, core: FakeCore, discord_api: DiscordStandIn, key: str
) -> None:
    """Every command of the grammar reaches the core from Discord: typed, or through run."""
    bot._connection.parse_interaction_create(command("run", [option("text", f"{key} 1")]))
    await discord_api.wait_for("POST", FOLLOWUP)
    assert [t for t, _ in core.runs] == [f"{key} 1"]


@pytest.mark.parametrize(
    ("sub", "options", "problem"),
    [
        ("concern", [option("name", "gas limit"), option("text", "too high")], "'gas limit'"),
        ("concern", [option("name", "gas:limit"), option("text", "too high")], "'gas:limit'"),
        ("concern", [option("name", "  "), option("text", "the gas limit")], "''"),
        ("concern", [option("name", '"gas'), option("text", "too high")], "'\"gas'"),
        ("resolve", [option("name", "gas limit")], "'gas limit'"),
        ("resolve", [option("name", "")], "''"),
        ("vote", [option("choice", "approve because")], "'approve because'"),
        ("feedback", [option("people", "bob: look")], "'bob: look'"),
        ("feedback", [option("people", ",")], "','"),
    ],
)
async def test_an_option_the_grammar_would_misread_is_refused(
    bot: CharterBot,
    core: FakeCore,
    discord_api: DiscordStandIn,
    sub: str,
    options: list[dict[str, Any]],
    problem: str,
) -> None:
    """A one-word option holding more (or nothing) is refused at once, ephemerally and
    pinging nobody, and the core runs nothing: joined into the text it would be misread."""
    bot._connection.parse_interaction_create(command(sub, [option("number", 1), *options]))
    [callback] = await discord_api.wait_for("POST", CALLBACK)
    assert callback.json["type"] == 4
    data = callback.json["data"]
    assert data["flags"] & 64
    assert data["allowed_mentions"] == {"parse": []}
    [embed] = data["embeds"]
    assert any(
        hint in embed["description"] for hint in ("one word", "approve, reject", "as GitHub logins")
    )
    assert problem in embed["description"]
    assert problem in embed["description"].replace("\\", "")
    assert core.runs == []
    assert discord_api.calls("POST", FOLLOWUP) == []
