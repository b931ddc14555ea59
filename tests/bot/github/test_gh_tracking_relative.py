"""The tracking comment's relative times round to the nearest unit, never down: a 48h vote
opened ten minutes ago closes "in 2d" (not "in 1d"), a 7d review "in 7d" (not "in 6d")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.github.tracking import render
from tests.bot.test_tracking_length import view

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "now"),
        (29, "now"),
        (-29, "now"),
        (31, "in 1m"),
        (40 * M + 40, "in 41m"),
        (59 * M + 29, "in 59m"),
        (59 * M + 31, "in 1h"),  # 60m is an hour
        (H + 29 * M, "in 1h"),
        (H + 30 * M, "in 2h"),
        (47 * H + 29 * M, "in 47h"),  # hours under two days
        (47 * H + 50 * M, "in 2d"),  # 48h vote, just opened
        (2 * D + 11 * H, "in 2d"),
        (2 * D + 12 * H, "in 3d"),
        (7 * D - 10 * M, "in 7d"),  # 7d review, just opened
        (-(3 * H + 40 * M), "4h ago"),
        (-(6 * D + 23 * H), "7d ago"),
    ],
)
def test_a_relative_time_rounds_to_the_nearest_unit(seconds: int, said: str) -> None:
    closes = NOW + timedelta(seconds=seconds)
    given = view(0, "")
    iso = closes.strftime("%Y-%m-%dT%H:%M:%SZ")
    given["deadlines"] = {**given["deadlines"], "voting_closes": iso}
    body = render(given, NOW, "http://charterbot.test")
    assert f"| voting closes | {closes:%Y-%m-%d %H:%M} UTC ({said}) |" in body
