"""GitHub events → the service: intake of proposal issues, commands in comments.

Rules:
- Only open issues in the charter's repository that carry the proposal label (its name in any
  case, as GitHub compares labels) become proposals; a closed issue never does.
- A stored draft or proposal in review whose issue lost the proposal label is not read (no
  intake, no move to review) until the label is back; from voting on the label changes
  nothing. Either way the author is told once. Any label change queues a sync, so a state
  label removed by hand is put back.
- A deleted or transferred issue withdraws its open proposal (an audit entry says why); its
  body is not read and nothing is posted to it.
- The issue's labels (but the bot's ``charter:*`` state labels) are kept with the proposal, so
  its announcements can be filtered by label, and so is the issue's ``updated_at``: an issue
  event older than the last one applied (a delivery recovered late) is ignored.
- Closing an open proposal's issue withdraws the proposal when the author or a coordinator
  closes it (as ``/withdraw`` would). Anyone else, or a closer the bot cannot know (poll mode),
  gets a comment saying the proposal is still open and how to withdraw it. A decided
  proposal's issue may be closed freely.
- Intake: the form body is parsed and checked on every open and edit. While anything is wrong the
  proposal stays a draft and the tracking comment lists exactly what to fix (one comment,
  edited in place); once valid it enters review. In review the track is frozen and an edited
  form must pass the same check, or it is not applied and the editor is answered on the issue
  (``charter.edits``). From voting on the form is not re-read; title or body edits are
  recorded in the audit log.
- Comments: when a comment is first stored, whatever the action (GitHub does not order
  deliveries: its ``edited`` may arrive, or a poll may first see it, before its ``created``),
  each command line runs like a chat command, as the comment's author, at the comment's time;
  refusals, reads (``/status``, ``/rollout``…) and ``/rollout pause|resume`` are answered by
  one reply comment each. They run once: a later ``created`` or ``edited`` of a stored comment
  runs none. On ``edited`` and ``deleted`` of a stored comment the votes are recomputed from
  the whole comment history (as Prow does), so a missed or repeated event never leaves a wrong
  tally; each vote in it is authorized by the same ``charter.authz.authorize_command`` as a
  command, so whatever that refuses a new comment it refuses an edited one, and a refused vote
  an edit brings is answered and audited once, as on creation (:mod:`bot.github.vote_refusals`).
  A comment first seen deleted runs nothing. A comment's vote is dated by when it was cast:
  the comment's creation, or the edit that changed which way it votes. An edit that leaves
  the votes as they were (a typo fixed, a reason reworded) recasts nothing, so it cannot bring
  back a vote a later one replaced.
- A change is judged as a vote cast then would be (``charter.proposal.recompute_votes``): once
  the outcome has settled (voting closed, or the last seat voted, while the close waits for
  the grace), an edit that votes another way is refused and the vote the comment cast before
  keeps counting, and deleting a vote comment withdraws nothing (a deletion carries no time:
  it is judged when the bot reads it). The author is answered, as for a late vote.
- Only a comment's author speaks through it. An edit by someone else (a collaborator may edit
  anyone's comment; the webhook's ``sender`` says who acted) recasts nothing and runs nothing:
  votes stay read from the author's last own text, the edit is recorded in the audit log
  (``comment-edited-by-other``) and, when either text holds a command, the editor is answered
  that it was ignored. A comment first seen in such an edit is read as its author wrote it
  before the edit (``changes.body.from``); so is a stored one whose author's text there is not
  the stored text: the author's own edit, delivered after this one or lost, which this one
  makes stale, is applied then (a recast dated by this edit, the latest it can have been).
  A comment deleted by someone else keeps its vote (a vote is withdrawn only by its author:
  casting another, or deleting their own comment, while the outcome is open); the deletion is
  recorded (``comment-deleted-by-other``) and, when it held a vote, answered. Poll mode cannot
  tell who edited a comment (the API does not say): there every edit is read as the author's.
- The bot's own tracking comment edited or deleted by someone else is written again: what
  GitHub shows is no longer what the bot last wrote, so the next sync must not skip it.
- The same comment seen twice (webhook and poller) is processed once: a stored comment with the
  same or a newer ``updated_at`` is skipped.
- A comment first stored answers its author's open feedback request on the proposal, when it
  was posted at or after the request (``bot.feedback``, ``charter.feedback``); ``/feedback``
  and ``/f?`` are answered by a reply that mentions the people asked, so GitHub notifies them.
- A comment line that is exactly ``charterbot link <CODE>`` (what ``/charter link`` asks for)
  proves the commenter's login for a pending chat link; the code is claimed when the comment is
  first stored, like its commands. Only the comment's live text counts, as for commands: a code
  quoted, in code or an HTML comment, or inside other text is not claimed, so quoting someone's
  code never links the quoter's login to their chat account (:func:`link_codes`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot import feedback
from bot.github import vote_refusals
from bot.github.events import CommentEvent, IssueEvent, parse_event
from bot.github.replies import parse_error_markdown, reply_markdown
from bot.github.tracking import ALL_STATE_LABELS
from bot.github.wire import same_login
from bot.messages import Actor, plain_text
from bot.metrics import METRICS
from charter import commands as c
from charter.authz import authorize_command
from charter.edits import edit_form
from charter.effects import Announce, Audit, Comment, Effect, Reply, SetLabels, SyncTracking
from charter.feedback import Answer
from charter.grammar import live_lines, parse_comment
from charter.intake import check_intake, parse_form
from charter.lifecycle import State, is_open
from charter.model import Charter
from charter.proposal import Proposal, enter_review, recompute_votes, withdraw
from charter.text import one_line
from charter.votes import Choice, Vote
from storage import audit, proposals as repo
from storage.inbox import InboxEvent
from storage.models.core import CommentRow, TrackingMessageRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

MARKER = "<!-- charterbot"
LINK_LINE = re.compile(r"charterbot\s+link\s+([A-Z0-9]{4}-[A-Z0-9]{4})", re.IGNORECASE)
_EDITABLE = (State.DRAFT, State.REVIEW)
# How a delivery found its comment (:func:`_remember`).
Seen = Literal["new", "changed", "kept"]


def handle_event(gov: Governance, session: Session, event: object, now: datetime) -> None:
    if isinstance(event, IssueEvent):
        handle_issue(gov, session, event, now)
    elif isinstance(event, CommentEvent):
        handle_comment(gov, session, event, now)
    else:
        gov.dispatch_event(session, event, now)


def _in_charter_repo(gov: Governance, repo_name: str) -> bool:
    return repo_name.lower() == gov.charter.github.repository.lower()


# -- issues ------------------------------------------------------------------------------------


def handle_issue(gov: Governance, session: Session, ev: IssueEvent, now: datetime) -> None:
    charter = gov.charter
    ev = replace(ev, title=one_line(ev.title))  # a title is user text: no invisible characters
    if not _in_charter_repo(gov, ev.repo_full_name):
        return
    stored = repo.load(session, ev.number, for_update=True)
    if ev.action in _GONE:  # the issue is no more: end its proposal, read nothing from it
        if stored is not None:
            _issue_gone(gov, session, ev, stored.proposal, now)
        return
    wanted = charter.github.proposal_label.casefold()  # GitHub's label names ignore case
    labelled = any(label.casefold() == wanted for label in ev.labels)
    if stored is None and (not labelled or ev.action in ("closed", "unlabeled")):
        return
    if stored is None and ev.state == "closed":  # a closed issue never becomes a proposal
        return
    if stored is not None and ev.action in ("labeled", "unlabeled"):
        gov.queue_sync(session, ev.number, now)  # someone may have removed a state label
    if stored is not None and _stale(stored, ev):
        if ev.action == "edited" and ev.changes and stored.proposal.state not in _EDITABLE:
            actor = Actor(login=ev.sender or ev.author, surface="github")
            _record_late_edit(gov, session, ev, actor, now)  # it happened, late or not
        # A close stands unless a newer event showed the issue open again (a reopen).
        if ev.action != "closed" or stored.extra.get("issue_state") == "open":
            return
    if stored is not None and ev.action == "closed":
        _closed(gov, session, ev, stored.proposal, now)
        after = repo.load(session, ev.number)
        if after is not None:
            _remember_issue(session, after, ev, gov.charter, now)
        return
    actor = Actor(login=ev.sender or ev.author, surface="github")
    if stored is not None:  # judged by the version it was opened under
        charter = gov.rules_for(stored.proposal)
        stored = _label_presence(gov, session, stored, ev, labelled, now)
        if not labelled and stored.proposal.state in _EDITABLE:
            _remember_issue(session, stored, ev, charter, now)
            return  # not a proposal while unlabelled: its form is not read
    result = check_intake(parse_form(ev.body), charter, now)
    track = result.proposal_fields.get("track")
    track_name = track if isinstance(track, str) else ""
    if stored is None:
        stored = _open(gov, session, ev, track_name, result.proposal_fields, now)
    stored = _remember_issue(session, stored, ev, charter, now)
    p = stored.proposal
    if p.state is State.DRAFT:
        p = replace(p, title=ev.title, track=track_name or p.track, fields=result.proposal_fields)
        stored = repo.Stored(p, result.problems, stored.disclosed, stored.extra)
        repo.save(session, stored, charter, now)
        gov.queue_sync(session, p.number, now)
    elif p.state is State.REVIEW:
        _edited_in_review(gov, session, stored, ev, actor, now)
    elif ev.action == "edited" and ev.changes:
        _record_late_edit(gov, session, ev, actor, now)
    if p.state is State.DRAFT and result.ok:
        gov.apply(session, enter_review(p, charter, now), actor, now)


_GONE = {
    "deleted": "its issue was deleted",
    "transferred": "its issue was transferred to another repository",
}


def _issue_gone(
    gov: Governance, session: Session, ev: IssueEvent, p: Proposal, now: datetime
) -> None:
    """The issue of proposal ``p`` was deleted or transferred away: an open proposal with no
    issue cannot go on, so it is withdrawn (by whoever removed the issue, or the bot), with an
    audit entry saying why. Nothing is posted to or synced with the issue: it is gone."""
    if not is_open(p.state):
        return
    by = ev.sender or "charterbot"
    why = _GONE[ev.action]
    decision = withdraw(p, gov.rules_for(p), by, True, now)
    text = f"#{p.number} {p.title} was withdrawn: {why} (by {by})."
    effects: list[Effect] = [
        Audit(
            kind="proposal-issue-gone",
            subject=p.subject,
            payload={"action": ev.action, "by": by, "why": why},
        )
    ]
    for effect in decision.effects:
        if isinstance(effect, Comment | SyncTracking | SetLabels):
            continue  # the issue is not there to comment on or label
        if isinstance(effect, Announce | Reply):
            effect = replace(effect, text=text)
        effects.append(effect)
    gov.apply(
        session, replace(decision, effects=tuple(effects)), Actor(login=by, surface="github"), now
    )


def _label_presence(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    ev: IssueEvent,
    labelled: bool,
    now: datetime,
) -> repo.Stored:
    """The charter: an issue without the proposal label is not a proposal. A draft or one in
    review whose issue lost it stops intake until the label is back; from voting on the label
    cannot end anything (only ``/withdraw`` can). Either way the author is told once, until the
    label is seen again."""
    p = stored.proposal
    missing = stored.extra.get("label_missing") is True
    if labelled == (not missing) or not is_open(p.state):
        return stored
    extra = {k: v for k, v in stored.extra.items() if k != "label_missing"}
    if not labelled:
        extra["label_missing"] = True
    stored = replace(stored, extra=extra)
    repo.save(session, stored, gov.rules_for(p), now)
    if labelled:
        return stored
    label = gov.rules_for(p).github.proposal_label
    if p.state is State.DRAFT:
        text = (
            f"This issue no longer has the {label} label, so it is not read as a proposal:"
            f" draft #{p.number} does not enter review and edits to its form are not checked"
            f" until the {label} label is added back."
        )
    elif p.state is State.REVIEW:
        text = (
            f"This issue no longer has the {label} label, so edits to its form are not read"
            f" until the label is added back. Proposal #{p.number} stays in review on its"
            " schedule; its author or a coordinator can withdraw it by commenting /withdraw."
        )
    else:
        text = (
            f"The {label} label was removed, but proposal #{p.number} is in {p.state.value}"
            " and a label cannot end it. Its author or a coordinator can withdraw it by"
            f" commenting /withdraw; please add the {label} label back."
        )
    key = f"label-removed:{p.number}:{ev.updated_at.isoformat()}"
    gov.reply_on_github(session, p.number, p.author, text, key, now)
    return stored


def _open(
    gov: Governance,
    session: Session,
    ev: IssueEvent,
    track: str,
    fields: Mapping[str, Any],
    now: datetime,
) -> repo.Stored:
    p = Proposal(
        number=ev.number,
        title=ev.title,
        author=ev.author,
        track=track,
        state=State.DRAFT,
        fields=fields,
        charter_version=gov.charter.version,
        created_at=now,
    )
    stored = repo.Stored(p)
    repo.save(session, stored, gov.charter, now)
    audit.append(
        session,
        actor=Actor(login=ev.author, surface="github"),
        kind="proposal-opened",
        subject=p.subject,
        payload={"title": ev.title, "author": ev.author, "track": track},
        charter_version=gov.charter.version,
        at=now,
    )
    return stored


def _stale(stored: repo.Stored, ev: IssueEvent) -> bool:
    """An issue event older than the last one applied (a delivery recovered late, or a
    redelivery): applying its snapshot would undo newer edits."""
    seen = stored.extra.get("issue_updated_at")
    return isinstance(seen, str) and ev.updated_at < datetime.fromisoformat(seen)


def _remember_issue(
    session: Session, stored: repo.Stored, ev: IssueEvent, charter: Charter, now: datetime
) -> repo.Stored:
    """Keep beside the proposal, from the newest issue event applied: its labels (but the
    bot's own state labels: announcements carry them for ``label X`` filters), its state (open
    or closed) and when it last changed."""
    if _stale(stored, ev):
        return stored
    labels = sorted(x for x in set(ev.labels) if x not in ALL_STATE_LABELS)
    newest = {"labels": labels, "issue_updated_at": ev.updated_at.isoformat()}
    if ev.state:
        newest["issue_state"] = ev.state
    extra = {**stored.extra, **newest}
    if extra == stored.extra:
        return stored
    stored = replace(stored, extra=extra)
    repo.save(session, stored, charter, now)
    return stored


def _closed(gov: Governance, session: Session, ev: IssueEvent, p: Proposal, now: datetime) -> None:
    """The issue of proposal ``p`` was closed: withdraw it if the closer may."""
    if not is_open(p.state):
        return
    if ev.sender:
        actor = Actor(login=ev.sender, surface="github", display=ev.sender)
        message = gov.execute(session, c.Withdraw(p.number), actor, now)
        if message.ok:
            return
        why = plain_text(message).removeprefix("error: ").strip()
    else:
        why = "The bot cannot tell who closed it (GitHub poll mode), so it withdraws nothing."
    text = (
        f"This issue was closed, but proposal #{p.number} is still in {p.state.value}. "
        f"{why if why.endswith('.') else why + '.'} "
        "Its author or a coordinator can withdraw it by commenting /withdraw."
    )
    # Keyed by the close itself, so a delivery processed twice answers once.
    key = f"closed:{p.number}:{(ev.updated_at or now).isoformat()}"
    gov.reply_on_github(session, p.number, ev.sender or p.author, text, key, now)


def _edited_in_review(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    ev: IssueEvent,
    actor: Actor,
    now: datetime,
) -> None:
    """In review the title follows the issue; its form only as :func:`charter.edits.edit_form`
    allows, a refusal answered on the issue. A body already judged is not judged again: any
    issue event (a label added) carries the body, and a refusal must be answered once."""
    rules = gov.rules_for(stored.proposal)
    p = replace(stored.proposal, title=ev.title)
    digest = hashlib.sha256(ev.body.encode()).hexdigest()[:16]
    judged = stored.extra.get("form_judged") == digest
    extra = {**stored.extra, "form_judged": digest}
    repo.save(session, repo.Stored(p, (), stored.disclosed, extra), rules, now)
    gov.queue_sync(session, p.number, now)
    if judged:
        return
    decision = edit_form(p, rules, parse_form(ev.body), actor.name)
    outcome = gov.apply(session, decision, actor, now)
    key = f"edit:{p.number}:{ev.updated_at.isoformat()}"
    for reply in outcome.replies:
        gov.reply_on_github(session, p.number, actor.name, reply.text, key, now)


def _record_late_edit(
    gov: Governance, session: Session, ev: IssueEvent, actor: Actor, now: datetime
) -> None:
    """Edits after voting opened do not change what is being voted on silently: record them."""
    changed = sorted(ev.changes)
    payload = {"changed": changed, "title": ev.title, "by": actor.name}
    effect = Audit(
        kind="proposal-edited-after-voting", subject=f"proposal:{ev.number}", payload=payload
    )
    gov.effects(session, [effect], actor, now)


# -- comments ----------------------------------------------------------------------------------


def handle_comment(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    if not _in_charter_repo(gov, ev.repo):
        return
    if by_other(ev):
        _changed_by_other(gov, session, ev, now)
        return
    if MARKER in ev.body:
        return
    _take(gov, session, ev, now)


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
        _claim_link_codes(gov, session, ev, now)
    stored = repo.load(session, ev.issue_number, for_update=True)
    if stored is None:
        return None
    if first:
        _run_commands(gov, session, ev)
        author = Actor(login=ev.author, surface="github", display=ev.author)
        feedback.answered(gov, session, ev.issue_number, author, Answer.COMMENT, ev.created_at)
    elif seen == "changed" or not by_other:
        _recompute(gov, session, stored, ev, now)
        if seen == "changed":  # a refused vote the edit brought is answered, as on creation
            vote_refusals.answer_edit(gov, session, stored.proposal, ev, before)
    return stored, seen


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


def _changed_by_other(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    """Someone edited or deleted a comment they did not write (see the module rules)."""
    if _tracking_changed(gov, session, ev, now):
        return
    own = as_written(ev)
    if MARKER in own.body:
        return  # one of the bot's replies: nothing is read from it
    taken = _take(gov, session, own, now, by_other=True)
    if taken is not None:
        stored, seen = taken
        _record_by_other(gov, session, ev, stored.proposal, known=seen != "new", now=now)


def _tracking_changed(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> bool:
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


def _record_by_other(
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
        if not (known and voted and row is not None and _choices(row.body, ev)):
            return
        text = (
            f"You deleted {author}'s comment, but its vote still counts: a vote is withdrawn"
            " only by its author, by voting again or deleting their own comment."
        )
    key = f"by-other:{ev.comment_id}:{ev.action}:{ev.updated_at.isoformat()}"
    gov.reply_on_github(session, p.number, ev.sender, text, key, now)


def _audit_by_other(
    gov: Governance, session: Session, ev: CommentEvent, now: datetime, *, restored: bool = False
) -> None:
    kind = "comment-edited-by-other" if ev.action == "edited" else "comment-deleted-by-other"
    payload: dict[str, Any] = {"comment": ev.comment_id, "author": ev.author, "by": ev.sender}
    if restored:
        payload["tracking"] = "written again"
    effect = Audit(kind=kind, subject=f"proposal:{ev.issue_number}", payload=payload)
    gov.effects(session, [effect], Actor(login=ev.sender, surface="github"), now)


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
    author is ``"kept"`` when it leaves the author's text as stored (:func:`_others_change`).
    With it, the text stored before (``ev``'s own when first stored).

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
            change, outcome = _others_change(ev, seen.body, seen.voted_at)
        else:
            recast = not deleted and _choices(seen.body, ev) != _choices(ev.body, ev)
            change["voted_at"] = ev.updated_at if recast else seen.voted_at
        if change:
            connection.execute(_CHANGE, {"id": ev.comment_id, **change})
    loaded = session.identity_map.get(session.identity_key(CommentRow, ev.comment_id))
    if loaded is not None:
        session.expire(loaded)
    return outcome, before


def _others_change(
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
    recast = _choices(body, ev) != _choices(ev.body, ev)
    change.update(body=ev.body, voted_at=ev.updated_at if recast else voted_at)
    return change, "changed"


def _choices(body: str, ev: CommentEvent) -> tuple[tuple[int | None, str], ...]:
    """Which way a comment body votes, on what, in order (empty when it casts no vote)."""
    parsed = parse_comment(body, issue=ev.issue_number)
    return tuple((p.n, p.choice) for p in parsed if isinstance(p, c.CastVote))


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
            gov.reply_on_github(session, ev.issue_number, ev.author, text, key, at, markdown=True)
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
            gov.reply_on_github(session, ev.issue_number, ev.author, text, key, at, markdown=True)


def _recompute(
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
        votes += _comment_votes(row, p, rules)
    decision = recompute_votes(p, rules, votes, now)
    gov.apply(session, decision, "charterbot", now)
    changed = session.get(CommentRow, ev.comment_id)
    if changed is not None:
        cast = _comment_votes(changed, p, rules)
        _answer_late_change(gov, session, ev, cast, decision.proposal, now)


def _comment_votes(row: CommentRow, p: Proposal, rules: Charter) -> list[Vote]:
    """The votes a stored comment casts, dated by when it cast them; none before voting
    opened, nor one its author may not cast (answered when it came: by the comment's commands
    on creation, or, brought by an edit, by :func:`bot.github.vote_refusals.answer_edit`).

    Who may cast it is decided as for the comment's first run (``Governance.authorize``): by
    the one :func:`charter.authz.authorize_command`, against the charter version the proposal
    was opened under, so a rule there holds for an edited comment too."""
    at = aware(row.voted_at)
    if p.voting_opened_at is None or at < p.voting_opened_at:
        return []
    author = Actor(login=row.author, surface="github", display=row.author)
    return [
        Vote(row.author, Choice(parsed.choice), parsed.reason, at, "github")
        for parsed in parse_comment(row.body, issue=p.number)
        if isinstance(parsed, c.CastVote)
        and authorize_command(parsed, author, rules, track=p.track, proposal_author=p.author)
        is None
    ]


def _answer_late_change(
    gov: Governance,
    session: Session,
    ev: CommentEvent,
    cast: list[Vote],
    after: Proposal,
    now: datetime,
) -> None:
    """The author's edit or deletion of a vote comment came once the outcome had settled, so
    the recomputed votes (``after``) did not take it (:func:`charter.proposal.recompute_votes`):
    the author is answered, as a late vote is. Only while the close is pending: a decided
    proposal's votes are the record, and the decision says so."""
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
    gov.reply_on_github(session, after.number, ev.author, text, key, now)


