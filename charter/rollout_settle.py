"""What the facts of a rollout imply by themselves: its first stage entered, its soak clocks, its
completion (:func:`settle`, run after every change).

Rules (charter ``rollout``):
- The first stage counts as entered when every client has reported for it with a release that
  meets the form's prerequisites (``minimums``). When every client has reported and only the
  prerequisites hold it, ``advance`` enters it like any later stage
  (:mod:`charter.rollout_advance`).
- A stage's soak clock (``stage_entered_at``) runs while the rollout is on that stage or past it
  AND every client is on it: it starts when the stage is entered (or, when an override let the
  rollout in without every client, when the last of them reports for it); a rollback below it
  stops it, and it starts again when the stage is entered again. A report that brings the
  stage a new release (another than its client ran there) restarts it: the stage has soaked
  only with the releases it runs now (:mod:`charter.soak`, :func:`run_clocks`).
- The rollout completes when it is on the last stage with every client on it.
- A paused rollout does not enter its first stage or complete (its clocks still run); what it
  would do once resumed is :func:`waiting`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from charter import soak as soak_rule
from charter.effects import Audit, Effect
from charter.gates import prerequisites
from charter.model import Charter
from charter.prerequisites import Minimum
from charter.rollout_decision import announce, audit_subject
from charter.rollout_facts import Rollout


def run_clocks(rollout: Rollout, charter: Charter, now: datetime) -> Rollout:
    """Start the soak clock of every stage that now has every client on it, restart it on a
    new release, stop the others (the rule is :func:`charter.soak.clocks`)."""
    return replace(rollout, stage_entered_at=soak_rule.clocks(rollout, charter, now))


def _below_minimum(
    rollout: Rollout, charter: Charter, minimums: Mapping[str, Minimum] | None
) -> bool:
    """Whether a client's release for the first stage is below the form's prerequisite."""
    return (
        bool(minimums)
        and not prerequisites(charter.rollout.stages[0], rollout, minimums or {}).passed
    )


def waiting(
    rollout: Rollout, charter: Charter, minimums: Mapping[str, Minimum] | None
) -> str | None:
    """What a paused rollout would do now if it were not paused: enter its first stage (every
    client reported a release for it that meets its minimum) or complete (every client on
    the last stage)."""
    last = len(charter.stage_ids) - 1
    if rollout.stage_index == -1 and rollout.all_on(0):
        return (
            None
            if _below_minimum(rollout, charter, minimums)
            else f"it enters {charter.stage_ids[0]}"
        )
    if rollout.completed_at is None and rollout.stage_index == last and rollout.all_on(last):
        return "it completes"
    return None


def settle(
    rollout: Rollout,
    charter: Charter,
    now: datetime,
    minimums: Mapping[str, Minimum] | None = None,
) -> tuple[Rollout, tuple[Effect, ...]]:
    """Enter the first stage (once every client reported for it with a release meeting its
    prerequisite), run the clocks, complete: whatever the facts now imply. A paused rollout
    neither enters nor completes."""
    effects: list[Effect] = []
    first, last = charter.stage_ids[0], len(charter.stage_ids) - 1
    if rollout.paused:
        return run_clocks(rollout, charter, now), ()
    if (
        rollout.stage_index == -1
        and rollout.all_on(0)
        and not _below_minimum(rollout, charter, minimums)
    ):
        rollout = replace(rollout, stage_index=0)
        effects.append(
            Audit("stage-entered", audit_subject(rollout), {"stage": first, "gates": []})
        )
        text = f"Every client has reported a release for {first}."
        effects.append(announce(rollout, charter, f"#{rollout.proposal} entered {first}", text))
    rollout = run_clocks(rollout, charter, now)
    if rollout.completed_at is None and rollout.stage_index == last and rollout.all_on(last):
        rollout = replace(rollout, completed_at=now)
        effects.append(
            Audit("rollout-completed", audit_subject(rollout), {"stage": charter.stage_ids[last]})
        )
        title = f"#{rollout.proposal} rollout completed"
        text = f"Every client is on {charter.stage_ids[last]}."
        effects.append(announce(rollout, charter, title, text))
    return rollout, tuple(effects)
