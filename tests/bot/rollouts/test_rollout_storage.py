"""The rollout repositories on SQLite and PostgreSQL: the aggregate round-trips, check results
are keyed by (repo, head_sha, name). (Incidents: tests/storage/test_incidents.py.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from charter.gates import GoNoGo
from charter.load import load_charter
from charter.rollout import Override, ReadyReport, RollbackRecord, Rollout
from storage import (
    check_results as check_store,
    rollout_json,
    rollout_reports as report_store,
    rollouts as store,
)
from storage.db import session_scope
from storage.models.rollouts import CheckResultRow
from tests.paths import reference_charter_text

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CHARTER = load_charter(reference_charter_text()).charter
FULL = Rollout(
    proposal=7,
    clients=("aurora", "dorado"),
    started_at=T,
    stage_index=1,
    positions={"aurora": 1, "dorado": 0},
    stage_entered_at={"staging": T + timedelta(hours=1)},
    reports=(ReadyReport("aurora", "canary", "1.1", "abc123", "notes ✓", "alice-aurora", T),),
    pauses=(("3", "incident 3 (sev1): fork"), ("", "by hand")),
    overrides=(Override("canary", "risk accepted", "ines-coord", T, ("risk",)),),
    rollbacks=(RollbackRecord(("dorado",), "bad build", "fatima-dorado", T),),
    completed_at=T + timedelta(days=3),
    confidential=True,
)


@pytest.mark.parametrize("rollout", [FULL, Rollout(proposal=1, clients=("aurora",), started_at=T)])
def test_the_aggregate_round_trips_through_json(rollout: Rollout) -> None:
    """Everything but check results survives storage unchanged (checks live in their table)."""
    assert (
        rollout_json.rollout_from_json(rollout_json.rollout_to_json(rollout, CHARTER), CHARTER)
        == rollout
    )


def test_save_derives_the_columns_and_drops_nothing(engine: Engine) -> None:
    """Saving twice updates the one row; loading gives back the aggregate."""
    with session_scope(engine) as session:
        store.save_rollout(session, replace(FULL, completed_at=None), CHARTER, T)
    with session_scope(engine) as session:
        store.save_rollout(session, FULL, CHARTER, T)
    with session_scope(engine) as session:
        assert store.load_rollout(session, 7, CHARTER, for_update=True) == FULL
        assert store.rollouts(session, CHARTER, active_only=True) == []
        assert store.rollouts(session, CHARTER) == [FULL]


def test_a_check_is_kept_once_per_repo_sha_and_name(engine: Engine) -> None:
    """A re-run replaces the earlier result; ``with_checks`` finds it by an abbreviated ref."""
    sha = "abc123" + "0" * 34
    for conclusion in ("failure", None, "success"):
        with session_scope(engine) as session:
            check_store.record_check(
                session,
                repo="Meridian-Net/Aurora",
                head_sha=sha.upper(),
                name="interop-matrix",
                kind="check_run",
                status="completed",
                conclusion=conclusion,
                html_url="",
                at=T,
            )
    with session_scope(engine) as session:
        rows = [(r.repo, r.head_sha, r.conclusion) for r in session.exec(select(CheckResultRow))]
        found = check_store.with_checks(session, FULL, {"aurora": "meridian-net/aurora"})
        nothing = check_store.with_checks(session, FULL, {})
    assert rows == [("meridian-net/aurora", sha, "success")]
    assert [(c.client, c.name, c.conclusion) for c in found.checks] == [
        ("aurora", "interop-matrix", "success")
    ]
    assert nothing.checks == ()


def test_go_no_go_decisions_are_kept_in_order(engine: Engine) -> None:
    """Every recorded call is kept; the gate reads the latest."""
    calls = (
        GoNoGo(7, "production", "no-go", "ines-coord", T),
        GoNoGo(7, "production", "go", "jonas-coord", T + timedelta(days=1)),
    )
    with session_scope(engine) as session:
        for call in calls:
            report_store.record_go_no_go(session, call, "from the core sync")
    with session_scope(engine) as session:
        assert report_store.go_no_go(session, 7) == calls
        assert report_store.go_no_go(session, 8) == ()


LATE = T - timedelta(hours=2)


@pytest.mark.parametrize(
    ("first", "then", "kept"),
    [
        ((T, "failure"), (LATE, "success"), "failure"),  # the first run's success, redelivered
        ((LATE, "success"), (T, "failure"), "failure"),  # the re-run, in order
        ((T, "success"), (T, None), "success"),  # started and finished within the second
        ((T, None), (T, "success"), "success"),
        ((T, "failure"), (T, "success"), "success"),  # same instant: the later delivery
    ],
    ids=["late-success", "in-order", "start-after-finish", "finish-after-start", "tie"],
)
def test_a_late_delivery_of_an_older_run_changes_nothing(
    engine: Engine,
    first: tuple[datetime, str | None],
    then: tuple[datetime, str | None],
    kept: str,
) -> None:
    """GitHub does not order deliveries: the event with the later time is the one that counts."""
    stored = []
    for at, conclusion in (first, then):
        with session_scope(engine) as session:
            stored.append(
                check_store.record_check(
                    session,
                    repo="meridian-net/aurora",
                    head_sha="abc123" + "0" * 34,
                    name="interop-matrix",
                    kind="check_run",
                    status="completed" if conclusion else "in_progress",
                    conclusion=conclusion,
                    html_url="",
                    at=at,
                )
            )
    with session_scope(engine) as session:
        rows = [r.conclusion for r in session.exec(select(CheckResultRow))]
    assert rows == [kept]
    assert stored == [True, kept == then[1]]
