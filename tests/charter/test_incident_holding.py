"""Which incidents hold a rollout that starts now (:func:`charter.incident_holds.holding`), and
which a rollout's retrospective lists (:func:`charter.incident_holds.concerning`)."""

from __future__ import annotations

import pytest

from charter.incident_facts import Incident
from charter.incident_holds import concerning, holding
from charter.model import Charter
from charter.rollout import Rollout
from tests.charter.rollout_support import T0, H, reference, reference_data

CHARTER = reference()
MINE = (42, ("aurora", "borealis"))


def incident(
    severity: str = "sev1",
    proposals: tuple[int, ...] = (),
    clients: tuple[str, ...] = (),
    *,
    id: str = "7",
    declared: int = 0,
    resolved: int | None = None,
) -> Incident:
    """An incident declared ``declared`` hours after T0 (resolved ``resolved`` hours after)."""
    return Incident(
        id=id,
        severity=severity,
        summary="devnet halted",
        proposals=proposals,
        clients=clients,
        declared_by="kofi-sec",
        declared_at=T0 + declared * H,
        resolved_at=None if resolved is None else T0 + resolved * H,
    )


def without_pause() -> Charter:
    data = reference_data()
    data["rollout"] = {k: v for k, v in data["rollout"].items() if k != "pause_on_incident"}
    return Charter.model_validate(data)


@pytest.mark.parametrize(
    ("found", "holds"),
    [
        (incident(), True),  # names nothing: everything
        (incident(proposals=(42,)), True),
        (incident(clients=("borealis",)), True),
        (incident(proposals=(41,), clients=("dorado",)), False),
        (incident("sev2"), False),  # below pause_on_incident (sev1)
        (incident(resolved=1), False),
    ],
    ids=["everything", "by-proposal", "by-client", "other", "below", "resolved"],
)
def test_an_open_incident_at_pause_on_incident_holds_what_it_names(
    found: Incident, holds: bool
) -> None:
    assert holding(CHARTER, [found], *MINE) == ((found,) if holds else ())


def test_without_pause_on_incident_nothing_holds_a_new_rollout() -> None:
    assert holding(without_pause(), [incident()], *MINE) == ()


RUN = Rollout(42, ("aurora", "borealis"), T0 + 10 * H)  # started 10h after T0
UNTIL = T0 + 100 * H  # its end


@pytest.mark.parametrize(
    ("found", "held", "listed"),
    [
        (incident(declared=20), (), True),  # names nothing, open while it ran
        (incident("sev3", clients=("aurora",), declared=20, resolved=30), (), True),
        (incident(declared=0, resolved=15), (), True),  # open when it started
        (incident(declared=0), (), True),  # still open
        (incident(declared=0, resolved=5), (), False),  # over before it started
        (incident(declared=101), (), False),  # declared after it ended
        (incident(clients=("dorado",), declared=20), (), False),  # names another client
        (incident(proposals=(41,), declared=20), ("7",), True),  # it paused this rollout
        (incident(declared=0, resolved=5), ("7",), True),
        (incident(declared=100), (), True),  # declared as it ended
        (incident(declared=0, resolved=10), (), True),  # resolved as it started
    ],
    ids=[
        "everything",
        "its-client",
        "open-at-start",
        "still-open",
        "before",
        "after",
        "other-client",
        "paused-it",
        "paused-it-any-time",
        "declared-at-its-end",
        "resolved-at-its-start",
    ],
)
def test_the_retrospective_lists_what_paused_it_and_what_named_it_meanwhile(
    found: Incident, held: tuple[str, ...], listed: bool
) -> None:
    assert concerning([found], RUN, held, UNTIL) == ([found] if listed else [])
