"""When a GitHub release's report counts from, and whether it was reported already
(charter.release_time): dated by ``published_at`` when sane, never before what the rollout
recorded, never in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.release_time import CLOCK_SKEW, report_time, reported_already, rollout_floor
from charter.rollout_facts import Override, ReadyReport, RollbackRecord, Rollout

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
NOW = START + 60 * M  # the delivery is handled


def rep(
    client: str, at: datetime, ref: str | None = "v1.0.0", stage: str = "staging"
) -> ReadyReport:
    return ReadyReport(client, stage, ref or "1.0.0", ref, "", "someone", at)


BARE = Rollout(1, ("aurora", "borealis"), START)
REPORTED = Rollout(1, ("aurora", "borealis"), START, reports=(rep("borealis", START + 30 * M),))

FLOORS = [
    # (what, rollout, floor)
    ("nothing recorded: its start", BARE, START),
    ("the latest report", REPORTED, START + 30 * M),
    (
        "a soak clock's start",
        Rollout(1, ("aurora",), START, 0, stage_entered_at={"staging": START + 40 * M}),
        START + 40 * M,
    ),
    (
        "an override",
        Rollout(1, ("aurora",), START, overrides=(Override("canary", "r", "c", START + 41 * M),)),
        START + 41 * M,
    ),
    (
        "a rollback",
        Rollout(
            1,
            ("aurora",),
            START,
            rollbacks=(RollbackRecord(("aurora",), "r", "c", START + 42 * M),),
        ),
        START + 42 * M,
    ),
    ("its completion", Rollout(1, ("aurora",), START, completed_at=START + 43 * M), START + 43 * M),
]


@pytest.mark.parametrize(("what", "rollout", "floor"), FLOORS, ids=[f[0] for f in FLOORS])
def test_the_floor_is_the_latest_moment_the_rollout_recorded(
    what: str, rollout: Rollout, floor: datetime
) -> None:
    assert rollout_floor(rollout) == floor


TIMES = [
    # (what, published_at, rollout, dated)
    ("published after the floor: published_at", START + 50 * M, REPORTED, START + 50 * M),
    ("no published_at: when handled", None, REPORTED, NOW),
    ("ahead within the skew: now, never the future", NOW + CLOCK_SKEW, REPORTED, NOW),
    ("ahead past the skew: a wrong clock, when handled", NOW + CLOCK_SKEW + M, REPORTED, NOW),
    ("before the rollout started: its start", START - 600 * M, BARE, START),
    ("before an earlier report: that report's moment", START + 10 * M, REPORTED, START + 30 * M),
    ("at the floor exactly", START + 30 * M, REPORTED, START + 30 * M),
]


@pytest.mark.parametrize(
    ("what", "published", "rollout", "dated"), TIMES, ids=[t[0] for t in TIMES]
)
def test_a_release_is_dated_by_its_publication_when_sane(
    what: str, published: datetime | None, rollout: Rollout, dated: datetime
) -> None:
    assert report_time(published, NOW, rollout) == dated


@pytest.mark.parametrize(
    ("entered", "dated"),
    [(None, START + 50 * M), (START + 45 * M, START + 50 * M), (START + 55 * M, START + 55 * M)],
)
def test_not_before_the_rollout_last_entered_a_stage(
    entered: datetime | None, dated: datetime
) -> None:
    """A plain advance keeps no time in the rollout: the audit log's, when given, is a floor."""
    assert report_time(START + 50 * M, NOW, REPORTED, entered) == dated


def test_never_before_the_floor_even_when_the_floor_is_ahead_of_the_clock() -> None:
    """A report recorded ahead of this worker's clock (another replica's): still not before it."""
    ahead = Rollout(1, ("aurora",), START, reports=(rep("borealis", NOW + M),))
    assert report_time(START + 50 * M, NOW, ahead) == NOW + M
    assert report_time(None, NOW, ahead) == NOW + M


REPORTED_CASES = [
    # (what, reports, reported already)
    ("no report", (), False),
    ("the same tag, client and stage", (rep("aurora", START),), True),
    ("the tag as refs/tags/", (rep("aurora", START, "refs/tags/v1.0.0"),), True),
    ("another tag", (rep("aurora", START, "v1.0.1"),), False),
    ("another client", (rep("borealis", START),), False),
    ("another stage", (rep("aurora", START, stage="canary"),), False),
    ("no ref", (rep("aurora", START, None),), False),
    ("a branch names no tag", (rep("aurora", START, "refs/heads/v1.0.0"),), False),
]


@pytest.mark.parametrize(
    ("what", "reports", "already"), REPORTED_CASES, ids=[c[0] for c in REPORTED_CASES]
)
def test_a_line_was_reported_already_when_the_client_reported_that_tag_for_the_stage(
    what: str, reports: tuple[ReadyReport, ...], already: bool
) -> None:
    rollout = Rollout(1, ("aurora", "borealis"), START, reports=reports)
    assert reported_already(rollout, "aurora", "staging", "v1.0.0") is already
