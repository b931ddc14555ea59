"""The Discord client: one ``/charter`` command group and persistent vote buttons.

Rules:
- Mentions are off for the whole client (``AllowedMentions.none()``); a message may ping only
  the users it lists (see ``render``).
- No privileged intents: slash commands and buttons arrive as interactions. Only ``guilds`` is
  on (not privileged), so discord.py can resolve the guild an interaction comes from.
- On start the command tree is synced: to one guild when ``DISCORD_GUILD_ID`` is set (instant,
  for a single community or development), else globally — but only when the definitions
  changed. Discord limits command creates (200 a day per guild), so the hash of what a sync
  sends (per application and guild, or ``global``) is kept in ``synced`` (durable: the
  ``kv_state`` table in the serve process) once Discord accepted it, and a start whose hash
  equals the stored one does not sync. A failed sync records nothing, so the next start tries
  again. Without ``synced`` every start syncs. Vote buttons are registered as dynamic items so
  clicks on old messages still work after a restart.
- With a journal, every command and click is recorded before it is acknowledged (``reply``).
- ``DISCORD_API_URL`` points discord.py at another API server. discord.py reads the base URL
  from a class attribute, so this is process-wide: every client in the process uses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.discord.buttons import VoteButton
from bot.discord.commands import CharterGroup
from bot.discord.reply import answer
from bot.messages import CommandCore, CommandJournal

log = logging.getLogger(__name__)
SYNCED_KEY = "discord:commands:{application}:{guild}"  # guild: its id, or "global"


class SyncedHashes(Protocol):
    """Where the hash of the last command definitions Discord accepted is kept."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, digest: str) -> None: ...


def set_api_url(api_url: str) -> None:
    """Send every discord.py REST call (this whole process) to ``api_url``, e.g.
    ``http://127.0.0.1:8081/api/v10``."""
    if not api_url.startswith(("http://", "https://")):
        raise ValueError(
            f"DISCORD_API_URL must be an http(s) URL ending in /api/v10, got {api_url!r}"
        )
    discord.http.Route.BASE = api_url.rstrip("/")


def parse_guild_id(value: str | None) -> int | None:
    """``DISCORD_GUILD_ID`` as a snowflake, None when unset; anything else is refused."""
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValueError(
            f"DISCORD_GUILD_ID must be the numeric server id (Developer Mode → Copy Server ID), "
            f"got {value!r}"
        )
    return int(value)


class CharterBot(discord.Client):
    def __init__(
        self,
        core: CommandCore,
        *,
        guild_id: int | None = None,
        api_url: str | None = None,
        journal: CommandJournal | None = None,
        synced: SyncedHashes | None = None,
        **options: Any,
    ) -> None:
        if api_url:
            set_api_url(api_url)
        super().__init__(
            intents=discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.core = core
        self.journal = journal
        self.synced = synced
        self.guild = discord.Object(guild_id) if guild_id else None
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(CharterGroup(core, journal), guild=self.guild)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton)
        await self.sync_commands()

    def commands_digest(self) -> str:
        """The hash of the command definitions a sync would send (the same payload)."""
        payload = [
            command.to_dict(self.tree) for command in self.tree.get_commands(guild=self.guild)
        ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands(self) -> bool:
        """Register the commands with Discord unless the definitions are the ones it last
        accepted (see the module rules); True when a sync was sent."""
        if self.synced is None:
            await self.tree.sync(guild=self.guild)
            return True
        where = str(self.guild.id) if self.guild else "global"
        key = SYNCED_KEY.format(application=self.application_id, guild=where)
        digest = self.commands_digest()
        if await self.synced.get(key) == digest:
            log.info(
                "discord commands unchanged since their last sync (%s): not re-registered", where
            )
            return False
        await self.tree.sync(guild=self.guild)  # an error here records nothing: synced next start
        try:
            await self.synced.put(key, digest)
        except Exception:  # registered all the same; the next start only syncs once more
            log.exception("recording the synced discord command hash failed")
        log.info("discord commands registered (%s)", where)
        return True

    async def handle_vote(
        self, interaction: discord.Interaction[Any], number: int, choice: str
    ) -> None:
        """A vote button was clicked: vote as the clicking user."""
        await answer(self.core, interaction, f"vote {number} {choice}", self.journal)
