"""The Slack adapter through Bolt's real dispatcher (signed requests, in process).

The Web API and every response_url go to the local stand-in, so what the bot sends is read
back off the wire.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.messages import Message
from bot.slack.app import build_slack_app, mention_text
from tests.bot.slack.fake_core import FakeCore
from tests.bot.slack.wire import (
    SECRET,
    TOKEN,
    block_actions_body,
    fixture_text,
    mention_body,
    signed_headers,
    slash_body,
)
from tests.standins.slack_server import SlackStandIn


def make_app(
    core: FakeCore, standin: SlackStandIn, session: aiohttp.ClientSession | None = None
) -> AsyncApp:
    return build_slack_app(
        core,
        signing_secret=SECRET,
        bot_token=TOKEN,
        api_url=standin.api_url,
        process_before_response=True,
        http_session=session,
    )


@pytest.fixture(params=[False, True], ids=["bolt-respond", "shared-session"])
async def session(request: pytest.FixtureRequest) -> AsyncIterator[aiohttp.ClientSession | None]:
    """Answers go out through Bolt's respond() or through our pooled session; same wire."""
    if not request.param:
        yield None
        return
    async with aiohttp.ClientSession() as shared:
        yield shared


async def dispatch(app: AsyncApp, body: str, **sign: object) -> tuple[int, str]:
    headers = signed_headers(body, **sign)  # type: ignore[arg-type]
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    return response.status, response.body


@pytest.mark.parametrize("encoded", [False, True], ids=["docs-bare", "url-encoded"])
async def test_slash_command_runs_core_and_responds(
    core: FakeCore,
    standin: SlackStandIn,
    encoded: bool,
    session: aiohttp.ClientSession | None,
) -> None:
    """/charter text reaches the core with the Slack user's identity; the answer is an
    ephemeral Block Kit message posted to response_url; the ack itself is empty."""
    app = make_app(core, standin, session)
    status, body = await dispatch(
        app, slash_body("vote 42 approve", standin.response_url(), encoded=encoded)
    )
    assert (status, body) == (200, "")
    assert core.identities == [("slack", "U2147483697", "Steve")]
    [(text, actor)] = core.runs
    assert (text, actor.surface_id, actor.surface) == ("vote 42 approve", "U2147483697", "slack")
    [posted] = await standin.wait_for("/response/r1")
    sent = posted.data
    assert sent["response_type"] == "ephemeral"
    assert sent["blocks"][0]["text"]["text"] == "*ran: vote 42 approve*"
    assert sent["blocks"][-1]["elements"][0]["action_id"] == "vote:42:approve"


async def test_announcement_goes_in_channel(standin: SlackStandIn) -> None:
    """A Message marked not-ephemeral (an announcement) is answered in the channel."""
    core = FakeCore(reply=lambda text, actor: Message(title="Vote open", ephemeral=False))
    app = make_app(core, standin)
    await dispatch(app, slash_body("show 42", standin.response_url(), encoded=True))
    [posted] = await standin.wait_for("/response/r1")
    assert posted.data["response_type"] == "in_channel"


async def test_core_failure_is_an_ephemeral_error(standin: SlackStandIn) -> None:
    """A crash in the core is answered with a short ephemeral error, not silence or a trace."""
    core = FakeCore(fail=True)
    app = make_app(core, standin)
    status, _ = await dispatch(app, slash_body("show 1", standin.response_url(), encoded=True))
    [posted] = await standin.wait_for("/response/r1")
    assert status == 200
    assert posted.data["response_type"] == "ephemeral"
    assert "failed on our side" in json.dumps(posted.data)
    assert "exploded" not in json.dumps(posted.data)


@pytest.mark.parametrize(
    ("secret", "skew", "status"),
    [
        (SECRET, 0, 200),
        ("wrong-secret", 0, 401),
        (SECRET, -299, 200),
        (SECRET, 299, 200),
        (SECRET, -301, 401),
        (SECRET, 301, 401),
        (SECRET, -600, 401),
    ],
    ids=[
        "valid",
        "wrong-signature",
        "old-299s",
        "future-299s",
        "stale-301s",
        "future-301s",
        "stale-10min",
    ],
)
async def test_signature_and_timestamp_window(
    core: FakeCore, standin: SlackStandIn, secret: str, skew: int, status: int
) -> None:
    """Only requests signed with our secret within ±5 minutes reach the core; others get 401."""
    app = make_app(core, standin)
    body = slash_body("whoami", standin.response_url(), encoded=True)
    got, _ = await dispatch(app, body, secret=secret, skew=skew)
    assert got == status
    assert len(core.runs) == (1 if status == 200 else 0)


