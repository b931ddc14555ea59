"""A pinned webhook connection serves one hostname only.

Each request is made to a checked address with the hostname in ``Host`` and TLS SNI, so two
webhook hostnames served by the same address must not share a kept-alive connection: the
second would reach the virtual host chosen by the first one's SNI (421 or 404, counted as a
permanent failure). Every request arrives on a connection opened with its own hostname's SNI.
"""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from aiohttp import web

from bot.render.model import build_notice
from bot.senders.base import Envelope
from bot.senders.webhook import WebhookSender
from tests.bot.broadcast.support import announce, payload
from tests.standins.receivers import free_port, self_signed


class SniReceiver:
    """An HTTPS receiver on 127.0.0.1 recording, per request, its connection's SNI and its
    ``Host``."""

    def __init__(self, server_tls: ssl.SSLContext) -> None:
        self.port = free_port()
        self.reached: list[tuple[str | None, str]] = []
        self._sni: dict[int, str | None] = {}  # id(SSLObject) -> the name it was opened with
        server_tls.sni_callback = self._on_sni
        self._tls = server_tls

    def _on_sni(self, conn: Any, name: str | None, _ctx: ssl.SSLContext) -> None:
        self._sni[id(conn)] = name

    async def handle(self, request: web.Request) -> web.Response:
        tls = request.transport.get_extra_info("ssl_object") if request.transport else None
        self.reached.append((self._sni.get(id(tls)), request.headers.get("Host", "")))
        return web.Response(status=200)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self._tls).start()
        return runner


def _envelope(host: str, port: int) -> Envelope:
    data = payload(announce("decision", proposal=7, title="Adopt X"))
    notice = build_notice(data, lang="en", zone="UTC", repo="o/r")
    return Envelope(7, f"41.{host}", f"https://{host}:{port}/hook", notice, data, secret="s")


async def _same_address(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]  # every hostname is served by the one address


@pytest.mark.parametrize(
    "hosts",
    [
        ["a.example", "b.example"],
        ["a.example", "b.example", "a.example"],
    ],
)
async def test_two_hostnames_on_one_address_never_share_a_connection(hosts: list[str]) -> None:
    server_tls, client_tls = self_signed()
    # The test certificate names "localhost" only; the chain is still verified, and what is
    # checked here is the SNI each connection was opened with.
    client_tls.check_hostname = False
    receiver = SniReceiver(server_tls)
    runner = await receiver.start()
    sender = WebhookSender(allow_private=True, verify_tls=client_tls, resolve=_same_address)
    try:
        results = [await sender.send(_envelope(h, receiver.port)) for h in hosts]
    finally:
        await sender.aclose()
        await runner.cleanup()
    assert all(r.ok for r in results), results
    assert receiver.reached == [(h, f"{h}:{receiver.port}") for h in hosts]
