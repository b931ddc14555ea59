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

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from bot.messages import Actor, Message
from bot.rollout_steps import Rule, step
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
    return step(
        gov,
        session,
        cmd,
        actor,
        now,
        lambda _, rollout: (
            lambda: rules.pause(rollout, None, cmd.reason, gov.charter, by=actor.name)
        ),
        admit=_admit(gov, session, cmd, actor, now),
    )


def resume(
    gov: Governance, session: Session, cmd: c.ResumeRollout, actor: Actor, now: datetime
) -> Message:
    """Lift a rollout's hold by hand (``rollout resume <n> ["<reason>"]``); an incident's hold
    stays, and the reply says what still holds it. ``--override "<reason>"`` (override roles)
    lifts the incidents' holds on this rollout too: :func:`charter.rollout.override_holds`.
    What waited for the hold happens now, as when an incident is resolved
    (:func:`bot.rollout_incident_resolution.resolve`): the first stage is entered (releases
    meeting the form's prerequisites) or the rollout completes. A rollout rolled back for good
    is refused, as a pause is: nothing of it resumes (an incident resolved later lifts its own
    hold silently, :func:`charter.rollout.resume` ``ended``)."""

    def decide(stored: repo.Stored, rollout: Rollout) -> Rule:
        minimums = form_minimums(stored.proposal.fields)
        override = cmd.override_reason
        if override is not None:  # authorize_command checked OVERRIDE
            return lambda: rules.override_holds(
                rollout, gov.charter, actor.name, override, now=now, minimums=minimums
            )
        held = confidential_incidents(session)
        return lambda: rules.resume(
            rollout,
            gov.charter,
            actor.name,
            now=now,
            minimums=minimums,
            reason=cmd.reason,
            confidential=held,
        )

    return step(gov, session, cmd, actor, now, decide, admit=_admit(gov, session, cmd, actor, now))


def _admit(
    gov: Governance,
    session: Session,
    cmd: c.PauseRollout | c.ResumeRollout,
    actor: Actor,
    now: datetime,
) -> Callable[[repo.Stored, Rollout], Message | None]:
    """Whether the actor may act on the located rollout (a pause is open to the maintainers of
    that rollout's clients only): asked before a rollout rolled back for good is refused."""
    return lambda stored, rollout: gov.authorize(
        session, cmd, actor, now, proposal=stored.proposal, rollout_clients=rollout.clients
    )
