"""How the soak gate (:func:`charter.gates.soak`) counts and says its time: whole hours run
(floor) and to go (ceiling), in days from a week's soak on; the first stage has none."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from charter.gates import GateResult, soak
from charter.model import Charter, Stage
from tests.charter.rollout_support import T0, H, reference_data, rollout_at

S = timedelta(seconds=1)


def soaks(staging: str | None = None, canary: str = "72h") -> Charter:
    """The reference charter with these soaks before staging and canary."""
    data = reference_data()
    first, second = data["rollout"]["stages"][:2]
    if staging is not None:
        first["soak"] = staging
    second["soak"] = canary
    return Charter.model_validate(data)


def stage(charter: Charter, stage_id: str) -> Stage:
    found = charter.stage(stage_id)
    assert found is not None
    return found


def test_the_first_stage_needs_no_soak_even_when_it_names_one() -> None:
    """No stage comes before the first, so nothing soaks before it, whatever it says."""
    charter = soaks(staging="24h")
    assert soak(stage(charter, "staging"), rollout_at(-1), charter, T0) == GateResult(
        "soak", True, "soak: none required before staging"
    )


@pytest.mark.parametrize(
    ("canary", "now", "said"),
    [
        ("72h", T0 + 41 * H - S, "staging has run 40h of 72h with every client on it (32h to go)"),
        ("72h", T0 + 35990 * S, "staging has run 9h of 72h with every client on it (63h to go)"),
        ("7d", T0 + 50 * H, "staging has run 2d 2h of 7d with every client on it (4d 22h to go)"),
        ("6d", T0 + 50 * H, "staging has run 50h of 144h with every client on it (94h to go)"),
    ],
    ids=["a-second-short-of-41h", "ten-seconds-short-of-10h", "a-week-in-days", "6d-in-hours"],
)
def test_the_soak_gate_says_whole_hours_and_days_from_a_week(
    canary: str, now: datetime, said: str
) -> None:
    """Time run is floored and time to go ceiled to the hour; a soak of 7 days or more is
    told in days and hours, a shorter one in hours."""
    charter = soaks(canary=canary)
    rollout = rollout_at(0, entered={"staging": T0})
    assert soak(stage(charter, "canary"), rollout, charter, now) == GateResult(
        "soak", False, f"soak: {said}"
    )
