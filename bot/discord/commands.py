"""The ``/charter`` slash-command group: options in, the chat command text out.

Rules:
- Each subcommand builds the same text a Slack user would type after ``/charter`` (for
  example ``vote 42 approve needs the v2 schema``) and hands it to the core, which parses,
  authorizes and answers. Discord's option checks (choices, ranges) help the user but are not
  enforced on receipt, so the core validates everything again.
- Option values are flattened to one line (runs of whitespace, newlines included, become one
  space), so a value can never smuggle in a second command.
- Proposal-number options autocomplete from ``core.open_proposals`` (open ones first, ≤ 25).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord
from discord import app_commands

from bot.discord.reply import answer
from bot.messages import CommandCore, CommandJournal

log = logging.getLogger(__name__)

Number = app_commands.Range[int, 1, 2_000_000_000]
Choice = Literal["approve", "reject", "abstain"]
MAX_CHOICES = 25


def command_text(*parts: object) -> str:
    """The chat command for ``parts``; None parts are left out, each part is one line."""
    return " ".join(" ".join(str(p).split()) for p in parts if p is not None and str(p).strip())


class CharterGroup(app_commands.Group):
    """``/charter …``: every governance command available from Discord."""

    def __init__(self, core: CommandCore, journal: CommandJournal | None = None) -> None:
        super().__init__(name="charter", description="Proposals, votes and concerns (charterbot)")
        self.core = core
        self.journal = journal

    async def _run(self, interaction: discord.Interaction[Any], *parts: object) -> None:
        await answer(self.core, interaction, command_text(*parts), self.journal)

    @app_commands.command(description="List proposals, open ones first")
    async def proposals(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "proposals")

    @app_commands.command(description="Show one proposal: state, votes, deadlines")
    @app_commands.describe(number="Proposal (issue) number")
    async def show(self, interaction: discord.Interaction[Any], number: Number) -> None:
        await self._run(interaction, "show", number)

    @app_commands.command(description="Vote on a proposal in its voting window")
    @app_commands.describe(
        number="Proposal (issue) number",
        choice="Your vote; a later vote replaces an earlier one",
        reason="Why (recorded in the audit log)",
    )
    async def vote(
        self,
        interaction: discord.Interaction[Any],
        number: Number,
        choice: Choice,
        reason: str | None = None,
    ) -> None:
        await self._run(interaction, "vote", number, choice, reason)

    @app_commands.command(description="Raise a blocking concern on a proposal")
    @app_commands.describe(number="Proposal (issue) number", text="The concern, in one line")
    async def concern(
        self, interaction: discord.Interaction[Any], number: Number, text: str
    ) -> None:
        await self._run(interaction, "concern", number, text)

    @app_commands.command(description="Resolve a concern you raised")
    @app_commands.describe(
        number="Proposal (issue) number", concern="Which concern (its id or text)"
    )
    async def resolve(
        self, interaction: discord.Interaction[Any], number: Number, concern: str | None = None
    ) -> None:
        await self._run(interaction, "resolve", number, concern)

    @app_commands.command(description="Withdraw your own proposal")
    @app_commands.describe(number="Proposal (issue) number", reason="Why it is withdrawn")
    async def withdraw(
        self, interaction: discord.Interaction[Any], number: Number, reason: str | None = None
    ) -> None:
        await self._run(interaction, "withdraw", number, reason)

    @app_commands.command(description="Link your Discord account to your GitHub login")
    async def link(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "link")

    @app_commands.command(description="Show who the bot thinks you are and your roles")
    async def whoami(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "whoami")

    @app_commands.command(name="help", description="How to use charterbot")
    @app_commands.describe(topic="A command or topic, e.g. vote")
    async def help_(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await self._run(interaction, "help", topic)

    @show.autocomplete("number")
    @vote.autocomplete("number")
    @concern.autocomplete("number")
    @resolve.autocomplete("number")
    @withdraw.autocomplete("number")
    async def _numbers(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        try:
            found = await self.core.open_proposals(str(current or "").strip())
        except Exception:  # autocomplete must answer fast; an empty list beats an error
            log.exception("autocomplete of proposal numbers failed")
            return []
        return [
            app_commands.Choice(name=f"#{n} {title}"[:100], value=n)
            for n, title in found[:MAX_CHOICES]
        ]
