"""A charter amendment may change the rollout stages, but never move a rollout under way.

Rollouts are kept by stage id (:class:`charter.rollout_facts.Placement`), so a new stage list
leaves each rollout and each client on the stage it was on. What would still move one is
refused when the bot starts with the new charter. For every rollout under way (not completed,
of a proposal not rolled back, withdrawn or otherwise over) and every stage it or one of its
clients is on (``Placement.on``):

- the new charter keeps that stage (the same id);
- every other stage both the charter it was placed under (``Placement.stages``) and the new
  one have stays on the same side of it: a stage it has passed stays before it, a stage ahead
  stays ahead. Moved across, a stage ahead would count as passed (production before canary: a
  rollout on canary completes without ever running on production), and a passed one would
  have to be run again by clients whose position says they ran it.

Everything else is allowed: stages nobody under way is on may be dropped; stages may be
reordered among themselves as long as none crosses a stage a rollout is on; a new stage may go
anywhere. A new stage before the stage a client (or the rollout) is on counts as passed by it:
that rollout does not run there (:func:`passed_new`; the start log names them).
"""

from __future__ import annotations

from collections.abc import Sequence

from charter.rollout_facts import Placement


def _on(proposal: int, where: Placement, stage: str) -> str:
    """Who of rollout ``proposal`` is on ``stage``: "#1 is on canary (aurora, borealis)"."""
    clients = ", ".join(where.clients_on(stage))
    if where.stage == stage:
        return f"#{proposal} is on {stage}" + (f" ({clients})" if clients else "")
    return f"#{proposal} has {clients} on {stage}"


def _crossed(where: Placement, stage: str, stages: Sequence[str]) -> list[tuple[str, str, str]]:
    """The stages both lists have that the new one (``stages``) puts on the other side of
    ``stage``: (stage, where it was, where it goes), e.g. ("staging", "before", "after")."""
    old, new = where.stages, list(stages)
    out = []
    for other in (s for s in old if s in new and s != stage):
        before = old.index(other) < old.index(stage)
        if before != (new.index(other) < new.index(stage)):
            out.append((other, *(("before", "after") if before else ("after", "before"))))
    return out


def moves(proposal: int, where: Placement, stages: Sequence[str]) -> tuple[str, ...]:
    """Why the stage list ``stages`` would move rollout ``proposal``, under way at ``where``
    (see the module rules), one sentence each with what to do instead; () when it would not."""
    problems: list[str] = []
    finish = f"first finish #{proposal}'s rollout"
    for stage in where.on():
        on = _on(proposal, where, stage)
        if stage not in stages:
            dropped = f"{on}, which the new charter drops: keep {stage}"
            problems.append(f"{dropped}, or {finish} or roll its clients back off {stage}")
        elif stage in where.stages:  # (a stage its own charter lacked has no order to keep)
            for other, was, now in _crossed(where, stage, stages):
                moved = f"the new charter moves {other} from {was} {stage} to {now} it"
                problems.append(f"{on}; {moved}: keep {other} {was} {stage}, or {finish}")
    return tuple(problems)


def passed_new(where: Placement, stages: Sequence[str]) -> tuple[str, ...]:
    """The stages of ``stages`` that ``where`` was not placed under and that come before a
    stage the rollout or one of its clients is on: that rollout counts them as passed."""
    on = [stages.index(s) for s in where.on() if s in stages]
    furthest = max(on, default=0)  # on none: past none
    return tuple(s for s in stages[:furthest] if s not in where.stages)
