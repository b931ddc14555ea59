"""Webhook authenticity: GitHub's `X-Hub-Signature-256` header.

Rule (GitHub, "Validating webhook deliveries"): the header is `sha256=` followed by the
lowercase hex HMAC-SHA256 of the raw request body, keyed with the webhook secret. Verify the
raw bytes before parsing anything, and compare in constant time — never with `==`, which leaks
how many leading characters matched.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def expected_signature(secret: bytes, body: bytes) -> str:
    """The header value GitHub would send for `body` (useful to sign test deliveries)."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only if `header` is exactly `sha256=<lowercase hex HMAC of body>`.

    A missing or empty header, another algorithm (`sha1=`), uppercase hex or any changed byte of
    the body is rejected. An empty secret is a configuration error, not a forged request.
    """
    if not secret:
        raise ValueError("the GitHub webhook secret is empty: set CHARTERBOT_GITHUB_WEBHOOK_SECRET")
    if not header:
        return False
    expected = expected_signature(secret, body).encode("ascii")
    try:
        received = header.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, received)
