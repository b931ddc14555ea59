"""Acknowledging a chat command in time when the journal write is slow.

Rules:
- Every accepted command is durable before it is acknowledged: its journal entry
  (``CommandJournal.record``) is written before the ack, and only then is it run.
- A platform's interim acknowledgment — a Discord ``defer()`` ("thinking…"), an empty or
  "working on it" Slack ack of a slash command or a button — is *not* acceptance: it only keeps
  the request alive. So the write is started at once and given ``ACK_BUDGET``; done within it,
  the command is acknowledged as always (no extra message). Still running at the budget, the
  platform gets its interim acknowledgment then, and the command is run and answered (on the
  Discord follow-up, or Slack's response_url) once the write has committed.
- A write that fails is never silence: the person is told the command was NOT recorded, so
  nothing was done, and to try again (``NOT_RECORDED``). Nothing was accepted, so nothing is
  lost; a crash between the interim acknowledgment and the commit loses a command nobody was
  told was accepted (Discord then shows its own "did not respond").
- Slack Events API deliveries (``@mentions``) keep the write before the HTTP 2xx: Slack retries
  an event not acknowledged within 3 s with the same ``event_id``, and the journal (keyed by it)
  gives a redelivery no second effect, so a slow write costs a retry, never a lost or doubled
  mention (see ``bot.slack.app``).
"""

from __future__ import annotations

import asyncio
import logging

from bot.messages import CommandJournal, Message

log = logging.getLogger(__name__)

# Seconds the journal write may take before the interim acknowledgment is sent. Discord
# invalidates an interaction not answered within 3 s and Bolt answers a slash command or a
# button 404 when it is not acked within 3 s; 2 s leaves a second for the ack's own round trip
# and the time the request spent reaching us (a normal write takes milliseconds).
ACK_BUDGET = 2.0

NOT_RECORDED = Message.text_only(
    "Your command was NOT recorded, so nothing was done: our database did not take it. "
    "Please try again in a moment.",
    ok=False,
)


class Recording:
    """One journal write, started on creation (none without a journal)."""

    def __init__(
        self, journal: CommandJournal | None, surface: str, key: str, entry: dict[str, str]
    ) -> None:
        self.surface, self.key = surface, key
        self._task: asyncio.Future[bool] | None = None
        if journal is not None:
            self._task = asyncio.ensure_future(journal.record(surface, key, entry))

    async def within(self, budget: float | None = None) -> bool:
        """Wait for the write at most ``budget`` seconds (``ACK_BUDGET`` when None); True when
        it finished (committed or failed) in time, False when the interim ack is due."""
        if self._task is None:
            return True
        done, _ = await asyncio.wait({self._task}, timeout=ACK_BUDGET if budget is None else budget)
        return bool(done)

    async def durable(self) -> bool:
        """Wait for the write to end: True when committed (or no journal), False when it failed
        (logged; the command must not run and the person is told ``NOT_RECORDED``)."""
        if self._task is None:
            return True
        try:
            await asyncio.shield(self._task)  # a cancelled handler leaves the write to finish
        except Exception:
            log.exception("%s command %s not recorded: not run", self.surface, self.key)
            return False
        return True
