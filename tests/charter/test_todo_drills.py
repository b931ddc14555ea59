"""``todo`` lists the rollback drill a maintainer's client owes a rollout under way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.rollout_facts import DrillReport, Rollout
from charter.todo import Task, awaiting
from tests.charter.rollout_support import CLIENTS, T0, H, report
from tests.charter.test_drills import CHARTER, GOOD, M, on_canary

ALICE = "alice-aurora"  # maintains aurora


def aurora(took: timedelta | None, notes: str = "") -> DrillReport:
    return DrillReport("aurora", "canary", took, notes, ALICE, T0 + 3 * H)


def owed(note: str) -> tuple[Task, ...]:
    return (
        Task("drill", 42, "Raise the gas target", None, note=note, client="aurora", stage="canary"),
    )


OTHERS = GOOD[1:]  # every other client drilled and passed


@pytest.mark.parametrize(
    ("rollout", "login", "expected"),
    [
        (on_canary(*OTHERS), ALICE, owed("aurora has not run a rollback drill on canary")),
        (
            on_canary(*OTHERS, aurora(None, "no resync")),
            ALICE,
            owed("aurora's rollback drill on canary failed: no resync"),
        ),
        (
            on_canary(*OTHERS, aurora(45 * M)),
            ALICE,
            owed("aurora's rollback drill on canary took 45m (the charter allows 30m)"),
        ),
        (
            on_canary(
                *OTHERS,
                aurora(12 * M),
                reports=(
                    *on_canary().reports,
                    report("aurora", "canary", T0 + 4 * H, version="1.4.1"),
                ),
            ),
            ALICE,
            owed(
                "aurora's rollback drill on canary was of 1.4.0, and 1.4.1 was reported there since"
            ),
        ),
        (on_canary(*OTHERS, aurora(12 * M)), ALICE, ()),  # a passing drill that counts
        (on_canary(*OTHERS), "carmen-borealis", ()),  # borealis's drill passed
        (on_canary(*OTHERS), "zoe-contrib", ()),  # no client's maintainer
        (on_canary(*OTHERS, completed_at=T0 + 9 * H), ALICE, ()),  # no longer under way
        (on_canary(*OTHERS, clients=CLIENTS[1:]), ALICE, ()),  # aurora is not in it
        (on_canary(*OTHERS, stage_index=0), ALICE, ()),  # canary is next: it requires no drill
        (on_canary(*OTHERS, stage_index=2), ALICE, ()),  # on the last stage: nothing is next
        # The rollout was overridden ahead: aurora is not on canary yet, its release comes first.
        (on_canary(*OTHERS, positions={**{c: 1 for c in CLIENTS}, "aurora": 0}), ALICE, ()),
    ],
)
def test_a_drill_owed_is_listed_for_the_maintainers_of_its_client(
    rollout: Rollout, login: str, expected: tuple[Task, ...]
) -> None:
    assert (
        awaiting((), login, T0 + 5 * H, (), [(rollout, "Raise the gas target", CHARTER)])
        == expected
    )
