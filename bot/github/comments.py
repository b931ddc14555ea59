"""Comments on proposal issues: stored once per version, their commands run once.

Rules:
- Comments: when a comment is first stored, whatever the action (GitHub does not order
  deliveries: its ``edited`` may arrive, or a poll may first see it, before its ``created``),
  each command line runs like a chat command, as the comment's author, at the comment's time;
  refusals, reads (``/status``, ``/rollout``…) and ``/rollout pause|resume`` are answered by
  one reply comment each. They run once: a later ``created`` or ``edited`` of a stored comment
  runs none. A comment first seen deleted runs nothing.
- A later version of a stored comment (``edited``, ``deleted``) recomputes the votes
  (:mod:`bot.github.comment_votes`); a refused vote an edit brings is answered and audited
  once, as on creation (:mod:`bot.github.vote_refusals`).
- Only a comment's author speaks through it: a change by someone else is read as
  :mod:`bot.github.edits_by_others` says.
- The bot's own comments (they carry :data:`MARKER`) are never read.
- The same comment seen twice (webhook and poller) is processed once: a stored comment with the
  same or a newer ``updated_at`` is skipped.
- A comment first stored answers its author's open feedback request on the proposal, when it
  was posted at or after the request (``bot.feedback``, ``charter.feedback``); ``/feedback``
  and ``/f?`` are answered by a reply that mentions the people asked, so GitHub notifies them.
- A comment first stored claims the link codes it posts (:mod:`bot.github.link_codes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot import feedback
from bot.github import vote_refusals
from bot.github.comment_votes import choices, recompute
from bot.github.edits_by_others import (
    as_written,
    by_other,
    others_change,
    record_by_other,
    tracking_changed,
)
from bot.github.events import CommentEvent
from bot.github.link_codes import claim_link_codes
from bot.github.replies import parse_error_markdown, reply_markdown
from bot.github.reply_queue import reply_on_github
from bot.messages import Actor
from bot.metrics import METRICS
from charter import commands as c
from charter.feedback import Answer
from charter.grammar import parse_comment
from storage import proposals as repo
from storage.models.core import CommentRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

MARKER = "<!-- charterbot"
# How a delivery found its comment (:func:`_remember`).
Seen = Literal["new", "changed", "kept"]


def handle_comment(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    """A comment event on an issue of the charter's repository (see the module rules)."""
    if by_other(ev):
        _changed_by_other(gov, session, ev, now)
        return
    if MARKER in ev.body:
        return
    _take(gov, session, ev, now)


