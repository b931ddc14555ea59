"""The dashboard's relative times round as the tracking comment's do (bot.relative_time): to the
nearest unit, never down, so the two surfaces never disagree about one deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.relative_time import Unit, nearest
from bot.web.app import relative

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "now"),
        (-29, "now"),
        (40, "in 1 min"),
        (-(59 * M + 31), "1 h ago"),
        (36 * H, "in 36 h"),
        (47 * H + 50 * M, "in 2 days"),  # a 48h vote just opened (floored: "in 47 h")
        (7 * D - 10 * M, "in 7 days"),  # a 7d review just opened (floored: "in 6 days")
        (-(6 * D + 23 * H), "7 days ago"),
    ],
)
def test_the_dashboard_says_the_nearest_unit(seconds: int, said: str) -> None:
    assert relative((NOW + timedelta(seconds=seconds)).isoformat(), NOW) == said


def test_no_time_says_nothing() -> None:
    assert relative(None, NOW) == ""


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (29.9, (0, Unit.NOW)),
        (30, (1, Unit.MINUTE)),
        (89, (1, Unit.MINUTE)),
        (90, (2, Unit.MINUTE)),
        (59 * M + 29, (59, Unit.MINUTE)),
        (59 * M + 30, (1, Unit.HOUR)),
        (47 * H + 29 * M, (47, Unit.HOUR)),
        (47 * H + 30 * M, (2, Unit.DAY)),
        (-(2 * D + 12 * H), (3, Unit.DAY)),
    ],
)
def test_nearest_picks_the_unit_then_rounds(seconds: float, expected: tuple[int, Unit]) -> None:
    assert nearest(seconds) == expected
