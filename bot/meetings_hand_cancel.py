"""A go/no-go call cancelled by hand: none replaces it, and how a coordinator goes on.

A call cancelled by hand (``meeting cancel``) still stands for the current soak: the coordinator
cancelled it on purpose (to hold the call at another time, or because it was decided
elsewhere), so the bot schedules no new attempt in its place; only what would void a decision
(a restarted soak, a rollback out of the stage, a release reported after the call's slot) brings
one. The cancel's reply says so and how to go on (:func:`hand_cancel_note`): a coordinator asks
for the call again with ``meeting schedule go-no-go-<n>-<stage> <when>``, which stores the next
attempt at that time (:func:`requested`, :func:`why_not_requested`, :func:`store_requested`),
a go/no-go call like the bot's (its decision is the gate's, a no-go on it brings a retry); or
enters the stage with ``advance <n> to <stage> --override "<reason>"`` when it was decided
elsewhere (the grammar records a go/no-go decision only on a go/no-go call).

Whether a cancelled call still stands is the scheduler's test (:func:`hand_cancelled_call` uses
the same ``_attempt_due`` as :func:`bot.meetings_go_no_go.schedule_next_call`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.meetings_go_no_go import _announce, _attempt_due, _ends, _row, private_call
from bot.rollout_views import next_stage
from charter.gates import GoNoGo, current_go_no_go, rolled_back_from
from charter.model import Charter
from charter.rollout_facts import Rollout
from charter.soak import brought
from storage import meetings as store, rollouts as rollout_store
from storage.models.meetings import AdhocMeetingRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

# ``go-no-go-<n>-<stage>`` as a title of ``meeting schedule``, an attempt suffix allowed.
_REQUEST = re.compile(r"go-no-go-([0-9]{1,9})-(.+)", re.IGNORECASE)
_ATTEMPT = re.compile(r"(.+)-[0-9]{1,4}")


def requested(title: str, stage_ids: Sequence[str]) -> tuple[int, str] | str | None:
    """The proposal and stage a ``meeting schedule`` title asks a go/no-go call for: the title
    is a go/no-go call id, ``go-no-go-<n>-<stage>`` (``…-<attempt>`` too, the id of any
    attempt); a stage the charter does not have is refused (the answer says which it has)
    rather than scheduled as an ordinary call. None for any other title."""
    found = _REQUEST.fullmatch(title.strip())
    if found is None:
        return None
    number, rest = int(found.group(1)), found.group(2).lower()
    suffixed = _ATTEMPT.fullmatch(rest)
    for stage in (rest, suffixed.group(1) if suffixed else ""):
        if stage in stage_ids:
            return number, stage
    return (
        f"{title.strip()} names no stage of the charter; a go/no-go call is "
        f"go-no-go-<n>-<stage>, the stage one of {', '.join(stage_ids)}."
    )


def why_not_requested(
    gov: Governance, session: Session, proposal: int, stage: str, now: datetime
) -> str | None:
    """Why a go/no-go call for ``proposal`` entering ``stage`` cannot be scheduled by hand now
    (None when it can): the proposal's rollout is under way, enters ``stage`` next, the stage
    asks for a go/no-go call, and none for it waits or is in progress (that one is moved
    instead). Whether the asker may see the rollout is the caller's to check first."""
    config = gov.charter.stage(stage)
    if config is None or not config.go_no_go_meeting:
        return no_call_before(gov.charter, stage)
    rollout = next(
        (r for r in rollout_store.rollouts(session, gov.charter, active_only=True)
         if r.proposal == proposal),
        None,
    )  # fmt: skip
    if rollout is None:
        return f"#{proposal} has no rollout under way to hold a go/no-go call for."
    target = next_stage(rollout, gov.charter)
    if target != stage:
        nxt = f"it enters {target} next" if target else "it has no stage left to enter"
        return f"#{proposal} needs no go/no-go call for {stage} now: {nxt}."
    for row in reversed(store.go_no_go_calls(session, proposal, stage)):
        if not row.cancelled and _ends(row) > now:
            return (
                f"{row.id} is already scheduled for #{proposal} entering {stage}"
                f" ({aware(row.starts_at):%Y-%m-%d %H:%M} UTC); to change its time:"
                f" /charter meeting move {row.id} <when>."
            )
    return None


