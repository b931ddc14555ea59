"""How a matrix cell says a drill (charter.drills.mark_of), the one wording chat and
announcements share; mark() says a scored drill with it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter import drills
from charter.rollout_facts import DrillReport
from tests.charter.rollout_support import T0

M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("outcome", "took", "reason", "counts", "said"),
    [
        ("pass", "12m", "", True, "drill=pass 12m"),
        ("pass", "12m", None, True, "drill=pass 12m"),
        ("slow", "45m", "the charter allows 30m", True, "drill=slow 45m (the charter allows 30m)"),
        ("fail", None, "state db corrupt", True, "drill=fail (state db corrupt)"),
        ("fail", None, "", True, "drill=fail"),
        ("pass", "12m", "", False, "drill=pass 12m (outdated)"),
        ("fail", None, "no resync", False, "drill=fail (no resync) (outdated)"),
    ],
)
def test_a_drill_is_said_by_its_score_time_why_and_whether_it_counts(
    outcome: str, took: str | None, reason: str | None, counts: bool, said: str
) -> None:
    assert drills.mark_of(outcome, took, reason, counts) == said


@pytest.mark.parametrize(
    ("recovered", "notes", "limit", "stale", "said"),
    [
        (12 * M, "", 30 * M, None, "drill=pass 12m"),
        (45 * M, "", 30 * M, None, "drill=slow 45m (the charter allows 30m)"),
        (None, "state db corrupt", 30 * M, None, "drill=fail (state db corrupt)"),
        (12 * M, "", None, "a newer release", "drill=pass 12m (outdated)"),
    ],
)
def test_a_scored_drill_is_marked_in_the_same_words(
    recovered: timedelta | None, notes: str, limit: timedelta | None, stale: str | None, said: str
) -> None:
    report = DrillReport("aurora", "canary", recovered, notes, "alice-aurora", T0, "1.4.0")
    found = drills.Standing(report, drills.score(recovered, limit), limit, stale)
    assert drills.mark(found) == said
