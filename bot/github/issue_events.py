"""Proposal issues: intake of the form, labels, closing, deletion, edits after review.

Rules:
- Only open issues in the charter's repository that carry the proposal label (its name in any
  case, as GitHub compares labels) become proposals; a closed issue never does. The repository
  is the caller's filter (:func:`bot.github.handler.handle_event` passes no other here).
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
  proposal's issue may be closed freely. Reopening a withdrawn proposal's issue does not
  revive it (a withdrawal is final): the reopener is told so, once per reopen, and to open a
  new issue with the form instead.
- Intake: the form body is parsed and checked on every open and edit. While anything is wrong the
  proposal stays a draft and the tracking comment lists exactly what to fix (one comment,
  edited in place); once valid it enters review. In review the track is frozen and an edited
  form must pass the same check, or it is not applied and the editor is answered on the issue
  (``charter.edits``). From voting on the form is not re-read; title or body edits are
  recorded in the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.github.events import IssueEvent
from bot.github.reply_queue import reply_on_github
from bot.github.tracking import ALL_STATE_LABELS
from bot.messages import Actor, plain_text
from charter import commands as c
from charter.edits import edit_form
from charter.effects import Announce, Audit, Comment, Effect, Reply, SetLabels, SyncTracking
from charter.intake import check_intake, parse_form
from charter.lifecycle import State, is_open
from charter.model import Charter
from charter.proposal import Proposal
from charter.proposal_transitions import enter_review, withdraw
from charter.text import one_line
from storage import audit, proposals as repo

if TYPE_CHECKING:
    from bot.service import Governance

_EDITABLE = (State.DRAFT, State.REVIEW)


def handle_issue(gov: Governance, session: Session, ev: IssueEvent, now: datetime) -> None:
    """An issue event of the charter's repository (see the module rules)."""
    charter = gov.charter
    ev = replace(ev, title=one_line(ev.title))  # a title is user text: no invisible characters
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
    actor = Actor(login=ev.sender or ev.author, surface="github")
    if stored is not None and _stale(stored, ev):
        if ev.action == "edited" and ev.changes and stored.proposal.state not in _EDITABLE:
            _record_late_edit(gov, session, ev, actor, now)  # it happened, late or not
        # A close stands unless a newer event showed the issue open again (a reopen).
        if ev.action != "closed" or stored.extra.get("issue_state") == "open":
            return
    if stored is not None and _closed_or_reopened(gov, session, ev, stored, now):
        return
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
    reply_on_github(session, p.number, p.author, text, key, now)
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
        # A refusal that names who may withdraw gets the how, not the who a second time.
        how = ", by commenting /withdraw." if "may withdraw" in why.lower() else "."
        why = why.rstrip(".") + how
    else:
        why = (
            "The bot cannot tell who closed it (GitHub poll mode), so it withdraws nothing. "
            "Its author or a coordinator can withdraw it by commenting /withdraw."
        )
    text = f"This issue was closed, but proposal #{p.number} is still in {p.state.value}. {why}"
    # Keyed by the close itself, so a delivery processed twice answers once.
    key = f"closed:{p.number}:{(ev.updated_at or now).isoformat()}"
    reply_on_github(session, p.number, ev.sender or p.author, text, key, now)


def _closed_or_reopened(
    gov: Governance, session: Session, ev: IssueEvent, stored: repo.Stored, now: datetime
) -> bool:
    """A close of a proposal's issue is answered (:func:`_closed`) and remembered: True, the
    event is done. A reopen of a withdrawn one's is answered (:func:`_reopened_withdrawn`)
    and, as any other event, read on: False."""
    if ev.action == "closed":
        _closed(gov, session, ev, stored.proposal, now)
        after = repo.load(session, ev.number)
        if after is not None:
            _remember_issue(session, after, ev, gov.charter, now)
        return True
    if ev.action == "reopened" and stored.proposal.state is State.WITHDRAWN:
        _reopened_withdrawn(gov, session, ev, stored.proposal, now)
    return False


def _reopened_withdrawn(
    gov: Governance, session: Session, ev: IssueEvent, p: Proposal, now: datetime
) -> None:
    """A withdrawn proposal's issue was reopened: a withdrawal is final, so the proposal stays
    withdrawn; the reopener is told so, and how to propose it again (a new issue)."""
    text = (
        f"This issue was reopened, but proposal #{p.number} stays withdrawn: a withdrawal is "
        "final, and reopening its issue does not revive it. To propose it again, open a new "
        f"issue with the proposal form ({gov.github_page('/issues/new/choose')}); it "
        "becomes a new proposal, with its own number and review."
    )
    # Keyed by the reopen itself: a redelivery answers once, a later reopen again.
    key = f"reopened:{p.number}:{ev.updated_at.isoformat()}"
    reply_on_github(session, p.number, ev.sender or p.author, text, key, now)


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
        reply_on_github(session, p.number, actor.name, reply.text, key, now)


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
