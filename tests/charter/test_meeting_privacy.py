"""Which calls are private (:func:`charter.meetings.is_private`): an ad-hoc call marked so (a
confidential rollout's go/no-go), or any call announced only to channels that are all private;
a channel the charter does not name is not private, and a call announced nowhere is public."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.load import load_charter
from charter.meetings import AdhocMeeting, Call, is_private
from tests.paths import reference_charter_text

CHARTER = load_charter(reference_charter_text()).charter
SERIES = {m.id: m for m in CHARTER.meetings}


def adhoc(*, private: bool = False, announce_to: tuple[str, ...] = ()) -> AdhocMeeting:
    start = datetime(2026, 6, 15, 10, tzinfo=UTC)
    return AdhocMeeting(
        "go-no-go-7-production",
        "Go/no-go",
        start,
        timedelta(hours=1),
        announce_to=announce_to,
        private=private,
    )


@pytest.mark.parametrize(
    ("call", "private"),
    [
        (adhoc(private=True, announce_to=("core-discord",)), True),  # marked: whatever channels
        (adhoc(), False),  # announced nowhere
        (adhoc(announce_to=("council-private",)), True),  # only a private channel
        (adhoc(announce_to=("council-private", "core-discord")), False),  # one public
        (adhoc(announce_to=("no-such-channel",)), False),  # unknown: not private
        (SERIES["security-sync"], True),  # the council's series, on its private channel
        (SERIES["core-sync"], False),
    ],
    ids=["marked", "nowhere", "private-only", "one-public", "unknown", "council", "core"],
)
def test_which_calls_are_private(call: Call, private: bool) -> None:
    assert is_private(call, CHARTER) is private
