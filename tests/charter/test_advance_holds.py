"""Advancing a paused rollout is refused with what lifts each hold: a hold by hand is lifted by
`rollout resume` (an override role), an incident's by resolving that incident, named unless it
is confidential to those who read the refusal (then worded as charter.gates words it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.effects import Reply
from charter.gates import GateFacts
from charter.incident_facts import Incident
from charter.model import Charter
from charter.rollout import advance, pause
from tests.charter.rollout_support import T0, reference, reference_data, rollout_at

CHARTER = reference()
NOBODY = Charter.model_validate(
    reference_data() | {"rollout": reference_data()["rollout"] | {"override_roles": []}}
)
HAND = ("", "held by ines-coord: devnet freeze")
FORK = ("INC-1", "INC-1 (sev1): fork at block 1200")
SECRET = ("INC-2", "INC-2 (sev1): key leak in the signer")
LEAK = Incident("INC-2", "sev2", "key leak in the signer", (42,), (), "kofi-sec", T0)
SAID = "#42 is paused; it advances once every hold is lifted:\n"
BY_HAND = "- held by ines-coord: devnet freeze — a member of coordinators lifts it with"
RESUME = " `/charter rollout resume 42`"
BY_FORK = (
    "- INC-1 (sev1): fork at block 1200 — lifted when incident INC-1 is resolved"
    " (`/charter incident resolve #INC-1`)"
)


@pytest.mark.parametrize(
    ("charter", "holds", "facts", "said"),
    [
        (CHARTER, (HAND,), GateFacts(), SAID + BY_HAND + RESUME),
        (NOBODY, (HAND,), GateFacts(), SAID + "- held by ines-coord: devnet freeze —" + RESUME
         + " lifts it"),
        (CHARTER, (FORK,), GateFacts(), SAID + BY_FORK),
        (CHARTER, (SECRET,), GateFacts(incidents=(LEAK,), confidential=frozenset({"INC-2"})),
         SAID + "- a confidential incident (sev2) — lifted when that incident is resolved"),
        (CHARTER, (SECRET,), GateFacts(confidential=frozenset({"INC-2"})),
         SAID + "- a confidential incident — lifted when that incident is resolved"),
        (CHARTER, (FORK, HAND), GateFacts(), SAID + BY_FORK + "\n" + BY_HAND + RESUME),
    ],
    ids=["by-hand", "no-override-role", "incident", "confidential-incident",
         "confidential-not-open", "incident-and-hand"],
)  # fmt: skip
def test_advancing_a_paused_rollout_says_what_lifts_each_hold(
    charter: Charter, holds: tuple[tuple[str, str], ...], facts: GateFacts, said: str
) -> None:
    rollout = rollout_at(0, entered={"staging": T0})
    for key, reason in holds:
        rollout = pause(rollout, key or None, reason, charter).rollout
    decision = advance(rollout, charter, facts, T0 + timedelta(days=4), by="ines-coord")
    assert decision.effects == (Reply(said, ok=False),)
    assert decision.rollout == rollout
