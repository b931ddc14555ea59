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
  the token lives (15 minutes; ``TOKEN_ANSWERABLE_FOR`` leaves a minute's margin).
- A slow write does not cost the interaction (``bot.acks``): the defer waits for it at most
  ``ACK_BUDGET``, then goes out anyway (a defer is not acceptance); the command runs once the
  write committed, and a write that failed is followed up with ``NOT_RECORDED``.
- Not acknowledged, not run: a defer Discord refuses (404 / 10062 "Unknown interaction": the
  3 s had passed) means the user was told "The application did not respond", so the command
  is logged and its journal entry closed (``NOT_ACKNOWLEDGED``), never run now or replayed.
- Past the token's life a stranded command was still acknowledged ("thinking…"), so it is run
  (judged at receipt, by the caller's core) and its answer sent by the bot to the asker as a
  direct message (``answer_late``): an answer is for the asker alone, and may be about a
  confidential proposal, so it is never posted in a channel. When Discord refuses the DM
  (the asker allows none from server members), the interaction's channel gets a note, pinging
  only the asker, that the command was carried out and its answer could not be shown — never
  the answer. A ``link`` is not run that late (its code would be stale): the DM asks the asker
  to run it again. The fallback is logged, and what failed is kept on the journal entry.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import discord

from bot import acks
from bot.discord.buttons import vote_view
from bot.discord.render import CONTENT_CHARS, DiscordReply, render
from bot.messages import CommandCore, CommandJournal, Message, answer_then_close
from charter import commands as c
from charter.grammar import parse_chat

log = logging.getLogger(__name__)

FAILED = Message.text_only("Sorry, that failed on our side. It has been logged; try again.", False)
POSTED = "Posted in the channel."
NOT_ACKNOWLEDGED = "not acknowledged"  # + ": <Discord's error>", on the journal entry
TOKEN_ANSWERABLE_FOR = timedelta(minutes=14)  # an interaction token lives 15 minutes
LATE = "The answer to your command of <t:{unix}:f>, which came too late to show in its channel:"
UNANSWERED = (
    "<@{user}> your command of <t:{unix}:f> was carried out, but its answer came too late to "
    "show here and Discord refused a direct message: run it again to see the answer."
)
RELINK = Message.text_only(
    "A link code is only good for a few minutes and this one would have expired: "
    "run /charter link again.",
    ok=False,
)


async def run_core(core: CommandCore, entry: dict[str, str]) -> Message:
    """Identify the Discord user of ``entry`` (see ``journal_entry``) and run its command; a
    crash becomes an ephemeral error."""
    text, user_id = entry["text"], entry["user_id"]
    try:
        actor = await core.identity("discord", user_id, entry["user_name"])
        return await core.run(text, replace(actor, channel=channel_of(entry)))
    except Exception:
        log.exception("discord command %r failed (user %s)", text.split(" ", 1)[0], user_id)
        return FAILED


def channel_of(entry: dict[str, str]) -> str:
    """The actor's channel: "" in a direct message (no guild), as on every surface, so that
    ``unsubscribe all`` there removes the person's own; an entry journaled before the guild
    was kept (no ``guild_id`` key) keeps its channel id. ``channel_id`` itself stays on the
    entry, for the notice of a refused late DM."""
    if entry.get("guild_id", "-") == "":
        return ""
    return entry["channel_id"]


def journal_entry(interaction: discord.Interaction[Any], text: str) -> dict[str, str]:
    """``text`` with who asked where, and the interaction's follow-up: all that running it
    and answering it needs, now or after a crash."""
    return {
        "text": text,
        "user_id": str(interaction.user.id),
        "user_name": interaction.user.display_name,
        "channel_id": str(interaction.channel_id or ""),
        "guild_id": str(interaction.guild_id or ""),
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
    """Record (with a journal; at most ``ACK_BUDGET`` before the defer), defer, run ``text``
    through the core once recorded, follow up with the answer; a command whose defer Discord
    refused is closed, not run, and one not recorded is not run (see the module rules)."""
    key, entry = str(interaction.id), journal_entry(interaction, text)
    recording = acks.Recording(journal, "discord", key, entry)
    if not await recording.within():
        log.warning("discord command %s: journal write slow; deferring before it ends", key)
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.HTTPException as exc:  # NotFound (10062) when the 3 s had passed
        why = f"{NOT_ACKNOWLEDGED}: {type(exc).__name__}: {exc}"[:500]
        log.warning("discord command %s not run: %s", key, why)
        if journal is not None and await recording.durable():
            await journal.done("discord", key, why)
        return
    if not await recording.durable():
        await send_reply(interaction, render(acks.NOT_RECORDED))
        return
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


async def replay_entry(
    core: CommandCore, client: discord.Client, entry: dict[str, str], age: timedelta
) -> str | None:
    """Run a journalled command a crash stranded ``age`` ago and answer it on its follow-up
    token, or by direct message once the token is past its life; what to keep on its journal
    entry (None when answered)."""
    if age >= TOKEN_ANSWERABLE_FOR:
        return await answer_late(core, client, entry)
    message = await run_core(core, entry)
    await send_reply(_Stranded(client, entry), render(message))  # type: ignore[arg-type]
    return None


async def answer_late(
    core: CommandCore, client: discord.Client, entry: dict[str, str]
) -> str | None:
    """The fallback past the token's life (see the module rules): the command is run and its
    answer sent to the asker by direct message; a DM Discord refuses leaves a note in the
    interaction's channel that says nothing of the answer. What to keep on the journal entry
    (None when the asker got the answer)."""
    user, received = entry["user_id"], datetime.fromisoformat(entry["received_at"])
    if isinstance(parse_chat(entry["text"]), c.Link):  # its code would be stale: ask again
        reply = render(RELINK)
    else:
        reply = render(await run_core(core, entry))
    note = LATE.format(unix=int(received.timestamp()))
    shown = f"{note} {reply.content}" if reply.content else note
    reply = replace(reply, content=shown if len(shown) <= CONTENT_CHARS else note)
    log.warning(
        "discord command of %s received %s: its interaction token expired; answering by "
        "direct message instead",
        user,
        received.isoformat(),
    )
    try:
        dm = await client.create_dm(discord.Object(int(user)))
        await _send(dm, reply)
        return None
    except (discord.HTTPException, ValueError) as exc:
        refused = f"{type(exc).__name__}: {exc}"
    # The answer may be private (an ephemeral reply about a confidential proposal): the channel
    # is only told that there is one, and pinged for nobody but the asker.
    text = UNANSWERED.format(user=user, unix=int(received.timestamp()))
    notice = DiscordReply(text, discord.Embed(), (), (int(user),), ephemeral=False)
    channel = entry["channel_id"]
    log.warning(
        "discord command of %s: direct message refused (%s); noting it in channel %s",
        user,
        refused,
        channel or "(none)",
    )
    try:
        if not channel.isdigit():
            raise ValueError("the interaction named no channel")
        await _send(client.get_partial_messageable(int(channel)), notice)
    except (discord.HTTPException, ValueError) as exc:
        why = f"late answer undelivered: DM {refused}; channel {type(exc).__name__}: {exc}"
        log.warning("discord command of %s received %s: %s", user, received.isoformat(), why)
        return why[:500]
    return f"late answer: DM refused ({refused}); noted in the channel"[:500]


async def _send(target: discord.abc.Messageable, reply: DiscordReply) -> None:
    kwargs: dict[str, Any] = {
        "content": reply.content,
        "allowed_mentions": reply.allowed_mentions(),
    }
    if reply.embed:  # an embed with nothing in it is refused by Discord
        kwargs["embed"] = reply.embed
    if reply.buttons:
        kwargs["view"] = vote_view(reply.buttons)
    await target.send(**kwargs)
