"""Scheduling commands: preview and confirm, move, cancel.

Rules:
- Times people type are read in their linked zone, else the charter's (``charter.timezone``);
  scheduling and moving a call first show a preview (UTC and the reader's local time) and wait
  for ``/charter confirm <token>`` from the same person within ``CONFIRM_TTL``; the confirmation
  is authorised again when it runs (as ``meeting schedule``).
- Cancelling a series id cancels its next occurrence; an ad-hoc call is cancelled as a whole.
- A call that has started (or is over) is history: it cannot be cancelled or moved, and a move
  is refused at confirmation when the call started or the new time passed in the meantime.
- Every change is audited (subject ``meeting:<key or id>``), announced (kind ``meeting``) and
  raises the calendar revision (ICS SEQUENCE) of the series or call.
- A go/no-go call cancelled by hand is not replaced by the bot (:mod:`bot.meetings_go_no_go`);
  the reply says so and names the commands that go on
  (:func:`bot.meetings_go_no_go.hand_cancel_note`).
  ``meeting schedule go-no-go-<n>-<stage> <when>`` (the title a go/no-go call id) schedules
  that call again: the next attempt, a go/no-go call whose decision is the gate's, once its
  rollout enters the stage next and no call for it waits; the proposal is checked as the call
  would be seen (one the asker may not see is "no rollout"), and again at confirmation.
- A reply to a GitHub comment is public: there a private call
  (:func:`bot.meetings_agenda.is_private`) is no meeting to cancel or move, as for the outcomes
  (:mod:`bot.meetings_outcomes`).
- A moved call keeps its occurrence key, an ad-hoc one too (its move is stored under the key of
  its first start, :mod:`storage.meetings`): its agenda items and agenda issue stay with it, and
  its reminders are re-armed for the new time. A posted agenda issue is edited at once to the
  new time, or to say the call is cancelled (:func:`bot.meetings_agenda.follow`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import meetings_agenda as agenda
from bot.meetings_agenda import Call
from bot.messages import Actor, Message, When
from charter import commands as c
from charter.effects import Audit
from charter.meetings import MeetingError, Occurrence, clashes, occurrences, zone_of
from charter.model import format_duration
from charter.when import WhenError, parse_when, preview
from storage import (
    meeting_confirmations as confirmations,
    meetings as store,
    proposals as repo,
    rollouts as rollout_store,
)
from storage.models.meetings import AdhocMeetingRow

if TYPE_CHECKING:
    from bot.service import Governance

from bot.commands_core import _visible
from bot.meetings_calls import adhoc_call
from bot.meetings_go_no_go import (
    hand_cancel_note,
    private_call,
    requested,
    store_requested,
    why_not_requested,
)
from bot.meetings_lookup import (
    announce,
    call_by_id,
    fail,
    login_of,
    recent_calls,
    resolve,
    undisclosed_secret,
    user_zone,
)

CONFIRM_TTL = timedelta(minutes=15)
DEFAULT_LENGTH = timedelta(hours=1)


def _when(
    session: Session, gov: Governance, actor: Actor, text: str, now: datetime
) -> tuple[Any, str] | Message:
    zone = user_zone(session, gov, actor)
    try:
        return parse_when(text, now, zone), zone
    except WhenError as exc:
        return fail(str(exc))


def _ask(
    session: Session, actor: Actor, action: str, payload: dict[str, Any], now: datetime
) -> str:
    token = secrets.token_urlsafe(6)
    confirmations.add_confirmation(
        session,
        token=token,
        login=actor.login or "",
        surface=actor.surface,
        surface_id=actor.surface_id,
        action=action,
        payload=payload,
        now=now,
        ttl=CONFIRM_TTL,
    )
    return token


def _preview_message(
    title: str, result: Any, zone: str, extra: str, token: str, clash: str = ""
) -> Message:
    minutes = int(CONFIRM_TTL.total_seconds() // 60)
    lines: tuple[tuple[Any, ...], ...] = (
        ("Starts ", When(result.at_utc)),
        (preview(result, zone),),
        (f"Read as {result.interpreted_as}.",),
        (extra,),
    )
    if clash:
        lines = (*lines, (clash,))
    confirm = f"Nothing is scheduled yet: run /charter confirm {token} within {minutes} minutes."
    return Message(title=title, lines=(*lines, (confirm,)))


def _clash(
    session: Session,
    gov: Governance,
    start: datetime,
    length: timedelta,
    now: datetime,
    actor: Actor,
    skip: str | None = None,
) -> str:
    """A warning naming the calls ``actor`` may see that overlap ``[start, start + length)``
    (empty if none): maintainers of several clients should not have to pick between two calls."""
    end, plan = start + length, store.schedule(session)
    calls = recent_calls(session, gov, now, actor)
    found = [
        occ
        for call in calls
        for occ in occurrences(call, start - call.duration, until=end, schedule=plan)
    ]
    hits = clashes(start, end, found, skip=skip)
    if not hits:
        return ""
    titles = {call.id: call.title for call in calls}
    named = "; ".join(
        f"{titles.get(o.meeting_id, o.meeting_id)} {o.starts_at:%Y-%m-%d %H:%M}–"
        f"{o.ends_at:%H:%M} UTC"
        for o in hits
    )
    return f"Warning: this overlaps {named}. Confirm anyway, or pick another time."


def _public(actor: Actor) -> bool:
    """Whether the reply is public: a GitHub comment, seen by anyone reading the issue."""
    return actor.surface == "github"


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
    if _public(actor):
        return False
    stored = repo.load(session, number)
    return gov.may_see_confidential(actor) if stored is None else _visible(gov, stored, actor)


def schedule(
    gov: Governance, session: Session, cmd: c.MeetingSchedule, actor: Actor, now: datetime
) -> Message:
    """Preview an ad-hoc call and ask for confirmation (nothing is scheduled yet); a title that
    is a go/no-go call id asks for that call again (see the module rules)."""
    parsed = _when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return parsed
    result, zone = parsed
    asked = _go_no_go_request(gov, session, cmd.title, actor, now)
    if isinstance(asked, Message):
        return asked
    if asked is not None:
        return _preview_go_no_go(gov, session, cmd, asked, (result, zone), actor, now)
    if cmd.proposal is not None and repo.load(session, cmd.proposal) is None:
        return fail(f"There is no proposal #{cmd.proposal}.")
    length = cmd.duration or DEFAULT_LENGTH
    payload = {
        "title": cmd.title,
        "starts_at": result.at_utc.isoformat(),
        "zone": _iana(zone),
        "duration_seconds": int(length.total_seconds()),
        "proposal": cmd.proposal,
    }
    token = _ask(session, actor, "schedule", payload, now)
    extra = f"“{cmd.title}”, {format_duration(length)}" + (
        f", about #{cmd.proposal}" if cmd.proposal else ""
    )
    clash = _clash(session, gov, result.at_utc, length, now, actor)
    return _preview_message("Schedule this call?", result, zone, extra, token, clash)


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
    payload = {
        "title": cmd.title,
        "starts_at": result.at_utc.isoformat(),
        "zone": _iana(zone),
        "duration_seconds": int(length.total_seconds()),
        "proposal": number,
        "go_no_go": stage,
    }
    token = _ask(session, actor, "schedule", payload, now)
    extra = (
        f"The go/no-go call for #{number} entering {stage}, {format_duration(length)}: a"
        " decision on it that starts with go or no-go is the gate's."
    )
    clash = _clash(session, gov, result.at_utc, length, now, actor)
    return _preview_message("Schedule this go/no-go call?", result, zone, extra, token, clash)


def _iana(zone: str) -> str:
    try:
        zone_of(zone)
        return zone
    except MeetingError:
        return "UTC"


def _started(occ: Occurrence, now: datetime, verb: str) -> Message | None:
    """A refusal when ``occ`` has already started: what happened on a call is history."""
    if occ.starts_at > now:
        return None
    return Message(
        lines=(
            (f"{occ.key} started ", When(occ.starts_at), f" and cannot be {verb} any more."),
            ("Record what happened with /charter meeting decide or /charter meeting action.",),
        ),
        ok=False,
    )


def move(
    gov: Governance, session: Session, cmd: c.MeetingMove, actor: Actor, now: datetime
) -> Message:
    """Preview moving a call that has not started yet and ask for confirmation (from a GitHub
    comment, a public reply, a private call is no meeting, as for ``cancel``)."""
    target = resolve(session, gov, cmd.id, now, actor, public=_public(actor))
    if isinstance(target, str):
        return fail(target)
    call, occ = target
    if (refusal := _started(occ, now, "moved")) is not None:
        return refusal
    parsed = _when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return parsed
    result, zone = parsed
    payload = {"call": call.id, "occurrence": occ.key, "moved_to": result.at_utc.isoformat()}
    token = _ask(session, actor, "move", payload, now)
    extra = f"Moves {call.title} ({occ.key}, now {occ.starts_at:%Y-%m-%d %H:%M} UTC)."
    length = occ.ends_at - occ.starts_at
    clash = _clash(session, gov, result.at_utc, length, now, actor, skip=occ.key)
    return _preview_message("Move this call?", result, zone, extra, token, clash)


def confirm(
    gov: Governance, session: Session, cmd: c.Confirm, actor: Actor, now: datetime
) -> Message:
    """Carry out a previewed schedule or move, for the person who asked, re-authorised."""
    if actor.login is None:
        return fail("Link your GitHub login first (/charter link); then confirm again.")
    taken = confirmations.take_confirmation(session, cmd.token, actor.login, now)
    if isinstance(taken, str):
        return fail(taken)
    row, data = taken
    probe = c.MeetingSchedule(title=str(data.get("title", "")), when_text="")
    refusal = gov.authorize(session, probe, actor, now, proposal=None)
    if refusal is not None:
        return refusal
    if row.action == "move":
        return _apply_move(gov, session, data, actor, now)
    return _apply_schedule(gov, session, data, actor, now)


def _apply_schedule(
    gov: Governance, session: Session, data: dict[str, Any], actor: Actor, now: datetime
) -> Message:
    starts = datetime.fromisoformat(data["starts_at"])
    if starts <= now:
        return fail("That time has passed meanwhile; schedule the call again.")
    if data.get("go_no_go"):
        return _apply_go_no_go(gov, session, data, starts, actor, now)
    # A random suffix, not the next free number: the id must not reveal a private call that
    # took the same minute (storage.meetings.new_adhoc_id).
    call_id = store.new_adhoc_id(session, f"call-{starts:%Y%m%d-%H%M}")
    row = AdhocMeetingRow(
        id=call_id,
        kind="adhoc",
        title=data["title"],
        starts_at=starts,
        duration_seconds=int(data["duration_seconds"]),
        timezone=data["zone"],
        proposal=data.get("proposal"),
        private=undisclosed_secret(session, gov, data.get("proposal")),
        created_by=login_of(actor),
        created_at=now,
    )
    session.add(row)
    store.bump_revision(session, call_id, now)
    call = adhoc_call(row)
    occ = call.occurrence()
    text = f"{row.title}, {format_duration(call.duration)}."
    audit = {**data, "id": call_id}
    gov.effects(
        session,
        [
            Audit("meeting-scheduled", f"meeting:{call_id}", audit),
            announce(call, gov.charter, occ.key, f"New call: {row.title}", text, starts_at=starts),
        ],
        actor,
        now,
    )
    return Message(
        title=f"Scheduled {call_id}",
        lines=(
            (f"{row.title}: ", When(starts)),
            (f"Cancel with /charter meeting cancel {call_id}.",),
        ),
    )


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


def _apply_move(
    gov: Governance, session: Session, data: dict[str, Any], actor: Actor, now: datetime
) -> Message:
    to = datetime.fromisoformat(data["moved_to"])
    call_id, key = str(data["call"]), str(data["occurrence"])
    if to <= now:
        return fail("That time has passed meanwhile; move the call again.")
    target = resolve(session, gov, key, now, actor)
    if isinstance(target, str):
        return fail(f"{target} Nothing was moved.")
    if (refusal := _started(target[1], now, "moved")) is not None:
        return refusal
    row = session.get(AdhocMeetingRow, call_id)
    if row is not None:
        row.starts_at = to
        session.add(row)
    # An ad-hoc call's move is stored under its key too: that key stays its key.
    store.set_exception(
        session, key=key, meeting_id=call_id, moved_to=to, by=login_of(actor), now=now
    )
    store.bump_revision(session, call_id, now)
    call = call_by_id(session, gov, call_id, now)
    assert call is not None  # it was resolved when the move was previewed
    agenda.follow(session, gov.charter, call, key, now)
    text = f"{call.title} ({key}) moves to a new time."
    gov.effects(
        session,
        [
            Audit("meeting-moved", f"meeting:{key}", {"to": to.isoformat(), "call": call_id}),
            announce(call, gov.charter, key, f"Moved: {call.title}", text, starts_at=to),
        ],
        actor,
        now,
    )
    return Message(title="Moved", lines=((f"{call.title} ({key}) now starts ", When(to)),))


def cancel(
    gov: Governance, session: Session, cmd: c.MeetingCancel, actor: Actor, now: datetime
) -> Message:
    """Cancel an ad-hoc call, or one occurrence of a series (its next one for a series id),
    before it starts; a go/no-go call's reply says that none replaces it by itself, and how to
    go on (:func:`bot.meetings_go_no_go.hand_cancel_note`)."""
    target = resolve(session, gov, cmd.id, now, actor, public=_public(actor))
    if isinstance(target, str):
        return fail(target)
    call, occ = target
    if (refusal := _started(occ, now, "cancelled")) is not None:
        return refusal
    cancel_occurrence(gov, session, call, occ, actor, now)
    row = session.get(AdhocMeetingRow, call.id)
    note: tuple[str, ...] = ()
    if row is not None and row.kind == "go-no-go" and row.proposal and row.stage:
        note = hand_cancel_note(row, gov.charter)
    return Message(
        title="Cancelled",
        lines=(
            (f"{call.title} ({occ.key}) at ", When(occ.starts_at), " is cancelled."),
            *((line,) for line in note),
        ),
    )


def cancel_occurrence(
    gov: Governance,
    session: Session,
    call: Call,
    occ: Occurrence,
    actor: Actor | str,
    now: datetime,
    *,
    reason: str = "",
) -> None:
    """Cancel ``occ`` of ``call`` (an ad-hoc call as a whole), which has not started: stored,
    audited and announced (a private call's announcement stays private); ``reason``, a
    sentence, ends the announcement (and is audited). ``meeting cancel`` and the automatic
    cancellation of a go/no-go call whose rollout can no longer enter its stage use it."""
    row = session.get(AdhocMeetingRow, call.id)
    if row is not None:
        row.cancelled = True
        session.add(row)
    else:
        by = actor if isinstance(actor, str) else login_of(actor)
        store.set_exception(session, key=occ.key, meeting_id=call.id, moved_to=None, by=by, now=now)
    store.bump_revision(session, call.id, now)
    agenda.follow(session, gov.charter, call, occ.key, now, cancelled=True)
    text = f"{call.title} ({occ.key}) is cancelled." + (f" {reason}" if reason else "")
    audit: dict[str, Any] = {"call": call.id}
    if reason:
        audit["reason"] = reason
    gov.effects(
        session,
        [
            Audit("meeting-cancelled", f"meeting:{occ.key}", audit),
            announce(
                call,
                gov.charter,
                occ.key,
                f"Cancelled: {call.title}",
                text,
                starts_at=occ.starts_at,
            ),
        ],
        actor,
        now,
    )
