"""Signed Slack requests built from the shared public fixtures (docs and SDK samples)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from tests.paths import FIXTURES

SLACK_FIXTURES = FIXTURES / "slack"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"


def fixture_text(name: str) -> str:
    return (SLACK_FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_text(name))
    return data


def signed_headers(
    body: str, *, secret: str = SECRET, skew: int = 0, content_type: str | None = None
) -> dict[str, str]:
    """Headers Slack sends: timestamp (shifted by ``skew`` seconds) and the v0 HMAC signature."""
    ts = str(int(time.time()) + skew)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": content_type or "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
    }


def slash_body(text: str, response_url: str, *, encoded: bool) -> str:
    """The docs' slash-command body with our command, ``text`` and ``response_url``.

    ``encoded=False`` keeps the docs' style (``/`` and ``:`` left bare); True encodes them
    as real Slack requests do."""
    fields = dict(pair.split("=", 1) for pair in fixture_text("slash_command.body.txt").split("&"))
    fields["command"] = "/charter"
    fields["text"] = quote(text, safe="" if encoded else "/:")
    fields["response_url"] = response_url if not encoded else quote(response_url, safe="")
    if encoded:
        fields["command"] = "%2Fcharter"
    return "&".join(f"{k}={v}" for k, v in fields.items())


def block_actions_body(action_id: str, response_url: str, user: str = "U0VOTER") -> str:
    payload = fixture_json("block_actions.sample.json")
    payload["user"].update(id=user, username="voter", name="voter", team_id="T0001")
    payload["team"].update(id="T0001", domain="example")
    payload["channel"].update(id="C0001", name="governance")
    payload["response_url"] = response_url
    payload["actions"][0].update(action_id=action_id, type="button", value=action_id)
    return urlencode({"payload": json.dumps(payload)})


def mention_body(event_id: str, text: str, *, user: str = "U0ASKER") -> str:
    body = fixture_json("event_callback.app_mention.sample.json")
    body.update(type="event_callback", event_id=event_id, team_id="T0001", api_app_id="A0001")
    event = body["event"]
    for key in ("bot_id", "bot_profile", "app_id", "subtype", "edited"):
        event.pop(key)  # a person's mention carries none of these
    event.update(user=user, text=text, channel="C0001", ts="1700000000.000100", thread_ts="")
    event.update(event_ts="1700000000.000100", team="T0001")
    return json.dumps(body)
