"""When the next go/no-go call is due (``_attempt_due``), one table: a first call, a no-go, a
restarted soak, a rollback out of the call's stage after the latest call was stored, a new
release for the call's stage reported once the latest call was over (one waiting or in progress
decides on it), and no no-go retry beside a call that waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.meetings_go_no_go import GO_NO_GO_RETRY, _attempt_due
from charter.gates import GoNoGo
from storage.models.meetings import AdhocMeetingRow

SINCE = datetime(2026, 6, 1, 9, tzinfo=UTC)  # canary's soak clock started
SOAK_END = SINCE + timedelta(days=14)
STORED = SOAK_END - timedelta(days=2)  # the latest call was stored then
BACK = SOAK_END + timedelta(days=3)  # a rollback out of production
NEW = SOAK_END + timedelta(hours=5)  # a report brought production a release (the call began)
D = timedelta(days=1)
H = timedelta(hours=1)


def stored(at: datetime = STORED, starts: datetime = SOAK_END) -> list[AdhocMeetingRow]:
    row = AdhocMeetingRow(
        id="go-no-go-7-production", kind="go-no-go", title="Go/no-go", starts_at=starts,
        duration_seconds=3600, created_by="charterbot", created_at=at,
    )  # fmt: skip
    return [row]


def decided(decision: str, at: datetime) -> GoNoGo:
    return GoNoGo(7, "production", decision, "ines-coord", at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decision", "earlier", "since", "rolled_back", "released", "due"),
    [
        (None, [], SINCE, None, None, (SOAK_END, "first")),
        (None, [], SINCE, BACK, None, (SOAK_END, "first")),
        (None, stored(), SINCE, None, None, None),
        (decided("go", SOAK_END), stored(), SINCE, None, None, None),
        (decided("no-go", SOAK_END), stored(), SINCE, None, None,
         (SOAK_END + GO_NO_GO_RETRY, "no-go")),
        (None, stored(), STORED + D, None, None, (SOAK_END, "restarted")),
        # the "go" predates the rollback, so no decision counts (current_go_no_go): a new call
        (None, stored(), SINCE, BACK, None, (BACK + GO_NO_GO_RETRY, "rolled-back")),
        (None, stored(), SINCE, STORED - D, None, None),  # the call was stored after the rollback
        (None, stored(BACK + D), SINCE, BACK, None, None),  # the new call is stored: once only
        (decided("go", BACK + D), stored(), SINCE, BACK, None, None),  # decided since: it stands
        (decided("no-go", BACK + D), stored(), SINCE, BACK, None,
         (BACK + D + GO_NO_GO_RETRY, "no-go")),
        (None, stored(), BACK + D, BACK, None, (SOAK_END, "restarted")),  # restarted since
        # a release reported after the call began: what it decided no longer counts
        (None, stored(), SINCE, None, NEW, (NEW + GO_NO_GO_RETRY, "released")),
        (None, stored(), SINCE, None, SOAK_END - D, None),  # the call (still) sees the release
        (None, stored(), SINCE, None, SOAK_END, None),  # reported as the call began: it sees it
        (decided("go", NEW + D), stored(), SINCE, None, NEW, None),  # decided since: it stands
        (decided("no-go", NEW + D), stored(), SINCE, None, NEW,
         (NEW + D + GO_NO_GO_RETRY, "no-go")),
        (None, stored(), STORED + D, None, NEW, (SOAK_END, "restarted")),  # the soak says more
        (None, stored(), SINCE, BACK, BACK + D, (BACK + GO_NO_GO_RETRY, "rolled-back")),
        (None, stored(BACK + D, BACK + 3 * D), SINCE, BACK, BACK + 2 * D, None),  # it waits
        (None, [], SINCE, None, NEW, (SOAK_END, "first")),
        # reported while the call runs (it starts at SOAK_END, for an hour): the call decides on it
        (None, stored(), SINCE, None, SOAK_END + timedelta(minutes=10), None),
        (None, stored(), SINCE, None, SOAK_END + timedelta(minutes=59), None),
        (None, stored(), SINCE, None, SOAK_END + H, (SOAK_END + H + GO_NO_GO_RETRY, "released")),
        # a no-go recorded on the earlier call while the new one waits: that one is the retry
        (decided("no-go", NEW + H), stored(NEW, NEW + 2 * D), SINCE, None, NEW, None),
        (decided("no-go", NEW + 2 * D), stored(NEW, NEW + 2 * D), SINCE, None, NEW,
         (NEW + 4 * D, "no-go")),  # made on the new call (as it began): a further one
    ],
    ids=["first", "first-after-rollback", "pending", "go-stands", "no-go", "restarted",
         "rolled-back", "stored-after-rollback", "attempt-stored", "go-since-rollback",
         "no-go-since-rollback", "restarted-after-rollback", "released", "released-before",
         "released-at-start", "go-since-release", "no-go-since-release", "restarted-and-released",
         "rolled-back-then-released", "released-while-new-call-waits", "first-after-release",
         "released-during-call", "released-as-call-ends", "released-at-call-end",
         "no-go-while-retry-waits", "no-go-on-the-retry"],
)  # fmt: skip
def test_attempt_due(
    decision: GoNoGo | None,
    earlier: list[AdhocMeetingRow],
    since: datetime,
    rolled_back: datetime | None,
    released: datetime | None,
    due: tuple[datetime, str] | None,
) -> None:
    """A rollback out of the stage after the latest call was stored makes a new call due, with
    the notice a first call gets (no sooner than ``GO_NO_GO_RETRY`` after the rollback); so
    does a new release for the stage reported once the latest call was over (after the
    report), while a call that waits or runs when it is reported decides on it. A no-go
    recorded before the latest call started adds no call: that one is the retry."""
    found = _attempt_due(
        decision, earlier, since, SOAK_END, rolled_back=rolled_back, released=released
    )
    assert found == due
