"""The values the settings take, judged one at a time: each ``*_problem`` says why a value
cannot work (None when it can), in the words startup prints after the variable's name
(:class:`bot.settings.SettingError`); the others read or derive a value.

Rules: a port is 1 to 65535; the public URL is an absolute http(s) URL with a host (an IPv6
one in brackets, then nothing or ``:port``), a usable port, maybe a path, no query or fragment;
the audit witness period is 0/off or at least 1h and divides a day or is whole days; a GitHub
App key is a PEM private key that loads.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from charter.model import format_duration, parse_duration

_DAY = timedelta(days=1)
_WITNESS_FORMS = "use e.g. 1h, 6h, 12h, 24h or 7d, or 0 or off to turn the witness off"


def witness_period(value: object) -> timedelta:
    """The audit witness's period from ``24h``, ``7d``… (charter durations); ``0``, ``off`` or
    a zero duration turn it off (zero). Periods start at 00:00Z (bot.audit_witness), so a
    period must divide a day evenly or be whole days, and is at least an hour: every post
    mails the issue's watchers."""
    if isinstance(value, timedelta):
        period = value
    else:
        text = str(value).strip().lower()
        if text in ("0", "off"):
            return timedelta(0)
        try:
            period = parse_duration(text)
        except ValueError as exc:
            raise ValueError(f"{exc}; {_WITNESS_FORMS}") from None
        except OverflowError:  # past timedelta's range (a billion days)
            raise ValueError(f"{text} is longer than any period can be; {_WITNESS_FORMS}") from None
    if not period:
        return timedelta(0)
    if period < timedelta(hours=1):
        raise ValueError(f"must be at least 1h (each post mails the watchers); {_WITNESS_FORMS}")
    if _DAY % period and period % _DAY:
        raise ValueError(
            f"{format_duration(period)} neither divides a day nor is whole days, so its"
            f" periods cannot start at 00:00Z; {_WITNESS_FORMS}"
        )
    return period


_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}


def port_problem(port: int) -> str | None:
    """Why the HTTP server cannot listen on ``port`` (None when it can). TCP ports run from 1
    to 65535; 0 (any free port) is refused too, as links must say which port it is."""
    if 1 <= port <= 65535:
        return None
    return "must be a port number from 1 to 65535"


# What may follow the closing bracket of an IPv6 host: nothing, or a port.
_AFTER_BRACKET = re.compile(r"\](:[^\]]*)?$")
_PUBLIC_URL_FORM = (
    "must be the https:// (or http://) address the server is reached at, e.g."
    " https://charterbot.example.org"
)


def public_url_problem(url: str) -> str | None:
    """Why links cannot be built under ``url`` (None when they can): they are ``url`` followed
    by a path, so it is an absolute http(s) URL with a host and a usable port, and may end in
    a path (a server behind a proxy under a prefix) but not a query or a fragment, which the
    appended path would land inside. A host in brackets is an IPv6 address, followed by
    nothing or ``:<port>``."""
    try:
        parts = urlsplit(url)  # raises on a bracket left open or a name in brackets
    except ValueError:
        return f"{_PUBLIC_URL_FORM}; an IPv6 address goes in brackets, e.g. http://[::1]:8080"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return _PUBLIC_URL_FORM
    if any(char.isspace() for char in url):
        return f"{_PUBLIC_URL_FORM}; it holds a space"
    if "]" in parts.netloc and not _AFTER_BRACKET.search(parts.netloc):
        return f"{_PUBLIC_URL_FORM}; after an IPv6 address in brackets comes nothing or :port"
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        port = 0
    if port is not None and port_problem(port):
        return f"{_PUBLIC_URL_FORM}; the port must be a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"{_PUBLIC_URL_FORM}, with no ?query or #fragment: links append their own path"
    return None


def default_public_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches a server listening on ``host:port`` at: a
    wildcard address (all interfaces) is reached on the loopback one; IPv6 goes in brackets."""
    shown = _WILDCARD_HOSTS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


def pem_problem(pem: str) -> str | None:
    """Why ``pem`` is not a usable private key (None when it is); the key is never echoed."""
    expected = "expected the text of the .pem file GitHub generated for the app"
    if "PRIVATE KEY-----" not in pem:
        return f"is not a PEM private key ({expected})"
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:  # pragma: no cover - PyGithub's JWT signing needs it anyway
        return None
    try:
        load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return f"does not load as a private key: truncated or altered? ({expected})"
    return None
