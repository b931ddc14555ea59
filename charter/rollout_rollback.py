"""Rolling clients back: one stage each, and the rollout with them.

Rules (charter ``rollout``):
- A rollback moves the named clients (default: all) back one stage, with a written reason; a
  client not in the rollout, or on no stage yet, is refused.
- Re-entry is entry. The rollout is never on a stage a client was rolled back below: a rollback
  moves the rollout back to the lowest stage any client is then on (pending when one is on
  none). A client's report alone therefore never puts the rollout back on a stage; the stage is
  entered again as it was the first time, the first by every client's report, a later one by
  ``advance``, which asks every gate anew for every client: the checks and prerequisites on each
  client's latest release for the stage, the soak, the risk override, open incidents, and a
  go/no-go decided after the rollback (:func:`charter.gates.current_go_no_go`). A rollback stops
  the soak clocks of the stages it leaves (:mod:`charter.rollout_settle`) and undoes completion.
- One who may end the proposal (``may_end``, :mod:`charter.authz`) ends it for good by a
  rollback that leaves no client on any stage, and the announcement and reply say so; a rollout
  whose clients were all rolled back already is then ended as it is (nothing moves, the
  rollback recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.model import Charter
from charter.rollout_decision import (
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    written_reason,
)
from charter.rollout_facts import RollbackRecord, Rollout
from charter.rollout_settle import run_clocks


def rollback(
    rollout: Rollout,
    charter: Charter,
    reason: str,
    by: str,
    now: datetime,
    *,
    clients: Sequence[str] | None = None,
    may_end: bool = False,
) -> RolloutDecision:
    """Move the named clients (default: all) back one stage; the rollout moves back to the
    lowest stage a client is then on, so entering the stages above it again runs their gates.

    ``may_end``: the one rolling back may end the proposal (who may is the service's rule: those
    who may roll back every client at once, :mod:`charter.authz`). Then a rollback that leaves
    no client on any stage ends it for good, and the announcement and reply say so instead of
    that the rollout is pending again. A rollout whose clients were all rolled back already
    (each maintainer their own) is then ended as it is: nothing moves, the rollback is recorded."""
    reason = written_reason(reason, "a rollback")
    names = tuple(clients) if clients else rollout.clients
    strangers = [c for c in names if c not in rollout.clients]
    if strangers:
        return refuse(rollout, f"{', '.join(strangers)} not in the rollout of #{rollout.proposal}")
    idle = [c for c in names if rollout.position(c) < 0]
    if may_end and all(rollout.position(c) < 0 for c in rollout.clients):
        return _end_idle(rollout, charter, reason, by, now)
    if idle:
        return refuse(rollout, f"{', '.join(idle)} not on any stage yet; nothing to roll back")
    moved = _moved_back(rollout, charter, RollbackRecord(names, reason, by, now))
    ends = may_end and all(moved.position(c) < 0 for c in moved.clients)
    moves = _moves(rollout, moved, charter, names)
    said = ", ".join(f"{c} {a} → {b}" for c, (a, b) in moves.items())
    payload = {"moves": moves, "reason": reason, "by": by}
    effects: tuple[Effect, ...] = (
        Audit("rollout-rolled-back", audit_subject(rollout), payload),
        announce(
            moved,
            charter,
            f"#{rollout.proposal} rollback: {said}",
            f"Rolled back by {by}: {reason}{_back_on(rollout, moved, charter, ends=ends)}",
            # the named clients only, unless the rollout itself moved back (every client's)
            about=names if moved.stage_index == rollout.stage_index else None,
        ),
        SyncTracking(rollout.proposal),
        Reply(f"rolled back {said}" + (f"; {_ended(rollout.proposal)}" if ends else "")),
    )
    return RolloutDecision(moved, effects)


def _moved_back(rollout: Rollout, charter: Charter, record: RollbackRecord) -> Rollout:
    """``record``'s clients one stage back, the rollout on the lowest stage a client is then
    on (or where it was, if lower), not completed, and the soak clocks run anew."""
    positions = {**rollout.positions, **{c: rollout.position(c) - 1 for c in record.clients}}
    lowest = min(positions.get(c, -1) for c in rollout.clients)
    moved = replace(
        rollout,
        positions=positions,
        stage_index=min(rollout.stage_index, lowest),
        rollbacks=(*rollout.rollbacks, record),
        completed_at=None,
    )
    return run_clocks(moved, charter, record.at)


def _moves(
    before: Rollout, after: Rollout, charter: Charter, names: Sequence[str]
) -> dict[str, list[str]]:
    """Per named client, the stage it was on and the one it is on now (audited and said)."""
    return {
        c: [
            before.stage_name(charter, before.position(c)),
            after.stage_name(charter, after.positions[c]),
        ]
        for c in names
    }


def _end_idle(
    rollout: Rollout, charter: Charter, reason: str, by: str, now: datetime
) -> RolloutDecision:
    """End a proposal whose clients were all rolled back already (each maintainer their own):
    nothing moves, but the rollback is recorded so that the proposal ends (rolled-back)."""
    n = rollout.proposal
    moved = replace(
        rollout,
        rollbacks=(*rollout.rollbacks, RollbackRecord(rollout.clients, reason, by, now)),
        completed_at=None,
    )
    effects: tuple[Effect, ...] = (
        Audit(
            "rollout-rolled-back", audit_subject(rollout), {"moves": {}, "reason": reason, "by": by}
        ),
        announce(moved, charter, f"#{n} rollback", f"Rolled back by {by}: {reason}\n{_ended(n)}."),
        SyncTracking(n),
        Reply(_ended(n)),
    )
    return RolloutDecision(moved, effects)


def _ended(n: int) -> str:
    return f"#{n} is rolled back from every stage and ends here; a new proposal is needed to retry"


def _back_on(before: Rollout, after: Rollout, charter: Charter, *, ends: bool = False) -> str:
    """A sentence for a rollback that ended the proposal, or moved the rollout itself back
    (else nothing)."""
    if ends:
        return f"\n{_ended(after.proposal)}."
    if after.stage_index == before.stage_index:
        return ""
    n, again = after.proposal, charter.stage_ids[after.stage_index + 1]
    if after.stage_index == -1:
        return f"\n#{n} is pending again: {again} is entered once every client reports for it."
    return (
        f"\n#{n} is back on {after.stage_name(charter)}: {again} is entered again only by"
        f" `/charter advance {n}`, its gates asked anew."
    )
