"""When voting closes may fire after a start: once GitHub intake has caught up (``IntakeGate``).

The rule is :class:`IntakeGate`'s; :func:`catch_up` is its verdict, given how far behind intake
is and how long closes have waited.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.clock import Clock
from storage import inbox
from storage.db import read_scope
from storage.models.core import InboxRow

log = logging.getLogger("charterbot")

# How long voting closes wait, after a start or on becoming leader, for GitHub intake to catch
# up (IntakeGate): a poll or reconcile pass over a busy repository fits well inside it; GitHub
# unreachable or rate-limited then delays a decision by minutes, not for as long as it lasts.
INTAKE_CATCH_UP_LIMIT = timedelta(minutes=10)
# The inbox sources the worker processes: webhook deliveries (and recovered ones), and polling.
GITHUB_SOURCES = ("github", "poll")


class CatchUp(StrEnum):
    WAITING = "waiting"
    CAUGHT_UP = "caught-up"
    GAVE_UP = "gave-up"


def catch_up(behind: int | None, waited: timedelta, limit: timedelta) -> CatchUp:
    """Where intake stands for voting closes held since a start: caught up once GitHub was
    read once (``behind`` is not None) and the inbox holds nothing stored by then still to
    process (``behind`` == 0); given up once ``limit`` has been waited without that; else
    waiting."""
    if behind == 0:
        return CatchUp.CAUGHT_UP
    return CatchUp.GAVE_UP if waited >= limit else CatchUp.WAITING


class IntakeGate:
    """Whether voting closes may fire now (``Governance.closes_may_fire``).

    Rule: after this process starts or becomes leader (``close``), no voting close fires until
    GitHub intake has caught up once — a complete poll in poll mode, a complete reconcile pass
    in webhook mode with the hook id (``fetched``), nothing to fetch in webhook mode without it
    — and the inbox holds no GitHub delivery stored by then that is still to be processed. A
    vote cast before a deadline while the bot was down is then counted before the deadline is
    judged, instead of the tick (a local step) beating the GitHub round trips. Other timers
    (review ends, meetings, rollouts) do not wait. If intake has not caught up within ``limit``
    (GitHub unreachable, rate-limited, a delivery failing), closes fire anyway, with a warning
    saying why. With GitHub off the gate is never closed.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        fetches: Literal["poll", "reconcile"] | None,
        limit: timedelta = INTAKE_CATCH_UP_LIMIT,
    ) -> None:
        self._engine, self._clock = engine, clock
        self._fetches, self._limit = fetches, limit
        self._since: datetime | None = None  # closed since; None: open
        self._through: int | None = None  # inbox rows up to this id must be processed first
        self._why = ""

    @property
    def is_open(self) -> bool:
        return self._since is None

    def close(self) -> None:
        """Hold voting closes until intake has caught up (at start, and on becoming leader)."""
        self._since = self._clock.now()
        self._through = None if self._fetches else self._last_row()
        self._why = f"no complete GitHub {self._fetches} yet" if self._fetches else ""
        log.info("voting closes wait until GitHub intake has caught up")

    def fetched(self) -> None:
        """A complete poll or reconcile pass: what it stored is processed before closes fire."""
        if self._since is not None and self._through is None:
            self._through = self._last_row()

    def failed(self, why: str) -> None:
        """A poll or reconcile pass that did not complete, and why (for the warning)."""
        if self._since is not None and self._through is None:
            self._why = why

    def __call__(self, now: datetime) -> bool:
        since = self._since
        if since is None:
            return True
        behind = None if self._through is None else self._behind(self._through)
        verdict = catch_up(behind, now - since, self._limit)
        if verdict is CatchUp.WAITING:
            return False
        self._since = None
        if verdict is CatchUp.CAUGHT_UP:
            log.info("GitHub intake caught up: voting closes fire")
            return True
        why = self._why if behind is None else f"{behind} GitHub deliveries still to process"
        log.warning(
            "GitHub intake has not caught up within %s (%s): voting closes fire anyway, and"
            " votes cast before a deadline that arrive later are refused",
            self._limit,
            why,
        )
        return True

    def _last_row(self) -> int:
        with read_scope(self._engine) as session:
            return session.exec(select(sa.func.max(col(InboxRow.id)))).one() or 0

    def _behind(self, through: int) -> int:
        """GitHub deliveries up to ``through`` not processed yet (failed ones aside: they wait
        for an operator)."""
        stmt = (
            select(sa.func.count())
            .select_from(InboxRow)
            .where(col(InboxRow.id) <= through)
            .where(col(InboxRow.processed_at).is_(None))
            .where(col(InboxRow.attempts) < inbox.MAX_ATTEMPTS)
            .where(col(InboxRow.source).in_(GITHUB_SOURCES))
        )
        with read_scope(self._engine) as session:
            return session.exec(stmt).one()
