"""Slack's escaping of what a person types, undone before the grammar reads it.

Slack sends ``&``, ``<`` and ``>`` typed by a person as ``&amp;``, ``&lt;`` and ``&gt;`` (its
formatting reference: "Slack uses &, <, and > as control characters for special parsing"),
while a bare ``<…>`` is one of its own tokens: a user or channel mention, a ``mailto:`` or web
link, a special mention. Requests are signed and go through Bolt's real dispatcher; the last
tests run the real service and store behind it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.app import build_slack_app, mention_text, plain_text
from storage import identities
from storage.db import session_scope
from tests.bot.harness import Bot, later, slack_settings, valid_body
from tests.bot.slack.fake_core import FakeCore
from tests.bot.slack.wire import SECRET, TOKEN, mention_body, signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

# (what Slack sends, what the person typed or selected)
CASES = [
    ("subscribe me severity &gt;= sev2", "subscribe me severity >= sev2"),
    ("vote 1 approve R&amp;D signed off; gas &lt; 30M", "vote 1 approve R&D signed off; gas < 30M"),
    ("vote 1 reject typed &amp;lt; literally", "vote 1 reject typed &lt; literally"),
    ("vote 1 reject &amp;amp;", "vote 1 reject &amp;"),
    ("vote 1 reject a &gt; b &amp;&amp; c", "vote 1 reject a > b && c"),
    (
        "subscribe email <mailto:ops@example.org|ops@example.org> decision",
        "subscribe email <mailto:ops@example.org|ops@example.org> decision",
    ),
    (
        "subscribe webhook <https://hooks.example.org/in?a=1&amp;b=2|hooks.example.org>",
        "subscribe webhook <https://hooks.example.org/in?a=1&b=2|hooks.example.org>",
    ),
    (
        "meeting action <@U0ALICE|alice> check &lt;#C0GOV&gt; vs <#C0GOV|governance>",
        "meeting action <@U0ALICE|alice> check <#C0GOV> vs <#C0GOV|governance>",
    ),
    ("incident declare sev2 <!here> x &lt;y&gt;", "incident declare sev2 <!here> x <y>"),
    ("meeting action <@U0BOB|b&gt;> notes", "meeting action <@U0BOB|b&gt;> notes"),
    ("no escapes at all", "no escapes at all"),
]


@pytest.mark.parametrize(("sent", "typed"), CASES)
def test_plain_text(sent: str, typed: str) -> None:
    """Entities outside Slack's tokens are turned back (a typed entity stays one); each token
    is kept as sent, only a link's &amp; turned back, and still ends at its own '>'."""
    assert plain_text(sent) == typed


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("<@UBOT0001> vote 1 approve R&amp;D; gas &lt; 30M", "vote 1 approve R&D; gas < 30M"),
        ("<@UBOT0001> /charter subscribe me severity &gt;= sev2", "subscribe me severity >= sev2"),
        ("&lt;@UBOT0001&gt; show 1", "<@UBOT0001> show 1"),  # typed, not a mention: kept
    ],
)
def test_mention_text_is_unescaped_after_the_mention_is_removed(text: str, command: str) -> None:
    """Only Slack's own leading mention is removed; one typed as text is the person's text."""
    assert mention_text(text) == command


def make_app(core: FakeCore, standin: SlackStandIn) -> AsyncApp:
    return build_slack_app(
        core,
        signing_secret=SECRET,
        bot_token=TOKEN,
        api_url=standin.api_url,
        process_before_response=True,
    )


async def dispatch(app: AsyncApp, body: str, **sign: object) -> int:
    headers = signed_headers(body, **sign)  # type: ignore[arg-type]
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    return response.status


@pytest.mark.parametrize(("sent", "typed"), CASES[:3] + CASES[6:8])
async def test_slash_command_text_reaches_the_core_as_typed(
    core: FakeCore, standin: SlackStandIn, sent: str, typed: str
) -> None:
    """/charter <text>, form-encoded and signed as Slack sends it, reaches the core as typed."""
    app = make_app(core, standin)
    assert await dispatch(app, slash_body(sent, standin.response_url(), encoded=True)) == 200
    assert [t for t, _ in core.runs] == [typed]


async def test_mention_text_reaches_the_core_as_typed(
    core: FakeCore, standin: SlackStandIn
) -> None:
    """@charterbot <text> from the Events API reaches the core as typed."""
    app = make_app(core, standin)
    body = mention_body("Ev-esc", "<@UBOT0001> vote 1 approve R&amp;D signed off; gas &lt; 30M")
    assert await dispatch(app, body, content_type="application/json") == 200
    assert [t for t, _ in core.runs] == ["vote 1 approve R&D signed off; gas < 30M"]


# -- the real service behind Bolt ------------------------------------------------------------


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    yield b
    await b.close()


async def slash(bot: Bot, slack: SlackStandIn, text: str, name: str) -> str:
    """``/charter <text>`` as Slack sends it from U0CARMEN; the text Slack was answered."""
    body = slash_body(text, slack.response_url(name), encoded=True)
    body = re.sub(r"user_id=[^&]*", "user_id=U0CARMEN", body)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text
    [answer] = await slack.wait_for(f"/response/{name}")
    return str(answer.data.get("text", "")) + " " + str(answer.data.get("blocks", ""))


async def test_escaped_text_is_read_and_stored_as_typed(bot: Bot, slack: SlackStandIn) -> None:
    """Through the real parser and store: 'severity >= sev2' subscribes (it was refused with
    "write it as 'severity >= sev2'"), and a vote reason is stored with '&' and '<', not
    their entities."""
    issue = bot.standin.store.add_issue(
        "Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)
    )
    n = issue.number
    opened = await bot.post("issues", bot.issue_payload("opened", n, valid_body()))
    assert opened.status_code == 202
    await bot.settle()
    await bot.advance(later(days=7, seconds=1))
    code = re.search(
        r"charterbot link ([A-Z0-9]{4}-[A-Z0-9]{4})", await slash(bot, slack, "link", "r1")
    )
    assert code is not None
    await bot.comment(n, f"charterbot link {code.group(1)}", "carmen-borealis")
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        link = identities.lookup(session, "slack", "U0CARMEN")
        assert link is not None and link.login == "carmen-borealis"

    subscribed = await slash(bot, slack, "subscribe me severity &gt;= sev2", "r2")
    assert "Subscribed" in subscribed, subscribed
    voted = await slash(bot, slack, f"vote {n} approve R&amp;D signed off; gas &lt; 30M", "r3")
    assert "Recorded approve" in voted, voted
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["reason"]) for v in view["votes"]] == [
        ("carmen-borealis", "R&D signed off; gas < 30M")
    ]
