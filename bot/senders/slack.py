"""Slack: ``chat.postMessage`` over HTTP.

Rules:
- The API base is ``SLACK_API_URL`` (stand-ins, GovSlack) or https://slack.com/api/.
- Address ``C…``/``G…`` is a channel; ``@U…`` is a person (Slack posts in the app's DM).
- Unfurling is off; the text is mrkdwn already escaped by :mod:`bot.render.platforms`.
- HTTP 429 is a rate limit with ``Retry-After``; ``ok: false`` errors that retrying cannot fix
  (channel gone, bot not in it, archived, account inactive, bad token, missing scope) are
  permanent; anything else is transient.
"""

from __future__ import annotations

import httpx

from bot.render.platforms import slack_text
from bot.senders.base import (
    Envelope,
    SendResult,
    permanent,
    refused_credentials,
    retry_after_header,
    transient,
)

DEFAULT_API = "https://slack.com/api/"
# Errors that refuse the bot's token itself, not one message or channel.
CREDENTIALS = frozenset(
    {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired"}
)
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "missing_scope",
        "restricted_action",
        "user_not_found",
        "cannot_dm_bot",
        "msg_too_long",
        "no_permission",
    }
)


class SlackSender:
    platform = "slack"

    def __init__(
        self, token: str, api_url: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        self._url = (api_url or DEFAULT_API).rstrip("/") + "/chat.postMessage"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0))

    async def send(self, envelope: Envelope) -> SendResult:
        body = {
            "channel": envelope.address.removeprefix("@"),
            "text": slack_text(envelope.notice),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        try:
            resp = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            return transient(f"slack: {type(exc).__name__}: {exc}")
        if resp.status_code == 429:
            wait = retry_after_header(resp.headers.get("Retry-After"))
            return transient("slack: 429 rate limited", 1.0 if wait is None else wait)
        if resp.status_code >= 500:
            return transient(f"slack: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            return transient(f"slack: HTTP {resp.status_code}, not JSON")
        if data.get("ok"):
            return SendResult(True, message_id=f"{data.get('channel', '')}/{data.get('ts', '')}")
        error = str(data.get("error", f"HTTP {resp.status_code}"))
        if error == "ratelimited":
            wait = retry_after_header(resp.headers.get("Retry-After"))
            return transient("slack: ratelimited", 1.0 if wait is None else wait)
        if error in CREDENTIALS or resp.status_code == 401:
            return refused_credentials(f"slack: {error}")
        if error in PERMANENT or resp.status_code in (403, 404):
            return permanent(f"slack: {error}")
        return transient(f"slack: {error}")

    async def aclose(self) -> None:
        await self._client.aclose()
