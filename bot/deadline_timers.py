"""Proposal deadlines fire from stored timestamps.

Rules:
- What is due is read from the store (``proposal.next_due_at``), never held in memory: a
  deadline that passed while the bot was down fires at the next tick.
- A proposal in voting is judged as it stood ``vote_grace`` ago, so a vote cast before its
  deadline but processed after it still counts; the decision is dated then.
- Voting closes only when ``closes_may_fire`` (after a start, once GitHub intake caught up).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.metrics import METRICS
from charter.deadlines import due as due_event, next_due_at
from charter.lifecycle import Event, State
from charter.model import Charter
from charter.proposal import rules_for
from charter.proposal_transitions import close_if_due, open_voting
from storage import proposals as repo

if TYPE_CHECKING:
    from bot.service import Governance


def fire(
    gov: Governance, session: Session, number: int, now: datetime, *, closes: bool = True
) -> int:
    """Fire what is due for one proposal. A proposal in voting is judged as it stood
    ``vote_grace`` ago, so a vote cast before its deadline but processed after it still
    counts; the decision is dated then (at the deadline, give or take the tick). Unless
    ``closes`` (``closes_may_fire``), voting stays open: it is judged once votes cast while
    the bot was down have been read."""
    stored = repo.load(session, number, for_update=True)
    if stored is None:
        return 0
    p = stored.proposal
    if p.state is State.VOTING and not closes:
        return 0
    rules = gov.rules_for(p)
    at = now - gov.vote_grace if p.state is State.VOTING else now
    event = due_event(p, rules, at) if p.track in rules.tracks else None
    if event is None:
        repo.save(session, stored, rules, now)  # refresh next_due_at
        return 0
    decision = (
        open_voting(p, rules, at) if event is Event.REVIEW_ENDED else close_if_due(p, rules, at)
    )
    if decision.proposal == p:
        repo.save(session, stored, rules, now)
        return 0
    lag = (at - (stored_due(stored, rules) or at)).total_seconds()
    METRICS.deadline_lag.observe(max(0.0, lag))
    gov.apply(session, decision, "charterbot", now)
    return 1


def stored_due(stored: repo.Stored, charter: Charter) -> datetime | None:
    p = stored.proposal
    return next_due_at(p, charter) if p.track in rules_for(p, charter).tracks else None
