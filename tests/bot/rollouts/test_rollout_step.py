"""The one shape of a rollout command (:func:`bot.rollout_steps.step`): a proposal without a
rollout the actor may see, a rollout rolled back for good, a check the handler adds
(``admit``), a rule raising ``ValueError`` and a decision that refuses are each a refusal that
changes nothing but its ``command-refused`` entry; a decision is saved and its replies answered.
What a command reads before its rule is applied is no refusal when it fails: the error rolls
the command back (a corrupt row is not answered to the asker nor audited as their mistake).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from sqlmodel import func, select

from bot.messages import Message
from bot.rollout_steps import Rule, step
from charter import commands as c
from charter.effects import Reply
from charter.rollout import Rollout, RolloutDecision
from charter.rollout_decision import refuse
from storage import proposals as repo, rollouts as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, World, form, person

PAIR = ("aurora", "borealis")
HELD = (("", "by hand"),)


def _raises(stored: repo.Stored, rollout: Rollout) -> RolloutDecision:
    raise ValueError("unknown stage 'moon'")


def _refuses(stored: repo.Stored, rollout: Rollout) -> RolloutDecision:
    return refuse(rollout, "not now")


def _holds(stored: repo.Stored, rollout: Rollout) -> RolloutDecision:
    return RolloutDecision(replace(rollout, pauses=HELD), (Reply("held"),))


def _not_yours(stored: repo.Stored, rollout: Rollout) -> Message:
    return Message.text_only("not yours", ok=False)


Apply = Callable[[repo.Stored, Rollout], RolloutDecision]


@dataclass(frozen=True)
class Case:
    n: int
    decide: Apply  # the rule, as the step applies it
    said: str
    ok: bool = False
    refused: int = 1  # command-refused entries the step writes
    decided: bool = False  # whether the rule was asked at all
    paused: tuple[tuple[str, str], ...] = ()
    finished: bool = False  # rolled back from every stage first
    admit: Callable[[repo.Stored, Rollout], Message | None] | None = None


CASES = {
    "no such proposal": Case(9, _holds, "There is no proposal #9."),
    "rolled back for good": Case(
        1,
        _holds,
        "#1 was rolled back from every stage; a new proposal is needed to retry.",
        finished=True,
    ),
    "admit refuses first": Case(1, _holds, "not yours", refused=0, admit=_not_yours),
    "admit before finished": Case(
        1, _holds, "not yours", refused=0, finished=True, admit=_not_yours
    ),
    "rule raises": Case(1, _raises, "unknown stage 'moon'", decided=True),
    "decision refuses": Case(1, _refuses, "not now", decided=True),
    "decision saved": Case(
        1, _holds, "held", ok=True, refused=0, decided=True, paused=HELD, admit=lambda s, r: None
    ),
}


def _refusals(world: World) -> int:
    with session_scope(world.engine) as session:
        stmt = (
            select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == "command-refused")
        )
        return int(session.exec(stmt).one())


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_rollout_command_has_one_shape(world: World, case: Case) -> None:
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    if case.finished:
        for client in PAIR:
            world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
        world.ok(COORDINATOR, 'rollback 1 "abandon"')
    asked: list[int] = []

    def decide(stored: repo.Stored, rollout: Rollout) -> Rule:
        asked.append(rollout.proposal)
        return lambda: case.decide(stored, rollout)

    before = _refusals(world)
    with session_scope(world.engine) as session:
        now = world.clock.now()
        cmd = c.Advance(case.n)
        said = step(world.gov, session, cmd, person(COORDINATOR), now, decide, admit=case.admit)
    assert said == Message.text_only(case.said, ok=case.ok)
    assert _refusals(world) - before == case.refused
    assert asked == ([1] if case.decided else [])
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, 1, world.gov.charter)
    assert rollout is not None and rollout.pauses == case.paused


def test_a_failed_read_before_the_rule_is_an_error_not_a_refusal(world: World) -> None:
    """A ValueError raised while reading what the rule needs (a stored row that does not parse)
    propagates: the asker is not told the exception's text, and no refusal is audited."""
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))

    def decide(stored: repo.Stored, rollout: Rollout) -> Rule:
        raise ValueError("Expecting value: line 1 column 1 (char 0)")  # as a JSONDecodeError

    before = _refusals(world)
    now = world.clock.now()
    with pytest.raises(ValueError, match="Expecting value"), session_scope(world.engine) as session:
        step(world.gov, session, c.Advance(1), person(COORDINATOR), now, decide)
    assert _refusals(world) == before


HOLD = 'rollout pause 1 "by hand"'
INCIDENT = 'incident declare sev1 "fork on canary"'
SEVERITY = 'incident severity #1 sev2 "contained"'


def _corrupt(*_: object, **__: object) -> object:
    """A store read meeting a row that does not parse."""
    raise ValueError("Expecting value: line 1 column 1 (char 0)")  # as a JSONDecodeError


@pytest.mark.parametrize(
    ("before_it", "read", "command"),
    [
        (HOLD, "bot.rollout_moves.gate_facts", "advance 1"),
        (HOLD, "bot.rollout_holds.confidential_incidents", "rollout resume 1"),
        (
            INCIDENT,
            "bot.rollout_incidents.embargoed_active",
            'incident severity #1 sev2 "contained"',
        ),
        (INCIDENT, "bot.rollout_incidents.kept_private", "incident add #1 for 1"),
    ],
)
def test_the_commands_read_outside_the_rule(
    world: World, monkeypatch: pytest.MonkeyPatch, before_it: str, read: str, command: str
) -> None:
    """``advance``, ``rollout resume``, ``incident severity`` and ``incident add`` read gate
    facts, confidential incidents, embargoes and privacy from the store before their rule: a
    read that fails is an error, never a refusal."""
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    world.ok(COORDINATOR, before_it)
    monkeypatch.setattr(read, _corrupt)
    before = _refusals(world)
    with pytest.raises(ValueError, match="Expecting value"):
        world.run(COORDINATOR, command)
    assert _refusals(world) == before
