"""Watchdog edges (:mod:`charter.watchdogs`): a rollout stuck on the stage before the last, a
next stage that asks no soak, a wait under an hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from charter.model import Charter
from charter.rollout import Rollout
from charter.watchdogs import Snapshot, check, earliest_production
from tests.charter.rollout_support import CLIENTS, T0, H, reference_data
from tests.charter.test_watchdogs import FULL, STUCK, at_staging, keys, proposal

D = timedelta(days=1)
STUCK_RULE = {"when": "stage-stuck", "after": "1d", "notify": ["coordinators"]}


def charter_without_soak(index: int, *, quiet_after: str = "3d") -> Charter:
    """The reference charter, its stage ``index`` asking no soak, with a stage-stuck rule and
    no-maintainer-response after ``quiet_after``."""
    data = reference_data()
    data["rollout"]["stages"][index].pop("soak", None)
    data["escalation"][0]["after"] = quiet_after
    data["escalation"] = [*data["escalation"], STUCK_RULE]
    return Charter.model_validate(data)


ON_CANARY = Rollout(
    42, CLIENTS, T0, stage_index=1, positions=dict.fromkeys(CLIENTS, 1),
    stage_entered_at={"staging": T0, "canary": T0},
)  # fmt: skip
PROD_STUCK = "escalation:stage-stuck:rollout:42:production"


@pytest.mark.parametrize(
    ("charter", "rollout", "now", "fired"),
    [
        (FULL, ON_CANARY, T0 + 15 * D, [PROD_STUCK]),
        (FULL, ON_CANARY, T0 + 15 * D - H, []),
        (charter_without_soak(1), at_staging(), T0 + D, [STUCK]),
        (charter_without_soak(1), at_staging(), T0 + D - H, []),
    ],
    ids=["before-the-last-stage", "before-the-last-stage-within-grace", "no-soak-ahead",
         "no-soak-ahead-within-grace"],
)  # fmt: skip
def test_a_stage_is_stuck_after_the_next_stages_soak_and_the_rules_wait(
    charter: Charter, rollout: Rollout, now: datetime, fired: list[str]
) -> None:
    """The stage before the last is watched too; a next stage without a soak is waited for
    by the rule's ``after`` alone."""
    assert keys(check(Snapshot(rollouts=(rollout,)), charter, now)) == fired


def test_a_wait_under_an_hour_reads_0h() -> None:
    charter = charter_without_soak(2, quiet_after="30m")
    status = proposal("review", review_started_at=T0)
    (alert,) = check(Snapshot(proposals=(status,)), charter, T0 + timedelta(seconds=3599))
    assert alert.text.startswith("#42 has been in review 0h with no comment")


def test_a_stage_without_a_soak_adds_nothing_to_the_earliest_production() -> None:
    assert earliest_production(None, charter_without_soak(2), T0) == T0 + 72 * H
