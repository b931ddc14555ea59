"""The decisions that move a proposal through its lifecycle: into review, into voting, out of
it by withdrawal or by the close its tally settles.

Each is a pure function ``(proposal, charter, …, now) -> Decision`` (:mod:`charter.proposal`
states the rules every decision shares). The timers (:mod:`charter.deadlines`) call
:func:`open_voting` and :func:`close_if_due`; input that may settle the outcome (a vote, a
resolved concern) ends with :func:`close_if_settled`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from charter.effects import Comment, Effect, Reply
from charter.lifecycle import Event, State, is_open
from charter.model import Charter
from charter.proposal import (
    CLOSING_EVENT,
    Decision,
    NotDue,
    Proposal,
    announce,
    refuse,
    review_ends,
    rules_for,
    settled_note,
    tally_of,
    track_of,
    transition,
    why_settled,
)
from charter.votes import Outcome, seats, when


def close_if_settled(
    p: Proposal, charter: Charter, effects: list[Effect], now: datetime, grace: timedelta
) -> Decision:
    """Close ``p`` if the input just applied settled its outcome. With a ``grace`` the close is
    left to the timer, which fires ``grace`` after the settling instant and judges ``p`` as it
    stood then: a vote cast before this input but arriving after it (a GitHub veto dated before
    the chat vote that filled the last seat) still counts."""
    closing = close_if_due(p, charter, now)
    if not closing.effects:
        return Decision(p, tuple(effects))
    if grace > timedelta(0):
        outcome = tally_of(p, charter, now).outcome  # the tally close_if_due just read
        return Decision(p, (*effects, Reply(text=settled_note(p, outcome, grace))))
    return Decision(closing.proposal, (*effects, *closing.effects))


def enter_review(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """A draft whose form passed intake enters review; review lasts the track's ``review``."""
    charter = rules_for(p, charter)
    track = track_of(p, charter)
    moved, effects = transition(p, charter, Event.INTAKE_VALID, now, {}, entered_review_at=now)
    text = f"{p.track} proposal by {p.author}; review until {when(now + track.review)}"
    effects.append(announce(p, charter, "proposal-opened", f"#{p.number} {p.title}", text))
    return Decision(moved, tuple(effects))


def open_voting(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """Once review has ended, voting opens for the track's ``voting`` window, counted from now.

    Counting from the actual opening (not the planned one) gives voters the full window even
    when the bot was down when review ended.
    """
    charter = rules_for(p, charter)
    track, ends = track_of(p, charter), review_ends(p, charter)
    if now < ends:
        raise NotDue(f"review of #{p.number} runs until {when(ends)}; voting cannot open yet")
    moved, effects = transition(p, charter, Event.REVIEW_ENDED, now, {}, voting_opened_at=now)
    closes = now + track.voting
    count = len(seats(track, charter))
    text = f"{count} seats may vote until {when(closes)} (quorum {track.quorum:.0%})"
    title = f"Voting opened on #{p.number} {p.title}"
    effects.append(announce(p, charter, "voting-opened", title, text))
    return Decision(moved, tuple(effects))


def withdraw(
    p: Proposal, charter: Charter, actor_login: str, is_coordinator: bool, now: datetime
) -> Decision:
    """The author or a coordinator may withdraw an open proposal; that is final. Not once the
    votes have settled its outcome (the timer closes it with that outcome): like a vote, a
    withdrawal must come while the outcome is still open. The withdrawal is audited, and
    announced only if the proposal was (from review on): subscribers never heard of a draft."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        return refuse(p, actor_login, "withdraw", f"#{p.number} is already {p.state.value}")
    if actor_login.lower() != p.author.lower() and not is_coordinator:
        why = f"only the author ({p.author}) or a coordinator may withdraw #{p.number}"
        return refuse(p, actor_login, "withdraw", why)
    settled = why_settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "withdraw", settled)
    moved, effects = transition(
        p,
        charter,
        Event.WITHDRAWN,
        now,
        {"by": actor_login},
        withdrawn_by=actor_login,
        decided_at=now,
    )
    text = f"#{p.number} {p.title} was withdrawn by {actor_login}."
    if p.state is not State.DRAFT:  # a draft was never announced (that comes with review):
        effects.append(announce(p, charter, "decision", decision_title(p, "withdrawn"), text))
    effects += [Comment(p.number, text, key=f"withdrawn:{p.number}"), Reply(text=text)]
    return Decision(moved, tuple(effects))


def decision_title(p: Proposal, outcome: str) -> str:
    """The title of a decision's announcement: the proposal as announced, then its outcome."""
    return f"#{p.number} {p.title}: {outcome}"


def close_if_due(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """Close voting once the tally has settled the outcome (see :func:`charter.votes.tally`).

    Nothing happens (no effects) unless the proposal is in voting and the outcome is settled.
    """
    charter = rules_for(p, charter)
    if p.state is not State.VOTING:
        return Decision(p)
    result = tally_of(p, charter, now)
    if result.outcome is Outcome.PENDING:
        return Decision(p)
    outcome, summary = result.outcome, result.summary()
    payload = {"outcome": outcome.value, "reason": result.reason, "tally": summary}
    event = CLOSING_EVENT[outcome]
    moved, effects = transition(p, charter, event, now, payload, decided_at=now, outcome=outcome)
    counts = f"{result.approve} approve, {result.reject} reject, {result.abstain} abstain"
    body = (
        f"**Decision: {outcome.value}.** {result.reason[:1].upper()}{result.reason[1:]}.\n\n"
        f"Votes: {counts} of {len(result.seats)} seats. Charter version {charter.version}."
    )
    effects += [
        announce(p, charter, "decision", decision_title(p, outcome.value), result.reason),
        Comment(p.number, body, key=f"decision:{p.number}"),
    ]
    return Decision(moved, tuple(effects))
