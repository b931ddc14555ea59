"""Vote buttons that keep working after a restart.

Rules:
- A vote button's custom id is ``vote:<n>:<choice>``; the button carries all its state, so it is
  a ``DynamicItem`` registered with ``client.add_dynamic_items(VoteButton)``: any click on any
  message with such an id is answered, including messages sent before the process restarted.
- A click runs ``vote <n> <choice>`` as the user who clicked, like the slash command would; the
  client (``CharterBot.handle_vote``) does that, so this module needs no core of its own.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from bot.discord.render import VoteButtonSpec
from bot.messages import vote_action_id

TEMPLATE = r"vote:(?P<n>[0-9]+):(?P<choice>approve|reject|abstain)"

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
    "default": discord.ButtonStyle.secondary,
}


class VoteHandler(Protocol):
    async def handle_vote(
        self, interaction: discord.Interaction[Any], number: int, choice: str
    ) -> None: ...


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(
        self,
        number: int,
        choice: str,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or choice.capitalize(),
            style=style,
            custom_id=vote_action_id(number, choice),
        )
        super().__init__(button)
        self.number = number
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> VoteButton:
        label = getattr(item, "label", None)
        style = getattr(item, "style", discord.ButtonStyle.secondary)
        return cls(int(match["n"]), match["choice"], label=label, style=style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client: VoteHandler = interaction.client
        await client.handle_vote(interaction, self.number, self.choice)


def vote_view(specs: tuple[VoteButtonSpec, ...]) -> discord.ui.View:
    """A view of vote buttons (needs a running event loop, as every discord.py View does)."""
    view = discord.ui.View(timeout=None)
    for spec in specs:
        style = _STYLES.get(spec.style, discord.ButtonStyle.secondary)
        view.add_item(VoteButton(spec.number, spec.choice, label=spec.label, style=style))
    return view
