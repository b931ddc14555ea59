"""A new go/no-go call after a no-go, or after the soak restarted (a rollback and back): it gets
an attempt suffix, is announced like the first (privately for an undisclosed confidential
rollout), and the decision taken on it is the one the production gate reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.service import Governance
from charter.gates import GateFacts, GateResult, go_no_go
from charter.rollout import ReadyReport, advance, report_ready, rollback
from storage import meetings as store, rollout_reports as report_store, rollouts as rollout_store
from storage.db import session_scope
from tests.bot.meetings.conftest import COORDINATOR, announcements, charter_with, make_gov
from tests.bot.meetings.test_go_no_go import on_canary

CANARY_SINCE = datetime(2026, 6, 1, 9, 17, tzinfo=UTC)  # production needs a 14-day soak
SOAK_END = CANARY_SINCE + timedelta(days=14)
FIRST_CALL = datetime(2026, 6, 15, 10, tzinfo=UTC)  # go-no-go-7-production
DURING_FIRST = FIRST_CALL + timedelta(minutes=20)
CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")
D = timedelta(days=1)
BASE = "go-no-go-7-production"


def resoak(gov: Governance, back_at: datetime) -> None:
    """dorado rolls back canary → staging a day before ``back_at`` (the rollout goes back to
    staging with it), reports for canary again and canary is entered again (by override) at
    ``back_at``: canary's soak clock restarts then."""
    with session_scope(gov.engine) as session:
        rollout = rollout_store.load_rollout(session, 7, gov.charter)
        assert rollout is not None
        down = rollback(
            rollout, gov.charter, "fee bug", "ines-coord", back_at - D, clients=["dorado"]
        )
        assert "canary" not in down.rollout.stage_entered_at
        fixed = ReadyReport("dorado", "canary", "1.4.1", None, "", "dorado-bot", back_at)
        again = report_ready(down.rollout, gov.charter, fixed).rollout
        again = advance(
            again, gov.charter, GateFacts(), back_at, by="ines-coord",
            override_reason="fixed", may_override=True, to="canary",
        ).rollout  # fmt: skip
        assert again.stage_entered_at["canary"] == back_at
        rollout_store.save_rollout(session, again, gov.charter, back_at)


def decide(gov: Governance, text: str, at: datetime) -> str:
    """Record a decision on the current call; returns the reply (it names the call)."""
    reply = gov.run_sync(f"meeting decide {text}", COORDINATOR, at)
    said = str(reply.lines[0][0])
    assert reply.ok and "Recorded as the production go/no-go decision" in said
    return said


def calls(gov: Governance) -> list[tuple[str, datetime, bool]]:
    with session_scope(gov.engine) as session:
        return [
            (r.id, r.starts_at.replace(tzinfo=UTC), r.private) for r in store.adhoc_rows(session)
        ]


def gate(gov: Governance) -> GateResult:
    with session_scope(gov.engine) as session:
        rollout = rollout_store.load_rollout(session, 7, gov.charter)
        decisions = report_store.go_no_go(session, 7)
    stage = gov.charter.stage("production")
    assert rollout is not None and stage is not None
    return go_no_go(stage, rollout, decisions, gov.charter)


def scheduled(gov: Governance) -> list[tuple[str, str]]:
    """Title and text of each go/no-go call's scheduling announcement."""
    found = announcements(gov.engine)
    return [(a["title"], a["text"]) for a in found if a["title"].startswith("Go/no-go")]


NO_GO = "the last call decided no-go"
RESTARTED = "the soak on canary restarted 2026-06-18 12:00 UTC"


RESOAKED = datetime(2026, 6, 18, 12, 0, tzinfo=UTC)  # canary entered again after a rollback
RESOAK_END = RESOAKED + timedelta(days=14)  # 2026-07-02 12:00


