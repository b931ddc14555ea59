"""A local stand-in for Discord's REST API on 127.0.0.1, speaking its wire format.

Serves what discord.py calls for a gateway-less bot: ``GET /users/@me``,
``GET /oauth2/applications/@me``, ``PUT`` application commands (global and per guild; the body
is the command schema), ``POST /interactions/{id}/{token}/callback``, follow-up webhooks
``POST /webhooks/{app}/{token}`` and ``PATCH …/messages/@original``, channel messages, and
direct messages (``POST /users/@me/channels``; ``dm_refused`` answers a DM with 403 50007).
Every request is recorded with its JSON body.

discord.py decodes a response only when its content-type is exactly ``application/json`` (no
charset), so every answer is sent that way.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API = "/api/v10"
APP_ID = "290926444748734465"
BOT_ID = "290926444748734465"
_ids = itertools.count(900_000_000_000_000_000)


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class DiscordStandIn:
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    dms: dict[str, str] = field(default_factory=dict)  # DM channel id -> recipient user id
    dm_refused: bool = False  # every user allows no DMs: sending to a DM is 403 code 50007

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    async def start(self) -> DiscordStandIn:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", API + "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(
        self, method: str, prefix: str, count: int = 1, within: float = 5.0
    ) -> list[Recorded]:
        """Wait until ``count`` requests ``method prefix…`` arrived; returns them."""
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.calls(method, prefix)) >= count), within
                )
            except TimeoutError:
                seen = [f"{r.method} {r.path}" for r in self.requests]
                raise AssertionError(f"stand-in: {method} {prefix} not seen; saw {seen}") from None
        return self.calls(method, prefix)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        path = request.path.removeprefix(API)
        body = json.loads(raw) if raw and request.content_type == "application/json" else None
        if request.content_type.startswith("multipart/"):
            body = _payload_json(raw)
        record = Recorded(request.method, path, dict(request.query), dict(request.headers), body)
        self.requests.append(record)
        try:
            return self._answer(record)
        finally:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()

    def _answer(self, r: Recorded) -> web.Response:
        parts = r.path.strip("/").split("/")
        if r.method == "GET" and r.path == "/users/@me":
            return _json(_user(BOT_ID, "charterbot", bot=True))
        if r.method == "GET" and r.path == "/oauth2/applications/@me":
            return _json(_application())
        if r.method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            return _json([_command(c, parts) for c in r.json])
        if r.method == "POST" and r.path == "/users/@me/channels":
            channel = str(next(_ids))
            self.dms[channel] = str(r.json["recipient_id"])
            recipient = _user(self.dms[channel], "recipient")
            return _json(
                {"id": channel, "type": 1, "last_message_id": None, "recipients": [recipient]}
            )
        if self.dm_refused and parts[0] == "channels" and parts[1] in self.dms:
            refusal = {"message": "Cannot send messages to this user", "code": 50007}
            return _json(refusal, status=403)
        if r.method == "POST" and parts[0] == "interactions" and parts[-1] == "callback":
            return _json({"interaction": {"id": parts[1], "type": 2}})
        if parts[0] == "webhooks" or (parts[0] == "channels" and parts[-1] == "messages"):
            channel = parts[1] if parts[0] == "channels" else "645027906669510667"
            return _json(_message(r.json or {}, channel))
        return _json({"message": "404: Not Found", "code": 0}, status=404)


def _payload_json(raw: bytes) -> Any:
    """The ``payload_json`` part of a multipart body (discord.py uses it for files)."""
    text = raw.decode("utf-8", "replace")
    start = text.find("{")
    return json.loads(text[start : text.rfind("}") + 1]) if start != -1 else None


def _application() -> dict[str, Any]:
    return {
        "id": APP_ID,
        "name": "charterbot",
        "icon": None,
        "description": "",
        "rpc_origins": [],
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": _user("53908232506183680", "owner"),
        "summary": "",
        "verify_key": "0" * 64,
        "team": None,
        "flags": 0,
    }


def _command(schema: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    guild = parts[3] if len(parts) > 4 else None
    return schema | {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "guild_id": guild,
        "version": "1",
        "default_member_permissions": None,
        "dm_permission": True,
        "nsfw": False,
    }


def _message(sent: dict[str, Any], channel: str) -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "channel_id": channel,
        "type": 0,
        "content": sent.get("content") or "",
        "author": _user(BOT_ID, "charterbot", bot=True),
        "embeds": sent.get("embeds") or [],
        "components": sent.get("components") or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2025-03-30T08:00:00.000000+00:00",
        "edited_timestamp": None,
        "flags": sent.get("flags") or 0,
        "application_id": APP_ID,
        "webhook_id": APP_ID,
    }
