"""Slack: ``chat.postMessage`` over HTTP.

Rules:
- The API base is ``SLACK_API_URL`` (stand-ins, GovSlack) or https://slack.com/api/.
- Address ``C…``/``G…`` is a channel; ``@U…`` is a person (Slack posts in the app's DM).
- Unfurling is off; the text is mrkdwn already escaped by :mod:`bot.render.platforms`.
- HTTP 429 is a rate limit with ``Retry-After``; ``ok: false`` errors that retrying cannot fix
  (channel gone, bot not in it, archived, account inactive, bad token, missing scope) are
  permanent; anything else is transient.
- Tracking cards (:mod:`bot.chat_tracking`): ``post_card`` posts Block Kit, ``edit_card``
  rewrites it with ``chat.update``; an edit whose message or channel is gone
  (``message_not_found``, ``channel_not_found``) answers ``None`` so the caller posts anew.
"""

from __future__ import annotations

from typing import Any

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
GONE = frozenset({"message_not_found", "channel_not_found"})


class SlackSender:
    platform = "slack"

    def __init__(
        self, token: str, api_url: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        self._api = (api_url or DEFAULT_API).rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0))

    async def send(self, envelope: Envelope) -> SendResult:
        body = {
            "channel": envelope.address.removeprefix("@"),
            "text": slack_text(envelope.notice),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        result, _code = await self._call("chat.postMessage", body)
        return result

    async def post_card(self, address: str, card: dict[str, Any], key: str) -> SendResult:
        """Post a tracking card (``text`` and ``blocks``); its id is ``<channel>/<ts>``."""
        body = {"channel": address, **card, "unfurl_links": False, "unfurl_media": False}
        result, _code = await self._call("chat.postMessage", body)
        return result

    async def edit_card(
        self, address: str, message_id: str, card: dict[str, Any]
    ) -> SendResult | None:
        """Rewrite a posted card in place (``chat.update``); None when it is gone."""
        channel, _, ts = message_id.partition("/")
        result, code = await self._call("chat.update", {"channel": channel, "ts": ts, **card})
        if code in GONE:
            return None
        return SendResult(True, message_id=message_id) if result.ok else result

    async def _call(self, method: str, body: dict[str, Any]) -> tuple[SendResult, str]:
        """One Web API call, classified; with Slack's error code ("" when none)."""
        try:
            resp = await self._client.post(
                f"{self._api}/{method}", json=body, headers=self._headers
            )
        except httpx.HTTPError as exc:
            return transient(f"slack: {type(exc).__name__}: {exc}"), ""
        if resp.status_code == 429:
            wait = retry_after_header(resp.headers.get("Retry-After"))
            return transient("slack: 429 rate limited", 1.0 if wait is None else wait), ""
        if resp.status_code >= 500:
            return transient(f"slack: HTTP {resp.status_code}"), ""
        try:
            data = resp.json()
        except ValueError:
            return transient(f"slack: HTTP {resp.status_code}, not JSON"), ""
        if data.get("ok"):
            message_id = f"{data.get('channel', '')}/{data.get('ts', '')}"
            return SendResult(True, message_id=message_id), ""
        error = str(data.get("error", f"HTTP {resp.status_code}"))
        return _refused(error, resp), error

    async def aclose(self) -> None:
        await self._client.aclose()


def _refused(error: str, resp: httpx.Response) -> SendResult:
    """An ``ok: false`` answer, classified (see the module rules)."""
    if error == "ratelimited":
        wait = retry_after_header(resp.headers.get("Retry-After"))
        return transient("slack: ratelimited", 1.0 if wait is None else wait)
    if error in CREDENTIALS or resp.status_code == 401:
        return refused_credentials(f"slack: {error}")
    if error in PERMANENT or resp.status_code in (403, 404):
        return permanent(f"slack: {error}")
    return transient(f"slack: {error}")