async def test_vote_button_runs_vote_as_the_clicker(
    core: FakeCore, standin: SlackStandIn, session: aiohttp.ClientSession | None
) -> None:
    """A click on vote:42:approve runs "vote 42 approve" as the user who clicked."""
    app = make_app(core, standin, session)
    body = block_actions_body("vote:42:approve", standin.response_url("b1"), user="U0CLICK")
    status, _ = await dispatch(app, body)
    assert status == 200
    [(text, actor)] = core.runs
    assert (text, actor.surface_id) == ("vote 42 approve", "U0CLICK")
    [posted] = await standin.wait_for("/response/b1")
    assert posted.data["replace_original"] is False


@pytest.mark.parametrize("action_id", ["vote:42:maybe", "vote:x:approve", "vote:٤٢:approve"])
async def test_other_buttons_do_not_vote(
    core: FakeCore, standin: SlackStandIn, action_id: str
) -> None:
    """Action ids outside vote:<ascii digits>:<choice> never reach the core."""
    app = make_app(core, standin)
    await dispatch(app, block_actions_body(action_id, standin.response_url("b1")))
    assert core.runs == []


async def test_mention_replies_in_thread(
    core: FakeCore, standin: SlackStandIn, session: aiohttp.ClientSession | None
) -> None:
    """@charterbot <command> runs the command and answers in the mention's thread."""
    app = make_app(core, standin, session)
    status, _ = await dispatch(
        app, mention_body("Ev001", "<@UBOT0001> show 42"), content_type="application/json"
    )
    assert status == 200
    assert [t for t, _ in core.runs] == ["show 42"]
    [posted] = await standin.wait_for("/api/chat.postMessage")
    data = posted.data
    assert (data["channel"], data["thread_ts"]) == ("C0001", "1700000000.000100")
    assert posted.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_event_retries_have_one_effect(core: FakeCore, standin: SlackStandIn) -> None:
    """Slack's retries (X-Slack-Retry-Num, same event_id) are acked but run the core once;
    a different event_id is a new event."""
    app = make_app(core, standin)
    body = mention_body("Ev-same", "<@UBOT0001> vote 42 approve")
    for attempt in range(4):
        headers = signed_headers(body, content_type="application/json")
        if attempt:
            headers |= {"x-slack-retry-num": str(attempt), "x-slack-retry-reason": "http_timeout"}
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        assert response.status == 200
    await dispatch(
        app, mention_body("Ev-other", "<@UBOT0001> show 1"), content_type="application/json"
    )
    assert [t for t, _ in core.runs] == ["vote 42 approve", "show 1"]
    assert len(standin.calls("/api/chat.postMessage")) == 2


async def test_rate_limited_post_is_retried_after_retry_after(
    core: FakeCore, standin: SlackStandIn
) -> None:
    """A 429 from chat.postMessage is retried after Retry-After, and the core ran once."""
    standin.fail_next("/api/chat.postMessage", status=429, retry_after=0)
    app = make_app(core, standin)
    await dispatch(
        app, mention_body("Ev-429", "<@UBOT0001> show 42"), content_type="application/json"
    )
    calls = await standin.wait_for("/api/chat.postMessage", count=2)
    assert [c.status for c in calls] == [429, 200]
    assert len(core.runs) == 1


async def test_url_verification_answers_the_challenge(
    core: FakeCore, standin: SlackStandIn
) -> None:
    """Slack's url_verification handshake is answered with its challenge."""
    app = make_app(core, standin)
    body = fixture_text("url_verification.json")
    status, answer = await dispatch(app, body, content_type="application/json")
    assert status == 200
    assert "valid_challenge_token" in answer
    assert core.runs == []


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("<@UBOT0001> vote 42 approve", "vote 42 approve"),
        ("<@UBOT0001|charterbot>   show 7 ", "show 7"),
        ("<@UBOT0001> /charter whoami", "whoami"),
        ("<@UBOT0001> <@U0OTHER> help", "help"),
        ("no mention at all", "no mention at all"),
    ],
)
def test_mention_text(text: str, command: str) -> None:
    """The command of an @mention is the text after the leading mentions (and /charter)."""
    assert mention_text(text) == command


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"signing_secret": "", "bot_token": TOKEN}, "SIGNING"),
        ({"signing_secret": SECRET, "bot_token": ""}, "BOT_TOKEN"),
    ],
)
def test_missing_secrets_are_named(core: FakeCore, kwargs: dict[str, str], problem: str) -> None:
    """An empty secret is refused with the name of the variable to set."""
    with pytest.raises(ValueError, match=problem):
        build_slack_app(core, **kwargs)
