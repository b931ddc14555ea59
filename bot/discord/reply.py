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
- Durable before acknowledged: with a journal, the interaction (its command text, the user, and
  the follow-up token) is recorded before the defer and marked done after the answer. One a
  crash stranded in between is answered by ``replay_entry`` on the same follow-up token while
  the token lives (15 minutes).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import discord

from bot.discord.buttons import vote_view
from bot.discord.render import DiscordReply, render
from bot.messages import CommandCore, CommandJournal, Message, answer_then_close

log = logging.getLogger(__name__)

FAILED = Message.text_only("Sorry, that failed on our side. It has been logged; try again.", False)
POSTED = "Posted in the channel."


async def run_core(core: CommandCore, entry: dict[str, str]) -> Message:
    """Identify the Discord user of ``entry`` (see ``journal_entry``) and run its command; a
    crash becomes an ephemeral error."""
    text, user_id = entry["text"], entry["user_id"]
    try:
        actor = await core.identity("discord", user_id, entry["user_name"])
        return await core.run(text, replace(actor, channel=entry["channel_id"]))
    except Exception:
        log.exception("discord command %r failed (user %s)", text.split(" ", 1)[0], user_id)
        return FAILED


def journal_entry(interaction: discord.Interaction[Any], text: str) -> dict[str, str]:
    """``text`` with who asked where, and the interaction's follow-up: all that running it
    and answering it needs, now or after a crash."""
    return {
        "text": text,
        "user_id": str(interaction.user.id),
        "user_name": interaction.user.display_name,
        "channel_id": str(interaction.channel_id or ""),
        "application_id": str(interaction.application_id),
        "token": interaction.token,
    }


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


async def answer(
    core: CommandCore,
    interaction: discord.Interaction[Any],
    text: str,
    journal: CommandJournal | None = None,
) -> None:
    """Record (with a journal), defer, run ``text`` through the core, follow up with the answer."""
    key, entry = str(interaction.id), journal_entry(interaction, text)
    if journal is not None:
        await journal.record("discord", key, entry)
    await interaction.response.defer(ephemeral=True, thinking=True)
    reply = render(await run_core(core, entry))
    await answer_then_close(journal, "discord", key, send_reply(interaction, reply))


class _Stranded:
    """The parts of an interaction ``send_reply`` uses, rebuilt from a journal entry: its
    follow-up webhook (the application id and the interaction token) and its first message."""

    def __init__(self, client: discord.Client, entry: dict[str, str]) -> None:
        data: Any = {"id": entry["application_id"], "type": 3, "token": entry["token"]}
        # What discord.py's Interaction.followup builds; the client's HTTP session is used.
        self.followup = discord.Webhook.from_state(data=data, state=client._connection)

    async def edit_original_response(self, **kwargs: Any) -> None:
        # PATCH /webhooks/{app}/{token}/messages/@original, as Interaction does it.
        await self.followup.edit_message("@original", **kwargs)  # type: ignore[call-overload]


async def replay_entry(core: CommandCore, client: discord.Client, entry: dict[str, str]) -> None:
    """Run a journalled command a crash stranded and answer it on its follow-up token."""
    message = await run_core(core, entry)
    await send_reply(_Stranded(client, entry), render(message))  # type: ignore[arg-type]
