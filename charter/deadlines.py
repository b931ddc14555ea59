"""Timers: when a proposal's review ends, when its voting closes, and what fires now.

Every deadline is computed from the proposal's stored timestamps (``entered_review_at``,
``voting_opened_at``) and its track, never kept in a scheduler, so a restart loses nothing:
the scheduler asks :func:`next_due_at` when to wake, then :func:`due` what fired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from charter.lifecycle import Event, State
from charter.model import Charter
from charter.proposal import CLOSING_EVENT, Proposal, review_ends, tally_of, track_of, voting_window


@dataclass(frozen=True)
class Deadlines:
    """A proposal's timeline as stored; ``None`` where a step has not been reached or planned.

    ``voting_opens`` is the actual opening once voting has opened, else the planned one (the
    end of review). ``confirm_until`` is when the outcome with every seat voted becomes final
    if no vote flips it (tracks with ``confirm``); ``lazy_until`` is when lazy consensus would
    end if voting closes without quorum (tracks with ``lazy_consensus``).
    """

    review_ends: datetime | None
    voting_opens: datetime | None
    voting_closes: datetime | None
    confirm_until: datetime | None = None
    lazy_until: datetime | None = None


def deadlines(p: Proposal, charter: Charter) -> Deadlines:
    """The deadlines of ``p`` from its stored timestamps and its track."""
    track = track_of(p, charter)
    ends = review_ends(p, charter) if p.entered_review_at is not None else None
    opens = p.voting_opened_at or ends
    closes = opens + track.voting if opens is not None else None
    lazy = track.lazy_consensus
    lazy_until = closes + lazy if closes is not None and lazy is not None else None
    confirm_until = None
    if p.state is State.VOTING:
        # As stored: the tally just after the last recorded input (a vote or a concern).
        opened, _ = voting_window(p, charter)
        last = max([opened, *inputs(p)])
        confirm_until = tally_of(p, charter, last).confirm_until
    return Deadlines(ends, opens, closes, confirm_until, lazy_until)


def inputs(p: Proposal) -> list[datetime]:
    """The instants at which ``p``'s input changed what the tally sees: each vote, and each
    concern raised or resolved (the tally counts the concerns open at its moment)."""
    raised = [c.raised_at for c in p.concerns]
    resolved = [c.resolved_at for c in p.concerns if c.resolved_at is not None]
    return [*(v.at for v in p.votes), *raised, *resolved]


def due(p: Proposal, charter: Charter, now: datetime) -> Event | None:
    """The timer event that fires for ``p`` at ``now``, if any.

    - in review: ``review-ended`` once the track's ``review`` has gone by (voting opens);
    - in voting: a ``voting-closed-*`` event once the tally's outcome is settled — at voting
      close, early when every seat has voted (after ``confirm``), on a veto, or when lazy
      consensus ends (see :func:`charter.votes.tally`);
    - otherwise nothing.
    """
    if p.state is State.REVIEW:
        return Event.REVIEW_ENDED if now >= review_ends(p, charter) else None
    if p.state is State.VOTING:
        return CLOSING_EVENT.get(tally_of(p, charter, now).outcome)
    return None


def next_due_at(p: Proposal, charter: Charter) -> datetime | None:
    """The earliest moment at which :func:`due` fires, from what is stored; ``None`` if never.

    The result may lie in the past (the proposal is overdue: fire at once). New input (a vote,
    a resolved concern) can change it, so the scheduler asks again after every change. An
    input that settles the outcome makes its own instant the answer: a bot that leaves such a
    close to the timer (``grace``, :func:`charter.proposal_votes.cast_vote`) fires it
    then, plus the grace.
    """
    if p.state is State.REVIEW:
        return review_ends(p, charter)
    if p.state is not State.VOTING:
        return None
    # The tally only changes at an input (a vote, a concern raised or resolved), at a confirm
    # end, at voting close and at lazy end; checking those instants in order finds the first
    # one at which it settles.
    opened, closes = voting_window(p, charter)
    track = track_of(p, charter)
    end = closes + track.lazy_consensus if track.lazy_consensus is not None else closes
    instants = {opened, closes, *inputs(p)}
    if track.confirm is not None:
        # A confirm end only exists while voting is open (``tally`` sets ``confirm_until`` in
        # no other case), so only the instants in [opened, closes) can add one.
        for moment in [m for m in instants if opened <= m < closes]:
            confirm = tally_of(p, charter, moment).confirm_until
            if confirm is not None:
                instants.add(confirm)
    for moment in sorted(m for m in instants if m < end):
        if due(p, charter, moment) is not None:
            return moment
    return end
