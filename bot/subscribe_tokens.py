"""Signed tokens for e-mail confirmation and one-click unsubscribe links.

Rules:
- A token is ``<base64url(purpose|address|expiry)>.<HMAC-SHA256 hex>``, keyed with
  ``CHARTERBOT_SECRET_KEY`` or, when unset, a random key created once and kept in the
  database (``kv_state``), so links survive restarts without configuration.
- The configured key comes from the runtime's settings: ``bot.bootstrap.build`` registers it
  for its engine (:func:`use_key`). A process that did not (``python -m bot.relay``) reads it
  from :class:`~bot.settings.Settings`, as every entry point reads settings.
- Confirmation tokens expire after 7 days; unsubscribe tokens never do (an old mail must
  still unsubscribe). A token for one purpose is never accepted for another.
- Verification is constant-time and returns the address, or None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import weakref
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage import state

_KEY_STATE = "broadcast:secret-key"
CONFIRM_TTL = timedelta(days=7)

# The configured key (None: none configured) of each engine a runtime was built on.
_KEYS: weakref.WeakKeyDictionary[Engine, SecretStr | None] = weakref.WeakKeyDictionary()
_KEYS_GUARD = threading.Lock()


def use_key(engine: Engine, configured: SecretStr | None) -> None:
    """Sign and check the links made through ``engine`` with ``configured``
    (``Settings.secret_key``); None means the generated key kept in the database."""
    with _KEYS_GUARD:
        _KEYS[engine] = configured


def _engine_of(session: Session) -> Engine | None:
    bind: Any = session.get_bind()
    if isinstance(bind, Connection):
        bind = bind.engine
    bind = getattr(bind, "_proxied", bind)  # an engine with execution options set (reader())
    return bind if isinstance(bind, Engine) else None


def _configured_key(session: Session) -> SecretStr | None:
    engine = _engine_of(session)
    with _KEYS_GUARD:
        if engine is not None and engine in _KEYS:
            return _KEYS[engine]
    from bot.settings import Settings

    return Settings().secret_key


def secret_key(session: Session, now: datetime) -> bytes:
    configured = _configured_key(session)
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    stored = state.get(session, _KEY_STATE)
    if stored is None:
        stored = secrets.token_hex(32)
        state.put(session, _KEY_STATE, stored, now)
    return str(stored).encode()


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:40]


def make(key: bytes, purpose: str, address: str, expires: datetime | None = None) -> str:
    stamp = "" if expires is None else str(int(expires.timestamp()))
    body = f"{purpose}|{address.lower()}|{stamp}"
    encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return f"{encoded}.{_mac(key, body)}"


def check(key: bytes, purpose: str, token: str, now: datetime) -> str | None:
    """The address the token was made for, if it is genuine, for ``purpose`` and not expired."""
    try:
        encoded, mac = token.split(".", 1)
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        got_purpose, address, stamp = body.split("|")
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(_mac(key, body), mac) or got_purpose != purpose:
        return None
    if stamp and int(stamp) < now.timestamp():
        return None
    return address


CONFIRM_PATH = "/subscriptions/confirm"


def confirm_url(public_url: str, key: bytes, address: str, now: datetime) -> str:
    token = make(key, "confirm", address, now + CONFIRM_TTL)
    return f"{public_url.rstrip('/')}{CONFIRM_PATH}?token={quote(token)}"


def confirm_url_at(link: str, public_url: str) -> str:
    """A confirm ``link`` (:func:`confirm_url`) at ``public_url``: the server that mails it
    serves the page, while the link was made where the command ran, maybe a console that only
    guessed the address (``serve --port`` elsewhere). Another link is left as it is."""
    _, path, rest = link.partition(CONFIRM_PATH)
    return f"{public_url.rstrip('/')}{path}{rest}" if path and public_url else link


def unsubscribe_url(public_url: str, key: bytes, address: str) -> str:
    token = make(key, "unsubscribe", address)
    return f"{public_url.rstrip('/')}/subscriptions/unsubscribe?token={quote(token)}"
