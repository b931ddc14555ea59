"""Comments changed by someone other than their author: only a comment's author speaks through it.

Rules:
- An edit by someone else (a collaborator may edit anyone's comment; the webhook's ``sender``
  says who acted, :func:`by_other`) recasts nothing and runs nothing: votes stay read from the
  author's last own text, the edit is recorded in the audit log (``comment-edited-by-other``)
  and, when either text holds a command, the editor is answered that it was ignored.
- A comment first seen in such an edit is read as its author wrote it before the edit
  (``changes.body.from``, :func:`as_written`); so is a stored one whose author's text there is
  not the stored text: the author's own edit, delivered after this one or lost, which this one
  makes stale, is applied then (a recast dated by this edit, the latest it can have been;
  :func:`others_change`).
- A comment deleted by someone else keeps its vote (a vote is withdrawn only by its author:
  casting another, or deleting their own comment, while the outcome is open); the deletion is
  recorded (``comment-deleted-by-other``) and, when it held a vote, answered.
- Poll mode cannot tell who edited a comment (the API does not say): there every edit is read
  as the author's.
- The bot's own tracking comment edited or deleted by someone else is written again: what
  GitHub shows is no longer what the bot last wrote, so the next sync must not skip it
  (:func:`tracking_changed`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from bot.github.comment_votes import choices
from bot.github.events import CommentEvent
from bot.github.reply_queue import reply_on_github
from bot.github.wire import same_login
from bot.messages import Actor
from charter.effects import Audit
from charter.grammar import parse_comment
from charter.lifecycle import is_open
from charter.proposal import Proposal
from storage.models.core import CommentRow, TrackingMessageRow

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.service import Governance


def by_other(ev: CommentEvent) -> bool:
    """Whether someone other than the comment's author edited or deleted it. Only a webhook
    names who acted; a polled comment's sender is its author (a poll cannot tell)."""
    return ev.action != "created" and bool(ev.sender) and not same_login(ev.sender, ev.author)


def as_written(ev: CommentEvent) -> CommentEvent:
    """The comment as its author left it: an edit by someone else carries the text from before
    that edit (``changes.body.from``) when the delivery has it."""
    if ev.action != "edited" or ev.previous_body is None:
        return ev
    return replace(ev, body=ev.previous_body)


def tracking_changed(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> bool:
    """The proposal's tracking comment, changed by someone else: forget what it held (the
    relay then edits it, or posts it anew if it is gone) and queue a sync."""
    row = session.get(TrackingMessageRow, (ev.issue_number, "github"))
    if row is None or row.message_id != ev.comment_id:
        return False
    row.body_sha256 = ""  # matches no render: the next sync writes the comment again
    session.add(row)
    gov.queue_sync(session, ev.issue_number, now)
    _audit_by_other(gov, session, ev, now, restored=True)
    return True


def record_by_other(
    gov: Governance,
    session: Session,
    ev: CommentEvent,
    p: Proposal,
    *,
    known: bool,
    now: datetime,
) -> None:
    """Audit the edit or deletion; answer it while the proposal is open and it mattered: an
    edit of text holding a command, the deletion of a stored (``known``) comment whose vote
    counts."""
    _audit_by_other(gov, session, ev, now)
    if not is_open(p.state):
        return
    author = ev.author
    if ev.action == "edited":
        if not (parse_comment(ev.body) or parse_comment(as_written(ev).body)):
            return
        text = (
            f"Your edit to {author}'s comment was ignored for voting: votes and commands in a"
            f" comment count only as its author writes them, so it still counts as {author}"
            " wrote it."
        )
    else:
        row = session.get(CommentRow, ev.comment_id)
        voted = any(v.voter == author and v.via == "github" for v in p.votes)
        if not (known and voted and row is not None and choices(row.body, ev)):
            return
        text = (
            f"You deleted {author}'s comment, but its vote still counts: a vote is withdrawn"
            " only by its author, by voting again or deleting their own comment."
        )
    key = f"by-other:{ev.comment_id}:{ev.action}:{ev.updated_at.isoformat()}"
    reply_on_github(session, p.number, ev.sender, text, key, now)


def _audit_by_other(
    gov: Governance, session: Session, ev: CommentEvent, now: datetime, *, restored: bool = False
) -> None:
    kind = "comment-edited-by-other" if ev.action == "edited" else "comment-deleted-by-other"
    payload: dict[str, Any] = {"comment": ev.comment_id, "author": ev.author, "by": ev.sender}
    if restored:
        payload["tracking"] = "written again"
    effect = Audit(kind=kind, subject=f"proposal:{ev.issue_number}", payload=payload)
    gov.effects(session, [effect], Actor(login=ev.sender, surface="github"), now)


def others_change(
    ev: CommentEvent, body: str, voted_at: datetime
) -> tuple[dict[str, Any], Literal["changed", "kept"]]:
    """What an edit or deletion by someone other than its author changes in a stored comment
    (its ``body`` and ``voted_at``; ``ev`` carries the author's text, :func:`as_written`).
    A deletion: nothing. An edit: its ``updated_at`` only, so the same version is not read
    again (a poll would take it for the author's) — unless the delivery shows
    (``changes.body.from``) that the author's text had changed since the stored version: their
    own edit, delivered after this one (GitHub does not order deliveries) or lost, which this
    one makes stale. It is applied now, any recast dated by this edit, the latest it can have
    been (no earlier time is known)."""
    if ev.action == "deleted":
        return {}, "kept"
    change: dict[str, Any] = {"updated_at": ev.updated_at}
    if ev.previous_body is None or ev.body == body:
        return change, "kept"
    recast = choices(body, ev) != choices(ev.body, ev)
    change.update(body=ev.body, voted_at=ev.updated_at if recast else voted_at)
    return change, "changed"
