"""Which Slack HTTP endpoint ``charterbot serve`` mounts, by the credentials it has.

Rules proven here:
- ``POST /slack/events`` is served only with a ``SLACK_SIGNING_SECRET``, and then verifies
  every request against it.
- Socket Mode without a signing secret (``SLACK_BOT_TOKEN`` + ``SLACK_APP_TOKEN``) has no HTTP
  endpoint at all: a request signed with any key (such as a constant once used in place of the
  missing secret) gets 404 and has no effect; nothing votes as the linked user it names.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.bot.harness import Bot
from tests.bot.slack.wire import SECRET, TOKEN, signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

APP_TOKEN = "xapp-1-A0-1-x"


@pytest.fixture
async def socket_mode(
    sqlite_url: str, github: GitHubStandin, slack: SlackStandIn
) -> AsyncIterator[Bot]:
    """Slack in Socket Mode with no signing secret configured; Alice's Slack id is linked."""
    bot = Bot.fresh(
        sqlite_url,
        github,
        slack_bot_token=TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
    )
    try:
        yield bot
    finally:
        await bot.close()


def forged_vote(n: int, response_url: str, secret: str) -> tuple[str, dict[str, str]]:
    body = slash_body(f"vote {n} approve forged", response_url, encoded=True)
    body = re.sub(r"user_id=[^&]*", "user_id=U0ALICE", body)
    return body, signed_headers(body, secret=secret)


@pytest.mark.parametrize("secret", ["unused-in-socket-mode", "", SECRET])
async def test_socket_mode_serves_no_slack_http_endpoint(
    socket_mode: Bot, slack: SlackStandIn, secret: str
) -> None:
    """Socket Mode without a signing secret: a slash command posted to /slack/events, signed
    with whatever key, is not found and casts no vote as the linked user it names."""
    bot = socket_mode
    assert "slack_app" in bot.rt.extras  # Slack itself runs (over the socket)
    n = await bot.open_voting()
    bot.link("U0ALICE")
    body, headers = forged_vote(n, slack.response_url("forged"), secret)
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 404
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["votes"] == []
    assert not [r for r in slack.requests if r.path == "/response/forged"]


async def test_with_a_signing_secret_both_modes_verify_http(
    sqlite_url: str, github: GitHubStandin, slack: SlackStandIn
) -> None:
    """A signing secret next to the app token mounts /slack/events, which then takes only what
    that secret signs: the old constant gets 401, the real secret's request is answered."""
    bot = Bot.fresh(
        sqlite_url,
        github,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
    )
    try:
        n = await bot.open_voting()
        bot.link("U0ALICE")
        body, headers = forged_vote(n, slack.response_url("forged"), "unused-in-socket-mode")
        forged = await bot.http.post("/slack/events", content=body, headers=headers)
        assert forged.status_code == 401
        body, headers = forged_vote(n, slack.response_url("signed"), SECRET)
        signed = await bot.http.post("/slack/events", content=body, headers=headers)
        assert signed.status_code == 200
        [answer] = await slack.wait_for("/response/signed")
        assert "Recorded approve" in str(answer.data)
        assert not [r for r in slack.requests if r.path == "/response/forged"]
    finally:
        await bot.close()
