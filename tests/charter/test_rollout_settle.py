"""What the facts imply for a rollout (:mod:`charter.rollout_settle`): it completes once every
client is on the last stage with the rollout there, once; a paused one is told what it waits
to do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charter.effects import Audit
from charter.rollout import Rollout
from charter.rollout_settle import settle, waiting
from tests.charter.rollout_support import CLIENTS, T0, H, reference, rollout_at

CHARTER = reference()


@pytest.mark.parametrize(
    ("rollout", "said"),
    [
        (rollout_at(-1, positions=dict.fromkeys(CLIENTS, 0)), "it enters staging"),
        (rollout_at(2), "it completes"),
        (replace(rollout_at(2), completed_at=T0), None),
        (rollout_at(1, positions=dict.fromkeys(CLIENTS, 2)), None),
        (rollout_at(2, positions={"aurora": 1}), None),
    ],
    ids=["enters", "completes", "completed-already", "rollout-not-on-the-last-stage",
         "a-client-not-on-the-last-stage"],
)  # fmt: skip
def test_what_a_paused_rollout_waits_to_do(rollout: Rollout, said: str | None) -> None:
    """It would complete only with the rollout and every client on the last stage, and only
    if it has not completed already."""
    assert waiting(rollout, CHARTER, None) == said


def test_a_rollout_completes_once() -> None:
    """Settling a completed rollout again keeps when it completed and says nothing."""
    done, effects = settle(rollout_at(2), CHARTER, T0)
    assert done.completed_at == T0
    assert [e.kind for e in effects if isinstance(e, Audit)] == ["rollout-completed"]
    again, more = settle(done, CHARTER, T0 + H)
    assert (again.completed_at, more) == (T0, ())
