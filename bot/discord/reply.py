"""Answering one Discord interaction: defer at once, ask the core, follow up with its Message.

Rules:
- Discord invalidates an interaction not answered within 3 s, so the first thing every handler
  does is ``defer(ephemeral=True, thinking=True)``; the answer follows within the token's
  15 minutes as a follow-up.
- The deferred "thinking" message is ephemeral, and the first follow-up replaces it. An
  announcement (``Message.ephemeral=False``) therefore edits the placeholder to a short
  confirmation and is posted as a second, public follow-up.
- Every send names its ``allowed_mentions`` explicitly (nothing, or exactly the users the
  message means to ping), so a client-wide default can never widen it.
- A crash in the core is logged and answered with a short ephemeral error.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import discord

from bot.discord.buttons import vote_view
from bot.discord.render import DiscordReply, render
from bot.messages import CommandCore, Message

log = logging.getLogger(__name__)

FAILED = Message.text_only("Sorry, that failed on our side. It has been logged; try again.", False)
POSTED = "Posted in the channel."


async def run_core(core: CommandCore, interaction: discord.Interaction[Any], text: str) -> Message:
    """Identify the Discord user and run ``text``; a crash becomes an ephemeral error."""
    user = interaction.user
    try:
        actor = await core.identity("discord", str(user.id), user.display_name)
        actor = replace(actor, channel=str(interaction.channel_id or ""))
        return await core.run(text, actor)
    except Exception:
        log.exception("discord command %r failed (user %s)", text.split(" ", 1)[0], user.id)
        return FAILED


async def send_reply(interaction: discord.Interaction[Any], reply: DiscordReply) -> None:
    """Follow up a deferred interaction with ``reply`` (see the module rules)."""
    kwargs: dict[str, Any] = {
        "content": reply.content or None,
        "embed": reply.embed,
        "allowed_mentions": reply.allowed_mentions(),
    }
    if reply.buttons:
        kwargs["view"] = vote_view(reply.buttons)
    if reply.ephemeral:
        await interaction.followup.send(ephemeral=True, **kwargs)
        return
    await interaction.edit_original_response(
        content=POSTED, allowed_mentions=discord.AllowedMentions.none()
    )
    await interaction.followup.send(ephemeral=False, **kwargs)


async def answer(core: CommandCore, interaction: discord.Interaction[Any], text: str) -> None:
    """Defer, run ``text`` through the core, and follow up with the rendered answer."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    await send_reply(interaction, render(await run_core(core, interaction, text)))
