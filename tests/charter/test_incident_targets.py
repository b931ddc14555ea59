"""What an incident at ``pause_on_incident`` pauses: the active rollouts it names, and nothing
else (charter.incidents).

``rollouts`` are the active rollouts (storage.rollouts.rollouts(active_only=True): not completed,
and not of a proposal in a final state such as rolled back for good). A proposal the incident
names explicitly but that has no active rollout among them stays named, for the record, but is
not paused: not in ``pause``, not in the audit's ``pause``, not in the announcement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from charter.effects import Announce, Audit
from charter.incident_facts import IncidentDecision
from charter.incidents import declare, reclassify
from charter.rollout import Rollout
from tests.charter.rollout_support import CLIENTS, T0, H, reference

CHARTER = reference()


def rollout(proposal: int, clients: Sequence[str], *, done: bool = False) -> Rollout:
    return Rollout(proposal, tuple(clients), T0, completed_at=T0 if done else None)


# #1 was rolled back for good: storage leaves it out of the active rollouts. #45 completed.
ACTIVE = (rollout(42, CLIENTS), rollout(43, ("aurora", "dorado")), rollout(45, CLIENTS, done=True))


def declared(severity: str = "sev1", **named: Any) -> IncidentDecision:
    return declare(
        CHARTER, id="INC-9", severity=severity, summary="aurora forks on mainnet",
        by="kofi-sec", now=T0, rollouts=ACTIVE, **named,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("named", "pause", "scope"),
    [
        ({"proposals": (1,)}, (), "#1"),  # rolled back for good
        ({"proposals": (50,)}, (), "#50"),  # not accepted yet: no rollout at all
        ({"proposals": (45,)}, (), "#45"),  # completed
        ({"proposals": (1, 42)}, (42,), "#1, #42"),
        ({"proposals": (1,), "clients": ("dorado",)}, (42, 43), "#1, dorado"),
        ({"clients": ("aurora",)}, (42, 43), "aurora"),
        ({}, (42, 43), "everything"),
    ],
    ids=[
        "rolled-back",
        "no-rollout-yet",
        "completed",
        "rolled-back-and-active",
        "rolled-back-and-client",
        "client",
        "nothing-named",
    ],
)
def test_declare_pauses_only_active_rollouts_it_names(
    named: dict[str, Any], pause: tuple[int, ...], scope: str
) -> None:
    """Every proposal named stays in the incident and its announcement's data; only those with
    an active rollout are paused, audited and announced as paused."""
    decision = declared(**named)
    assert decision.pause == pause
    proposals = list(named.get("proposals", ()))
    assert list(decision.incident.proposals) == proposals
    audit, announce = decision.effects
    assert isinstance(audit, Audit) and audit.payload["pause"] == list(pause)
    assert isinstance(announce, Announce)
    assert announce.data.get("paused") == (list(pause) or None)
    assert announce.data["proposals"] == proposals
    assert f"Concerns: {scope}." in announce.text
    assert ("Rollouts paused" in announce.text) is bool(pause)


@pytest.mark.parametrize(
    ("named", "pause"),
    [
        ({"proposals": (1,)}, ()),
        ({"proposals": (1, 43)}, (43,)),
        ({"clients": ("aurora",)}, (42, 43)),
    ],
    ids=["rolled-back", "rolled-back-and-active", "client"],
)
def test_raising_to_sev1_pauses_only_active_rollouts_it_names(
    named: dict[str, Any], pause: tuple[int, ...]
) -> None:
    """Raised to the pause point, an incident pauses what declaring at sev1 would have."""
    incident = declared("sev2", **named).incident
    decision = reclassify(CHARTER, incident, "sev1", "spreading", "kofi-sec", T0 + H, ACTIVE)
    assert decision.pause == pause
    assert decision.pause == declared(**named).pause
