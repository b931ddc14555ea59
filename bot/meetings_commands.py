"""Scheduling commands: a call scheduled or moved after a preview, then confirmed.

Rules:
- Scheduling and moving a call first show a preview (:mod:`bot.meetings_preview`) and wait for
  ``/charter confirm <token>`` from the same person; the confirmation is authorised again when
  it runs (as ``meeting schedule``).
- A time that does not read, after an unquoted title whose other words ran into it
  (``meeting schedule Sync review tomorrow 16:00``), is answered with the command quoting the
  title (:func:`charter.when.title_split`).
- A title that is a go/no-go call id asks for that call again
  (:mod:`bot.meetings_go_no_go_request`); cancelling is :mod:`bot.meetings_cancel`.
- A call that has started (or is over) cannot be moved, and a move is refused at confirmation
  when the call started or the new time passed in the meantime.
- Every change is audited (subject ``meeting:<key or id>``), announced (kind ``meeting``) and
  raises the calendar revision (ICS SEQUENCE) of the series or call.
- A reply to a GitHub comment is public: there a private call
  (:func:`charter.meetings.is_private`) is no meeting to move, as for the outcomes
  (:mod:`bot.meetings_outcomes`).
- A series announced only to private channels (the security council's sync) is moved by its
  audience only, coordinators and the security council (:mod:`charter.private_calls`), at the
  preview and again at confirmation; anyone else is refused, saying who may.
- A moved call keeps its occurrence key, an ad-hoc one too (its move is stored under the key of
  its first start, :mod:`storage.meetings`): its agenda items and agenda issue stay with it, and
  its reminders are re-armed for the new time. A posted agenda issue is edited at once to the
  new time (:func:`bot.meetings_agenda.follow`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import meetings_agenda as agenda
from bot.messages import Actor, Message, When
from charter import commands as c
from charter.effects import Audit
from charter.grammar_meetings import length_word
from charter.model import format_duration
from charter.private_calls import CallChange
from charter.when import title_split
from storage import meeting_confirmations as confirmations, meetings as store, proposals as repo
from storage.models.meetings import AdhocMeetingRow

if TYPE_CHECKING:
    from bot.service import Governance

from bot.meetings_calls import adhoc_call
from bot.meetings_go_no_go_request import _apply_go_no_go, _go_no_go_request, _preview_go_no_go
from bot.meetings_lookup import (
    announce,
    audience_refusal,
    call_by_id,
    fail,
    login_of,
    own_start,
    preview_local,
    resolve,
    undisclosed_secret,
    user_zone,
)
from bot.meetings_preview import (
    DEFAULT_LENGTH,
    ask,
    clash_warning,
    preview_message,
    public_reply,
    read_when,
    schedule_payload,
    started,
)


def schedule(
    gov: Governance, session: Session, cmd: c.MeetingSchedule, actor: Actor, now: datetime
) -> Message:
    """Preview an ad-hoc call and ask for confirmation (nothing is scheduled yet); a title that
    is a go/no-go call id asks for that call again (see the module rules)."""
    parsed = read_when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return _quote_hint(gov, session, cmd, actor, now, parsed)
    result, zone = parsed
    asked = _go_no_go_request(gov, session, cmd.title, actor, now)
    if isinstance(asked, Message):
        return asked
    if asked is not None:
        return _preview_go_no_go(gov, session, cmd, asked, (result, zone), actor, now)
    if cmd.proposal is not None and repo.load(session, cmd.proposal) is None:
        return fail(f"There is no proposal #{cmd.proposal}.")
    length = cmd.duration or DEFAULT_LENGTH
    payload = schedule_payload(cmd, result.at_utc, zone, length, cmd.proposal)
    token = ask(session, actor, "schedule", payload, now)
    extra = f"“{cmd.title}”, {format_duration(length)}" + (
        f", about #{cmd.proposal}" if cmd.proposal else ""
    )
    clash = clash_warning(session, gov, result.at_utc, length, now, actor)
    return preview_message("Schedule this call?", result, zone, extra, token, clash)


def _quote_hint(
    gov: Governance,
    session: Session,
    cmd: c.MeetingSchedule,
    actor: Actor,
    now: datetime,
    refusal: Message,
) -> Message:
    """``refusal`` of a time that does not read, with the command to write when an unquoted
    title's other words ran into the time (``meeting schedule Sync review tomorrow 16:00``):
    a title of several words is quoted (:func:`charter.when.title_split`)."""
    zone = user_zone(session, gov, actor)
    split = None if " " in cmd.title else title_split(cmd.title, cmd.when_text, now, zone)
    if split is None:
        return refusal
    title, when = split
    length = f" {length_word(cmd.duration)}" if cmd.duration else ""
    about = f" for {cmd.proposal}" if cmd.proposal else ""
    hint = f'Quote a title of several words: /charter meeting schedule "{title}" {when}'
    return Message(lines=(*refusal.lines, (f"{hint}{length}{about}",)), ok=False)


def move(
    gov: Governance, session: Session, cmd: c.MeetingMove, actor: Actor, now: datetime
) -> Message:
    """Preview moving a call that has not started yet and ask for confirmation (from a GitHub
    comment, a public reply, a private call is no meeting, as for ``cancel``)."""
    target = resolve(session, gov, cmd.id, now, actor, public=public_reply(actor))
    if isinstance(target, str):
        return fail(target)
    call, occ = target
    refused = audience_refusal(gov, session, call, actor, CallChange.MOVE, cmd, now)
    if refused is not None:
        return refused
    if (refusal := started(occ, now, "moved")) is not None:
        return refusal
    parsed = read_when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return parsed
    result, zone = parsed
    payload = {"call": call.id, "occurrence": occ.key, "moved_to": result.at_utc.isoformat()}
    token = ask(session, actor, "move", payload, now)
    now_at = f"{occ.starts_at:%Y-%m-%d %H:%M} UTC · {own_start(occ)}"
    extra = f"Moves {call.title} ({occ.key}, now {now_at})."
    length = occ.ends_at - occ.starts_at
    clash = clash_warning(session, gov, result.at_utc, length, now, actor, skip=occ.key)
    return preview_message("Move this call?", result, zone, extra, token, clash)


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
    # Asked again as the command it completes: a move of a go/no-go call needs what its
    # cancel or move would (charter.authz: a coordinator's), not only a schedule's.
    probe: c.MeetingSchedule | c.MeetingMove = (
        c.MeetingMove(id=str(data.get("call", "")), when_text="")
        if row.action == "move"
        else c.MeetingSchedule(title=str(data.get("title", "")), when_text="")
    )
    refusal = gov.authorize(session, probe, actor, now, proposal=None)
    if refusal is not None:
        return refusal
    if row.action == "move":
        return _apply_move(gov, session, cmd, data, actor, now)
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


def _apply_move(
    gov: Governance,
    session: Session,
    cmd: c.Confirm,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> Message:
    """Move the call as previewed in ``data``, asked again of its audience: a refusal is
    audited as the ``confirm`` typed."""
    to = datetime.fromisoformat(data["moved_to"])
    call_id, key = str(data["call"]), str(data["occurrence"])
    if to <= now:
        return fail("That time has passed meanwhile; move the call again.")
    target = resolve(session, gov, key, now, actor)
    if isinstance(target, str):
        return fail(f"{target} Nothing was moved.")
    refused = audience_refusal(gov, session, target[0], actor, CallChange.MOVE, cmd, now)
    if refused is not None:  # asked again: the asker may have lost their role meanwhile
        return refused
    if (refusal := started(target[1], now, "moved")) is not None:
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
    own = preview_local(to, call.timezone)  # the zone the key is written in, as listed
    return Message(
        title="Moved", lines=((f"{call.title} ({key}) now starts ", When(to), f" ({own})"),)
    )
