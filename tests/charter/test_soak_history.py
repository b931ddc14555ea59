"""Which report a running soak clock counts from (:mod:`charter.soak`), as the soak gate says
it: a client's reports are read in time order, whatever order they were recorded in, and a
release is named only when it (re)started the clock at that very moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from charter.gates import soak
from charter.rollout import Rollout
from tests.charter.rollout_support import T0, H
from tests.charter.test_soak import CHARTER, ENTERED, NOW, PRODUCTION, on_canary, ran

NEW = ran("aurora", "canary", NOW, "2.0.0")
COUNTED = "; counted since aurora's 2.0.0 replaced 1.4.0"


def _recorded_first(rollout: Rollout) -> Rollout:
    """``rollout`` with its last report recorded before all the others."""
    return replace(rollout, reports=(rollout.reports[-1], *rollout.reports[:-1]))


@pytest.mark.parametrize(
    ("rollout", "clock", "counted"),
    [
        (on_canary(NEW), NOW, COUNTED),
        (_recorded_first(on_canary(NEW)), NOW, COUNTED),
        (on_canary(NEW), NOW + H, ""),
        (on_canary(), ENTERED, ""),
    ],
    ids=["restarted-by-the-release", "recorded-out-of-order", "restarted-later", "no-new-release"],
)
def test_the_soak_gate_names_the_release_that_restarted_the_clock(
    rollout: Rollout, clock: datetime, counted: str
) -> None:
    rollout = replace(rollout, stage_entered_at={"staging": T0, "canary": clock})
    now = clock + 24 * H
    result = soak(PRODUCTION, rollout, CHARTER, now)
    assert result.reason == (
        f"soak: canary has run 1d of 14d with every client on it (13d to go{counted})"
    )
