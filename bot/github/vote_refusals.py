"""A vote its author may not cast, brought by an edit of a comment (part of the GitHub comment
handling: :mod:`bot.github.comments`).

Rules:
- An edit is counted as :mod:`bot.github.comment_votes` says: a vote the one
  :func:`charter.authz.authorize_command` refuses never counts, whether the comment was created
  with it or edited to hold it. Counting is not this module's, but judging is shared: the votes
  answered here are exactly those its :func:`~bot.github.comment_votes.judge_votes` does not
  count.
- A refused vote a new comment holds is answered when its commands run. One an edit brings (a
  vote line added, or changed to another choice) is answered here, once, with the words a new
  comment holding it gets (``@author error: …``, the reply of the same command run as the
  author would run it) and audited as that refusal is (``command-refused``). A refused vote
  the comment held before the edit (the same choice) is not answered again: an edit that
  leaves the refused votes as they were (a typo fixed, a reason reworded, another line added)
  answers nothing, as it recasts nothing. A redelivered edit is not read again
  (:mod:`bot.github.comments` skips a comment version it has seen), and the reply is keyed by
  the edit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot import commands_core
from bot.github.comment_votes import Refused, judge_votes
from bot.github.events import CommentEvent
from bot.github.replies import reply_markdown
from bot.github.reply_queue import reply_on_github
from bot.messages import Actor, Message
from bot.metrics import METRICS
from charter import commands as c
from charter.authz import Refusal
from charter.proposal import Proposal

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.service import Governance


def refused_votes(gov: Governance, p: Proposal, author: str, body: str) -> tuple[Refused, ...]:
    """The votes in ``body`` that ``author`` may not cast on ``p``, in order, each with its
    refusal: those :func:`bot.github.comment_votes.judge_votes` does not count (the charter
    version ``p`` was opened under)."""
    return judge_votes(body, author, p, gov.rules_for(p)).refused


def answer_edit(
    gov: Governance, session: Session, p: Proposal, ev: CommentEvent, before: str
) -> None:
    """Answer and audit the refused votes the author's edit ``ev`` brought to a comment that
    held ``before`` (see the module rules)."""
    if ev.action != "edited":
        return
    refused = refused_votes(gov, p, ev.author, ev.body)
    # Which way, not the reason: a reason reworded recasts nothing (comment_votes' rules).
    was = (
        {(r.vote.n, r.vote.choice) for r in refused_votes(gov, p, ev.author, before)}
        if refused
        else set()
    )
    actor = Actor(login=ev.author, surface="github", display=ev.author)
    at = ev.updated_at
    for i, (vote, refusal) in enumerate(refused):
        if (vote.n, vote.choice) in was:  # answered when it came: by its comment's run, or an edit
            continue
        message = _refusal(gov, session, vote, refusal, actor, at)
        METRICS.commands.labels(outcome="refused").inc()
        key = f"{ev.comment_id}:edit:{at.isoformat()}:{i}"
        text = reply_markdown(message)
        reply_on_github(session, p.number, ev.author, text, key, at, markdown=True)


def _refusal(
    gov: Governance,
    session: Session,
    vote: c.CastVote,
    refusal: Refusal,
    actor: Actor,
    at: datetime,
) -> Message:
    """What running ``vote`` as ``actor`` answers, as a new comment's vote is run
    (:func:`bot.commands_core.execute`: the proposal as the actor may see it, then the
    authorization, its refusal audited), without ever casting it. The authorization is the
    ``refusal`` :func:`refused_votes` met: the same rule ``Governance.authorize`` applies,
    so the refusal is answered in the same words."""
    loaded = commands_core._load(gov, session, vote.n, actor)
    if isinstance(loaded, Message):
        return loaded  # the proposal the actor may not see: answered as for a new comment
    return gov.refuse(session, actor, vote, refusal.reason, at)
