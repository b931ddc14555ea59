"""Which clients a rollout announcement names (``charter.rollout_decision.announce``'s
``about``): one client's drill, drill plan, voided drill or rollback names just that client, so
``client X`` filters (the feed's and subscriptions') let it through only for X; what concerns
every client (a rollback that moves the rollout itself back) names them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from charter.effects import Announce
from charter.rollout_decision import RolloutDecision, announce
from charter.rollout_drills import report_drill, schedule_drill
from charter.rollout_ready import report_ready
from charter.rollout_rollback import rollback
from tests.charter.rollout_support import CLIENTS, T0, H, report, rollout_at
from tests.charter.test_drill_voids import ON_CANARY as DRILLED, again
from tests.charter.test_drills import CHARTER
from tests.charter.test_rollout_drills import ON_CANARY, PLAN, drill

AHEAD = rollout_at(1, positions={**dict.fromkeys(CLIENTS, 1), "aurora": 2})

CASES: list[tuple[str, Callable[[], RolloutDecision], tuple[str, ...]]] = [
    ("drill reported", lambda: report_drill(ON_CANARY, CHARTER, drill()), ("aurora",)),
    ("drill planned", lambda: schedule_drill(ON_CANARY, CHARTER, PLAN), ("eridanus",)),
    ("drill voided", lambda: report_ready(DRILLED, CHARTER, again("1.4.1")), ("aurora",)),
    (
        "one client rolled back, the rollout stays",
        lambda: rollback(AHEAD, CHARTER, "bad", "ines-coord", T0 + H, clients=["aurora"]),
        ("aurora",),
    ),
    (
        "one client rolled back, the rollout moves back with it",
        lambda: rollback(ON_CANARY, CHARTER, "bad", "ines-coord", T0 + H, clients=["aurora"]),
        CLIENTS,
    ),
    ("every client rolled back", lambda: rollback(ON_CANARY, CHARTER, "bad", "x", T0), CLIENTS),
]


@pytest.mark.parametrize(("decide", "clients"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_announcement_names_the_clients_it_is_about(
    decide: Callable[[], RolloutDecision], clients: tuple[str, ...]
) -> None:
    [said] = [e for e in decide().effects if isinstance(e, Announce)]
    assert said.clients == clients


@pytest.mark.parametrize(("about", "clients"), [(None, CLIENTS), (("cirrus",), ("cirrus",))])
def test_announce_names_every_client_unless_told(
    about: tuple[str, ...] | None, clients: tuple[str, ...]
) -> None:
    rollout = replace(ON_CANARY, reports=(report("cirrus", "canary", T0),))
    assert announce(rollout, CHARTER, "t", "x", about=about).clients == clients
