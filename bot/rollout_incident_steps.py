"""The steps every incident command shares: picking the incident, recording the decision and
answering (part of the rollout area's incidents; see :mod:`bot.rollout_incidents`).

Rules:
- An incident command without ``#<id>`` acts on the only open incident; with several open, the
  reply lists them and asks which (:func:`pick`). A confidential incident the actor may not
  see (:func:`bot.rollout_incident_secrecy.hidden_from`) does not exist to them: named, it is
  answered as a missing one, and as the only open one it is not picked; the list words it
  only by its severity, and the refusal's audit entry, which the public may read, words every
  confidential one so.
- A decision refusing leaves the incident unchanged; otherwise the incident is saved and the
  effects carried out, announced privately while the incident is confidential
  (:func:`record`). A private brief (an incident role's instructions) becomes an outbox item
  of kind ``direct-message`` with payload ``{login, text}`` (:func:`carry_out`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.messages import Actor, Message
from bot.rollout_incident_secrecy import hidden_from, kept_private, several
from charter import incident_facts
from charter.effects import Announce, Effect, Reply
from charter.incident_facts import DirectMessage, Incident, IncidentEffect
from storage import incidents as incident_store, outbox
from storage.dashboard_queries import confidential_incidents

if TYPE_CHECKING:
    from bot.service import Governance, Outcome


def pick(
    gov: Governance, session: Session, cmd: object, number: int | None, actor: Actor, now: datetime
) -> Incident | Message:
    """The incident a command means: the one named, or the only open one; else the refusal.
    A confidential incident the actor may not see
    (:func:`bot.rollout_incident_secrecy.hidden_from`) does not exist to them: named, it is
    answered as a missing one, and as the only open one it is not picked."""
    secret = confidential_incidents(session)
    unseen = hidden_from(gov, session, actor) if secret else set()
    if number is not None:
        found = incident_store.load_incident(session, number)
        if found is None or found.id in unseen:
            return gov.refuse(session, actor, cmd, f"There is no incident #{number}.", now)
        return found
    open_ = incident_store.incidents(session, open_only=True)
    if len(open_) == 1 and open_[0].id not in unseen:
        return open_[0]
    if not open_ or len(open_) == 1:
        return gov.refuse(
            session, actor, cmd, "There is no open incident; name one with #<id>.", now
        )
    gov.refuse(session, actor, cmd, several(open_, secret), now)  # the audit log is public
    return Message.text_only(several(open_, unseen), ok=False)


def carry_out(
    gov: Governance,
    session: Session,
    effects: Iterable[IncidentEffect],
    actor: Actor | str,
    now: datetime,
) -> Outcome:
    """Carry out effects; a private brief becomes a ``direct-message`` outbox item."""
    plain: list[Effect] = []
    for effect in effects:
        if isinstance(effect, DirectMessage):
            payload = {"login": effect.login, "text": effect.text}
            outbox.enqueue(session, kind="direct-message", payload=payload, now=now)
        else:
            plain.append(effect)
    return gov.effects(session, plain, actor, now)


def reply(outcome: Outcome, extra: Iterable[str] = (), *, first: bool = False) -> Message:
    """The replies, then ``extra`` (before them when ``first``: the news, then the details)."""
    said = [r.text for r in outcome.replies]
    text = "\n".join([*extra, *said] if first else [*said, *extra]) or "Done."
    return Message.text_only(text, ok=all(r.ok for r in outcome.replies))


def record(
    gov: Governance,
    session: Session,
    cmd: object,
    decision: incident_facts.IncidentDecision,
    actor: Actor,
    now: datetime,
) -> Outcome | Message:
    """Save the incident and carry out the decision, or refuse (the incident unchanged)."""
    refused = next((e.text for e in decision.effects if isinstance(e, Reply) and not e.ok), None)
    if refused is not None:
        return gov.refuse(session, actor, cmd, refused, now)
    effects = decision.effects
    if kept_private(gov, session, decision.incident):
        effects = tuple(_private(e) for e in effects)
    incident_store.save_incident(session, decision.incident, review_due_at=decision.review_due_at)
    return carry_out(gov, session, effects, actor, now)


def _private(effect: IncidentEffect) -> IncidentEffect:
    return replace(effect, confidential=True) if isinstance(effect, Announce) else effect