@pytest.mark.parametrize(
    ("first", "back_at", "quiet", "retry_at", "expected", "why"),
    [
        # a no-go on the call: the next attempt gets the first one's two days' notice
        ("no-go, differential-fuzz found a divergence", None, None, DURING_FIRST + D,
         [(BASE, FIRST_CALL), (f"{BASE}-2", datetime(2026, 6, 17, 11, tzinfo=UTC))], [NO_GO]),
        # a go, then a rollback and back: a new call as the new soak nears its end
        ("go, all green", RESOAKED, RESOAK_END - 3 * D, RESOAK_END - D,
         [(BASE, FIRST_CALL), (f"{BASE}-2", datetime(2026, 7, 2, 12, tzinfo=UTC))], [RESTARTED]),
        # a no-go, then a rollback and back: also only as the new soak nears its end
        ("no-go, divergence", RESOAKED, RESOAK_END - 3 * D, RESOAK_END - D,
         [(BASE, FIRST_CALL), (f"{BASE}-2", datetime(2026, 6, 17, 11, tzinfo=UTC)),
          (f"{BASE}-3", datetime(2026, 7, 2, 12, tzinfo=UTC))], [NO_GO, RESTARTED]),
        # the soak restarted before anyone decided on the first call
        (None, RESOAKED, RESOAK_END - 3 * D, RESOAK_END - D,
         [(BASE, FIRST_CALL), (f"{BASE}-2", datetime(2026, 7, 2, 12, tzinfo=UTC))], [RESTARTED]),
    ],
    ids=["no-go", "resoak-after-go", "resoak-after-no-go", "resoak-undecided"],
)  # fmt: skip
def test_a_new_call_is_scheduled_when_the_last_decision_no_longer_stands(
    db_url: str,
    first: str | None,
    back_at: datetime | None,
    quiet: datetime | None,
    retry_at: datetime,
    expected: list[tuple[str, datetime]],
    why: list[str],
) -> None:
    """After a no-go, or once the soak restarted after the last call, one new call (with an
    attempt suffix) is stored and announced; repeated ticks add nothing more."""
    gov = make_gov(db_url, charter_with(), FixedClock(SOAK_END - D))
    on_canary(gov)
    gov.tick(SOAK_END - D)
    if first is not None:
        decide(gov, first, DURING_FIRST)
    gov.tick(DURING_FIRST + timedelta(minutes=5))
    if back_at is not None:
        resoak(gov, back_at)
        assert not gate(gov).passed  # whatever the first call said, it predates the new soak
    if quiet is not None:
        gov.tick(quiet)  # more than two days before the new soak ends: no new call yet
        assert len(calls(gov)) == len(expected) - 1
    for _ in range(3):
        gov.tick(retry_at)
    assert [(i, at) for i, at, _ in calls(gov)] == expected
    attempts = [f"Go/no-go: #7 to production (attempt {n})" for n in range(2, len(expected) + 1)]
    announced = scheduled(gov)
    assert [title for title, _ in announced] == ["Go/no-go: #7 to production", *attempts]
    for (_, text), (n, reason) in zip(announced[1:], enumerate(why, start=2), strict=True):
        assert f"A new go/no-go call (attempt {n}) for #7 entering production" in text
        assert f"is scheduled: {reason}, so the earlier decision no longer counts." in text
    gov.engine.dispose()


@pytest.mark.parametrize(
    ("retry", "passed"),
    [("go, divergence fixed, all green", True), ("no-go, still diverging", False)],
    ids=["go", "no-go-again"],
)
def test_the_decision_on_the_new_call_is_what_the_gate_reads(
    db_url: str, retry: str, passed: bool
) -> None:
    """A no-go on the first call fails the gate; the decision on attempt 2 is recorded as the
    stage's decision and decides the gate (a second no-go schedules attempt 3)."""
    gov = make_gov(db_url, charter_with(), FixedClock(SOAK_END - D))
    on_canary(gov)
    gov.tick(SOAK_END - D)
    decide(gov, "no-go, differential-fuzz found a divergence", DURING_FIRST)
    assert not gate(gov).passed
    gov.tick(DURING_FIRST + timedelta(minutes=5))
    second = datetime(2026, 6, 17, 11, tzinfo=UTC)
    gov.tick(second + timedelta(minutes=10))
    said = decide(gov, retry, second + timedelta(minutes=15))
    assert f"({BASE}-2@2026-06-17T11:00)" in said  # recorded on attempt 2, not the first call
    assert gate(gov).passed is passed
    gov.tick(second + timedelta(hours=2))
    ids = [i for i, _, _ in calls(gov)]
    assert ids == [BASE, f"{BASE}-2"] + ([] if passed else [f"{BASE}-3"])
    gov.engine.dispose()


def test_no_new_call_while_a_go_stands(db_url: str) -> None:
    """A "go" within the current soak stands: later ticks schedule nothing more."""
    gov = make_gov(db_url, charter_with(), FixedClock(SOAK_END - D))
    on_canary(gov)
    gov.tick(SOAK_END - D)
    decide(gov, "go, all five clients are green", DURING_FIRST)
    for later in (DURING_FIRST + timedelta(hours=1), SOAK_END + 5 * D, SOAK_END + 20 * D):
        gov.tick(later)
    assert [i for i, _, _ in calls(gov)] == [BASE]
    assert gate(gov).passed
    gov.engine.dispose()


@pytest.mark.parametrize("confidential", [True, False])
def test_a_new_attempt_is_private_like_the_first(db_url: str, confidential: bool) -> None:
    """An undisclosed confidential rollout's new attempt is private (announced as confidential),
    as its first call is; a public rollout's is public."""
    gov = make_gov(db_url, charter_with(), FixedClock(SOAK_END - D))
    on_canary(gov, confidential=confidential)
    gov.tick(SOAK_END - D)
    decide(gov, "no-go, divergence", DURING_FIRST)
    gov.tick(DURING_FIRST + timedelta(minutes=5))
    assert [(i, private) for i, _, private in calls(gov)] == [
        (BASE, confidential),
        (f"{BASE}-2", confidential),
    ]
    scheduled = [a for a in announcements(gov.engine) if a["title"].startswith("Go/no-go")]
    assert [a["confidential"] for a in scheduled] == [confidential, confidential]
    gov.engine.dispose()
