"""Rollback drills are kept in the rollout's stored JSON document: saved and read back whole,
absent from rollouts that have none (their stored text is what it was before drills existed),
and read as none from a row saved before drills existed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from charter.load import load_charter
from charter.rollout_facts import DrillReport, PlannedDrill, ReadyReport, Rollout
from storage import rollout_json, rollouts as store
from storage.db import session_scope
from storage.models.rollouts import RolloutRow
from tests.paths import reference_charter_text

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CHARTER = load_charter(reference_charter_text()).charter
PLAIN = Rollout(
    proposal=7,
    clients=("aurora", "borealis"),
    started_at=T,
    stage_index=0,
    positions={"aurora": 0, "borealis": 0},
    reports=(
        ReadyReport("aurora", "staging", "1.0.0", None, "", "alice-aurora", T),
        ReadyReport("borealis", "staging", "1.1.0", None, "", "carmen-borealis", T),
    ),
)
DRILLS = (
    DrillReport("aurora", "staging", timedelta(minutes=12), "snapshot", "alice-aurora", T, "1.0.0"),
    DrillReport("borealis", "staging", None, "no resync", "ines-coord", T, "1.1.0"),
)


PLANS = (PlannedDrill("borealis", "canary", T + timedelta(days=3), "dmitri-borealis", T),)


def test_drills_round_trip_through_the_database(engine: Engine) -> None:
    with session_scope(engine) as session:
        store.save_rollout(session, replace(PLAIN, drills=DRILLS, planned_drills=PLANS), CHARTER, T)
    with session_scope(engine) as session:
        back = store.load_rollout(session, 7, CHARTER)
    assert back is not None
    assert back.drills == DRILLS
    assert back.planned_drills == PLANS


def test_a_rollout_with_plans_only_stores_only_its_plans() -> None:
    stored = json.loads(rollout_json.rollout_to_json(replace(PLAIN, planned_drills=PLANS), CHARTER))
    assert "drills" not in stored
    assert stored["planned_drills"] == [
        {
            "client": "borealis",
            "stage": "canary",
            "at": "2026-06-04T09:00:00+00:00",
            "by": "dmitri-borealis",
            "planned_at": T.isoformat(),
        }
    ]


def test_a_rollout_without_drills_is_stored_as_before() -> None:
    plain = json.loads(rollout_json.rollout_to_json(PLAIN, CHARTER))
    assert "drills" not in plain and "planned_drills" not in plain
    stored = json.loads(rollout_json.rollout_to_json(replace(PLAIN, drills=DRILLS), CHARTER))
    assert stored["drills"][0] == {
        "client": "aurora",
        "stage": "staging",
        "recovered": 720,
        "notes": "snapshot",
        "by": "alice-aurora",
        "at": T.isoformat(),
        "release": "1.0.0",
    }
    assert stored["drills"][1]["recovered"] is None


def test_a_row_saved_before_drills_existed_reads_as_having_none(engine: Engine) -> None:
    with session_scope(engine) as session:
        store.save_rollout(session, PLAIN, CHARTER, T)
    with session_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None and "drills" not in row.data
        back = store.load_rollout(session, 7, CHARTER)
    assert back is not None
    assert back.drills == () and back.planned_drills == ()