def link_codes(body: str) -> list[str]:
    """The one-time link codes a comment posts, upper-cased: its live lines (those GitHub
    shows as the author's own text, see :func:`charter.grammar.live_lines`) that are exactly
    ``charterbot link <CODE>``, in any case and spacing. A code quoted, in code, in an HTML
    comment or inside a sentence is someone else's, or only shown: never claimed."""
    return [
        match.group(1).upper()
        for line in live_lines(body)
        if (match := LINK_LINE.fullmatch(line)) is not None
    ]


def _claim_link_codes(gov: Governance, session: Session, ev: CommentEvent, now: datetime) -> None:
    for code in link_codes(ev.body):
        # Judged by when the comment was posted: a backlog must not expire a code used in time.
        gov.identity_links.claim_code(session, code, ev.author, ev.created_at)


def processor(gov: Governance) -> Callable[[Session, InboxEvent, datetime], None]:
    """The inbox processor for stored GitHub deliveries (webhook payloads, polled events)."""

    def process(session: Session, row: InboxEvent, now: datetime) -> None:
        event: object = (
            decode_polled(row.event, row.body)
            if row.source == "poll"
            else parse_event(row.event, json.loads(row.body))
        )
        if event is not None:
            handle_event(gov, session, event, now)

    return process


_POLLED = {"issues": IssueEvent, "issue_comment": CommentEvent}


def encode_polled(event: IssueEvent | CommentEvent) -> bytes:
    """A polled event as JSON, so it waits in the inbox like a webhook delivery."""
    data = {k: getattr(event, k) for k in event.__dataclass_fields__}
    return json.dumps(
        data, default=lambda v: v.isoformat() if isinstance(v, datetime) else v
    ).encode()


def decode_polled(event_name: str, body: bytes) -> IssueEvent | CommentEvent | None:
    cls = _POLLED.get(event_name)
    if cls is None:
        return None
    data = json.loads(body)
    for key in ("created_at", "updated_at"):
        if isinstance(data.get(key), str):
            data[key] = datetime.fromisoformat(data[key])
    if "labels" in data:
        data["labels"] = tuple(data["labels"])
    event: IssueEvent | CommentEvent = cls(**data)
    return event
