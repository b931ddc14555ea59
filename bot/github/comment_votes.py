"""The votes GitHub comments cast: recounted from the stored comments, each authorized.

Rules:
- On ``edited`` and ``deleted`` of a stored comment the votes are recomputed from the whole
  comment history (as Prow does), so a missed or repeated event never leaves a wrong tally
  (:func:`recompute`).
- Each vote a comment holds is judged by the one ``charter.authz.authorize_command``, as the
  comment's author, against the charter version the proposal was opened under
  (:func:`judge_votes`): it is either counted or refused, never both, never neither. What
  counts is what it allows (:func:`comment_votes`); what it refuses is answered when it came:
  by the comment's commands on creation, or, brought by an edit, by
  :mod:`bot.github.vote_refusals`. So whatever it refuses a new comment it refuses an edited
  one.
- A comment's vote is dated by when it was cast: the comment's creation, or the edit that
  changed which way it votes (:func:`choices`); none counts from before voting opened. An edit
  that leaves the votes as they were (a typo fixed, a reason reworded) recasts nothing, so it
  cannot bring back a vote a later one replaced.
- A change is judged as a vote cast then would be
  (``charter.proposal_votes.recompute_votes``): once the outcome has settled (voting closed,
  or the last seat voted, while the close waits for the grace), an edit that votes another
  way is refused and the vote the comment cast before keeps counting, and deleting a vote
  comment withdraws nothing (a deletion carries no time: it is judged when the bot reads it).
  The author is answered, as for a late vote.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlmodel import Session, col, select

from bot.github.events import CommentEvent
from bot.github.reply_queue import reply_on_github
from bot.messages import Actor
from charter import commands as c
from charter.authz import Refusal, authorize_command
from charter.grammar import parse_comment
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal
from charter.proposal_votes import recompute_votes
from charter.votes import Choice, Vote
from storage import proposals as repo
from storage.models.core import CommentRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance


class Refused(NamedTuple):
    vote: c.CastVote
    refusal: Refusal


class Judged(NamedTuple):
    """A comment's votes, in order, split by whether its author may cast them."""

    counted: tuple[c.CastVote, ...]
    refused: tuple[Refused, ...]


def judge_votes(body: str, author: str, p: Proposal, rules: Charter) -> Judged:
    """The votes ``body`` holds on ``p``, as its ``author`` casts them, split by the one
    :func:`charter.authz.authorize_command` against ``rules`` (the version ``p`` was opened
    under, as ``Governance.authorize`` judges a vote): each is counted, or refused with the
    refusal it met."""
    actor = Actor(login=author, surface="github", display=author)
    counted: list[c.CastVote] = []
    refused: list[Refused] = []
    for parsed in parse_comment(body, issue=p.number):
        if not isinstance(parsed, c.CastVote):
            continue
        refusal = authorize_command(parsed, actor, rules, track=p.track, proposal_author=p.author)
        if refusal is None:
            counted.append(parsed)
        else:
            refused.append(Refused(parsed, refusal))
    return Judged(tuple(counted), tuple(refused))


def choices(body: str, ev: CommentEvent) -> tuple[tuple[int | None, str], ...]:
    """Which way a comment body votes, on what, in order (empty when it casts no vote)."""
    parsed = parse_comment(body, issue=ev.issue_number)
    return tuple((p.n, p.choice) for p in parsed if isinstance(p, c.CastVote))


def comment_votes(row: CommentRow, p: Proposal, rules: Charter) -> list[Vote]:
    """The votes a stored comment casts, dated by when it cast them: none before voting
    opened, and only those :func:`judge_votes` counts (see the module rules)."""
    at = aware(row.voted_at)
    if p.voting_opened_at is None or at < p.voting_opened_at:
        return []
    return [
        Vote(row.author, Choice(vote.choice), vote.reason, at, "github")
        for vote in judge_votes(row.body, row.author, p, rules).counted
    ]


def recompute(
    gov: Governance, session: Session, stored: repo.Stored, ev: CommentEvent, now: datetime
) -> None:
    """Recompute the votes after ``ev`` changed a stored comment (see the module rules)."""
    p = stored.proposal
    rules = gov.rules_for(p)  # the version the proposal was opened under
    if p.voting_opened_at is None or p.track not in rules.tracks:
        return
    rows = session.exec(
        select(CommentRow)
        .where(CommentRow.proposal == p.number)
        .where(col(CommentRow.deleted).is_(False))
        .order_by(col(CommentRow.created_at))
    ).all()
    votes: list[Vote] = [v for v in p.votes if v.via != "github"]
    for row in rows:
        votes += comment_votes(row, p, rules)
    decision = recompute_votes(p, rules, votes, now, ev.comment_id)
    gov.apply(session, decision, "charterbot", now)
    changed = session.get(CommentRow, ev.comment_id)
    if changed is not None:
        cast = comment_votes(changed, p, rules)
        _answer_late_change(gov, session, ev, cast, decision.proposal, now)


def _answer_late_change(
    gov: Governance,
    session: Session,
    ev: CommentEvent,
    cast: list[Vote],
    after: Proposal,
    now: datetime,
) -> None:
    """The author's edit or deletion of a vote comment came once the outcome had settled, so
    the recomputed votes (``after``) did not take it
    (:func:`charter.proposal_votes.recompute_votes`): the author is answered, as a late vote
    is. Only while the close is pending: a decided proposal's votes are the record, and the
    decision says so."""
    if after.state is not State.VOTING or not cast:
        return
    if ev.action == "deleted":
        if not any(v in after.votes for v in cast):
            return
        text = (
            f"You deleted your comment after voting on #{after.number} had closed, so the vote"
            " it cast is not withdrawn."
        )
    else:
        if all(v in after.votes for v in cast):
            return
        text = (
            f"Voting on #{after.number} had closed when you edited your comment, so the vote in"
            " it does not count; a vote you cast before still does."
        )
    key = f"late-change:{ev.comment_id}:{ev.action}:{ev.updated_at.isoformat()}"
    reply_on_github(session, after.number, ev.author, text, key, now)
