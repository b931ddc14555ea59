"""docs/webhooks.md tells receivers the truth: its example bodies are what the renderer sends
for the same announcements, its verification snippet accepts a real signed delivery and
refuses a forged or stale one, and the headers it lists are the ones sent.

Regenerate the examples after a renderer change: ``python -m tests.bot.test_webhook_docs``
prints them.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.render.model import build_digest, build_notice
from bot.render.platforms import webhook_body
from bot.senders.webhook import sign
from storage import outbox, subscriptions
from tests.bot.broadcast.support import announce, payload
from tests.paths import REPO

DOC = REPO / "docs" / "webhooks.md"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPOSITORY = "meridian/governance"
_DECISION = announce(
    "decision",
    proposal=42,
    title="Stage client releases behind a feature flag",
    text="Accepted: 5 in favour, 1 against.",
    track="feature-flag",
    clients=("web", "android"),
)
_OPENED = announce("proposal-opened", proposal=43, title="Weekly release train", text="")
_INCIDENT = announce(
    "incident",
    title="Crash on start in android 4.2",
    text="",
    clients=("android",),
    severity="sev2",
)


def examples() -> dict[str, dict[str, Any]]:
    """The bodies docs/webhooks.md shows, rendered by the code that sends them."""
    single = payload(_DECISION, AT)
    notice = build_notice(single, lang="en", zone="UTC", repo=REPOSITORY)
    items = [payload(_OPENED, AT), payload(_INCIDENT, AT.replace(hour=14, minute=30))]
    digest_at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    digest = build_digest(items, at=digest_at, lang="en", zone="UTC", repo=REPOSITORY)
    digest_payload = {"kind": "digest", "at": digest_at.isoformat(), "items": items}
    return {
        "announcement": webhook_body(notice, single, "1207.3311"),
        "digest": webhook_body(digest, digest_payload, "1215.3402"),
    }


def _shown(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)


def _block(marker: str, language: str) -> str:
    """The fenced block right after ``<!-- marker -->`` in the doc."""
    text = DOC.read_text("utf-8")
    found = re.search(rf"<!-- {marker} -->\s*```{language}\n(.*?)```", text, re.S)
    assert found, f"docs/webhooks.md has no ```{language} block after <!-- {marker} -->"
    return found.group(1)


@pytest.mark.parametrize("name", ["announcement", "digest"])
def test_the_documented_example_is_what_the_renderer_sends(name: str) -> None:
    assert _block(f"example: {name}", "json") == _shown(examples()[name]) + "\n"


def test_the_verification_snippet_accepts_a_real_delivery_and_refuses_forgeries() -> None:
    namespace: dict[str, Any] = {}
    exec(_block("verify", "python"), namespace)  # the receiver's code, as documented
    verify = namespace["verify_charterbot"]
    body = json.dumps(examples()["announcement"], sort_keys=True, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    headers = {"X-Charterbot-Timestamp": ts, "X-Charterbot-Signature": sign("s3cret", ts, body)}
    assert verify("s3cret", headers, body)
    assert not verify("wrong", headers, body)
    assert not verify("s3cret", headers, body + b" ")
    stale = str(int(ts) - 301)
    old = {"X-Charterbot-Timestamp": stale, "X-Charterbot-Signature": sign("s3cret", stale, body)}
    assert not verify("s3cret", old, body)
    assert not verify("s3cret", {}, body)


def test_the_documented_headers_are_the_ones_sent() -> None:
    """Every X-Charterbot-… header the sender sets is documented, and no other."""
    from bot.senders import webhook

    source = (REPO / "bot" / "senders" / "webhook.py").read_text("utf-8")
    sent = set(re.findall(r'"(X-Charterbot-[A-Za-z]+)"', source))
    documented = set(re.findall(r"`(X-Charterbot-[A-Za-z]+)`", DOC.read_text("utf-8")))
    assert sent == documented and webhook.TOLERANCE_SECONDS == 300


def test_the_documented_retry_policy_is_the_codes() -> None:
    """The numbers the doc gives receivers are the ones the relay and storage use."""
    text = " ".join(DOC.read_text("utf-8").split())
    assert f"given up after {outbox.MAX_ATTEMPTS} tries" in text
    assert outbox.MAX_WAIT == 3600 and "at most an hour" in text
    assert f"after {subscriptions.FAILURES_TO_DROP} permanent failures in a row" in text


if __name__ == "__main__":
    for name, body in examples().items():
        print(f"<!-- example: {name} -->\n```json\n{_shown(body)}\n```\n")
