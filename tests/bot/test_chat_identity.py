"""Identity links end to end: GitHub's OAuth device flow from Slack, and forged links.

Rules proven here, through Bolt's real dispatcher, the real service and the GitHub stand-in:
- With an OAuth app configured, ``/charter link`` answers with GitHub's verification URL and
  user code; the Slack user is linked only after GitHub confirms, as the login GitHub names,
  and the link is audited (``identity-linked``, method ``device-flow``).
- A denied or expired flow links nothing and forgets the request.
- A claim without proof (a Slack name, ``link <login>``, a pending flow, someone else's or a
  spent or stale code) links nothing; such a user cannot vote, and each refusal is audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlmodel import select

from storage import audit, audit_query, identities
from storage.db import session_scope
from storage.models.core import LinkRequestRow
from tests.bot.harness import Bot, slack_settings
from tests.bot.slack.wire import signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

CLIENT_ID = "Iv1.standin"


def _bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn, **extra: object) -> Bot:
    return Bot.fresh(sqlite_url, github, **slack_settings(slack), **extra)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    """A bot with an OAuth app configured: /charter link runs the device flow."""
    b = _bot(sqlite_url, github, slack, github_oauth_client_id=CLIENT_ID)
    yield b
    await b.close()


@pytest.fixture
async def code_bot(
    sqlite_url: str, github: GitHubStandin, slack: SlackStandIn
) -> AsyncIterator[Bot]:
    """A bot without an OAuth app: /charter link hands out a one-time comment code."""
    b = _bot(sqlite_url, github, slack)
    yield b
    await b.close()


_replies = iter(range(10**9))


async def slash(bot: Bot, slack: SlackStandIn, text: str, user: str, name: str = "mallory") -> str:
    """Run ``/charter <text>`` as Slack user ``user`` (Slack name ``name``); the answer's text."""
    reply = f"r{next(_replies)}"
    body = slash_body(text, slack.response_url(reply), encoded=True)
    body = re.sub(r"user_id=[^&]*", f"user_id={user}", body)
    body = re.sub(r"user_name=[^&]*", f"user_name={quote(name, safe='')}", body)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text
    [answer] = await slack.wait_for(f"/response/{reply}")
    return json.dumps(answer.data, ensure_ascii=False)


def linked_login(bot: Bot, surface_id: str) -> str | None:
    with session_scope(bot.rt.engine) as session:
        row = identities.lookup(session, "slack", surface_id)
        return row.login if row is not None else None


def audit_of(bot: Bot, kind: str) -> list[tuple[str, dict[str, object]]]:
    with session_scope(bot.rt.engine) as session:
        assert audit.verify(session).ok
        found = audit_query.entries(session, kind=kind)
        return [(e.actor, audit.payload_of(e.payload)) for e in reversed(found)]


def pending_codes(bot: Bot) -> list[str]:
    with session_scope(bot.rt.engine) as session:
        return [r.code for r in session.exec(select(LinkRequestRow)).all()]


