"""Go/no-go calls: scheduled from rollout state before a stage that requires one, and their
decision recorded as the stage's gate input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.messages import plain_text
from bot.service import Governance
from charter.rollout import Rollout
from storage import meetings as store, rollout_reports as report_store, rollouts as rollout_store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import COORDINATOR, HOURLY, announcements, charter_with, make_gov

CANARY_SINCE = datetime(2026, 6, 1, 9, 17, tzinfo=UTC)  # production needs a 14-day soak
SOAK_END = CANARY_SINCE + timedelta(days=14)
CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")


def on_canary(gov: Governance, *, confidential: bool = False) -> None:
    rollout = Rollout(
        proposal=7,
        clients=CLIENTS,
        started_at=CANARY_SINCE - timedelta(days=5),
        stage_index=1,
        positions=dict.fromkeys(CLIENTS, 1),
        stage_entered_at={"staging": CANARY_SINCE - timedelta(days=5), "canary": CANARY_SINCE},
        confidential=confidential,
    )
    with session_scope(gov.engine) as session:
        rollout_store.save_rollout(session, rollout, gov.charter, CANARY_SINCE)


def calls(gov: Governance) -> list[tuple[str, datetime]]:
    with session_scope(gov.engine) as session:
        return [(r.id, r.starts_at.replace(tzinfo=UTC)) for r in store.adhoc_rows(session)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (SOAK_END - timedelta(days=3), []),  # not about to end yet
        (
            SOAK_END - timedelta(days=1),
            [("go-no-go-7-production", datetime(2026, 6, 15, 10, tzinfo=UTC))],
        ),
        # the soak already ended (e.g. the bot was down): the call is an hour from now, on the hour
        (
            SOAK_END + timedelta(days=2),
            [("go-no-go-7-production", datetime(2026, 6, 17, 11, tzinfo=UTC))],
        ),
    ],
)
def test_a_go_no_go_call_is_scheduled_once_when_the_soak_is_about_to_end(
    db_url: str, now: datetime, expected: list[tuple[str, datetime]]
) -> None:
    """Within two days of the end of the soak before a `go_no_go_meeting` stage, one call is
    stored at the end of the soak (on the hour) and announced; more ticks add nothing."""
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    for _ in range(3):
        gov.tick(now)
    assert calls(gov) == expected
    titles = [a["title"] for a in announcements(gov.engine)]
    assert titles.count("Go/no-go: #7 to production") == len(expected)
    gov.engine.dispose()


def test_deciding_go_on_the_call_records_the_gate_decision(db_url: str) -> None:
    """`meeting decide go …` on the go/no-go call is recorded as the production stage's
    go/no-go decision for the proposal, and in the audit log."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    during = datetime(2026, 6, 15, 10, 20, tzinfo=UTC)
    reply = gov.run_sync("meeting decide go, all five clients are green", COORDINATOR, during)
    assert reply.ok and "go/no-go decision for #7" in reply.lines[0][0]
    with session_scope(gov.engine) as session:
        [decision] = report_store.go_no_go(session, 7)
        row = session.get(AdhocMeetingRow, "go-no-go-7-production")
        assert row is not None and row.kind == "go-no-go"
    assert (decision.stage, decision.decision, decision.by) == ("production", "go", "ines-coord")
    gov.engine.dispose()


@pytest.mark.parametrize(
    ("text", "recorded"),
    [
        ("go, all five clients are green", "go"),
        ("GO", "go"),
        ("no-go: borealis still forks", "no-go"),
        ("No-Go.", "no-go"),
        ("go-ahead for staging only", None),  # not a word of its own
        ("going ahead next week", None),
        ("go-no-go postponed to Friday", None),
        ("we agreed: go", None),  # the decision must lead
    ],
)
def test_only_a_leading_go_or_no_go_word_decides_the_gate(
    db_url: str, text: str, recorded: str | None
) -> None:
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    during = datetime(2026, 6, 15, 10, 20, tzinfo=UTC)
    reply = gov.run_sync(f"meeting decide {text}", COORDINATOR, during)
    assert reply.ok
    with session_scope(gov.engine) as session:
        decisions = [d.decision for d in report_store.go_no_go(session, 7)]
    assert decisions == ([recorded] if recorded else [])
    if recorded is None:
        assert "start with `go` or `no-go`" in plain_text(reply)
    gov.engine.dispose()


def _on_canary_since(gov: Governance, since: datetime) -> None:
    rollout = Rollout(
        proposal=7,
        clients=CLIENTS,
        started_at=since - timedelta(days=5),
        stage_index=1,
        positions=dict.fromkeys(CLIENTS, 1),
        stage_entered_at={"staging": since - timedelta(days=5), "canary": since},
    )
    with session_scope(gov.engine) as session:
        rollout_store.save_rollout(session, rollout, gov.charter, since)


def test_the_go_no_go_call_is_moved_past_a_call_it_would_overlap(db_url: str) -> None:
    """The soak ends Thu 2026-06-11 13:00 UTC, as the core-sync starts (15:00 Berlin, 90 min):
    the go/no-go call goes after it, to the next hour (15:00 UTC), and says why. A decision
    during the core-sync is then the core-sync's; one on the go/no-go call is the gate's."""
    since = datetime(2026, 5, 28, 13, 0, tzinfo=UTC)  # + 14 days = 2026-06-11 13:00 UTC
    now = since + timedelta(days=13)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    _on_canary_since(gov, since)
    gov.tick(now)
    assert calls(gov) == [("go-no-go-7-production", datetime(2026, 6, 11, 15, tzinfo=UTC))]
    [said] = [a for a in announcements(gov.engine) if a["title"] == "Go/no-go: #7 to production"]
    assert "It follows Core client sync, so that the calls do not overlap." in said["text"]
    in_core = gov.run_sync("meeting decide adopt the devnet naming", COORDINATOR,
                           datetime(2026, 6, 11, 13, 5, tzinfo=UTC))  # fmt: skip
    assert "(core-sync@2026-06-11T15:00)" in in_core.lines[0][0]
    on_call = gov.run_sync(
        "meeting decide go", COORDINATOR, datetime(2026, 6, 11, 15, 5, tzinfo=UTC)
    )
    assert "(go-no-go-7-production@2026-06-11T15:00)" in on_call.lines[0][0]
    with session_scope(gov.engine) as session:
        assert [d.decision for d in report_store.go_no_go(session, 7)] == ["go"]
    gov.engine.dispose()


def test_the_go_no_go_call_keeps_its_time_when_every_hour_is_taken(db_url: str) -> None:
    """Against a call every hour (no free hour in sight) the go/no-go call stays at the end of
    the soak, overlapping, rather than never being scheduled."""
    now = SOAK_END - timedelta(days=1)
    hourly = {**HOURLY, "duration": "45m"}  # :30–:15, so every 1 h window overlaps one
    gov = make_gov(db_url, charter_with([hourly]), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    assert calls(gov) == [("go-no-go-7-production", datetime(2026, 6, 15, 10, tzinfo=UTC))]
    gov.engine.dispose()
