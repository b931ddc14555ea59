"""Drill timers (:mod:`charter.drill_reminders`): a reminder lead is kept only when it falls
more than ``LEAD_GRACE`` after the plan was made; due timers come sorted by key."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from charter import drill_reminders as rules
from charter.rollout_facts import PlannedDrill
from tests.charter.rollout_support import T0, H
from tests.charter.test_drill_reminders import BASE, PLAN
from tests.charter.test_drills import CHARTER, M


@pytest.mark.parametrize(
    ("ahead", "labels"),
    [
        (H + 5 * M, ["overdue"]),
        (H + 6 * M, ["remind-1h", "overdue"]),
    ],
    ids=["lead-within-the-grace", "lead-past-the-grace"],
)
def test_a_lead_is_kept_only_past_the_grace_after_planning(
    ahead: timedelta, labels: list[str]
) -> None:
    """A plan made 1h5m before its drill has no 1h reminder (it would come as the plan is
    made); one made 1h6m before has."""
    plan = PlannedDrill("aurora", "canary", T0 + ahead, "alice-aurora", T0)
    timers = rules.timers_of(replace(BASE, planned_drills=(plan,)), CHARTER)
    assert [t.key.rsplit("/", 1)[1] for t in timers] == labels


def test_due_timers_come_sorted_by_key() -> None:
    """Timers of several rollouts, due at once, fire and are missed in key order."""
    rollouts = [replace(BASE, proposal=43), BASE]
    due = rules.due(rollouts, CHARTER, set(), T0 + 47 * H + 30 * M)
    assert [t.key for t in due.fire] == [rules.timer_key(n, PLAN, "remind-1h") for n in (42, 43)]
    assert [t.key for t in due.missed] == [rules.timer_key(n, PLAN, "remind-1d") for n in (42, 43)]
