"""Outgoing webhooks: a signed JSON POST, never into the bot's own network.

Signature (for receivers): the request carries ``X-Charterbot-Timestamp: <unix seconds>`` and
``X-Charterbot-Signature: v1=<hex>`` where ``<hex>`` is HMAC-SHA256 keyed with the secret shown
when the webhook was subscribed, over the bytes ``f"{timestamp}.".encode() + body``. Verify
with a constant-time compare (:func:`verify` does it) and reject timestamps older than 5
minutes to stop replays. ``X-Charterbot-Delivery`` is stable per delivery: a resend after a
crash repeats it, so receivers can drop duplicates.

Request forgery guard (SSRF): the URL must be https, and its host must resolve only to public
addresses — loopback, private, link-local, carrier-grade NAT, multicast, reserved and
unspecified addresses are refused, and so is an IPv6 address that carries such an IPv4 address
(IPv4-mapped ``::ffff:0:0/96``, IPv4-compatible ``::/96``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``, Teredo ``2001::/32``), as is the local-use NAT64 prefix ``64:ff9b:1::/48``
(not globally reachable, and where it carries the IPv4 address depends on the local setup) —
unless the operator sets ``CHARTERBOT_WEBHOOK_ALLOW_PRIVATE=1``. The check runs when a webhook
is subscribed and again before every send, and the request is made to an address that was
checked (the hostname goes in ``Host`` and TLS SNI, and the certificate is verified against
it), so a DNS answer that changes between check and connect cannot redirect the request.
Redirects are not followed. Connections are not kept alive, so one opened for a hostname never
carries a request for another hostname at the same address.

Addresses are tried in the resolver's order (``getaddrinfo`` sorts them by RFC 6724
preference); a connection that cannot be made moves on to the next one, an HTTP answer of any
kind ends the attempt. Receivers: see docs/webhooks.md.
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


def _in_order(infos: list[tuple[object, ...]]) -> list[str]:
    """The addresses of ``getaddrinfo`` answers, once each, in its (RFC 6724) order."""
    return list(dict.fromkeys(str(info[4][0]) for info in infos))  # type: ignore[index]


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _in_order(list(infos))


_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# Prefixes whose last 32 bits are the IPv4 address a packet ends up at.
_LAST_32_BITS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))


def _embedded(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses ``ip`` leads to by its format (mapped, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # (server, client): judged both, to be safe
    if any(ip in net for net in _LAST_32_BITS):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)]
    return []


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        inner = _embedded(ip)
        if inner:
            return all(_public(str(v4)) for v4 in inner)
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
    _validate(parsed.host, _in_order(list(infos)), allow)
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


def _answer(resp: httpx.Response, key: str) -> SendResult:
    """The receiver's answer, classified: 2xx delivered; 429, 408, 425 and 5xx retried; any
    other status is permanent, and says why in words a coordinator can act on."""
    status = resp.status_code
    if 200 <= status < 300:
        return SendResult(True, message_id=resp.headers.get("X-Request-Id") or key)
    if status == 429:
        return transient("webhook: 429", retry_after_header(resp.headers.get("Retry-After")))
    if status in (408, 425) or status >= 500:
        return transient(f"webhook: HTTP {status}")
    if 300 <= status < 400:
        return permanent(f"webhook: HTTP {status}, a redirect (redirects are not followed)")
    if status == 410:
        return permanent("webhook: HTTP 410 Gone (the receiver says this webhook is gone)")
    return permanent(f"webhook: HTTP {status}")


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
        # No keep-alive: httpx pools connections by the URL's host, which is the pinned
        # address, so a kept connection opened with one hostname's SNI would carry the next
        # request for another hostname served by the same address to the wrong virtual host.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0),
            verify=verify_tls,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
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
        failed: list[str] = []
        for address in addresses:  # the resolver's order; each one was checked above
            try:
                resp = await self._client.post(
                    url.copy_with(host=address),  # pinned: connect to the checked address
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": url.host},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failed.append(f"{address}: {type(exc).__name__}: {exc}")
                continue  # nothing was sent to this address: the next one may answer
            except httpx.HTTPError as exc:
                return transient(f"webhook: {type(exc).__name__}: {exc}")
            return _answer(resp, envelope.key)
        return transient("webhook: no address could be reached (" + "; ".join(failed) + ")")

    async def aclose(self) -> None:
        await self._client.aclose()
