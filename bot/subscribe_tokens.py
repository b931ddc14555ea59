"""Signed tokens for e-mail confirmation and one-click unsubscribe links.

Rules:
- A token is ``<base64url(purpose|address|expiry)>.<HMAC-SHA256 hex>``, keyed with
  ``CHARTERBOT_SECRET_KEY`` or, when unset, a random key created once and kept in the
  database (``kv_state``), so links survive restarts without configuration.
- Confirmation tokens expire after 7 days; unsubscribe tokens never do (an old mail must
  still unsubscribe). A token for one purpose is never accepted for another.
- Verification is constant-time and returns the address, or None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlmodel import Session

from storage import state

_KEY_STATE = "broadcast:secret-key"
CONFIRM_TTL = timedelta(days=7)


def secret_key(session: Session, now: datetime) -> bytes:
    configured = os.environ.get("CHARTERBOT_SECRET_KEY")
    if configured:
        return configured.encode()
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


def confirm_url(public_url: str, key: bytes, address: str, now: datetime) -> str:
    token = make(key, "confirm", address, now + CONFIRM_TTL)
    return f"{public_url.rstrip('/')}/subscriptions/confirm?token={quote(token)}"


def unsubscribe_url(public_url: str, key: bytes, address: str) -> str:
    token = make(key, "unsubscribe", address)
    return f"{public_url.rstrip('/')}/subscriptions/unsubscribe?token={quote(token)}"
