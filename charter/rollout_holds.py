"""Holding a rollout and lifting its holds: ``pause``, ``resume`` and ``resume --override``.

Rules (charter ``rollout``):
- A paused rollout (an incident, or by hand) does not advance, enter its first stage or complete;
  reports and rollbacks still apply. When its last hold is lifted (``resume`` with ``now``),
  whatever waited happens then (:func:`charter.rollout_settle.settle`).
- Holds are kept apart: each incident's (lifted when it is resolved) and at most one by hand
  (``pause`` without an incident; lifted by ``resume`` without one, which never lifts an
  incident's hold and says what still holds the rollout). Who may place or lift a hand hold is
  :mod:`charter.authz`'s rule.
- A written override (:func:`override_holds`) lifts every hold of one rollout, the incidents'
  too; the incidents stay open and their gates still apply at ``advance``.
- A rollout whose proposal has ended (rolled back for good, withdrawn…: the caller says so with
  ``resume(..., ended=True)``) has nothing to resume: lifting a hold from it is audited, and
  nothing is announced, entered or completed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime

from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.gates import CONFIDENTIAL_INCIDENT
from charter.model import Charter
from charter.prerequisites import Minimum
from charter.rollout_decision import (
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    written_reason,
)
from charter.rollout_facts import Rollout
from charter.rollout_settle import settle


def pause(
    rollout: Rollout,
    incident_id: str | None,
    reason: str,
    charter: Charter,
    *,
    by: str = "",
    at_start: bool = False,
) -> RolloutDecision:
    """Hold the rollout at its stage, for an incident or by hand (``incident_id`` None).

    An incident holds a rollout once (a repeat changes nothing and says nothing). A rollout has
    at most one hold by hand: pausing it again is refused, naming the hold and how to lift it,
    so neither the audit log nor the channels hear of it twice. A hand hold records who placed
    it (``by``) in its reason, which every view of the pause shows. ``at_start``: an incident's
    hold placed as the rollout starts (recorded so: such a hold does not make the incident
    confidential, :func:`storage.dashboard_queries.confidential_incidents`)."""
    reason = written_reason(reason, "a pause")
    key, n = incident_id or "", rollout.proposal
    if rollout.completed_at is not None:
        return refuse(rollout, f"#{n} has completed its rollout; nothing to pause")
    if key and any(k == key for k, _ in rollout.pauses):
        return RolloutDecision(rollout, ())  # the same incident pauses once
    lift = who_lifts(charter, n)
    if not key and _hand_holds(rollout):
        holds = "; ".join(_hand_holds(rollout))
        return refuse(rollout, f"#{n} is already paused by hand ({holds}); {lift}.")
    if key:
        held = replace(rollout, pauses=(*rollout.pauses, (key, reason)))
        payload: dict[str, object] = {"incident": incident_id, "reason": reason}
        if at_start:
            payload["at_start"] = True
        return RolloutDecision(
            held,
            (
                Audit("rollout-paused", audit_subject(rollout), payload),
                announce(held, charter, f"#{n} rollout paused", reason),
                SyncTracking(n),
            ),
        )
    hold = f"held by {by}: {reason}" if by else reason
    held = replace(rollout, pauses=(*rollout.pauses, ("", hold)))
    stops = f"#{n} {_held_back(rollout, charter)} until {lift}"
    text = f"Paused by hand{f' by {by}' if by else ''}: {reason}\n{stops}."
    return RolloutDecision(
        held,
        (
            Audit(
                "rollout-paused",
                audit_subject(rollout),
                {"incident": None, "reason": reason, "by": by},
            ),
            announce(held, charter, f"#{n} rollout paused", text),
            SyncTracking(n),
            Reply(f"#{n} paused: {reason}. {stops}."),
        ),
    )


def _held_back(rollout: Rollout, charter: Charter) -> str:
    """What a hold stops where the rollout is: entering its first stage while pending,
    advancing past the stage it is on, or completing on the last."""
    stages = charter.stage_ids
    if rollout.stage_index < 0:
        return f"does not enter its first stage ({stages[0]})"
    if rollout.stage_index >= len(stages) - 1:
        return "does not complete"
    return f"does not advance past {stages[rollout.stage_index]}"


def who_lifts(charter: Charter, n: int) -> str:
    """Who lifts a hold by hand, and how: "a member of coordinators lifts it with `…`"."""
    how, roles = f"`/charter rollout resume {n}`", charter.rollout.override_roles
    return f"a member of {' or '.join(roles)} lifts it with {how}" if roles else f"{how} lifts it"


def _hand_holds(rollout: Rollout) -> list[str]:
    """The reasons of the holds placed by hand (an incident's hold is keyed by its id)."""
    return [reason for k, reason in rollout.pauses if not k]


def resume(
    rollout: Rollout,
    charter: Charter,
    by: str,
    *,
    incident_id: str | None = None,
    now: datetime | None = None,
    minimums: Mapping[str, Minimum] | None = None,
    reason: str = "",
    ended: bool = False,
    confidential: Collection[str] = (),
) -> RolloutDecision:
    """Lift one incident's hold (``incident_id``), or the hold placed by hand (None); announce
    when none is left. With ``now``, what waited for the pause happens once none is left: the
    first stage is entered (every client reported, releases meeting ``minimums``) or the
    rollout completes. ``ended``: the proposal is over, so the hold is lifted silently
    (audited, no announcement, nothing happens; the reply says the proposal has ended).

    A hand resume never lifts an incident's hold: that is lifted when its incident is resolved.
    With only incidents holding the rollout it is refused, naming them; with one left after
    the hand hold is lifted, the lifting is audited, announced and answered with what still
    holds the rollout. ``reason`` (optional) is recorded and announced with a hand resume.
    A refusal names the holds as :func:`_holds` words them: the public may read it in the
    audit log, so an incident of ``confidential`` is said by no more than that, whatever its
    hold's reason says (it may date from before the incident became confidential)."""
    n = rollout.proposal
    refusal = _not_resumable(rollout, incident_id, confidential)
    if refusal is not None:
        return refuse(rollout, refusal)
    key = incident_id or ""
    freed = replace(rollout, pauses=tuple(p for p in rollout.pauses if p[0] != key))
    payload: dict[str, object] = {"incident": incident_id, "by": by, "still_paused": freed.paused}
    if incident_id is None:
        payload["reason"] = reason.strip()
    if ended:  # nothing of it moves again: no "resumed" to announce, nothing waits
        payload["ended"] = True
        over = Reply(f"#{n} has ended; its hold is lifted, and it does not resume")
        return RolloutDecision(
            freed,
            (Audit("rollout-resumed", audit_subject(rollout), payload), SyncTracking(n), over),
        )
    effects: list[Effect] = [Audit("rollout-resumed", audit_subject(rollout), payload)]
    said = f"Resumed by {by}" + (f": {reason.strip()}" if reason.strip() else ".")
    if freed.paused:
        effects += _still_paused(freed, charter, said, by_hand=incident_id is None)
        return RolloutDecision(freed, tuple(effects))
    return _resumed(freed, charter, said, effects, now, minimums)


def _not_resumable(
    rollout: Rollout, incident_id: str | None, confidential: Collection[str]
) -> str | None:
    """Why ``resume`` is refused: nothing holds the rollout, the incident does not, or (a hand
    resume) only incidents do; the holds as :func:`_holds` words them (None: it may resume)."""
    n = rollout.proposal
    if not rollout.paused:
        return f"#{n} is not paused"
    if incident_id is not None and all(k != incident_id for k, _ in rollout.pauses):
        return f"incident {incident_id} does not hold #{n} ({_holds(rollout, confidential)})"
    if incident_id is None and not _hand_holds(rollout):
        return (
            f"#{n} is not paused by hand; it is held by {_holds(rollout, confidential)}. An"
            " incident's hold is lifted when the incident is resolved (`/charter incident"
            f" resolve #<id>`), or on this rollout alone by `/charter rollout resume {n} --override"
            ' "<reason>"`.'
        )
    return None


def _still_paused(freed: Rollout, charter: Charter, said: str, *, by_hand: bool) -> list[Effect]:
    """What follows lifting a hold when another is left: after a hand hold, an announcement
    and a reply naming what still holds it; after an incident's, the reply alone (the
    incident's own announcements tell of its resolution)."""
    n = freed.proposal
    if not by_hand:
        return [Reply(f"#{n} is still paused: {freed.pause_reason}")]
    title = f"#{n} hold by hand lifted; still paused"
    still = f"{said}\nStill paused: {freed.pause_reason}."
    lifted = f"#{n}: the hold by hand is lifted, but #{n} is still paused:"
    why = "An incident's hold is lifted when the incident is resolved."
    return [
        announce(freed, charter, title, still),
        SyncTracking(n),
        Reply(f"{lifted} {freed.pause_reason}. {why}"),
    ]


def _holds(rollout: Rollout, confidential: Collection[str]) -> str:
    """The rollout's holds as a refusal says them: an incident of ``confidential`` only as
    :data:`charter.gates.CONFIDENTIAL_INCIDENT`."""
    return "; ".join(CONFIDENTIAL_INCIDENT if k in confidential else r for k, r in rollout.pauses)


def _resumed(
    freed: Rollout,
    charter: Charter,
    said: str,
    effects: list[Effect],
    now: datetime | None,
    minimums: Mapping[str, Minimum] | None,
    after: str = "",
) -> RolloutDecision:
    """A rollout left with no hold: announced as resumed (``said``), then, with ``now``, what
    waited happens; the reply says what did, then ``after``."""
    n = freed.proposal
    effects.append(announce(freed, charter, f"#{n} rollout resumed", said))
    before = freed
    if now is not None:
        freed, settled = settle(freed, charter, now, minimums)
        effects.extend(settled)
    effects.append(SyncTracking(n))
    effects.append(Reply(f"#{n} resumed{_what_happened(before, freed, charter)}{after}"))
    return RolloutDecision(freed, tuple(effects))


def override_holds(
    rollout: Rollout,
    charter: Charter,
    by: str,
    reason: str,
    *,
    now: datetime | None = None,
    minimums: Mapping[str, Minimum] | None = None,
) -> RolloutDecision:
    """Lift every hold of the rollout by a written override (``rollout resume <n> --override
    "<reason>"``, an override role's: :mod:`charter.authz`): each incident's hold, and the one
    by hand beside them. The incidents stay open; only their holds on this rollout are lifted,
    and their ``block_on_incident`` gates still keep it from entering a stage unless overridden
    at ``advance``. Audited with the reason and the incidents, announced; then what waited
    happens, as at any resume. A rollout no incident holds is refused (a plain ``rollout
    resume`` lifts a hold by hand)."""
    reason = written_reason(reason, "an override")
    n = rollout.proposal
    if not rollout.paused:
        return refuse(rollout, f"#{n} is not paused")
    incidents = [k for k, _ in rollout.pauses if k]
    if not incidents:
        return refuse(
            rollout, f"no incident holds #{n}; `/charter rollout resume {n}` lifts its hold by hand"
        )
    freed = replace(rollout, pauses=())
    payload: dict[str, object] = {
        "incident": None,
        "incidents": incidents,
        "by": by,
        "still_paused": False,
        "override": reason,
    }
    effects: list[Effect] = [Audit("rollout-resumed", audit_subject(rollout), payload)]
    holds = "; ".join(said for _, said in rollout.pauses)
    said = f"Resumed by {by} over {holds}.\nOverride: {reason}"
    open_ = "s stay" if len(incidents) > 1 else " stays"
    stays = f"; the incident{open_} open, and {_still_gated(n)}"
    return _resumed(freed, charter, said, effects, now, minimums, stays)


def _still_gated(n: int) -> str:
    return f"its gates still apply at `/charter advance {n}` (`--override` there passes them)"


def _what_happened(before: Rollout, after: Rollout, charter: Charter) -> str:
    """What resuming set off, for the reply: the first stage entered, or the completion."""
    if after.completed_at is not None and before.completed_at is None:
        return "; its rollout completed"
    if after.stage_index != before.stage_index:
        return f"; it entered {after.stage_name(charter)}"
    return ""
