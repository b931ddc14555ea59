"""Webhook delivery rules: which addresses are tried and in what order, which addresses the
forgery guard refuses, what a refusal says, and how a ``Retry-After`` is read.

- A host's addresses are tried in the resolver's order (RFC 6724, as ``getaddrinfo`` gives
  them); one that cannot be connected to moves on to the next, an HTTP answer ends the attempt.
- An IPv6 address that leads to a non-public IPv4 address (NAT64, 6to4, Teredo,
  IPv4-compatible) is refused like that IPv4 address.
- A permanent refusal says what happened: a redirect, a receiver that is gone, a status.
- ``Retry-After`` is read in both forms HTTP allows: seconds or an HTTP date.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from bot.render.model import build_notice
from bot.senders.base import Envelope, retry_after_header
from bot.senders.webhook import WebhookRefused, WebhookSender, check_url, system_resolve
from tests.bot.broadcast.support import announce, payload
from tests.standins.receivers import free_port, self_signed


@dataclass
class Receivers:
    """One HTTPS receiver on the same port at each of several loopback addresses, answering
    ``status``; records which address each request reached and its ``Host``."""

    port: int
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    reached: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        local = request.transport.get_extra_info("sockname")[0] if request.transport else "?"
        self.reached.append((local, request.headers.get("Host", "")))
        return web.Response(status=self.status, headers=self.headers)


@pytest.fixture
async def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return self_signed()  # a certificate for "localhost"


async def _serve(server_tls: ssl.SSLContext, hosts: list[str]) -> tuple[Receivers, web.AppRunner]:
    receivers = Receivers(free_port())
    app = web.Application()
    app.router.add_post("/hook", receivers.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for host in hosts:
        await web.TCPSite(runner, host, receivers.port, ssl_context=server_tls).start()
    return receivers, runner


@pytest.fixture
async def listening(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], request: pytest.FixtureRequest
) -> AsyncIterator[Receivers]:
    receivers, runner = await _serve(tls[0], request.param)
    yield receivers
    await runner.cleanup()


def _resolving(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def _envelope(port: int) -> Envelope:
    data = payload(announce("decision", proposal=7, title="Adopt X"))
    notice = build_notice(data, lang="en", zone="UTC", repo="o/r")
    return Envelope(7, "41.7", f"https://localhost:{port}/hook", notice, data, secret="s3cret")


async def _send(receivers: Receivers, client_tls: ssl.SSLContext, *addresses: str) -> Any:
    sender = WebhookSender(
        allow_private=True, verify_tls=client_tls, resolve=_resolving(*addresses)
    )
    try:
        return await sender.send(_envelope(receivers.port))
    finally:
        await sender.aclose()


@pytest.mark.parametrize("listening", [["127.0.0.1"]], indirect=True)
async def test_an_address_that_refuses_the_connection_falls_back_to_the_next(
    listening: Receivers, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """Nothing listens on 127.0.0.2: the send moves on to 127.0.0.1, pinned to it with the
    hostname in Host (and SNI: the certificate for "localhost" is verified)."""
    result = await _send(listening, tls[1], "127.0.0.2", "127.0.0.1")
    assert result.ok, result.error
    assert listening.reached == [("127.0.0.1", f"localhost:{listening.port}")]


@pytest.mark.parametrize("listening", [["127.0.0.1", "127.0.0.2"]], indirect=True)
@pytest.mark.parametrize("status", [200, 500, 404])
async def test_the_first_address_that_answers_decides_in_the_resolvers_order(
    listening: Receivers, tls: tuple[ssl.SSLContext, ssl.SSLContext], status: int
) -> None:
    """Any HTTP answer, an error too, ends the attempt: the next address is not tried (it would
    deliver twice); the order is the resolver's, not sorted."""
    listening.status = status
    result = await _send(listening, tls[1], "127.0.0.2", "127.0.0.1")
    assert result.ok is (status == 200)
    assert [local for local, _host in listening.reached] == ["127.0.0.2"]


@pytest.mark.parametrize("listening", [["127.0.0.1"]], indirect=True)
async def test_no_address_reachable_is_a_transient_failure_naming_each(
    listening: Receivers, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    result = await _send(listening, tls[1], "127.0.0.2", "127.0.0.3")
    assert (result.ok, result.permanent) == (False, False)
    assert "127.0.0.2: ConnectError" in result.error and "127.0.0.3: ConnectError" in result.error


async def test_the_system_resolver_keeps_getaddrinfo_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getaddrinfo already orders by RFC 6724 preference: kept, duplicates dropped."""
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:2800:220:1::1", 443, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    assert await system_resolve("hooks.example.com", 443) == ["93.184.216.34", "2606:2800:220:1::1"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::5db8:d822", False),  # local-use NAT64: never public
        ("2002:5db8:d822::1", True),  # 6to4 of 93.184.216.34
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo, client 10.0.0.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::ffff:a00:1", False),  # IPv4-mapped 10.0.0.1
    ],
)
async def test_embedded_ipv4_addresses_are_judged_as_what_they_lead_to(
    address: str, public: bool
) -> None:
    resolve = _resolving(address)
    if public:
        assert (await check_url("https://hooks.example.com/x", resolve=resolve))[1] == [address]
    else:
        with pytest.raises(WebhookRefused, match=address):
            await check_url("https://hooks.example.com/x", resolve=resolve)


@pytest.mark.parametrize("listening", [["127.0.0.1"]], indirect=True)
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (302, "webhook: HTTP 302, a redirect (redirects are not followed)"),
        (308, "webhook: HTTP 308, a redirect (redirects are not followed)"),
        (410, "webhook: HTTP 410 Gone (the receiver says this webhook is gone)"),
        (404, "webhook: HTTP 404"),
        (403, "webhook: HTTP 403"),
    ],
)
async def test_a_refusal_says_what_happened(
    listening: Receivers, tls: tuple[ssl.SSLContext, ssl.SSLContext], status: int, error: str
) -> None:
    """Only a redirect mentions redirects; a 410 says the receiver is gone."""
    listening.status = status
    if status in (302, 308):
        listening.headers = {"Location": "https://elsewhere.example/hook"}
    result = await _send(listening, tls[1], "127.0.0.1")
    assert (result.ok, result.permanent, result.error) == (False, True, error)


@pytest.mark.parametrize("listening", [["127.0.0.1"]], indirect=True)
async def test_a_429_with_an_http_date_waits_until_then(
    listening: Receivers, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    listening.status = 429
    listening.headers = {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}
    result = await _send(listening, tls[1], "127.0.0.1")
    assert (result.ok, result.permanent) == (False, False)
    assert result.retry_after is not None and result.retry_after > 365 * 24 * 3600


NOW = datetime(2026, 10, 21, 7, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 60.0),
        ("Wednesday, 21-Oct-26 07:28:00 GMT", 60.0),  # RFC 850, still allowed to arrive
        ("Wed Oct 21 07:28:00 2026", 60.0),  # asctime
        ("Wed, 21 Oct 2026 07:28:00 -0000", 60.0),
        ("Tue, 20 Oct 2026 07:28:00 GMT", 0.0),  # already past: now
        ("soon", None),
        ("", None),
        ("inf", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_a_date(value: str | None, seconds: float) -> None:
    assert retry_after_header(value, now=NOW) == seconds
