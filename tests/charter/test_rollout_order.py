"""Every client moves through the stages in order, and so does every ``advance``: a client the
rollout left behind by override reports for the stage it skipped first, and an advance (an
override always) that names its stage enters it only when it is the next one, so a repeated
override never enters the stage after."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from charter import commands as c
from charter.effects import Reply
from charter.gates import GateFacts
from charter.grammar import parse_chat
from charter.risk import Assessment
from charter.rollout import Rollout, RolloutDecision, advance, report_ready
from tests.charter.rollout_support import CLIENTS, T0, check, reference, report, rollout_at

CHARTER = reference()
D = timedelta(days=1)
LOW_RISK = GateFacts(risk=Assessment(3, 4))
NOW = T0 + 10 * D


def said(decision: RolloutDecision) -> Reply:
    (answer,) = [e for e in decision.effects if isinstance(e, Reply)]
    return answer


# -- reports: one stage past the client's own -----------------------------------------------------


def behind(stage_index: int) -> Rollout:
    """The rollout on ``stage_index`` by override(s), aurora still on staging."""
    return rollout_at(stage_index, positions={"aurora": 0}, entered={"staging": T0})


@pytest.mark.parametrize(
    ("rollout", "client", "stage", "reply", "position"),
    [
        (behind(1), "aurora", "production",
         Reply("aurora is on staging: report aurora ready for canary first, not production",
               ok=False), 0),
        (behind(2), "aurora", "production",
         Reply("aurora is on staging: report aurora ready for canary first, not production",
               ok=False), 0),
        (behind(1), "aurora", "canary", Reply("recorded aurora 1.4.0@82a18f64a85d for canary"), 1),
        (behind(2), "aurora", "canary", Reply("recorded aurora 1.4.0@82a18f64a85d for canary"), 1),
        (behind(1), "aurora", "staging",
         Reply("recorded aurora 1.4.0@7a08c5a3c6c3 for staging"), 0),
        (behind(1), "borealis", "production",
         Reply("recorded borealis 1.4.0@2b03643f6ddd for production"), 2),
        # the rollout's own limit is said first
        (rollout_at(-1, positions={"aurora": -1}), "aurora", "canary",
         Reply("#42 is at pending: report for staging or earlier, not canary", ok=False), -1),
    ],
    ids=["skip-canary", "skip-canary-past-production", "canary", "canary-on-production",
         "staging-again", "others-move-on", "rollout-limit"],
)  # fmt: skip
def test_a_client_reports_one_stage_past_its_own_at_most(
    rollout: Rollout, client: str, stage: str, reply: Reply, position: int
) -> None:
    """A refused report changes nothing: the client is not counted as on the stage it skipped,
    and no soak clock starts."""
    decision = report_ready(rollout, CHARTER, report(client, stage, NOW))
    assert said(decision) == reply
    assert decision.rollout.position(client) == position
    if not reply.ok:
        assert decision.rollout is rollout


def test_a_client_left_behind_starts_the_soak_only_once_it_ran_the_stage() -> None:
    """aurora reports canary, then production: canary's soak starts with its canary report."""
    rollout = behind(1)
    assert "canary" not in rollout.stage_entered_at
    refused = report_ready(rollout, CHARTER, report("aurora", "production", NOW)).rollout
    assert "canary" not in refused.stage_entered_at
    on_canary = report_ready(rollout, CHARTER, report("aurora", "canary", NOW + D)).rollout
    assert on_canary.stage_entered_at["canary"] == NOW + D
    on_production = report_ready(on_canary, CHARTER, report("aurora", "production", NOW + 2 * D))
    assert on_production.rollout.position("aurora") == 2
    assert on_production.rollout.stage_entered_at["canary"] == NOW + D


# -- advance: the stage named must be the next one; an override must name it ----------------------


def ready_for_canary() -> Rollout:
    """On staging since T0, every client reported for canary with its checks green."""
    return rollout_at(
        0,
        positions=dict.fromkeys(CLIENTS, 1),
        entered={"staging": T0},
        reports=tuple(report(c, "canary", T0) for c in CLIENTS),
        checks=tuple(check(c, "canary", "interop-matrix", "success", T0) for c in CLIENTS),
    )


