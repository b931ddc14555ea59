"""A local stand-in for Slack's servers, speaking their wire format on 127.0.0.1.

It answers the Web API methods the bot uses (``auth.test``, ``chat.postMessage``,
``chat.update``, ``apps.connections.open``), accepts ``response_url`` posts under
``/response/<name>``, and serves the Socket Mode websocket at ``/ws`` (it sends ``hello``; a test
pushes envelopes with ``send_envelope`` and reads the acks from ``frames``). Every request is
recorded. ``fail_next`` makes the next call(s) to a path answer e.g. 429 with ``Retry-After``.

Run on its own (``python -m tests.standins.slack_server``) it prints its port and serves until
killed; ``GET /_count?path=…`` then tells another process how many requests a path received.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER = "UBOT0001"
TEAM = "T0001"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 200

    @property
    def data(self) -> dict[str, Any]:
        """The body as JSON or as a form (Web API methods accept both)."""
        text = self.body.decode("utf-8")
        if self.headers.get("Content-Type", "").startswith("application/json"):
            parsed: dict[str, Any] = json.loads(text)
            return parsed
        return dict(parse_qsl(text, keep_blank_values=True))


@dataclass
class _Failure:
    status: int
    retry_after: int
    times: int


@dataclass
class SlackStandIn:
    requests: list[Recorded] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)  # what clients sent on /ws
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/response/{name}"

    def fail_next(self, path: str, status: int = 429, retry_after: int = 0, times: int = 1) -> None:
        self._failures[path] = _Failure(status, retry_after, times)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> SlackStandIn:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/ws", self._websocket)
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, path: str, count: int = 1, within: float = 5.0) -> list[Recorded]:
        """Wait until ``path`` was requested ``count`` times; returns those requests."""
        return await self._wait(lambda: len(self.calls(path)) >= count, within, path, self.calls)

    async def wait_frames(self, count: int = 1, within: float = 5.0) -> list[dict[str, Any]]:
        return await self._wait(
            lambda: len(self.frames) >= count, within, "/ws", lambda _: self.frames
        )

    async def _wait(self, ready: Any, within: float, what: str, result: Any) -> Any:
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), within)
            except TimeoutError:
                seen = [r.path for r in self.requests]
                raise AssertionError(
                    f"stand-in: {what} not reached in {within}s; saw {seen}"
                ) from None
        return result(what)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to every connected client."""
        for ws in self._sockets:
            await ws.send_str(json.dumps(envelope))

    async def wait_connected(self, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not self._sockets:
            if time.monotonic() > deadline:
                raise AssertionError("stand-in: no Socket Mode client connected")
            await asyncio.sleep(0.01)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _http(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/_count":  # for clients in another process (bench): not recorded
            return web.json_response({"count": len(self.calls(request.query.get("path", "")))})
        body = await request.read()
        record = Recorded(request.method, request.path, dict(request.headers), body)
        self.requests.append(record)
        try:
            failure = self._failures.get(request.path)
            if failure is not None and failure.times > 0:
                failure.times -= 1
                record.status = failure.status
                headers = {"Retry-After": str(failure.retry_after)}
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=failure.status, headers=headers
                )
            return self._answer(request.path, record)
        finally:
            await self._notify()

    def _answer(self, path: str, record: Recorded) -> web.StreamResponse:
        if path.startswith("/response/"):
            return web.Response(text="ok")
        method = path.removeprefix("/api/")
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": BOT_USER, "bot_id": "B0001", "team_id": TEAM, "user": "bot"}
            )
        if method in ("chat.postMessage", "chat.update"):
            data = record.data
            ts = f"{time.time():.6f}"
            return web.json_response(
                {"ok": True, "channel": data.get("channel"), "ts": ts, "message": data}
            )
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/ws"})
        record.status = 404
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.frames.append(json.loads(msg.data))
                await self._notify()
        self._sockets.remove(ws)
        return ws


async def _serve_forever() -> None:
    server = await SlackStandIn().start()
    print(server.port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve_forever())
