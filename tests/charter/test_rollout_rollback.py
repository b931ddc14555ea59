"""A rollback (:func:`charter.rollout.rollback`) ends the proposal only when the caller says
the one rolling back may (``may_end``); by default it does not."""

from __future__ import annotations

from charter.effects import Reply
from charter.rollout import rollback
from tests.charter.rollout_support import CLIENTS, T0, reference, rollout_at

CHARTER = reference()


def test_by_default_a_rollback_ends_nothing() -> None:
    """Every client already off every stage: without ``may_end`` nothing is left to roll back,
    so the rollback is refused and the rollout is as it was."""
    before = rollout_at(-1, positions=dict.fromkeys(CLIENTS, -1))
    decision = rollback(before, CHARTER, "abandoned", "ines-coord", T0)
    (reply,) = [e for e in decision.effects if isinstance(e, Reply)]
    assert not reply.ok
    assert "nothing to roll back" in reply.text
    assert decision.rollout == before