async def test_device_flow_links_only_after_github_confirms(bot: Bot, slack: SlackStandIn) -> None:
    """/charter link shows GitHub's URL and code; polls while GitHub says "pending" link
    nothing (and the user still cannot vote); once GitHub confirms, the Slack user is the login
    GitHub named, the link is audited, and their Slack vote counts as that login's."""
    n = await bot.open_voting()
    bot.standin.device.pending = 2
    bot.standin.device.login = "carmen-borealis"

    answer = await slash(bot, slack, "link", "U0CARMEN", "carmen")
    assert f"{bot.standin.base_url}/login/device" in answer
    assert "WDJB-MJHT" in answer
    assert "post this comment" not in answer  # the device flow, not the comment-code fallback

    links = bot.gov.identity_links
    for _ in range(2):
        bot.clock.advance(timedelta(seconds=5))  # GitHub's interval
        assert await links.poll_device_flows(bot.clock.now()) == 0
        assert linked_login(bot, "U0CARMEN") is None
    assert "not linked" in await slash(bot, slack, f"vote {n} approve", "U0CARMEN", "carmen")

    bot.clock.advance(timedelta(seconds=5))
    assert await links.poll_device_flows(bot.clock.now()) == 1
    assert bot.standin.device.polls == 3
    assert linked_login(bot, "U0CARMEN") == "carmen-borealis"
    assert pending_codes(bot) == []
    assert audit_of(bot, "identity-linked") == [
        (
            "carmen-borealis",
            {
                "surface": "slack",
                "surface_id": "U0CARMEN",
                "login": "carmen-borealis",
                "method": "device-flow",
            },
        )
    ]
    assert await links.poll_device_flows(bot.clock.now()) == 0  # nothing left to ask about

    assert "Recorded approve" in await slash(bot, slack, f"vote {n} approve", "U0CARMEN")
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["via"]) for v in view["votes"]] == [("carmen-borealis", "slack")]
    assert "carmen-borealis (via Slack)" in bot.tracking(n)[0].body


@pytest.mark.parametrize("outcome", ["denied", "expired"])
async def test_refused_device_flow_links_nothing(
    bot: Bot, slack: SlackStandIn, outcome: str
) -> None:
    """When GitHub answers access_denied or expired_token, nothing is linked, nothing is
    audited as linked, and the request is forgotten (no further polls)."""
    bot.standin.device.pending = 1
    bot.standin.device.outcome = outcome
    assert "WDJB-MJHT" in await slash(bot, slack, "link", "U0DENIED")
    links = bot.gov.identity_links
    results = []
    for _ in range(3):
        bot.clock.advance(timedelta(seconds=5))
        results.append(await links.poll_device_flows(bot.clock.now()))
    assert results == [0, 0, 0]
    assert bot.standin.device.polls == 2
    assert linked_login(bot, "U0DENIED") is None
    assert pending_codes(bot) == []
    assert audit_of(bot, "identity-linked") == []


async def test_device_flow_polls_wait_for_githubs_interval(bot: Bot, slack: SlackStandIn) -> None:
    """GitHub is asked no sooner than its interval after the request, and after a slow_down
    no sooner than the new, longer interval (RFC 8628 §3.5); asking early is never sent."""
    bot.standin.device.pending = 5
    bot.standin.device.slow_down = True  # the first answer raises the interval to 10 s
    assert "WDJB-MJHT" in await slash(bot, slack, "link", "U0SLOW")
    links = bot.gov.identity_links
    polls = []
    for _ in range(6):  # at +4 s, +8 s, … +24 s
        bot.clock.advance(timedelta(seconds=4))
        await links.poll_device_flows(bot.clock.now())
        polls.append(bot.standin.device.polls)
    # due at 5 s (asked at 8 s: slow_down, next due at 18 s), then asked at 20 s (due 30 s)
    assert polls == [0, 1, 1, 1, 2, 2]


async def test_device_code_past_its_lifetime_is_never_claimed(
    bot: Bot, slack: SlackStandIn
) -> None:
    """A flow whose code expired on our clock is not polled, so a late confirmation links
    nothing."""
    bot.standin.device.login = "carmen-borealis"
    assert "expires in 15 minutes" in await slash(bot, slack, "link", "U0LATE")
    bot.clock.advance(timedelta(seconds=901))
    assert await bot.gov.identity_links.poll_device_flows(bot.clock.now()) == 0
    assert bot.standin.device.polls == 0
    assert linked_login(bot, "U0LATE") is None