@pytest.mark.parametrize(
    ("rollout", "to", "reason", "reply", "stage_index"),
    [
        # an override naming no stage: refused with the command to type
        (rollout_at(1), None, "interop run is flaky",
         Reply('#42 enters production next; an override must name it, so a repeat cannot skip'
               ' a stage: /charter advance 42 to production --override "interop run is flaky"',
               ok=False), 1),
        (rollout_at(0), None, 'the "interop" run is flaky',
         Reply('#42 enters canary next; an override must name it, so a repeat cannot skip a'
               ' stage: /charter advance 42 to canary --override the "interop" run is flaky',
               ok=False), 0),
        # even when every gate passes: the repeat of it would not
        (ready_for_canary(), None, "just in case",
         Reply('#42 enters canary next; an override must name it, so a repeat cannot skip a'
               ' stage: /charter advance 42 to canary --override "just in case"', ok=False), 0),
        # the next stage named: the override enters it (the first stage once all reported)
        (rollout_at(1), "production", "flaky", Reply("#42 advanced to production by override"),
         2),
        (rollout_at(-1, positions=dict.fromkeys(CLIENTS, 0)), "staging", "devnets are fine",
         Reply("#42 advanced to staging"), 0),
        # a stage already entered (a repeated override) or past the next one
        (rollout_at(1), "canary", "flaky",
         Reply("#42 is already in canary; its next stage is production", ok=False), 1),
        (rollout_at(1), "staging", "flaky",
         Reply("#42 is already in canary; its next stage is production", ok=False), 1),
        (rollout_at(0), "production", "flaky",
         Reply("#42 is at staging; it enters canary next, not production", ok=False), 0),
        (rollout_at(-1, positions=dict.fromkeys(CLIENTS, 0)), "canary", None,
         Reply("#42 is at pending; it enters staging next, not canary", ok=False), -1),
        # a plain advance may name the stage too, checked the same way
        (ready_for_canary(), "canary", None, Reply("#42 advanced to canary"), 1),
        (ready_for_canary(), None, None, Reply("#42 advanced to canary"), 1),
        (ready_for_canary(), "production", None,
         Reply("#42 is at staging; it enters canary next, not production", ok=False), 0),
        (rollout_at(1), "production", None, None, 1),  # its gates fail: said below
        # what can never advance is said first
        (rollout_at(2, positions={"aurora": 1}), "production", "flaky",
         Reply("#42 is on its last stage; it completes once all are on it (waiting for aurora)",
               ok=False), 2),
        (replace(rollout_at(2), completed_at=T0), "production", "flaky",
         Reply("#42 has completed its rollout", ok=False), 2),
    ],
    ids=["override-unnamed", "override-unnamed-quotes", "override-unnamed-gates-pass",
         "override-next", "override-first-stage", "override-repeated", "override-behind",
         "override-skips", "pending-skips", "plain-next", "plain-unnamed", "plain-skips",
         "plain-gates-fail", "last-stage", "completed"],
)  # fmt: skip
def test_advance_enters_only_the_next_stage(
    rollout: Rollout, to: str | None, reason: str | None, reply: Reply | None, stage_index: int
) -> None:
    decision = advance(
        rollout, CHARTER, LOW_RISK, NOW, by="ines-coord", override_reason=reason,
        may_override=reason is not None, to=to,
    )  # fmt: skip
    answer = said(decision)
    if reply is None:
        assert not answer.ok and answer.text.startswith("#42 cannot advance to production:\n")
    else:
        assert answer == reply
    assert decision.rollout.stage_index == stage_index
    if not answer.ok:
        assert decision.rollout is rollout


def test_the_same_override_twice_enters_one_stage() -> None:
    """A retyped or duplicated override enters its stage once; the repeat is refused and the
    stage after, whose gates nobody saw, stays unentered."""

    def override(rollout: Rollout) -> RolloutDecision:
        return advance(
            rollout, CHARTER, LOW_RISK, NOW, by="ines-coord", override_reason="ship canary",
            may_override=True, to="canary",
        )  # fmt: skip

    first = override(rollout_at(0))
    assert said(first) == Reply("#42 advanced to canary by override")
    again = override(first.rollout)
    assert said(again) == Reply("#42 is already in canary; its next stage is production", ok=False)
    assert again.rollout is first.rollout and again.rollout.stage_index == 1


STAGES = "the charter's stages are staging, canary, production"


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("mainnet", f"unknown stage 'mainnet'; {STAGES}"),
        ("producton", f"unknown stage 'producton' (did you mean 'production'?); {STAGES}"),
        ("canry", f"unknown stage 'canry' (did you mean 'canary'?); {STAGES}"),
    ],
)
def test_an_unknown_stage_can_never_be_advanced_to(to: str, message: str) -> None:
    """A stage the charter does not have is refused, with the closest stage when one is near."""
    with pytest.raises(ValueError, match=re.escape(message)):
        advance(rollout_at(0), CHARTER, LOW_RISK, NOW, by="ines-coord", to=to)


@pytest.mark.parametrize(
    "reason",
    ["flaky", 'the "interop" run is flaky', '"interop" is flaky', "“curly” quotes", 'ends in "'],
)
def test_the_command_an_unnamed_override_is_given_reads_back_as_itself(reason: str) -> None:
    """Typed as shown, the command is this override with its stage named."""
    refused = said(
        advance(
            rollout_at(0), CHARTER, LOW_RISK, NOW, by="ines-coord", override_reason=reason,
            may_override=True,
        )
    )  # fmt: skip
    typed = refused.text.split(": ", 1)[1]
    assert parse_chat(typed) == c.Advance(42, reason, "canary")
