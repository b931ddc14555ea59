"""Building the Bolt app: no warning on start, and its Web API client is the one make_client
makes (redirected to ``SLACK_API_URL``, retrying 429s, on the shared session).

With SLACK_BOT_TOKEN in the environment (as whenever Slack is configured), Bolt given a
``client`` also read the token from there and warned "As you gave `client` as well, `token`
will be unused." on every CLI run."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

from bot.slack.app import build_slack_app
from tests.bot.slack.fake_core import FakeCore

TOKEN = "xoxb-test-token"


@pytest.mark.parametrize("api_url", [None, "http://127.0.0.1:9/api/"])
async def test_the_app_starts_without_a_warning_and_keeps_its_client(
    core: FakeCore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    api_url: str | None,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as session:
        app = build_slack_app(
            core, signing_secret="s3cret", bot_token=TOKEN, api_url=api_url, http_session=session
        )
        assert [r.getMessage() for r in caplog.records] == []
        client = app.client
        assert client.token == TOKEN and client.session is session
        assert client.base_url == (api_url or "https://slack.com/api/")
        [retry] = client.retry_handlers
        assert isinstance(retry, AsyncRateLimitErrorRetryHandler) and retry.max_retry_count == 2