async def test_forged_claims_cannot_vote(bot: Bot, slack: SlackStandIn) -> None:
    """Claiming a login — as one's Slack name, as ``link <login>``, or with a device flow
    GitHub has not confirmed, or by posting the device code as a GitHub comment — links
    nothing; the claimant's votes are refused with a way forward, and each is audited."""
    n = await bot.open_voting()
    bot.standin.device.pending = 5
    parse = await slash(bot, slack, "link carmen-borealis", "U0MALLORY", "carmen-borealis")
    assert "more than this command takes" in parse
    assert "WDJB-MJHT" in await slash(bot, slack, "link", "U0MALLORY", "carmen-borealis")
    assert await bot.gov.identity_links.poll_device_flows(bot.clock.now()) == 0
    await bot.comment(n, "charterbot link WDJB-MJHT", "carmen-borealis")
    await bot.settle()
    assert linked_login(bot, "U0MALLORY") is None

    refused = await slash(bot, slack, f"vote {n} approve", "U0MALLORY", "carmen-borealis")
    assert "run /charter link first" in refused
    assert "not linked" in await slash(bot, slack, "whoami", "U0MALLORY")
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["votes"] == []
    assert audit_of(bot, "command-refused") == [
        ("slack:U0MALLORY", {"command": "CastVote", "surface": "slack", "why": _why(refused)})
    ]
    assert audit_of(bot, "vote-cast") == []


def _why(answer: str) -> str:
    match = re.search(r"You have not linked[^\"\\]*", answer)
    assert match is not None, answer
    return match.group(0)


async def test_comment_codes_are_single_use_and_expire(code_bot: Bot, slack: SlackStandIn) -> None:
    """Without an OAuth app the proof is a one-time code posted on GitHub: it links the poster
    once; the same code posted again by someone else changes nothing, and a code posted after
    30 minutes links nobody."""
    bot = code_bot
    n = await bot.open_voting()
    first = re.search(r"charterbot link (\S{4}-\S{4})", await slash(bot, slack, "link", "U0CARMEN"))
    stale = re.search(r"charterbot link (\S{4}-\S{4})", await slash(bot, slack, "link", "U0SLOW"))
    assert first is not None and stale is not None
    await bot.comment(n, f"charterbot link {first.group(1)}", "carmen-borealis")
    await bot.comment(n, f"charterbot link {first.group(1)}", "mallory-example")
    await bot.settle()
    await bot.advance(timedelta(minutes=31))
    await bot.comment(n, f"charterbot link {stale.group(1)}", "dmitri-borealis")
    await bot.settle()
    assert linked_login(bot, "U0CARMEN") == "carmen-borealis"
    assert linked_login(bot, "U0SLOW") is None
    assert [p["login"] for _, p in audit_of(bot, "identity-linked")] == ["carmen-borealis"]
    assert "not linked" in await slash(bot, slack, f"vote {n} reject", "U0SLOW")


async def test_a_quoted_or_shown_code_links_nobody(code_bot: Bot, slack: SlackStandIn) -> None:
    """A code someone else quotes (a quote reply), shows in code (a fence, indented code,
    ``<pre>``), hides in an HTML comment or mentions in a sentence is not claimed: it would link
    the quoter's login to the code's chat account. The line the link answer asks for, posted
    as it is given, still links its poster."""
    bot = code_bot
    n = await bot.open_voting()
    answer = json.loads(await slash(bot, slack, "link", "U0MALLORY"))["blocks"][0]["text"]["text"]
    [line] = [line for line in answer.splitlines() if line.startswith("charterbot link ")]
    for shown in (
        f"> {line}\n\nWhat is this code someone left here?",
        f"```\n{line}\n```",
        f"Someone posted:\n\n    {line}",
        f"<pre>\n{line}\n</pre>",
        f"<!-- {line} -->",
        f"Please ignore '{line}', it is not mine.",
    ):
        await bot.comment(n, shown, "alice-aurora")
    await bot.settle()
    assert linked_login(bot, "U0MALLORY") is None
    assert audit_of(bot, "identity-linked") == []

    await bot.comment(n, line, "carmen-borealis")
    await bot.settle()
    assert linked_login(bot, "U0MALLORY") == "carmen-borealis"
