"""Rollouts are stored by stage id, so a charter amendment moves none; rows stored with stage
indexes (before ids were kept) are read as they always were and rewritten with ids by the
charter that was running when they were saved."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from charter.load import load_charter
from charter.model import Charter
from charter.rollout import Rollout
from storage import charters, rollouts as store
from storage.db import session_scope
from storage.models.rollouts import RolloutRow
from storage.times import aware
from tests.paths import mutate, reference_charter_text

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
V3_TEXT = reference_charter_text()
SHADOW = (
    "    - id: canary\n",
    "    - id: shadow\n      description: Shadow fork.\n      require_ready: all-clients\n"
    "    - id: canary\n",
)
V4_TEXT = mutate(("  version: 3 ", "  version: 4 "), SHADOW)  # shadow before canary
V3_EDITED = mutate(("Devnets run by the client teams.", "Devnets."))
V3, V4 = load_charter(V3_TEXT).charter, load_charter(V4_TEXT).charter
# #7 under v3: on canary, dorado rolled back to staging.
ON_CANARY = Rollout(
    proposal=7,
    clients=("aurora", "dorado"),
    started_at=T,
    stage_index=1,
    positions={"aurora": 1, "dorado": 0},
)


def where(rollout: Rollout, charter: Charter) -> tuple[str, str, str]:
    """The rollout's stage and each client's, by name."""
    aurora, dorado = (rollout.stage_name(charter, rollout.position(c)) for c in rollout.clients)
    return rollout.stage_name(charter), aurora, dorado


def test_the_row_keeps_stage_ids_and_the_stages_it_was_saved_under(engine: Engine) -> None:
    with session_scope(engine) as session:
        store.save_rollout(session, ON_CANARY, V3, T)
    with session_scope(engine) as session:
        row = session.get(RolloutRow, 7)
        assert row is not None
        data = json.loads(row.data)
    assert "stage_index" not in data
    assert (data["stage"], data["positions"], data["stages"]) == (
        "canary",
        {"aurora": "canary", "dorado": "staging"},
        ["staging", "canary", "production"],
    )


@pytest.mark.parametrize("reader", [V3, V4], ids=["same", "shadow-inserted-before-canary"])
def test_an_amended_charter_reads_every_client_on_its_stage(
    engine: Engine, reader: Charter
) -> None:
    """Saved under v3, read under v4 (a stage inserted before canary): still on canary, where
    indexes would have put it on shadow."""
    with session_scope(engine) as session:
        store.save_rollout(session, ON_CANARY, V3, T)
    with session_scope(engine) as session:
        loaded = store.load_rollout(session, 7, reader)
        assert loaded is not None
        assert where(loaded, reader) == ("canary", "canary", "staging")
        assert [where(r, reader) for r in store.rollouts(session, reader)] == [
            where(loaded, reader)
        ]
        assert store.placements(session, reader)[7].stage == "canary"


def index_row(engine: Engine, rollout: Rollout, saved_at: datetime) -> None:
    """Store ``rollout`` as rows were stored before ids: stage indexes, no stage list."""
    with session_scope(engine) as session:
        store.save_rollout(session, rollout, V3, saved_at)
        row = session.get(RolloutRow, rollout.proposal)
        assert row is not None
        data = json.loads(row.data)
        for key in ("stage", "stages"):
            del data[key]
        data |= {"stage_index": rollout.stage_index, "positions": dict(rollout.positions)}
        row.data = json.dumps(data, sort_keys=True, separators=(",", ":"))
        session.add(row)


def adopt(engine: Engine, text: str, at: datetime, sha: str | None) -> None:
    """Adopt ``text`` (version 3 unless it says 4) at ``at``; ``sha``: keep another text's."""
    version = 4 if text == V4_TEXT else 3
    with session_scope(engine) as session:
        charters.adopt(session, sha or load_charter(text).sha256, version, "test", at, text=text)


def test_an_index_row_reads_as_indexes_into_the_readers_charter(engine: Engine) -> None:
    """Not rewritten yet, it reads as it always did (v4: index 1 is shadow)."""
    index_row(engine, ON_CANARY, T)
    with session_scope(engine) as session:
        assert where(store.load_rollout(session, 7, V4), V4) == ("shadow", "shadow", "staging")  # type: ignore[arg-type]
        assert store.load_rollout(session, 7, V3) == ON_CANARY


@pytest.mark.parametrize(
    ("history", "read"),
    [
        # v3 ran when it was saved: its indexes are v3's
        ([(V3_TEXT, T - H, None)], ("canary", "canary", "staging")),
        ([(V3_TEXT, T - H, None), (V4_TEXT, T + H, None)], ("canary", "canary", "staging")),
        ([(V3_TEXT, T, None)], ("canary", "canary", "staging")),  # adopted the same instant
        # saved under v4 (an old bot read and saved it so): v4's indexes
        ([(V3_TEXT, T - 2 * H, None), (V4_TEXT, T - H, None)], ("shadow", "shadow", "staging")),
        # nothing known of then: the running charter's (v4), as such rows were read before
        ([], ("shadow", "shadow", "staging")),
        ([(V3_TEXT, T + H, None)], ("shadow", "shadow", "staging")),
        # v3's content changed later under the same number: the text then is not kept
        ([(V3_TEXT, T - H, None), (V3_EDITED, T + H, None)], ("shadow", "shadow", "staging")),
        ([("charter: {}\n", T - H, "1" * 64)], ("shadow", "shadow", "staging")),  # won't load
    ],
    ids=["v3", "v3-then-v4", "same-instant", "v4", "none", "later", "replaced", "invalid"],
)
def test_index_rows_are_rewritten_with_the_charter_they_were_saved_under(
    engine: Engine, history: list[tuple[str, datetime, str | None]], read: tuple[str, str, str]
) -> None:
    for text, at, sha in history:
        adopt(engine, text, at, sha)
    index_row(engine, ON_CANARY, T)
    index_row(engine, replace(ON_CANARY, proposal=8), T)
    with session_scope(engine) as session:
        store.save_rollout(session, replace(ON_CANARY, proposal=9), V3, T)  # ids already
        assert store.keep_stage_ids(session, V4) == [7, 8]
    with session_scope(engine) as session:
        assert store.keep_stage_ids(session, V4) == []  # once
        row = session.get(RolloutRow, 7)
        assert row is not None and aware(row.updated_at) == T  # where it is did not change
        assert "stage_index" not in json.loads(row.data)
        assert where(store.load_rollout(session, 7, V4), V4) == read  # type: ignore[arg-type]
        assert where(store.load_rollout(session, 9, V4), V4) == ("canary", "canary", "staging")  # type: ignore[arg-type]
