"""Holding a rollout by hand and lifting holds: ``rollout pause|resume`` (part of the rollout
area; see :mod:`bot.rollouts`).

Rules:
- ``rollout pause|resume`` hold a rollout by hand and lift that hold (an incident's only with
  ``--override "<reason>"``, by the override roles, the incident staying open):
  :func:`charter.rollout.pause`, :func:`charter.rollout.resume` and
  :func:`charter.rollout.override_holds`. Who may is asked twice: before the rollout is
  loaded (any maintainer may pause), then with its clients (only theirs may).
- A rollout rolled back for good has nothing left to hold or to resume: both are refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.messages import Actor, Message
from bot.rollout_steps import answer, final_reason, locate, refusal_text, refuse, save
from bot.service import Governance
from charter import commands as c, rollout as rules
from charter.prerequisites import form_minimums
from charter.rollout import Rollout
from storage import proposals as repo
from storage.dashboard_queries import confidential_incidents


def pause(
    gov: Governance, session: Session, cmd: c.PauseRollout, actor: Actor, now: datetime
) -> Message:
    """Hold a rollout by hand (``rollout pause <n> "<reason>"``): the rule is
    :func:`charter.rollout.pause`, who may is :mod:`charter.authz` (asked again here with the
    rollout's clients). A rollout rolled back for good has nothing left to hold."""
    loaded = _held(gov, session, cmd, actor, now)
    if isinstance(loaded, Message):
        return loaded
    stored, rollout = loaded
    try:
        decision = rules.pause(rollout, None, cmd.reason, gov.charter, by=actor.name)
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    return _decided(gov, session, cmd, stored, rollout, decision, actor, now)


def resume(
    gov: Governance, session: Session, cmd: c.ResumeRollout, actor: Actor, now: datetime
) -> Message:
    """Lift a rollout's hold by hand (``rollout resume <n> ["<reason>"]``); an incident's hold
    stays, and the reply says what still holds it. ``--override "<reason>"`` (override roles)
    lifts the incidents' holds on this rollout too: :func:`charter.rollout.override_holds`.
    What waited for the hold happens now, as when an incident is resolved
    (:func:`bot.rollout_incidents.resolve`): the first stage is entered (releases meeting the
    form's prerequisites) or the rollout completes. A rollout rolled back for good is refused,
    as a pause is: nothing of it resumes (an incident resolved later lifts its own hold
    silently, :func:`charter.rollout.resume` ``ended``)."""
    loaded = _held(gov, session, cmd, actor, now)
    if isinstance(loaded, Message):
        return loaded
    stored, rollout = loaded
    minimums = form_minimums(stored.proposal.fields)
    if cmd.override_reason is not None:  # authorize_command checked OVERRIDE
        try:
            decision = rules.override_holds(
                rollout, gov.charter, actor.name, cmd.override_reason, now=now, minimums=minimums
            )
        except ValueError as error:
            return refuse(gov, session, actor, cmd, str(error), now)
    else:
        decision = rules.resume(
            rollout,
            gov.charter,
            actor.name,
            now=now,
            minimums=minimums,
            reason=cmd.reason,
            confidential=confidential_incidents(session),
        )
    return _decided(gov, session, cmd, stored, rollout, decision, actor, now)


def _held(
    gov: Governance,
    session: Session,
    cmd: c.PauseRollout | c.ResumeRollout,
    actor: Actor,
    now: datetime,
) -> tuple[repo.Stored, Rollout] | Message:
    """The proposal and rollout a pause or resume acts on, once the actor may act on them (a
    pause is open to the maintainers of that rollout's clients only) and while it has not been
    rolled back for good: then nothing of it is left to hold or to resume."""
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    refusal = gov.authorize(
        session, cmd, actor, now, proposal=stored.proposal, rollout_clients=rollout.clients
    )
    if refusal is not None:
        return refusal
    final = final_reason(stored)
    return loaded if final is None else refuse(gov, session, actor, cmd, final, now)


def _decided(
    gov: Governance,
    session: Session,
    cmd: object,
    stored: repo.Stored,
    rollout: Rollout,
    decision: rules.RolloutDecision,
    actor: Actor,
    now: datetime,
) -> Message:
    """Refuse as the decision says, or save it and carry out its effects, as advance does."""
    why = refusal_text(decision.effects)
    if why is not None:
        return refuse(gov, session, actor, cmd, why, now)
    return answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )
