"""Which rollouts an incident holds paused, and which incidents a rollout's retrospective lists.

Rules (charter ``rollout.pause_on_incident``):
- A rollout that starts while an open incident at ``pause_on_incident`` or worse names it starts
  paused by that incident (:func:`holding`), as if it had been under way at the declaration;
  the hold is lifted when the incident is resolved.
- A public incident stays public when it concerns an active embargoed rollout (of a
  confidential proposal not disclosed yet) that it does not name by number: that rollout is
  held all the same, quietly (:func:`quietly_held`, :func:`split_held`), left out of the
  incident's news and audit entries.
- A rollout's retrospective lists the incidents that held it paused, whatever they name, and
  those that name it and were open while it ran (:func:`concerning`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from charter.incident_facts import Incident, is_open, names
from charter.model import Charter
from charter.rollout_facts import Rollout


def holding(
    charter: Charter, incidents: Sequence[Incident], proposal: int, clients: Sequence[str]
) -> tuple[Incident, ...]:
    """The incidents that hold a rollout starting now: each open one at ``pause_on_incident``
    or worse that names it (:func:`names`); declared earlier, it would have paused it then."""
    threshold = charter.rollout.pause_on_incident
    if threshold is None:
        return ()
    return tuple(
        i
        for i in incidents
        if is_open(i)
        and charter.incidents.at_least(i.severity, threshold)
        and names(i, proposal, clients)
    )


def concerning(
    incidents: Sequence[Incident], rollout: Rollout, held: Collection[str], until: datetime
) -> list[Incident]:
    """The incidents a rollout's retrospective lists: each that held it paused (its id in
    ``held``, from the rollout's pause records), and each that names it (:func:`names`) and was
    open while it ran (declared by ``until``, its end, and not resolved before it started)."""
    return [
        i
        for i in incidents
        if i.id in held
        or (
            names(i, rollout.proposal, rollout.clients)
            and i.declared_at <= until
            and (i.resolved_at is None or i.resolved_at >= rollout.started_at)
        )
    ]


def quietly_held(incident: Incident, rollout: Rollout, embargoed: Collection[int]) -> bool:
    """Whether ``incident`` holds ``rollout`` without naming it in its news: the rollout is of
    an embargoed proposal (in ``embargoed``) that the incident concerns (:func:`names`: by one
    of its clients, or by naming nothing) but does not name by number (so a public incident
    stays public, as when such a rollout starts under it)."""
    return (
        rollout.proposal in embargoed
        and rollout.proposal not in incident.proposals
        and names(incident, rollout.proposal, rollout.clients)
    )


def split_held(
    incident: Incident,
    numbers: Collection[int],
    rollouts: Sequence[Rollout],
    embargoed: Collection[int],
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``numbers`` (active rollouts ``incident`` holds now, by proposal) as (paused, held
    quietly: :func:`quietly_held`), each sorted."""
    quiet = {
        r.proposal
        for r in rollouts
        if r.proposal in numbers and quietly_held(incident, r, embargoed)
    }
    return tuple(sorted(set(numbers) - quiet)), tuple(sorted(quiet))
