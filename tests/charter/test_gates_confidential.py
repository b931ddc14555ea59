"""A confidential incident blocks like any other, but its gate reason — shown as is in public
places — names only its severity: never its id or summary."""

from __future__ import annotations

import pytest

from charter.gates import GateFacts, GateResult, block_on_incident, evaluate, incident_reason
from charter.incident_facts import Incident
from tests.charter.test_gates import CANARY, CHARTER, PRODUCTION, T0, incident, rollout_at

QUOTED = "incident INC-1 (sev1) is open: interop fork on canary"
HIDDEN = "a confidential incident (sev1) is open"


@pytest.mark.parametrize(
    ("confidential", "reason"),
    [
        ((), QUOTED),
        ({"INC-1"}, HIDDEN),
        ({"INC-2"}, QUOTED),
    ],
    ids=["ordinary", "confidential", "another-is-confidential"],
)  # fmt: skip
def test_incident_reason(confidential: set[str], reason: str) -> None:
    assert incident_reason(incident("sev1"), confidential) == reason


SEV2_HIDDEN = "a confidential incident (sev2) is open"


@pytest.mark.parametrize(
    ("incidents", "confidential", "reason"),
    [
        ((incident("sev1"),), {"INC-1"}, HIDDEN),
        ((incident("sev1"), incident("sev2", id="INC-2")), {"INC-2"},
         f"{QUOTED}; {SEV2_HIDDEN}"),
        ((incident("sev2"), incident("sev2", id="INC-2")), {"INC-1", "INC-2"}, SEV2_HIDDEN),
        ((incident("sev1"), incident("sev2", id="INC-2")), {"INC-1", "INC-2"},
         f"{HIDDEN}; {SEV2_HIDDEN}"),
    ],
    ids=["one", "one-of-two", "two-alike-said-once", "two-severities"],
)  # fmt: skip
def test_block_on_a_confidential_incident(
    incidents: tuple[Incident, ...], confidential: set[str], reason: str
) -> None:
    result = block_on_incident(CANARY, rollout_at(1), incidents, CHARTER, confidential)
    assert result == GateResult("block_on_incident", False, reason)


def test_evaluate_passes_the_confidential_ids() -> None:
    facts = GateFacts(incidents=(incident("sev3"),), confidential=frozenset({"INC-1"}))
    results = evaluate(PRODUCTION, rollout_at(1), facts, CHARTER, T0)
    (gate,) = [r for r in results if r.gate == "block_on_incident"]
    assert gate == GateResult("block_on_incident", False, "a confidential incident (sev3) is open")