def no_call_before(charter: Charter, stage: str) -> str:
    """The answer to a go/no-go call asked for before ``stage``, whose charter entry holds
    none: the stages that have one."""
    held = [s.id for s in charter.rollout.stages if s.go_no_go_meeting]
    where = (
        f"only before {', '.join(held[:-1])} and {held[-1]}" if len(held) > 1
        else f"only before {held[0]}" if held
        else "no stage has one"
    )  # fmt: skip
    return f"The charter holds no go/no-go call before {stage} ({where})."


def store_requested(
    gov: Governance,
    session: Session,
    proposal: int,
    stage: str,
    *,
    starts: datetime,
    length: timedelta,
    zone: str,
    by: str,
    now: datetime,
) -> AdhocMeetingRow:
    """Store and announce a go/no-go call someone asked for (``meeting schedule
    go-no-go-<n>-<stage>``, checked by :func:`why_not_requested`) at ``starts``: the next attempt
    for the stage, a go/no-go call like the bot's (private as the bot's would be)."""
    rollout = rollout_store.load_rollout(session, proposal, gov.charter)
    assert rollout is not None  # why_not_requested found it under way
    private = private_call(session, rollout)
    attempt = len(store.go_no_go_calls(session, proposal, stage)) + 1
    call_id = store.free_adhoc_id(session, f"go-no-go-{proposal}-{stage}")
    row = _row(gov, call_id, proposal, stage, starts, length, private, attempt, by, now)
    row.timezone = zone
    lead = f"A go/no-go call for #{proposal} entering {stage} is scheduled by {by}" + (
        f" (attempt {attempt})." if attempt > 1 else "."
    )
    _announce(gov, session, row, lead, attempt, by, now)
    return row


def hand_cancelled_call(
    rollout: Rollout,
    charter: Charter,
    calls: Sequence[AdhocMeetingRow],
    decisions: Sequence[GoNoGo],
) -> AdhocMeetingRow | None:
    """The current go/no-go call for the stage ``rollout`` enters next when it was cancelled
    by hand: the latest attempt (of ``calls``, the stage's, first attempt first), cancelled,
    and still standing for the soak, so no attempt is due in its place (see the module rules;
    ``decisions``: the proposal's). None otherwise, or when the stage asks for no call."""
    target = next_stage(rollout, charter)
    stage = charter.stage(target) if target else None
    current = rollout.stage_name(charter) if rollout.stage_index >= 0 else None
    since = rollout.stage_entered_at.get(current) if current else None
    earlier = [c for c in calls if stage is not None and c.stage == stage.id]
    if stage is None or since is None or not earlier or not earlier[-1].cancelled:
        return None
    back, release = rolled_back_from(stage, rollout), brought(rollout, stage.id)
    due = _attempt_due(
        current_go_no_go(stage, rollout, decisions, charter),
        earlier,
        since,
        since + (stage.soak or timedelta(0)),
        rolled_back=None if back is None else back.at,
        released=None if release is None else release.at,
    )
    return earlier[-1] if due is None else None


def hand_cancel_note(row: AdhocMeetingRow, charter: Charter) -> tuple[str, ...]:
    """What the reply to ``meeting cancel`` of a go/no-go call adds: no call replaces it by
    itself (see the module rules), and the commands that go on: the call asked for again, or
    the stage entered by an override when it was decided elsewhere."""
    n, stage = row.proposal, row.stage
    who = " or ".join(charter.rollout.override_roles) or "those who may override"
    return (
        f"No new go/no-go call will be scheduled automatically for #{n} entering {stage}; only"
        f" a restarted soak, a rollback or a new release for {stage} brings one.",
        f"To hold the call at another time: /charter meeting schedule go-no-go-{n}-{stage} <when>.",
        f"If it was decided elsewhere, {who} enter the stage with an override: "
        f'/charter advance {n} to {stage} --override "<where and what was decided>".',
    )
