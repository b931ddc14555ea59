"""The Slack app manifest matches what the app listens to."""

from __future__ import annotations

from typing import Any

import yaml

from bot.slack.app import COMMAND
from bot.slack.serve import EVENTS_PATH
from tests.paths import REPO

MANIFEST = REPO / "deploy" / "slack" / "manifest.yml"


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_manifest_declares_what_the_app_handles() -> None:
    """The manifest's slash command, event and interactivity all point at the app's one
    endpoint, and the bot scopes are exactly those the listeners need."""
    manifest = load()
    [command] = manifest["features"]["slash_commands"]
    settings = manifest["settings"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False  # the core reads the text as typed
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    urls = [
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "chat:write",
        "commands",
    ]
    assert settings["socket_mode_enabled"] is False  # HTTP by default; documented toggle
