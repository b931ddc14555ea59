"""Feedback requests in the service: ``feedback`` / ``/f?`` and what answers one.

The rules are :mod:`charter.feedback`'s; here a request is run like the other proposal commands
(load the proposal the asker may see → authorize → decide → store the requests and carry out
the effects in the command's transaction), and an answer is recorded when the asked person
comments on the proposal's issue, votes or raises a concern on it (:func:`answered`).

Rules:
- A person is named by GitHub login; a chat mention is read as the login its user linked on
  the surface the command came from, and the command is refused when there is none
  (``bot.identity.mentioned_login``). A login the charter in force names is asked as it
  spells it (``charter.feedback.charter_logins``), whatever case it was written in.
- A confidential proposal not yet disclosed is hidden from everyone but coordinators, the
  security council and those who hold a seat or a veto on its track (the ``show`` rule): the
  asker must see it (else "There is no proposal #n"), and so must everyone asked.
- The people asked are told on the proposal's issue, so GitHub notifies them: asked in a
  comment, the reply mentions them (``bot.github.comments``); asked from chat, the same
  mentioning comment is queued for the issue (once: keyed ``feedback:<n>:<asked at>``; the
  GitHub relay posts it, and without GitHub it waits in the outbox like every comment). An
  undisclosed confidential proposal's issue gets none (its ask is no public news): the chat
  answer says they were not notified on GitHub. Every text but the logins is escaped.
- A comment by the asked person posted at or after the request but stored first (GitHub does
  not order deliveries) answers it at once, as it would have answered it arriving later.
- A closed proposal's requests are history: nothing answers them any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import commands_core
from bot.identity import mentioned_login, unlinked_mention
from bot.messages import Actor, Message
from charter import commands as c
from charter.authz import Role, roles_for
from charter.effects import Comment, Reply
from charter.feedback import Answer, answer, charter_logins, request_feedback
from charter.seats import may_vote
from charter.text import escape_markdown_github
from storage import feedback as store, proposals as repo

if TYPE_CHECKING:
    from bot.service import Governance


@dataclass(frozen=True)
class Asked:
    """What a ``feedback`` command did: the answer, and the logins newly asked."""

    message: Message
    logins: tuple[str, ...] = ()
    note: str = ""


def request(
    gov: Governance, session: Session, cmd: c.RequestFeedback, actor: Actor, now: datetime
) -> Asked:
    # Loaded (and locked) as every proposal command loads it: one the actor may not see is
    # "no proposal", so a confidential one is not revealed.
    stored = commands_core._load(gov, session, cmd.n, actor)
    if isinstance(stored, Message):
        return Asked(stored)
    p = stored.proposal
    refusal = gov.authorize(session, cmd, actor, now, proposal=p)
    if refusal is not None:
        return Asked(refusal)
    logins: list[str] = []
    for user in cmd.users:
        login = mentioned_login(session, user, actor)
        if login is None:
            why = unlinked_mention("they cannot be asked", f"feedback {p.number} @their-login")
            return Asked(gov.refuse(session, actor, cmd, why, now))
        logins.append(login)
    decision = request_feedback(
        p.number,
        p.state,
        store.for_proposal(session, p.number),
        actor.login or "",
        logins,
        cmd.note,
        now,
        cannot_see=_cannot_see(gov, stored, logins),
        known=charter_logins(gov.charter),
    )
    replies = [e for e in decision.effects if isinstance(e, Reply)]
    if any(not r.ok for r in replies):
        return Asked(gov.refuse(session, actor, cmd, " ".join(r.text for r in replies), now))
    store.save(session, decision.requests)
    version = gov.rules_for(p).version
    effects = [*decision.effects]
    asked = tuple(r.login for r in decision.requests)
    unnotified = ""
    if asked and actor.surface != "github":  # a comment's own reply mentions them
        if _undisclosed(gov, stored):
            unnotified = f" They were not notified on GitHub: #{p.number} is confidential."
        else:
            body = asks_text(asked, actor.login or "", cmd.note)
            effects.append(Comment(p.number, body, key=f"feedback:{p.number}:{now.isoformat()}"))
    outcome = gov.effects(session, effects, actor, now, charter_version=version)
    for login in asked:  # a comment delivered before this request answers it
        at = store.first_comment(session, p.number, login, now)
        if at is not None:
            author = Actor(login=login, surface="github", display=login)
            answered(gov, session, p.number, author, Answer.COMMENT, at)
    text = "\n".join(r.text for r in outcome.replies) + unnotified
    return Asked(Message.text_only(text), asked, cmd.note)


def asks_text(logins: tuple[str, ...], asker: str, note: str) -> str:
    """The line that asks ``logins`` on the proposal's issue, mentioning them so GitHub
    notifies them. Their logins are safe markdown (the grammar's or a verified link's:
    letters, digits and hyphens); the asker and the note are escaped."""
    mentions = " ".join(f"@{login}" for login in logins)
    said = f" {escape_markdown_github(note)}" if note else ""
    return (
        f"{mentions}: {escape_markdown_github(asker)} asks for your feedback on this"
        f" proposal.{said} Comment here to answer; it does not block the decision."
    )


def _undisclosed(gov: Governance, stored: repo.Stored) -> bool:
    """Whether ``stored`` is a confidential proposal not yet disclosed."""
    track = gov.rules_for(stored.proposal).tracks.get(stored.proposal.track)
    return track is not None and track.confidential and not stored.disclosed


def _cannot_see(gov: Governance, stored: repo.Stored, logins: list[str]) -> frozenset[str]:
    """The logins (casefolded) an undisclosed confidential proposal is hidden from."""
    if not _undisclosed(gov, stored):
        return frozenset()
    rules = gov.rules_for(stored.proposal)
    track = rules.tracks[stored.proposal.track]
    hidden = set()
    for login in logins:
        roles = roles_for(Actor(login=login, surface="github"), gov.charter)
        if not roles & {Role.COORDINATOR, Role.SECURITY_COUNCIL} and not may_vote(
            login, track, rules
        ):
            hidden.add(login.casefold())
    return frozenset(hidden)


def answered(
    gov: Governance, session: Session, number: int, actor: Actor, how: Answer, at: datetime
) -> None:
    """``actor`` commented, voted or raised a concern on proposal ``number`` at ``at``: their
    open request there, if any, is answered (audited, the tracking message synced), unless
    the proposal is closed (charter.feedback)."""
    if actor.login is None:
        return
    requests = store.open_for(session, number)
    if not requests:  # the common case: nothing asked of anyone here
        return
    stored = repo.load(session, number)
    if stored is None:
        return
    p = stored.proposal
    decision = answer(number, p.state, requests, actor.login, how, at)
    if not decision.requests:
        return
    store.save(session, decision.requests)
    gov.effects(session, decision.effects, actor, at, charter_version=gov.rules_for(p).version)