def _changed_by_other(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    """Someone edited or deleted a comment they did not write (:mod:`.edits_by_others`)."""
    if tracking_changed(gov, session, ev, now):
        return
    own = as_written(ev)
    if MARKER in own.body:
        return  # one of the bot's replies: nothing is read from it
    taken = _take(gov, session, own, now, by_other=True)
    if taken is not None:
        stored, seen = taken
        record_by_other(gov, session, ev, stored.proposal, known=seen != "new", now=now)


def _take(
    gov: Governance, session: Session, ev: CommentEvent, now: datetime, *, by_other: bool = False
) -> tuple[repo.Stored, Seen] | None:
    """Store the comment and act on it: its commands run when it is first stored, a later
    version recomputes the votes. None when it was already seen or is on no proposal.

    Commands run when the comment is first stored, whatever the action: GitHub does not order
    deliveries, so its ``edited`` may come first (or be all a poll sees), and the late
    ``created`` is then skipped as already seen. Stored once, so they run once. A change
    ``by_other`` than the author recomputes only when it taught the author's own edit
    (``"changed"``); the author's deletion of a comment first seen deleted recomputes too."""
    remembered = _remember(session, ev, by_other=by_other)
    if remembered is None:
        return None
    seen, before = remembered
    first = seen == "new" and ev.action != "deleted"
    if first:
        claim_link_codes(gov, session, ev, now)
    stored = repo.load(session, ev.issue_number, for_update=True)
    if stored is None:
        return None
    if first:
        _run_commands(gov, session, ev)
        author = Actor(login=ev.author, surface="github", display=ev.author)
        feedback.answered(gov, session, ev.issue_number, author, Answer.COMMENT, ev.created_at)
    elif seen == "changed" or not by_other:
        recompute(gov, session, stored, ev, now)
        if seen == "changed":  # a refused vote the edit brought is answered, as on creation
            vote_refusals.answer_edit(gov, session, stored.proposal, ev, before)
    return stored, seen


_COMMENTS: sa.Table = CommentRow.__table__  # type: ignore[attr-defined]
_SEEN = sa.select(
    _COMMENTS.c.updated_at, _COMMENTS.c.deleted, _COMMENTS.c.body, _COMMENTS.c.voted_at
).where(_COMMENTS.c.comment_id == sa.bindparam("id"))
_CHANGE = _COMMENTS.update().where(_COMMENTS.c.comment_id == sa.bindparam("id"))
# A comment seen for the first time (the usual case) is stored by this one statement; it
# returns a row only when it inserted one.
_FIRST = {
    is_pg: dml.insert(_COMMENTS)
    .on_conflict_do_nothing(index_elements=["comment_id"])
    .returning(_COMMENTS.c.comment_id)
    for is_pg, dml in ((True, postgresql), (False, sqlite))
}


def _remember(
    session: Session, ev: CommentEvent, *, by_other: bool = False
) -> tuple[Seen, str] | None:
    """Store the comment: ``"new"`` when first stored, ``"changed"`` when this version is
    newer than the stored one, None when it was already seen. A change ``by_other`` than its
    author is ``"kept"`` when it leaves the author's text as stored
    (:func:`bot.github.edits_by_others.others_change`). With it, the text stored before
    (``ev``'s own when first stored).

    Core statements rather than an ORM load, add and flush (this runs for every comment): a new
    comment is one INSERT; a known one is read and, when this version is newer, updated. A copy
    of the row the session may have loaded is expired so it cannot go stale.
    """
    session.flush()  # what the ORM's autoflush would do before the read
    connection = session.connection()
    deleted = ev.action == "deleted"
    change: dict[str, Any] = {"body": ev.body, "updated_at": ev.updated_at, "deleted": deleted}
    first = {"comment_id": ev.comment_id, "proposal": ev.issue_number, "author": ev.author}
    # Dated by its creation even when first seen already edited (a poll): a typo fixed later
    # must not push a vote cast in time past its deadline.
    first.update(created_at=ev.created_at, voted_at=ev.created_at, **change)
    is_pg = session.get_bind().dialect.name == "postgresql"
    outcome: Seen = "new"
    before = ev.body
    if connection.execute(_FIRST[is_pg], first).first() is None:
        seen = connection.execute(_SEEN, {"id": ev.comment_id}).one()
        before = seen.body
        if deleted and seen.deleted:
            return None
        if not deleted and aware(seen.updated_at) >= ev.updated_at:
            return None
        outcome = "changed"
        if by_other:  # what someone else wrote is not the author's: see the module rules
            change, outcome = others_change(ev, seen.body, seen.voted_at)
        else:
            recast = not deleted and choices(seen.body, ev) != choices(ev.body, ev)
            change["voted_at"] = ev.updated_at if recast else seen.voted_at
        if change:
            connection.execute(_CHANGE, {"id": ev.comment_id, **change})
    loaded = session.identity_map.get(session.identity_key(CommentRow, ev.comment_id))
    if loaded is not None:
        session.expire(loaded)
    return outcome, before


_READS = c.Status | c.Show | c.Help | c.WhoAmI | c.ShowRollout | c.Inventory
# Answered in a reply too: the tracking comment holds no rollout data, and a resume's reply
# says what still holds the rollout (an incident's hold outlives a resume by hand).
_ANSWERED = _READS | c.PauseRollout | c.ResumeRollout | c.RequestFeedback


def _feedback_reply(asked: feedback.Asked, asker: str) -> str:
    """The reply to ``/feedback`` (``/f?``): the service's answer, escaped, then the line that
    mentions everyone newly asked, so GitHub notifies them: the same line a request from chat
    posts on the issue (``bot.feedback.asks_text``)."""
    text = reply_markdown(asked.message)
    if not asked.logins:
        return text
    return f"{text}\n\n{feedback.asks_text(asked.logins, asker, asked.note)}"


def _run_commands(gov: Governance, session: Session, ev: CommentEvent) -> None:
    actor = Actor(login=ev.author, surface="github", display=ev.author)
    at = ev.created_at
    for i, parsed in enumerate(parse_comment(ev.body, issue=ev.issue_number)):
        if isinstance(parsed, c.ParseError):
            METRICS.commands.labels(outcome="parse-error").inc()
            text = parse_error_markdown(parsed.message, parsed.usage)
            key = f"{ev.comment_id}:{i}"
            reply_on_github(session, ev.issue_number, ev.author, text, key, at, markdown=True)
            continue
        if isinstance(parsed, c.RequestFeedback):
            asked = feedback.request(gov, session, parsed, actor, at)
            message, text = asked.message, _feedback_reply(asked, ev.author)
        else:
            message = gov.execute(session, parsed, actor, at)
            text = reply_markdown(message)
        METRICS.commands.labels(outcome="ok" if message.ok else "refused").inc()
        # A read is answered where it was asked: the tracking comment does not carry it. A
        # feedback request is answered too: the reply mentions whom it asks.
        if not message.ok or isinstance(parsed, _ANSWERED):
            key = f"{ev.comment_id}:{i}"
            reply_on_github(session, ev.issue_number, ev.author, text, key, at, markdown=True)
