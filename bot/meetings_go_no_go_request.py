"""``meeting schedule go-no-go-<n>-<stage> <when>``: a go/no-go call asked for by hand.

Rules:
- A go/no-go call cancelled by hand is not replaced by the bot (:mod:`bot.meetings_hand_cancel`).
  ``meeting schedule go-no-go-<n>-<stage> <when>`` (the title a go/no-go call id) schedules
  that call again: the next attempt, a go/no-go call whose decision is the gate's, once its
  rollout enters the stage next and no call for it waits; the proposal is checked as the call
  would be seen (one the asker may not see is "no rollout"; in a public reply, a private one),
  and again at confirmation.
- Like any call it is previewed first and stored only at ``/charter confirm <token>``
  (:mod:`bot.meetings_preview`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.messages import Actor, Message, When
from charter import commands as c
from charter.model import format_duration
from storage import proposals as repo, rollouts as rollout_store

if TYPE_CHECKING:
    from bot.service import Governance

from bot.commands_core import _visible
from bot.meetings_go_no_go import private_call
from bot.meetings_hand_cancel import requested, store_requested, why_not_requested
from bot.meetings_lookup import fail, login_of
from bot.meetings_preview import (
    DEFAULT_LENGTH,
    ask,
    clash_warning,
    preview_message,
    public_reply,
    schedule_payload,
)


def _go_no_go_request(
    gov: Governance, session: Session, title: str, actor: Actor, now: datetime
) -> tuple[int, str] | Message | None:
    """The go/no-go call a ``meeting schedule`` title asks for (``go-no-go-<n>-<stage>``), or
    the refusal; None for an ordinary title. A rollout whose calls ``actor`` may not see (in a
    public reply: a private one) is answered as one with no rollout."""
    asked = requested(title, gov.charter.stage_ids)
    if asked is None or isinstance(asked, str):
        return None if asked is None else fail(asked)
    number, stage = asked
    if not _may_see_calls(gov, session, number, actor):
        return fail(f"#{number} has no rollout under way to hold a go/no-go call for.")
    why = why_not_requested(gov, session, number, stage, now)
    return asked if why is None else fail(why)


def _may_see_calls(gov: Governance, session: Session, number: int, actor: Actor) -> bool:
    """Whether ``actor`` may see the go/no-go calls of ``number``'s rollout: as
    :func:`bot.meetings_lookup.may_see` sees a private call (one of a confidential rollout not
    yet disclosed), for a call not stored yet."""
    rollout = rollout_store.load_rollout(session, number, gov.charter)
    if rollout is None or not private_call(session, rollout):
        return True
    if public_reply(actor):
        return False
    stored = repo.load(session, number)
    return gov.may_see_confidential(actor) if stored is None else _visible(gov, stored, actor)


def _preview_go_no_go(
    gov: Governance,
    session: Session,
    cmd: c.MeetingSchedule,
    asked: tuple[int, str],
    parsed: tuple[Any, str],
    actor: Actor,
    now: datetime,
) -> Message:
    """Preview the go/no-go call ``asked`` for (proposal, stage) and ask for confirmation."""
    (number, stage), (result, zone) = asked, parsed
    if cmd.proposal is not None and cmd.proposal != number:
        return fail(f"{cmd.title} is a call about #{number}, not #{cmd.proposal}.")
    length = cmd.duration or DEFAULT_LENGTH
    payload = {**schedule_payload(cmd, result.at_utc, zone, length, number), "go_no_go": stage}
    token = ask(session, actor, "schedule", payload, now)
    extra = (
        f"The go/no-go call for #{number} entering {stage}, {format_duration(length)}: a"
        " decision on it that starts with go or no-go is the gate's."
    )
    clash = clash_warning(session, gov, result.at_utc, length, now, actor)
    return preview_message("Schedule this go/no-go call?", result, zone, extra, token, clash)


def _apply_go_no_go(
    gov: Governance,
    session: Session,
    data: dict[str, Any],
    starts: datetime,
    actor: Actor,
    now: datetime,
) -> Message:
    """Store the go/no-go call previewed, checked again: the rollout may have moved on, or the
    bot scheduled a call for the stage, in the meantime."""
    number, stage = int(data["proposal"]), str(data["go_no_go"])
    why = why_not_requested(gov, session, number, stage, now)
    if why is not None:
        return fail(f"{why} Nothing was scheduled.")
    row = store_requested(
        gov,
        session,
        number,
        stage,
        starts=starts,
        length=timedelta(seconds=int(data["duration_seconds"])),
        zone=str(data["zone"]),
        by=login_of(actor),
        now=now,
    )
    return Message(
        title=f"Scheduled {row.id}",
        lines=(
            (f"{row.title}: ", When(starts)),
            ("Record the outcome on it with /charter meeting decide go or no-go <why>.",),
            (f"Cancel with /charter meeting cancel {row.id}.",),
        ),
    )
