"""Moving an accepted proposal's activation target (``/charter activation``).

Upgrades slip: a client needs two more weeks, a bug moves the date. The target is read from the
issue form until the proposal is decided; after that this is how it moves.

Rules:
- Only an accepted proposal (accepted or rolling out) has its target moved. Before voting
  opens its author edits the issue form; during voting the target is part of what is voted on.
  A refusal says why for each other state: a completed rollout's activation no longer moves;
  a rejected, expired, withdrawn or rolled-back proposal will not be activated.
- The new target is read like the form's: a date-time or a chain position (``epoch 412000``);
  a date-time without a zone is read in the charter's zone (``charter.timezone``, where bare
  times in commands are read). A date-time must lie ahead, and still come
  ``min_activation_after_decision`` or more after the decision.
- The same target again is refused: there is nothing to move.
- The move is audited with its reason, announced as a rollout event, and shown on the tracking
  message; the watchdogs then judge the new target.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from charter.effects import Announce, Audit, Effect, Reply, SyncTracking
from charter.intake import parse_activation
from charter.lifecycle import State
from charter.model import Charter, format_duration
from charter.proposal import Decision, Proposal, refuse, rules_for, track_of
from charter.text import one_line

_MOVABLE = (State.ACCEPTED, State.ROLLING_OUT)
_WONT = "it will not be activated"
# Why each other state's target does not move here: before the decision the form says it;
# after a rollout, or with no rollout to come, there is nothing left to activate.
_FIXED = {
    State.DRAFT: "its author edits the issue form until voting opens",
    State.REVIEW: "its author edits the issue form until voting opens",
    State.VOTING: "the target is part of what is voted on; it moves only once accepted",
    State.COMPLETED: "its rollout is complete; activation no longer moves",
    State.REJECTED: _WONT,
    State.EXPIRED: _WONT,
    State.WITHDRAWN: _WONT,
    State.ROLLED_BACK: "its rollout was rolled back and ended; " + _WONT,
}


def move_activation(
    p: Proposal, charter: Charter, target: str, reason: str, by: str, now: datetime
) -> Decision:
    """Set the activation target of accepted proposal ``p`` to ``target`` (see the rules)."""
    charter = rules_for(p, charter)
    if p.state not in _MOVABLE:
        return refuse(p, by, "activation", f"#{p.number} is {p.state.value}: {_FIXED[p.state]}.")
    try:
        activation = parse_activation(target, charter.charter.timezone)
    except ValueError as error:
        return refuse(p, by, "activation", str(error))
    new, old = str(activation), p.fields.get("activation")
    if new == old:
        return refuse(p, by, "activation", f"#{p.number}'s activation target is already {new}.")
    if activation.at is not None and activation.at <= now:
        return refuse(p, by, "activation", f"{new} is in the past; give a target still ahead.")
    floor = track_of(p, charter).min_activation_after_decision
    if activation.at is not None and floor is not None and p.decided_at is not None:
        earliest = p.decided_at + floor
        if activation.at < earliest:
            gap = format_duration(floor)
            why = (
                f"{new} is too early: #{p.number} was decided on {p.decided_at:%Y-%m-%d %H:%M} UTC"
                f" and its track needs activation at least {gap} after the decision,"
                f" so the earliest target is {earliest:%Y-%m-%d %H:%M} UTC."
            )
            return refuse(p, by, "activation", why)
    reason = one_line(reason)
    was = old if isinstance(old, str) else "not set"
    effects: tuple[Effect, ...] = (
        Audit("activation-moved", p.subject, {"from": old, "to": new, "by": by, "reason": reason}),
        Announce(
            kind="rollout",
            title=f"#{p.number} activation moved to {new}",
            text=f"{p.title}: was {was}. {reason} — {by}",
            proposal=p.number,
            track=p.track,
            confidential=track_of(p, charter).confidential,
        ),
        SyncTracking(p.number),
        Reply(f"#{p.number}'s activation target is now {new} (was {was})."),
    )
    return Decision(replace(p, fields={**p.fields, "activation": new}), effects)
