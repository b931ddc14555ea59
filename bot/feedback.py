"""Feedback requests in the service: ``feedback`` / ``/f?`` and what answers one.

The rules are :mod:`charter.feedback`'s; here a request is run like the other proposal commands
(load the proposal the asker may see → authorize → decide → store the requests and carry out
the effects in the command's transaction), and an answer is recorded when the asked person
comments on the proposal's issue, votes or raises a concern on it (:func:`answered`).

Rules:
- A person is named by GitHub login; a chat mention is read as the login its user linked on
  the surface the command came from, and the command is refused when there is none
  (``bot.identity.mentioned_login``).
- A confidential proposal not yet disclosed is hidden from everyone but coordinators, the
  security council and those who hold a seat or a veto on its track (the ``show`` rule): the
  asker must see it (else "There is no proposal #n"), and so must everyone asked.
- On GitHub the reply mentions the people asked, so GitHub notifies them
  (``bot.github.handler``); every other text in it is escaped.
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
from charter.effects import Reply
from charter.feedback import Answer, answer, request_feedback
from charter.seats import may_vote
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
    )
    replies = [e for e in decision.effects if isinstance(e, Reply)]
    if any(not r.ok for r in replies):
        return Asked(gov.refuse(session, actor, cmd, " ".join(r.text for r in replies), now))
    store.save(session, decision.requests)
    version = gov.rules_for(p).version
    outcome = gov.effects(session, decision.effects, actor, now, charter_version=version)
    text = "\n".join(r.text for r in outcome.replies)
    return Asked(Message.text_only(text), tuple(r.login for r in decision.requests), cmd.note)


def _cannot_see(gov: Governance, stored: repo.Stored, logins: list[str]) -> frozenset[str]:
    """The logins (casefolded) an undisclosed confidential proposal is hidden from."""
    rules = gov.rules_for(stored.proposal)
    track = rules.tracks.get(stored.proposal.track)
    if track is None or not track.confidential or stored.disclosed:
        return frozenset()
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
    open request there, if any, is answered (audited, the tracking message synced)."""
    if actor.login is None:
        return
    requests = store.open_for(session, number)
    if not requests:
        return
    decision = answer(number, requests, actor.login, how, at)
    if not decision.requests:
        return
    store.save(session, decision.requests)
    stored = repo.load(session, number)
    version = gov.rules_for(stored.proposal).version if stored is not None else None
    gov.effects(session, decision.effects, actor, at, charter_version=version)
