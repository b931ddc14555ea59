"""Discord: ``POST /channels/{id}/messages`` over HTTP.

Rules:
- The API base is ``DISCORD_API_URL`` or https://discord.com/api/v10.
- Every message sends ``allowed_mentions: {"parse": []}``: nothing in it can ping anyone.
- Every message carries a ``nonce`` derived from the delivery with ``enforce_nonce``, so
  Discord itself drops a resend of the same delivery within its nonce window.
- Address ``@<user id>`` is a person: a DM channel is opened first (``POST /users/@me/channels``).
- 429: ``retry_after`` from the body (or ``Retry-After``); ``global: true`` or
  ``X-RateLimit-Global`` pauses all of Discord. The route bucket headers are reported so the
  relay can wait before the bucket runs dry. 400/403/404 are permanent (malformed, missing
  access, unknown channel); 401 refuses the bot token itself (``SendResult.credentials``).
- Tracking cards (:mod:`bot.chat_tracking`): ``post_card`` posts an embed, ``edit_card``
  rewrites it (``PATCH /channels/{id}/messages/{id}``), both with nothing parsed for mentions;
  an edit answered 404 Unknown Message (10008) or Unknown Channel (10003) answers ``None`` so
  the caller posts anew.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from bot.render.platforms import discord_content
from bot.senders.base import (
    Envelope,
    SendResult,
    permanent,
    refused_credentials,
    retry_after_header,
    transient,
)

DEFAULT_API = "https://discord.com/api/v10"
GONE = frozenset({10003, 10008})  # Unknown Channel, Unknown Message


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _code(resp: httpx.Response) -> int | None:
    """Discord's JSON error code (10008 Unknown Message, ...), None when unreadable."""
    try:
        code = resp.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


class DiscordSender:
    platform = "discord"

    def __init__(
        self, token: str, api_url: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        self._base = (api_url or DEFAULT_API).rstrip("/")
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": "charterbot (relay, 1)"}
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0))
        self._dm: dict[str, str] = {}

    async def _channel(self, address: str) -> str | SendResult:
        if not address.startswith("@"):
            return address
        user = address[1:]
        if user in self._dm:
            return self._dm[user]
        resp = await self._client.post(
            f"{self._base}/users/@me/channels", json={"recipient_id": user}, headers=self._headers
        )
        if resp.status_code != 200:
            return self._classify(resp)
        self._dm[user] = str(resp.json()["id"])
        return self._dm[user]

    async def send(self, envelope: Envelope) -> SendResult:
        nonce = hashlib.sha256(envelope.key.encode()).hexdigest()[:25]
        body = {
            "content": discord_content(envelope.notice),
            "allowed_mentions": {"parse": []},
            "nonce": nonce,
            "enforce_nonce": True,
        }
        try:
            channel = await self._channel(envelope.address)
            if isinstance(channel, SendResult):
                return channel
            resp = await self._client.post(
                f"{self._base}/channels/{channel}/messages", json=body, headers=self._headers
            )
        except httpx.HTTPError as exc:
            return transient(f"discord: {type(exc).__name__}: {exc}")
        return self._classify(resp)

    async def post_card(self, address: str, card: dict[str, Any], key: str) -> SendResult:
        """Post a tracking card (its ``embeds``); ``key`` makes the nonce, as for deliveries."""
        nonce = hashlib.sha256(key.encode()).hexdigest()[:25]
        body = {**card, "allowed_mentions": {"parse": []}, "nonce": nonce, "enforce_nonce": True}
        return await self._request("POST", f"/channels/{address}/messages", body)

    async def edit_card(
        self, address: str, message_id: str, card: dict[str, Any]
    ) -> SendResult | None:
        """Rewrite a posted card in place; None when the message (or its channel) is gone."""
        body = {**card, "allowed_mentions": {"parse": []}}
        path = f"/channels/{address}/messages/{message_id}"
        try:
            resp = await self._client.patch(f"{self._base}{path}", json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            return transient(f"discord: {type(exc).__name__}: {exc}")
        if resp.status_code == 404 and _code(resp) in GONE:
            return None
        return self._classify(resp)

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> SendResult:
        try:
            resp = await self._client.request(
                method, f"{self._base}{path}", json=body, headers=self._headers
            )
        except httpx.HTTPError as exc:
            return transient(f"discord: {type(exc).__name__}: {exc}")
        return self._classify(resp)

    def _classify(self, resp: httpx.Response) -> SendResult:
        remaining = _int(resp.headers.get("X-RateLimit-Remaining"))
        reset_after = retry_after_header(resp.headers.get("X-RateLimit-Reset-After"))
        if resp.status_code in (200, 201):
            return SendResult(
                True,
                message_id=str(resp.json().get("id")),
                bucket_remaining=remaining,
                bucket_reset_after=reset_after,
            )
        if resp.status_code == 429:
            try:
                data = resp.json()
            except ValueError:
                data = {}
            wait = data.get("retry_after") or retry_after_header(resp.headers.get("Retry-After"))
            is_global = bool(data.get("global")) or resp.headers.get("X-RateLimit-Global") == "true"
            return SendResult(
                False,
                retry_after=float(wait or 1.0),
                error=f"discord: 429 rate limited{' (global)' if is_global else ''}",
                global_limit=is_global,
            )
        if resp.status_code == 401:  # the bot token itself
            return refused_credentials(f"discord: HTTP 401: {resp.text[:200]}")
        if resp.status_code in (400, 403, 404):
            return permanent(f"discord: HTTP {resp.status_code}: {resp.text[:200]}")
        return transient(f"discord: HTTP {resp.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
