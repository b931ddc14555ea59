"""The steps every rollout command shares: who sees a rollout, finding it, refusing, saving and
answering (part of the rollout area; see :mod:`bot.rollouts`).

Rules:
- A confidential, undisclosed rollout is visible to coordinators, the security council and the
  maintainers of its clients; to anyone else it does not exist ("There is no proposal #n")
  (:func:`visible`, :func:`locate`).
- An accepted proposal without a stored rollout (accepted before the rollout area was
  installed) gets one when it is first asked for; any other proposal has none yet.
- A proposal rolled back from every stage has nothing left to move (:func:`final_reason`).
- A refused request changes nothing but a ``command-refused`` audit entry; the reply says why
  (:func:`refuse`, with the text of a decision's refusing reply: :func:`refusal_text`).
- A decision is saved with its rollout, its effects carried out and the proposal moved along
  with it (:func:`save`) in the service's one transaction; the reply joins what the effects
  replied (:func:`answer`).
- A rollout command is those steps in that order (:func:`step`): find the rollout, refuse a
  finished one, decide (:func:`decided`), then save and answer. Deciding is two steps: what
  the rule needs is read first, and a failed read is an error that rolls the command back;
  then the rule is applied, and only there is a ``ValueError`` (input that can never be
  right) or a refusing reply a refusal, answered and audited as one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.messages import Actor, Message
from bot.rollout_lifecycle import affected, follow, start_rollout
from bot.service import Governance, Outcome
from charter.effects import Effect, Reply
from charter.lifecycle import State
from charter.rollout import Rollout, RolloutDecision
from storage import proposals as repo, rollouts as store

_LIVE = (State.ACCEPTED, State.ROLLING_OUT)

Rule = Callable[[], RolloutDecision]
"""A command's rule, ready to apply; raises ``ValueError`` to refuse."""
Decide = Callable[[repo.Stored, Rollout], Rule]
"""Reads what a command's rule needs about the proposal and its rollout, and returns the rule
to apply: a read that fails raises (an error, never a refusal told to the asker)."""


def visible(gov: Governance, stored: repo.Stored, actor: Actor) -> bool:
    """A confidential, undisclosed rollout is seen by coordinators, the security council and
    the maintainers of the clients that must ship it; to anyone else it does not exist."""
    track = gov.rules_for(stored.proposal).tracks.get(stored.proposal.track)
    if track is None or not track.confidential or stored.disclosed:
        return True
    if gov.may_see_confidential(actor):
        return True
    client = gov.charter.client_of(actor.login) if actor.login else None
    return client is not None and client.id in affected(stored, gov.charter)


def locate(
    gov: Governance,
    session: Session,
    n: int | None,
    actor: Actor,
    now: datetime,
    *,
    trusted: bool = False,
) -> tuple[repo.Stored, Rollout] | str:
    """The proposal and its rollout, or why there is none (a sentence for the person).

    ``trusted`` skips the visibility check (a release in a client's own repository)."""
    if n is None:
        return "Say which proposal, e.g. `/charter rollout 42`."
    stored = repo.load(session, n, for_update=True)
    if stored is None or not (trusted or visible(gov, stored, actor)):
        return f"There is no proposal #{n}."
    rollout = store.load_rollout(session, n, gov.charter, for_update=True)
    if rollout is None:
        if stored.proposal.state not in _LIVE:
            return f"#{n} is {stored.proposal.state.value}; a rollout starts once it is accepted."
        rollout = start_rollout(gov, session, stored, now)  # accepted before this was installed
    return stored, rollout


def final_reason(stored: repo.Stored) -> str | None:
    """Why nothing more can happen on this proposal's rollout (rolled back from every stage, so
    a retry needs a new proposal), or None while it may still move."""
    p = stored.proposal
    if p.state is State.ROLLED_BACK:
        return f"#{p.number} was rolled back from every stage; a new proposal is needed to retry."
    return None


def refuse(
    gov: Governance, session: Session, actor: Actor, command: object, why: str, now: datetime
) -> Message:
    """Refuse ``command``: nothing changes but its ``command-refused`` audit entry, and the
    reply (not ok) says ``why``."""
    return gov.refuse(session, actor, command, why, now)


def save(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    before: Rollout,
    after: Rollout,
    effects: Iterable[Effect],
    actor: Actor | str,
    now: datetime,
) -> Outcome:
    """Save the rollout, carry out its effects, and move the proposal along with it."""
    store.save_rollout(session, replace(after, checks=()), gov.charter, now)
    outcome = gov.effects(session, effects, actor, now, proposal=stored.proposal)
    follow(gov, session, stored, before, after, actor, now)
    return outcome


def answer(outcome: Outcome, fallback: str = "Done.") -> Message:
    """The reply to a command from what carrying out its effects replied (``fallback`` when
    nothing did); it is ok only when every reply was."""
    text = "\n".join(r.text for r in outcome.replies) or fallback
    return Message.text_only(text, ok=all(r.ok for r in outcome.replies))


def refusal_text(effects: Sequence[Effect]) -> str | None:
    """The text of the first refusing reply among a decision's ``effects``, or None: a refused
    decision is not carried out (the caller refuses with this text instead)."""
    return next((e.text for e in effects if isinstance(e, Reply) and not e.ok), None)


def decided(stored: repo.Stored, rollout: Rollout, decide: Decide) -> RolloutDecision | str:
    """``decide``'s decision on a rollout that may still move, or why there is none (a
    sentence for the person): the rollout is finished (:func:`final_reason`), the rule raised
    ``ValueError``, or the decision refuses (:func:`refusal_text`). What ``decide`` reads
    before it returns the rule is outside that: its errors propagate."""
    final = final_reason(stored)
    if final is not None:
        return final
    rule = decide(stored, rollout)  # outside the try: a failed read is no refusal
    try:
        decision = rule()
    except ValueError as error:
        return str(error)
    why = refusal_text(decision.effects)
    return decision if why is None else why


class Numbered(Protocol):
    """A rollout command: it names its proposal (or not yet: ``locate`` asks for it)."""

    @property
    def n(self) -> int | None: ...


def step(
    gov: Governance,
    session: Session,
    cmd: Numbered,
    actor: Actor,
    now: datetime,
    decide: Decide,
    *,
    admit: Callable[[repo.Stored, Rollout], Message | None] | None = None,
) -> Message:
    """Carry out a rollout command: locate its rollout, let ``admit`` refuse (its refusal is
    the reply) before a finished rollout is, decide (:func:`decided`), then save and answer.
    Every refusal is :func:`refuse`'s: nothing changes but its audit entry."""
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    refusal = admit(stored, rollout) if admit is not None else None
    if refusal is not None:
        return refusal
    decision = decided(stored, rollout, decide)
    if isinstance(decision, str):
        return refuse(gov, session, actor, cmd, decision, now)
    return answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )
