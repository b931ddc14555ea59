"""The ``/charter`` slash-command group: options in, the chat command text out.

Rules:
- Each subcommand builds the same text a Slack user would type after ``/charter`` (for
  example ``vote 42 approve needs the v2 schema``) and hands it to the core, which parses,
  authorizes and answers. Discord's option checks (choices, ranges) help the user but are not
  enforced on receipt, so the core validates everything again.
- The typed subcommands take exactly the grammar's arguments (``charter.grammar``): ``withdraw``
  takes only the number; ``concern`` a one-word ``name`` and its ``text``; ``resolve`` the
  required ``name``; ``feedback`` the ``people`` to ask (logins, each sent as ``@login``, the
  list ended by ``:`` before a ``note``) and the optional ``note``.
- ``/charter rollout pause|resume`` is a nested group, named by the grammar's words
  (``rollout pause <n> "<reason>"``): stopping a rollout is urgent enough to be typed. The
  bare ``rollout <n>`` (a group cannot be run itself on Discord) is reached through ``run``.
- ``/charter run text:<command>`` reaches every command of the grammar: its text goes to the
  core as Slack's ``/charter <text>`` does (a leading ``/charter`` pasted from a help line is
  dropped). Discord allows 25 subcommands per group; this one keeps the group well inside.
- Option values are flattened to one line (runs of whitespace, newlines included, become one
  space), so a value can never smuggle in a second command.
- An option the grammar reads as one word (a concern name, the vote choice) must be one word
  that the grammar cannot read as anything else: no whitespace, no ``:`` (it ends a concern
  name), no quote mark, not empty. Any other value is refused at once, ephemerally, and the core
  is not asked: joined into the text it would be misread (``gas limit`` as the name ``gas``).
- Proposal-number options autocomplete from ``core.open_proposals`` (open ones first, ≤ 25).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

import discord
from discord import app_commands

from bot.discord.render import render
from bot.discord.reply import answer
from bot.messages import CommandCore, CommandJournal, Message
from charter.text import quoted

log = logging.getLogger(__name__)

Number = app_commands.Range[int, 1, 2_000_000_000]
Choice = Literal["approve", "reject", "abstain"]
MAX_CHOICES = 25

NAME_RULE = "one word: lowercase letters, digits, - or _, e.g. gas-limit"
_NOT_IN_A_WORD = re.compile(r"[\s:\"“”„]")
_PASTED_PREFIX = re.compile(r"^/?charter(?=\s|$)\s*", re.IGNORECASE)


class Unreadable(ValueError):
    """An option value the grammar would read as something other than what was given."""


@dataclass(frozen=True)
class Word:
    """An option the grammar reads as one word (``what`` names it in a refusal); ``suffix``
    follows it directly, e.g. the ``:`` after a concern name."""

    value: str
    what: str
    rule: str
    suffix: str = ""

    def text(self) -> str:
        word = self.value.strip()
        if not word or _NOT_IN_A_WORD.search(word):
            raise Unreadable(f"The {self.what} is {self.rule}; {quoted(self.value)} is not.")
        return word + self.suffix


@dataclass(frozen=True)
class People:
    """The ``people`` option of ``feedback``: logins separated by spaces or commas, each read
    as ``@login`` (an "@" is added where it was left out, so no login is misread as the start
    of the note); ``ends_list`` adds the ``:`` that ends the list before a note."""

    value: str
    ends_list: bool = False

    def text(self) -> str:
        words = self.value.replace(",", " ").split()
        if not words or any(_NOT_IN_A_WORD.search(w) for w in words):
            raise Unreadable(
                f"Name the people to ask as GitHub logins, e.g. @bob-aurora @carol;"
                f" {quoted(self.value)} is not."
            )
        named = " ".join(w if w.startswith(("@", "<@")) else f"@{w}" for w in words)
        return named + (":" if self.ends_list else "")


def command_text(*parts: object) -> str:
    """The chat command for ``parts``; None parts are left out, each part is one line, and a
    ``Word`` must be one word (else ``Unreadable``)."""
    shown = (p.text() if isinstance(p, Word | People) else p for p in parts if p is not None)
    return " ".join(" ".join(str(p).split()) for p in shown if str(p).strip())


def typed_text(text: str) -> str:
    """The text of ``/charter run``: one line, without a pasted leading ``/charter``."""
    return _PASTED_PREFIX.sub("", command_text(text), count=1)


async def refuse(interaction: discord.Interaction[Any], problem: str) -> None:
    """Answer at once, ephemerally, that an option could not be read (nothing was run)."""
    reply = render(Message.text_only(problem, ok=False))
    await interaction.response.send_message(
        embed=reply.embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )


class CharterGroup(app_commands.Group):
    """``/charter …``: the common commands typed, and every other one through ``run``."""

    def __init__(self, core: CommandCore, journal: CommandJournal | None = None) -> None:
        super().__init__(name="charter", description="Proposals, votes and concerns (charterbot)")
        self.core = core
        self.journal = journal

    async def _run(self, interaction: discord.Interaction[Any], *parts: object) -> None:
        try:
            text = command_text(*parts)
        except Unreadable as problem:
            await refuse(interaction, str(problem))
            return
        await answer(self.core, interaction, text, self.journal)

    @app_commands.command(description="Any charterbot command as text; every line of /charter help")
    @app_commands.describe(text="The command and its arguments, e.g. subscribe me severity >= sev2")
    async def run(self, interaction: discord.Interaction[Any], text: str) -> None:
        await answer(self.core, interaction, typed_text(text), self.journal)

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
        choice_word = Word(choice, "vote", "approve, reject or abstain")
        await self._run(interaction, "vote", number, choice_word, reason)

    @app_commands.command(description="Raise a blocking concern on a proposal")
    @app_commands.describe(
        number="Proposal (issue) number",
        name=f"Short name for the concern, {NAME_RULE}",
        text="The concern itself, in one line",
    )
    async def concern(
        self, interaction: discord.Interaction[Any], number: Number, name: str, text: str
    ) -> None:
        name_word = Word(name, "concern name", NAME_RULE, suffix=":")
        await self._run(interaction, "concern", number, name_word, text)

    @app_commands.command(description="Resolve a concern you raised")
    @app_commands.describe(
        number="Proposal (issue) number", name="The concern's name, as raised, e.g. gas-limit"
    )
    async def resolve(
        self, interaction: discord.Interaction[Any], number: Number, name: str
    ) -> None:
        await self._run(interaction, "resolve", number, Word(name, "concern name", NAME_RULE))

    @app_commands.command(description="Ask people for feedback on a proposal; it does not block")
    @app_commands.describe(
        number="Proposal (issue) number",
        people="Their GitHub logins, e.g. @bob-aurora @carol (at most 10)",
        note="What you would like them to look at",
    )
    async def feedback(
        self,
        interaction: discord.Interaction[Any],
        number: Number,
        people: str,
        note: str | None = None,
    ) -> None:
        asked = People(people, ends_list=bool(note and note.strip()))
        await self._run(interaction, "feedback", number, asked, note)

    @app_commands.command(description="Withdraw your own proposal")
    @app_commands.describe(number="Proposal (issue) number")
    async def withdraw(self, interaction: discord.Interaction[Any], number: Number) -> None:
        await self._run(interaction, "withdraw", number)

    @app_commands.command(description="Link your Discord account to your GitHub login")
    async def link(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "link")

    @app_commands.command(description="Show who the bot thinks you are and your roles")
    async def whoami(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "whoami")

    @app_commands.command(description="What awaits you: votes your seats owe, your open concerns")
    async def todo(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, "todo")

    @app_commands.command(name="help", description="How to use charterbot")
    @app_commands.describe(topic="A command or topic, e.g. vote")
    async def help_(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await self._run(interaction, "help", topic)

    rollout = app_commands.Group(name="rollout", description="Hold a rollout by hand or lift it")

    @rollout.command(name="pause", description="Stop a rollout: no stage is entered until resumed")
    @app_commands.describe(
        number="Proposal (issue) number",
        reason="Why it must stop (announced and recorded in the audit log)",
    )
    async def rollout_pause(
        self, interaction: discord.Interaction[Any], number: Number, reason: str
    ) -> None:
        await self._run(interaction, "rollout pause", number, reason)

    @rollout.command(name="resume", description="Lift a rollout's hold by hand (coordinators)")
    @app_commands.describe(
        number="Proposal (issue) number",
        override="Lift its incidents' holds too (override roles; give the reason)",
        reason="Why it may go on (recorded in the audit log)",
    )
    async def rollout_resume(
        self,
        interaction: discord.Interaction[Any],
        number: Number,
        override: bool = False,
        reason: str | None = None,
    ) -> None:
        await self._run(
            interaction, "rollout resume", number, "--override" if override else None, reason
        )

    @show.autocomplete("number")
    @vote.autocomplete("number")
    @concern.autocomplete("number")
    @resolve.autocomplete("number")
    @feedback.autocomplete("number")
    @withdraw.autocomplete("number")
    @rollout_pause.autocomplete("number")
    @rollout_resume.autocomplete("number")
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
