"""The demo campaign seeds under a charter that requires rollback drills (the clients drill
whatever stage the entered stage's ``require_drill`` names, first), and a seed that stops at a
refused step leaves a database that says so when asked to seed again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import demo
from bot.bootstrap import build
from bot.clock import FixedClock
from bot.runtime import Runtime
from bot.settings import Settings
from charter import drills
from storage.db import session_scope
from storage.rollouts import load_rollout
from tests.paths import reference_charter_text

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
# The reviewer's variant: canary requires a drill on staging (production one on canary).
STAGING_DRILL = reference_charter_text().replace(
    "    - id: canary\n",
    "    - id: canary\n      require_drill: {stage: staging, recover_within: 30m}\n",
)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    charter = tmp_path / "charter.yaml"
    charter.write_text(STAGING_DRILL, "utf-8")
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    rt = build(Settings(database_url=db, charter=charter), clock=FixedClock(NOW))
    yield rt
    rt.engine.dispose()


def test_the_demo_drills_on_the_stage_the_charter_requires_before_advancing(rt: Runtime) -> None:
    assert demo.seed_if_empty(rt)
    charter = rt.loaded.charter
    with session_scope(rt.engine) as session:
        rollout = load_rollout(session, 1, charter)
    assert rollout is not None
    assert rollout.stage_name(charter) == "canary"  # the advance went through
    for client in rollout.clients:
        found = drills.standing(rollout, charter, client, "staging")
        assert found is not None
        assert (found.outcome, found.counts) == ("pass", True)
        assert found.drill.recovered is not None
        assert found.drill.recovered.total_seconds() == 15 * 60  # half the 30m allowed
    assert demo.half_seeded(rt) is None


def test_a_seed_stopped_part_way_is_explained_when_seeded_again(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(c: demo.Campaign) -> None:
        await c.issue(
            "A proposal before the refusal", "alice-aurora", track="protocol-change", summary="s"
        )
        c.console("alice-aurora", "advance 1")  # no rollout yet: refused

    monkeypatch.setattr(demo, "play", refused)
    with pytest.raises(demo.DemoFailed, match="The database now holds part of the campaign"):
        demo.seed_if_empty(rt)
    assert demo.half_seeded(rt) is not None
    with pytest.raises(demo.DemoFailed) as again:
        demo.seed_if_empty(rt)
    assert str(again.value) == (
        "this database holds part of a demo campaign: the seed started at 2026-12-01 09:30 UTC"
        " was stopped by a refused step; remove the database (or give another one) and run"
        " --demo again"
    )
    assert not demo.is_demo(rt)


def test_a_seed_that_wrote_nothing_but_its_mark_seeds_again(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused_at_once(c: demo.Campaign) -> None:
        c.console("alice-aurora", "advance 1")

    monkeypatch.setattr(demo, "play", refused_at_once)
    with pytest.raises(demo.DemoFailed):
        demo.seed_if_empty(rt)
    monkeypatch.undo()
    assert demo.seed_if_empty(rt)  # nothing but the mark was written: a fresh database
    assert demo.is_demo(rt)
