"""Watchdogs on the tick, completion and what follows it, and the runtime wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.bootstrap import build
from bot.rollout_watch import FIRED_KEY
from bot.settings import Settings
from charter import commands as c
from charter.lifecycle import State
from storage import state
from storage.db import session_scope
from tests.bot.rollouts.conftest import (
    COORDINATOR,
    MAINTAINER,
    START,
    D,
    World,
    form,
    person,
)
from tests.paths import REFERENCE_CHARTER, reference_charter_text

ACTIVATION_RULE = """
  - when: activation-unreachable
    after: 1d
    notify: [coordinators, security-council]
"""
NO_ESCALATION = reference_charter_text().split("\nescalation:")[0] + "\n"


def test_an_activation_target_out_of_reach_is_flagged_once(sqlite_engine: Engine) -> None:
    """With the soaks still ahead, a target production can no longer reach notifies once; a
    chain-position target has no date and is never flagged."""
    world = World(sqlite_engine, reference_charter_text() + ACTIVATION_RULE)
    target = (START + 35 * D).strftime("%Y-%m-%dT%H:%MZ")
    world.accept(1, form(activation=target))
    world.accept(2, form(activation="epoch 412000"), title="Chain-timed change")
    world.tick()
    assert not [n for n in world.outbox("notify") if "activation target" in n["text"]]
    world.later(10 * D)
    world.tick()
    world.tick()
    flagged = [n for n in world.outbox("notify") if "activation target" in n["text"]]
    assert len(flagged) == 1
    assert flagged[0]["roles"] == ["coordinators", "security-council"]
    assert flagged[0]["text"].startswith(f"#1's activation target {target[:10]}")
    with session_scope(sqlite_engine) as session:
        fired = state.get(session, FIRED_KEY)
    assert [k for k in fired if "activation" in k] == [
        f"escalation:activation-unreachable:proposal:1:{target[:10]}T{target[11:16]}:00+00:00"
    ]


def test_without_escalation_rules_the_tick_notifies_nobody(sqlite_engine: Engine) -> None:
    """A charter with no ``escalation`` section never notifies, however long things wait."""
    world = World(sqlite_engine, NO_ESCALATION)
    world.open_issue(1, form())
    world.later(6 * D)
    assert world.tick() == 0
    assert world.outbox("notify") == []


def test_a_rollback_after_completion_is_recorded_but_the_proposal_stays_completed(
    sqlite_engine: Engine,
) -> None:
    """Completion drafts one retrospective; a later rollback is recorded and announced, the
    proposal stays completed, and completing again drafts no second retrospective."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora",)))
    aurora = MAINTAINER["aurora"]
    world.ok(aurora, "ready 1 aurora staging 1.0 abc1230")
    for stage in ("canary", "production"):
        world.ok(aurora, f"ready 1 aurora {stage} 1.0 abc1230")
        world.ok(COORDINATOR, f'advance 1 to {stage} --override "single-client drill"')
    assert world.state(1) is State.COMPLETED
    assert world.ok(None, "rollout 1").splitlines()[-3].startswith("Completed: every client")
    world.ok(aurora, 'rollback 1 aurora "production node crash"')
    assert world.state(1) is State.COMPLETED
    assert world.announced("#1 rollback: aurora production → canary")
    world.ok(aurora, "ready 1 aurora production 1.0.1 abc1231")
    world.ok(
        COORDINATOR, 'advance 1 to production --override "single-client drill"'
    )  # re-entry: gates again
    assert len(world.announced("#1 rollout completed")) == 2
    assert [i["key"] for i in world.outbox("create-issue")] == ["retrospective:1"]


def test_a_command_without_a_proposal_number_asks_for_one(sqlite_engine: Engine) -> None:
    """A command that reached the rollout area with no proposal (a bare GitHub comment outside
    an issue) says which number is missing instead of guessing."""
    world = World(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        message = world.gov.execute(
            session, c.ShowRollout(None), person(COORDINATOR), world.clock.now()
        )
    assert message.lines == (("Say which proposal, e.g. `/charter rollout 42`.",),)


def test_the_runtime_installs_the_rollout_area(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bootstrap.build`` finds ``bot.rollouts`` and registers its commands and hooks."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", charter=REFERENCE_CHARTER)
    rt = build(settings)
    try:
        for command in (c.Ready, c.Advance, c.ShowRollout, c.Inventory, c.Rollback, c.Flag):
            assert rt.gov.handler_for(command.__new__(command)) is not None
    finally:
        rt.engine.dispose()
