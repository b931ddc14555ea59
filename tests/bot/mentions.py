"""The chat mentions of one user, bob-borealis, for commands that name a person (``incident
role``, ``meeting action``): Slack and Discord tokens for the user linked on that surface, and
the forms that must be refused (no link there)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine

from storage import identities
from storage.db import session_scope

LOGIN = "bob-borealis"

LINKED = pytest.mark.parametrize(
    ("surface", "user"),
    [
        ("slack", "<@U0BOB>"),
        ("slack", "<@U0BOB|bob>"),
        ("discord", "<@417>"),
        ("discord", "<@!417>"),
        ("console", "@bob-borealis"),
        ("slack", "bob-borealis"),
    ],
    ids=["slack", "slack-with-name", "discord", "discord-nickname", "login", "bare-login"],
)
UNLINKED = pytest.mark.parametrize(
    ("surface", "user"),
    [("slack", "<@U0NOBODY>"), ("discord", "<@U0BOB>"), ("console", "<@U0BOB>")],
    ids=["unlinked", "linked-on-another-surface", "not-a-chat-surface"],
)


def link(engine: Engine, surface: str, surface_id: str, now: datetime) -> None:
    """bob-borealis linked as ``surface_id`` on ``surface``."""
    with session_scope(engine) as session:
        identities.link(
            session,
            surface=surface,
            surface_id=surface_id,
            login=LOGIN,
            method="device",
            now=now,
        )
