"""Rate-limited stand-ins for Slack and Discord message posting, a webhook receiver, SMTP.

``RateLimitedStandIn`` serves, on 127.0.0.1:
- Slack ``POST /api/chat.postMessage``: at most one message per ``slack_interval`` per channel
  (Slack's "about 1 per second"); a faster post gets HTTP 429 with ``Retry-After``.
- Discord ``POST /api/v10/channels/{id}/messages``: a global bucket of ``discord_rate``
  (50 requests per 1 s, bursts up to 50) and a per-channel route bucket ``discord_route``
  (5 per 5 s), with Discord's headers (``X-RateLimit-Limit/Remaining/Reset-After/Bucket``);
  over a limit it answers 429 with JSON ``retry_after`` and ``global``.
Scaled-down limits (tests, the benchmark) keep the shape but shrink the intervals; then
``Retry-After`` is fractional seconds (real Slack sends whole seconds; our sender accepts both).
A small ``grace`` (default 2 ms) absorbs clock granularity between client and server.

Test controls: ``force_429(channel, retry_after)`` makes the next post to a channel hit a
limit; ``gone(channel)`` makes a channel answer as deleted (Slack ``channel_not_found``,
Discord 404); ``hold_next`` holds the next request(s) unanswered until ``release()`` (or the
client disconnects, in which case the post is not committed — as if it never completed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Posted:
    platform: str
    channel: str
    text: str
    message_id: str
    at: float
    body: dict[str, Any]


class _Gcra:
    def __init__(self, capacity: int, period: float, grace: float) -> None:
        self.step = period / capacity
        self.tolerance = (capacity - 1) * self.step + grace
        self.tat = 0.0

    def take(self, now: float) -> float:
        """0 when allowed (and booked), else the seconds to wait."""
        if now < self.tat - self.tolerance:
            return self.tat - self.tolerance - now
        self.tat = max(self.tat, now) + self.step
        return 0.0

    def remaining(self, now: float) -> int:
        return max(0, math.floor((self.tolerance - max(0.0, self.tat - now)) / self.step) + 1)


@dataclass
class RateLimitedStandIn:
    slack_interval: float = 1.0
    discord_rate: tuple[int, float] = (50, 1.0)
    discord_route: tuple[int, float] = (5, 5.0)
    grace: float = 0.002
    posted: list[Posted] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)  # 429s per channel
    hold_next: int = 0
    port: int = 0
    _forced: dict[str, float] = field(default_factory=dict)
    _gone: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)  # platforms refusing the bot's token
    refused: dict[str, int] = field(default_factory=dict)  # requests refused for the token
    _slack: dict[str, _Gcra] = field(default_factory=dict)
    _routes: dict[str, _Gcra] = field(default_factory=dict)
    _global: _Gcra | None = None
    _runner: web.AppRunner | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1_100_000_000_000_000_000))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def discord_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def force_429(self, channel: str, retry_after: float) -> None:
        self._forced[channel] = retry_after

    def gone(self, channel: str) -> None:
        self._gone.add(channel)

    def revoke(self, platform: str, revoked: bool = True) -> None:
        """Refuse (or accept again) the bot's token: Slack ``invalid_auth``, Discord 401."""
        (self.revoked.add if revoked else self.revoked.discard)(platform)

    def release(self) -> None:
        self._release.set()

    def messages(self, channel: str | None = None) -> list[Posted]:
        return [p for p in self.posted if channel is None or p.channel == channel]

    async def start(self) -> None:
        self._global = _Gcra(*self.discord_rate, self.grace)
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._slack_post)
        app.router.add_post("/api/v10/channels/{channel}/messages", self._discord_post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _held(self, request: web.Request) -> bool:
        """Hold this request if asked; False when the client went away meanwhile."""
        if self.hold_next <= 0:
            return True
        self.hold_next -= 1
        self.arrived.set()
        await self._release.wait()
        transport = request.transport
        return transport is not None and not transport.is_closing()

    def _forced_wait(self, channel: str) -> float | None:
        wait = self._forced.pop(channel, None)
        if wait is not None:
            self.rejected[channel] = self.rejected.get(channel, 0) + 1
        return wait

    async def _slack_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        channel = str(body.get("channel"))
        if not await self._held(request):
            return web.json_response({"ok": False, "error": "request_aborted"})
        if "slack" in self.revoked:
            self.refused["slack"] = self.refused.get("slack", 0) + 1
            return web.json_response({"ok": False, "error": "invalid_auth"})
        now = time.monotonic()
        wait = self._forced_wait(channel)
        if wait is None:
            gcra = self._slack.setdefault(channel, _Gcra(1, self.slack_interval, self.grace))
            wait = gcra.take(now) or None
            if wait is not None:
                self.rejected[channel] = self.rejected.get(channel, 0) + 1
        if wait is not None:
            headers = {"Retry-After": f"{wait:.3f}"}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=headers
            )
        if channel in self._gone:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        ts = f"{time.time():.6f}.{next(self._ids) % 1000}"
        self.posted.append(Posted("slack", channel, body.get("text", ""), ts, now, body))
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    async def _discord_post(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        body = await request.json()
        if not await self._held(request):
            return web.json_response({"message": "aborted"}, status=499)
        if "discord" in self.revoked:
            self.refused["discord"] = self.refused.get("discord", 0) + 1
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        now = time.monotonic()
        forced = self._forced_wait(channel)
        if forced is not None:
            return self._discord_429(forced, is_global=False)
        assert self._global is not None
        wait = self._global.take(now)
        if wait:
            self.rejected["<global>"] = self.rejected.get("<global>", 0) + 1
            return self._discord_429(wait, is_global=True)
        route = self._routes.setdefault(channel, _Gcra(*self.discord_route, self.grace))
        wait = route.take(now)
        if wait:
            self.rejected[channel] = self.rejected.get(channel, 0) + 1
            return self._discord_429(wait, is_global=False)
        if channel in self._gone:
            return web.json_response({"message": "Unknown Channel", "code": 10003}, status=404)
        message_id = str(next(self._ids))
        content = str(body.get("content", ""))
        self.posted.append(Posted("discord", channel, content, message_id, now, body))
        limit, _period = self.discord_route
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(route.remaining(now)),
            "X-RateLimit-Reset-After": f"{max(0.0, route.tat - now):.3f}",
            "X-RateLimit-Bucket": f"channel-{channel}",
        }
        data = {"id": message_id, "channel_id": channel, "content": content}
        return web.Response(
            body=json.dumps(data).encode(), headers={**headers, "Content-Type": "application/json"}
        )

    def _discord_429(self, wait: float, *, is_global: bool) -> web.Response:
        headers = {"Retry-After": f"{wait:.3f}", "Content-Type": "application/json"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        data = {"message": "You are being rate limited.", "retry_after": wait, "global": is_global}
        return web.Response(body=json.dumps(data).encode(), status=429, headers=headers)
