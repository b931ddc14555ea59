"""Outgoing webhooks: a signed JSON POST, never into the bot's own network.

Signature (for receivers): the request carries ``X-Charterbot-Timestamp: <unix seconds>`` and
``X-Charterbot-Signature: v1=<hex>`` where ``<hex>`` is HMAC-SHA256 keyed with the secret shown
when the webhook was subscribed, over the bytes ``f"{timestamp}.".encode() + body``. Verify
with a constant-time compare (:func:`verify` does it) and reject timestamps older than 5
minutes to stop replays. ``X-Charterbot-Delivery`` is stable per delivery: a resend after a
crash repeats it, so receivers can drop duplicates.

Request forgery guard (SSRF): the URL must be https, and its host must resolve only to public
addresses — loopback, private, link-local, carrier-grade NAT, multicast, reserved and
unspecified addresses are refused — unless the operator sets
``CHARTERBOT_WEBHOOK_ALLOW_PRIVATE=1``. The check runs when a webhook is subscribed and again
before every send, and the request is made to the address that was checked (the hostname goes
in ``Host`` and TLS SNI, and the certificate is verified against it), so a DNS answer that
changes between check and connect cannot redirect the request. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable

import httpx

from bot.senders.base import Envelope, SendResult, permanent, retry_after_header, transient

Resolver = Callable[[str, int], Awaitable[list[str]]]
TOLERANCE_SECONDS = 300


class WebhookRefused(ValueError):
    """The URL may not be used as a webhook; the message says why."""


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise WebhookRefused(f"{url!r} is not a URL ({exc})") from None
    if parsed.scheme != "https":
        raise WebhookRefused("a webhook URL must start with https://")
    if not parsed.host:
        raise WebhookRefused("a webhook URL needs a host name")
    return parsed


def _validate(host: str, addresses: list[str], allow_private: bool) -> list[str]:
    if not addresses:
        raise WebhookRefused(f"{host} does not resolve")
    blocked = [] if allow_private else [a for a in addresses if not _public(a)]
    if blocked:
        raise WebhookRefused(
            f"{host} resolves to {', '.join(blocked)}, a loopback, private or link-local "
            "address; webhooks may only reach public addresses"
        )
    return addresses


async def check_url(
    url: str, *, allow_private: bool = False, resolve: Resolver = system_resolve
) -> tuple[httpx.URL, list[str]]:
    """The parsed URL and the addresses to connect to; :class:`WebhookRefused` otherwise."""
    parsed = _parse(url)
    try:
        addresses = await resolve(parsed.host, parsed.port or 443)
    except OSError as exc:
        raise WebhookRefused(f"{parsed.host} does not resolve ({exc})") from None
    return parsed, _validate(parsed.host, addresses, allow_private)


def check_url_sync(url: str, *, allow_private: bool = False) -> httpx.URL:
    """The same check, blocking (for command handlers that are not async)."""
    allow = allow_private
    parsed = _parse(url)
    try:
        infos = socket.getaddrinfo(parsed.host, parsed.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(f"{parsed.host} does not resolve ({exc})") from None
    _validate(parsed.host, sorted({str(i[4][0]) for i in infos}), allow)
    return parsed


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is fresh."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE_SECONDS and hmac.compare_digest(
        sign(secret, timestamp, body), signature
    )


class WebhookSender:
    platform = "webhook"

    def __init__(
        self,
        *,
        allow_private: bool = False,
        verify_tls: ssl.SSLContext | bool = True,
        resolve: Resolver = system_resolve,
    ) -> None:
        self._allow_private = allow_private  # CHARTERBOT_WEBHOOK_ALLOW_PRIVATE (bot.settings)
        self._resolve = resolve
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0), verify=verify_tls, follow_redirects=False
        )

    async def send(self, envelope: Envelope) -> SendResult:
        if not envelope.secret:
            return permanent("webhook: no signing secret stored for this subscription")
        try:
            url, addresses = await check_url(
                envelope.address, allow_private=self._allow_private, resolve=self._resolve
            )
        except WebhookRefused as exc:
            return permanent(f"webhook: {exc}")
        from bot.render.platforms import webhook_body

        data = webhook_body(envelope.notice, envelope.payload, envelope.key)
        body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "charterbot-webhook/1",
            "Host": url.netloc.decode(),
            "X-Charterbot-Timestamp": ts,
            "X-Charterbot-Signature": sign(envelope.secret, ts, body),
            "X-Charterbot-Delivery": envelope.key,
        }
        pinned = url.copy_with(host=addresses[0])
        try:
            resp = await self._client.post(
                pinned, content=body, headers=headers, extensions={"sni_hostname": url.host}
            )
        except httpx.HTTPError as exc:
            return transient(f"webhook: {type(exc).__name__}: {exc}")
        status = resp.status_code
        if 200 <= status < 300:
            return SendResult(True, message_id=resp.headers.get("X-Request-Id") or envelope.key)
        if status == 429:
            return transient("webhook: 429", retry_after_header(resp.headers.get("Retry-After")))
        if status in (408, 425) or status >= 500:
            return transient(f"webhook: HTTP {status}")
        return permanent(f"webhook: HTTP {status} (redirects are not followed)")

    async def aclose(self) -> None:
        await self._client.aclose()
