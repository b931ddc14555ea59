"""Reminders of planned rollback drills, fired by the leader's tick (part of the rollout area;
see :mod:`bot.rollout_drills`).

Rules (which timers are due, and what they say: :mod:`charter.drill_reminders`):
- Nothing lives in memory. Each tick reads the rollouts under way, derives every timer of
  their pending plans, looks up which of those keys were already handled (``fired_timer`` rows
  of kind ``drill``, the table meeting timers and the audit witness claim theirs in; no table of
  its own; only those keys, by the UNIQUE index: the rows only grow, and the tick runs every
  second), and handles the due ones; with no plan it reads nothing more. A restart neither
  loses a timer (it is derived again) nor repeats one (its row exists); a reminder missed
  while the bot was down is sent late once if the drill time has not come.
- Exactly once: each timer is claimed (:func:`storage.meeting_timers.claim_timer`, UNIQUE key) in
  the transaction that queues its announcement, so two replicas or a retried tick cannot both
  send it. A rollout with a timer due is read again under its row lock and decided again
  before claiming, so a drill reported (or planned again) meanwhile cancels it.
- The announcement is the rollout's (kind ``rollout``, about the client, private while the
  rollout is confidential or its proposal undisclosed), as the plan's own was; it is made by
  ``charterbot``.
- The scheduler's wake-up (:mod:`bot.scheduler`) also looks at the next drill timer
  (:func:`next_at`), so a reminder is sent on time even with a long tick interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from charter import drill_reminders as rules
from charter.model import Charter
from charter.rollout_facts import Rollout
from storage import meeting_timers as timers, rollouts as store
from storage.db import read_scope

if TYPE_CHECKING:
    from bot.service import Governance


def handled(session: Session, rollouts: list[Rollout], charter: Charter) -> set[str]:
    """Which timers of ``rollouts`` were already fired or recorded missed: only their keys are
    looked up, since the tick runs every second and the handled rows only ever grow."""
    return timers.handled_keys(
        session, (t.key for r in rollouts for t in rules.timers_of(r, charter))
    )


def _planned(session: Session, gov: Governance) -> list[Rollout]:
    """The rollouts under way that have a plan (the others have no timer)."""
    found = store.rollouts(session, gov.charter, active_only=True)
    return [r for r in found if r.planned_drills]


def next_at(gov: Governance, now: datetime) -> datetime | None:
    """When the next drill timer after ``now`` is due (the scheduler's wake-up), if any."""
    with read_scope(gov.engine) as session:
        planned = _planned(session, gov)
        if not planned:
            return None
        return rules.next_at(planned, gov.charter, handled(session, planned, gov.charter), now)


def sooner(*times: datetime | None) -> datetime | None:
    """The earliest of the wake-ups that are set (None when none is)."""
    return min((t for t in times if t is not None), default=None)


def tick(gov: Governance, session: Session, now: datetime) -> int:
    """The tick hook: handle every due drill timer once; returns how many were sent."""
    planned = _planned(session, gov)
    if not planned:  # the common case: nothing more to read
        return 0
    done = handled(session, planned, gov.charter)
    due = rules.due(planned, gov.charter, done, now)
    numbers = sorted({t.proposal for t in (*due.fire, *due.missed)})
    sent = 0
    for n in numbers:  # in proposal order, so replicas take the row locks in one order
        rollout = store.load_rollout(session, n, gov.charter, for_update=True)
        if rollout is not None:  # decided again under the lock: see the module rules
            sent += _handle(
                gov, session, rollout, rules.due([rollout], gov.charter, done, now), now
            )
    return sent


def _handle(
    gov: Governance, session: Session, rollout: Rollout, due: rules.Due, now: datetime
) -> int:
    decided = [(t, "fired") for t in due.fire] + [(t, "missed") for t in due.missed]
    sent = 0
    for item, outcome in sorted(decided, key=lambda pair: pair[0].key):
        if not timers.claim_timer(session, item.timer, outcome, now) or outcome != "fired":
            continue
        made = rules.announcement(rollout, gov.charter, item, now)
        gov.effects(session, [made], "charterbot", now)
        sent += 1
    return sent
