"""A platform whose credentials are absent is not started, and the log says so."""

from __future__ import annotations

import logging

import pytest

from bot.bootstrap import build
from bot.settings import Settings


def test_no_credentials_no_platforms(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="charterbot")
    rt = build(Settings(database_url=sqlite_url))
    try:
        assert "slack_app" not in rt.extras
        assert "discord_client" not in rt.extras
        text = caplog.text
        assert "Slack not started: set SLACK_BOT_TOKEN" in text
        assert "Discord not started: set DISCORD_TOKEN" in text
    finally:
        rt.engine.dispose()


def test_slack_credentials_mount_the_events_route(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, slack_bot_token="xoxb-t", slack_signing_secret="s")
    rt = build(settings)
    try:
        paths = {getattr(r, "path", "") for r in rt.extras.get("routes", [])}
        assert "/slack/events" in paths
        assert "slack_app" in rt.extras
    finally:
        rt.engine.dispose()


def test_socket_mode_without_a_signing_secret_mounts_no_events_route(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SLACK_BOT_TOKEN + SLACK_APP_TOKEN alone start Slack over the socket only: there is no
    secret to verify HTTP requests with, so /slack/events is not mounted, and the log says what
    it would take."""
    caplog.set_level(logging.INFO, logger="charterbot")
    settings = Settings(
        database_url=sqlite_url, slack_bot_token="xoxb-t", slack_app_token="xapp-1-A0-1-x"
    )
    rt = build(settings)
    try:
        paths = {getattr(r, "path", "") for r in rt.extras.get("routes", [])}
        assert "/slack/events" not in paths
        assert "slack_app" in rt.extras
        assert "set SLACK_SIGNING_SECRET for POST /slack/events" in caplog.text
    finally:
        rt.engine.dispose()
