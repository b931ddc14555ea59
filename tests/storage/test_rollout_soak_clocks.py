"""A soak clock is read as it is stored. Rows saved before a new release restarted its stage's
clock (charter.soak.counts_from) kept the clock's first start: the upgrade of stored rows at
start (storage.rollouts.keep_stage_ids) moves such a clock to the report that brought the
release, once, and no read rewrites a clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from charter.load import load_charter
from charter.rollout import ReadyReport, Rollout, report_ready
from storage import rollout_json, rollouts as store
from storage.db import read_scope, session_scope
from storage.models.rollouts import RolloutRow
from storage.times import aware
from tests.paths import reference_charter_text

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
V3 = load_charter(reference_charter_text()).charter
A, C = "a" * 40, "c" * 40


def ready(
    client: str, version: str, at: datetime, ref: str = A, stage: str = "staging"
) -> ReadyReport:
    return ReadyReport(client, stage, version, ref, "", f"{client}-bot", at)


# #7 on staging since T: dorado's report at T put the last client on it.
ON_STAGING = Rollout(
    proposal=7,
    clients=("aurora", "dorado"),
    started_at=T - 2 * H,
    stage_index=0,
    positions={"aurora": 0, "dorado": 0},
    stage_entered_at={"staging": T},
    reports=(ready("aurora", "1.0.0", T - H), ready("dorado", "1.0.0", T)),
)


def stored_clock(engine: Engine, stage: str = "staging") -> str:
    with read_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None
        return str(json.loads(row.data)["stage_entered_at"][stage])


@pytest.mark.parametrize(
    ("later", "clock"),
    [
        ((ready("aurora", "1.0.1", T + 2 * H, C),), T + 2 * H),  # a new release
        ((ready("aurora", "1.0.0", T + 2 * H, C),), T + 2 * H),  # same version, another commit
        ((ready("aurora", "1.0.1", T + H, C), ready("dorado", "2.0", T + 3 * H)), T + 3 * H),
        ((ready("aurora", "v1.0.0", T + 2 * H, A[:8]),), T),  # a repeat brings nothing
        ((ready("aurora", "1.0.1", T + 2 * H, C, "canary"),), T),  # another stage's release
        ((), T),
    ],
    ids=["replaced", "rebuilt", "latest-of-two", "repeat", "other-stage", "none-since"],
)
def test_a_clock_kept_before_the_restart_rule_is_caught_up_once_at_start(
    engine: Engine, later: tuple[ReadyReport, ...], clock: datetime
) -> None:
    """Saved with the clock of T after ``later`` reports: the upgrade moves it to the latest
    one that brought staging a release, leaves ``updated_at``, and a second start finds
    nothing to do."""
    kept = replace(ON_STAGING, reports=(*ON_STAGING.reports, *later))
    with session_scope(engine) as session:
        store.save_rollout(session, kept, V3, T + 4 * H)
    with session_scope(engine) as session:
        assert store.keep_stage_ids(session, V3) == []  # stage ids were kept already
    assert stored_clock(engine) == clock.isoformat()
    with session_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None and aware(row.updated_at) == T + 4 * H
        upgraded = row.data
        store.keep_stage_ids(session, V3)
        assert row.data == upgraded  # once
        loaded = store.load_rollout(session, 7, V3)
        assert loaded == replace(kept, stage_entered_at={"staging": clock})


def test_an_index_row_gets_stage_ids_and_its_clock_caught_up_in_one_pass(engine: Engine) -> None:
    """Before ids were kept, before the restart rule: both are upgraded at the one start."""
    kept = replace(ON_STAGING, reports=(*ON_STAGING.reports, ready("aurora", "1.0.1", T + H, C)))
    with session_scope(engine) as session:
        store.save_rollout(session, kept, V3, T + 2 * H)
        row = session.get(RolloutRow, 7)
        assert row is not None
        data = json.loads(row.data)
        for key in ("stage", "stages"):
            del data[key]
        data |= {"stage_index": 0, "positions": {"aurora": 0, "dorado": 0}}
        row.data = json.dumps(data, sort_keys=True, separators=(",", ":"))
    with session_scope(engine) as session:
        assert store.keep_stage_ids(session, V3) == [7]
    assert stored_clock(engine) == (T + H).isoformat()
    with read_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None and json.loads(row.data)["stage"] == "staging"


def test_a_read_takes_the_clock_as_stored(engine: Engine) -> None:
    """Not upgraded yet, an old row's clock reads as stored: reads never rewrite clocks."""
    kept = replace(ON_STAGING, reports=(*ON_STAGING.reports, ready("aurora", "1.0.1", T + H, C)))
    with session_scope(engine) as session:
        store.save_rollout(session, kept, V3, T + 2 * H)
    with read_scope(engine) as session:
        assert store.load_rollout(session, 7, V3) == kept
        assert store.rollouts(session, V3) == [kept]


def test_a_row_saved_by_this_code_reads_back_identical_and_needs_no_upgrade(
    engine: Engine,
) -> None:
    """Decided by charter.rollout (aurora's 1.0.1 restarted staging's clock at T+H) and saved:
    read, it saves as the very same text, and the upgrade leaves it alone."""
    decided = replace(ON_STAGING, stage_index=-1, positions={}, stage_entered_at={}, reports=())
    for report in (*ON_STAGING.reports, ready("aurora", "1.0.1", T + H, C)):
        decided = report_ready(decided, V3, report).rollout
    assert decided.stage_entered_at == {"staging": T + H}
    with session_scope(engine) as session:
        store.save_rollout(session, decided, V3, T + 2 * H)
    with session_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None
        saved = row.data
        assert rollout_json.rollout_to_json(store.load_rollout(session, 7, V3), V3) == saved  # type: ignore[arg-type]
        assert store.keep_stage_ids(session, V3) == []
        assert row.data == saved
