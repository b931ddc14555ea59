"""When the next go/no-go call is due (``_attempt_due``), one table: a first call, a no-go, a
restarted soak, and a rollback out of the call's stage after the latest call was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.meetings_timers import GO_NO_GO_RETRY, _attempt_due
from charter.gates import GoNoGo
from storage.models.meetings import AdhocMeetingRow

SINCE = datetime(2026, 6, 1, 9, tzinfo=UTC)  # canary's soak clock started
SOAK_END = SINCE + timedelta(days=14)
STORED = SOAK_END - timedelta(days=2)  # the latest call was stored then
BACK = SOAK_END + timedelta(days=3)  # a rollback out of production
D = timedelta(days=1)


def stored(at: datetime = STORED) -> list[AdhocMeetingRow]:
    row = AdhocMeetingRow(
        id="go-no-go-7-production", kind="go-no-go", title="Go/no-go", starts_at=SOAK_END,
        duration_seconds=3600, created_by="charterbot", created_at=at,
    )  # fmt: skip
    return [row]


def decided(decision: str, at: datetime) -> GoNoGo:
    return GoNoGo(7, "production", decision, "ines-coord", at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decision", "earlier", "since", "rolled_back", "due"),
    [
        (None, [], SINCE, None, (SOAK_END, "first")),
        (None, [], SINCE, BACK, (SOAK_END, "first")),
        (None, stored(), SINCE, None, None),
        (decided("go", SOAK_END), stored(), SINCE, None, None),
        (decided("no-go", SOAK_END), stored(), SINCE, None,
         (SOAK_END + GO_NO_GO_RETRY, "no-go")),
        (None, stored(), STORED + D, None, (SOAK_END, "restarted")),
        # the "go" predates the rollback, so no decision counts (current_go_no_go): a new call
        (None, stored(), SINCE, BACK, (BACK + GO_NO_GO_RETRY, "rolled-back")),
        (None, stored(), SINCE, STORED - D, None),  # the call was stored after the rollback
        (None, stored(BACK + D), SINCE, BACK, None),  # the new call is stored: once only
        (decided("go", BACK + D), stored(), SINCE, BACK, None),  # decided since: it stands
        (decided("no-go", BACK + D), stored(), SINCE, BACK,
         (BACK + D + GO_NO_GO_RETRY, "no-go")),
        (None, stored(), BACK + D, BACK, (SOAK_END, "restarted")),  # the soak restarted since
    ],
    ids=["first", "first-after-rollback", "pending", "go-stands", "no-go", "restarted",
         "rolled-back", "stored-after-rollback", "attempt-stored", "go-since-rollback",
         "no-go-since-rollback", "restarted-after-rollback"],
)  # fmt: skip
def test_attempt_due(
    decision: GoNoGo | None,
    earlier: list[AdhocMeetingRow],
    since: datetime,
    rolled_back: datetime | None,
    due: tuple[datetime, str] | None,
) -> None:
    """A rollback out of the stage after the latest call was stored makes a new call due, with
    the notice a first call gets (no sooner than ``GO_NO_GO_RETRY`` after the rollback)."""
    assert _attempt_due(decision, earlier, since, SOAK_END, rolled_back=rolled_back) == due
