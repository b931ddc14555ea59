"""A Discord direct message has no channel for the bot (``Actor.channel`` is "" there, as on
Slack), so ``unsubscribe all`` in one removes the person's own subscriptions; before, the DM's
channel id was passed and the DM read as a channel (nothing of the person's removed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.discord.reply import journal_entry, run_core
from bot.messages import Actor, Message


class _Core:
    """Records the actor each command is run as."""

    def __init__(self) -> None:
        self.actors: list[Actor] = []

    async def identity(self, surface: str, user_id: str, name: str) -> Actor:
        return Actor(None, surface, user_id, name)

    async def run(self, text: str, actor: Actor) -> Message:
        self.actors.append(actor)
        return Message.text_only("ok")


def _interaction(guild_id: int | None) -> Any:
    user = SimpleNamespace(id=7, display_name="Mason")
    return SimpleNamespace(
        user=user, channel_id=555, guild_id=guild_id, application_id=9, token="t"
    )


@pytest.mark.parametrize(
    ("guild_id", "kept", "channel"),
    [
        (None, True, ""),  # a DM
        (42, True, "555"),  # a server channel
        (None, False, "555"),  # journaled before the guild was kept: as before
    ],
    ids=["dm", "guild", "old-entry"],
)
async def test_a_dm_interaction_runs_without_a_channel(
    guild_id: int | None, kept: bool, channel: str
) -> None:
    entry = journal_entry(_interaction(guild_id), "unsubscribe all")
    if not kept:
        del entry["guild_id"]
    assert entry["channel_id"] == "555"  # kept for the notice of a refused late DM
    core = _Core()
    await run_core(core, entry)  # type: ignore[arg-type]
    assert [a.channel for a in core.actors] == [channel]
