"""What may be said about an incident, and to whom (part of the rollout area's incidents; see
:mod:`bot.rollout_incidents`).

Rules:
- An incident is confidential while it names an undisclosed confidential proposal, or holds one
  paused otherwise than as it started (by its client or as one naming nothing: a hold placed
  as the rollout started leaves a public incident public, :mod:`bot.rollout_incident_holds`);
  what is said about it then stays private (:func:`kept_private`).
- A confidential incident does not exist to whoever may not see such a proposal
  (:func:`bot.rollout_steps.visible`), except to its declarer, who still sees and manages it
  (:func:`hidden_from`); a list of open incidents words it only as "a confidential incident
  (<severity>)", without id or summary (:func:`several`). (An incident naming nothing no
  longer turns confidential by pausing a rollout hidden from its declarer; one recorded so by
  an earlier version still exists, and stays theirs.)
- A reply names only the rollouts its reader may see; the others are left out entirely, not
  even counted (coordinators and the council, who may see them, get them by number:
  :func:`listed`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.announcements import undisclosed_secrets
from bot.messages import Actor
from bot.rollout_steps import visible
from charter import rollout as rollout_rules
from charter.gates import CONFIDENTIAL_INCIDENT
from charter.incident_facts import Incident
from storage import incidents as incident_store, proposals as repo, rollouts as store
from storage.dashboard_queries import confidential_incidents, hidden_numbers, started_holds

if TYPE_CHECKING:
    from bot.service import Governance


def seen(gov: Governance, stored: repo.Stored | None, actor: Actor) -> bool:
    """Whether ``actor`` may know the proposal exists (a hidden confidential one does not)."""
    return stored is not None and visible(gov, stored, actor)


def hidden_from(gov: Governance, session: Session, actor: Actor) -> set[str]:
    """Ids of the confidential incidents ``actor`` may not see: those naming or holding paused
    an undisclosed confidential proposal hidden from them (:func:`bot.rollout_steps.visible`),
    except the ones they declared, which they still manage (the replies leave out what is
    hidden: :func:`listed`): an earlier version made an incident naming nothing confidential
    when it paused a rollout hidden from its declarer, and such records remain."""
    hidden = [n for n in hidden_numbers(session) if not seen(gov, repo.load(session, n), actor)]
    secret = confidential_incidents(session, hidden) if hidden else set()
    return {i for i in secret if not _declared_by(session, i, actor)}


def _declared_by(session: Session, incident: str, actor: Actor) -> bool:
    found = incident_store.load_incident(session, int(incident))
    login = (actor.login or "").lower()
    return found is not None and bool(login) and found.declared_by.lower() == login


def listed(gov: Governance, session: Session, numbers: Iterable[int], actor: Actor) -> str:
    """``numbers`` as a reply to ``actor`` says them ("#1, #3"): only those ``actor`` may see
    (:func:`bot.rollout_steps.visible`); a rollout hidden from them is left out entirely, not even
    counted, so a reply cannot be used to learn that one exists."""
    return ", ".join(f"#{n}" for n in numbers if seen(gov, repo.load(session, n), actor))


def several(open_: Iterable[Incident], confidential: Collection[str]) -> str:
    """The question which incident is meant, listing the open ones: a confidential one (its id
    in ``confidential``) only by its severity, as :func:`charter.gates.incident_reason` words
    it, so neither its id nor its summary is said."""
    listing = ", ".join(
        f"{CONFIDENTIAL_INCIDENT} ({i.severity})"
        if i.id in confidential
        else f"#{i.id} ({i.severity}: {i.summary})"
        for i in open_
    )
    return f"Several incidents are open ({listing}); say which with #<id>."


def embargoed_active(
    gov: Governance, session: Session, active: Iterable[rollout_rules.Rollout]
) -> list[int]:
    """The active rollouts' proposals that are confidential and not disclosed yet."""
    return undisclosed_secrets(gov, session, [r.proposal for r in active])


def kept_private(gov: Governance, session: Session, incident: Incident) -> bool:
    """Whether what is said about ``incident`` must stay private: it names, or holds paused, a
    confidential proposal that is not disclosed yet. (Its declaration is kept private by the
    service, which sees the proposals and pauses in the announcement's data.)"""
    held = [  # every rollout, completed or rolled back too: it was paused for this incident
        r.proposal
        for r in store.rollouts(session, gov.charter)
        if any(key == incident.id for key, _ in r.pauses)
    ]
    started = started_holds(session, held)  # held as they started: these do not count
    held = [n for n in held if (incident.id, n) not in started]
    return bool(undisclosed_secrets(gov, session, [*incident.proposals, *held]))
