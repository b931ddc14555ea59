"""The latest rollback out of a stage (:func:`charter.go_no_go.rolled_back_from`): one naming a
client that had reported a release for that stage by the moment of the rollback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charter.gates import rolled_back_from
from charter.rollout import RollbackRecord
from charter.rollout_facts import ReadyReport
from tests.charter.rollout_support import T0, H, reference, report, rollout_at

CHARTER = reference()
PRODUCTION = CHARTER.rollout.stages[2]
BACK = RollbackRecord(("aurora",), "halt", "ines-coord", T0 + 10 * H)


@pytest.mark.parametrize(
    ("reported", "found"),
    [
        (report("aurora", "production", T0 + 9 * H), True),
        (report("aurora", "production", T0 + 10 * H), True),  # at the rollback's moment
        (report("aurora", "production", T0 + 11 * H), False),  # only after it
        (report("aurora", "canary", T0 + 9 * H), False),  # for another stage
        (report("borealis", "production", T0 + 9 * H), False),  # by another client
    ],
    ids=["before", "same-moment", "after", "other-stage", "other-client"],
)
def test_a_rollback_is_out_of_a_stage_its_client_had_reported_for(
    reported: ReadyReport, found: bool
) -> None:
    rollout = replace(rollout_at(1, reports=(reported,)), rollbacks=(BACK,))
    assert rolled_back_from(PRODUCTION, rollout) == (BACK if found else None)
