"""Meetings wired into the service: commands, the tick hook, calendar feeds, the wake-up scheduler.

``install(rt)`` registers the meeting commands on ``rt.gov``, adds the timer tick hook
(:mod:`bot.meetings_timers`), mounts ``GET /calendar.ics`` and ``GET /calendar/<id>.ics`` and
starts the wake-up scheduler (:mod:`bot.scheduler`) on the replica that leads.

Rules:
- Times people type are read in their linked zone, else the charter's (``charter.timezone``);
  scheduling and moving a call first show a preview (UTC and the reader's local time) and wait
  for ``/charter confirm <token>`` from the same person within ``CONFIRM_TTL``; the confirmation
  is authorised again when it runs.
- A meeting reference is an occurrence key (``core-sync@2026-03-26T15:00``), a series id (its
  next occurrence that has not started) or an ad-hoc call id (``call-20270301-1400``).
- Decisions and action items belong to the call in progress, else the one that started last.
  A decision on a go/no-go call that starts with ``go`` or ``no-go`` is also recorded as that
  stage's go/no-go decision (:func:`bot.rollouts.record_go_no_go`).
- Every change is in the audit log (subject ``meeting:<key or id>``), is announced (kind
  ``meeting``) and raises the series' calendar revision (ICS SEQUENCE).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot import meetings_timers as timers
from bot.calendar import calendar_ics
from bot.meetings_agenda import Call
from bot.messages import Actor, Line, Message, When
from bot.scheduler import WakeupScheduler
from charter import commands as c
from charter.effects import Announce, Audit
from charter.meetings import AdhocMeeting, MeetingError, Occurrence, occurrences, parse_key
from charter.model import format_duration
from charter.when import WhenError, parse_when, preview
from storage import identities, meetings as store, proposals as repo
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow

if TYPE_CHECKING:
    from bot.bootstrap import Runtime
    from bot.service import Governance

CONFIRM_TTL = timedelta(minutes=15)
DEFAULT_LENGTH = timedelta(hours=1)
RECENT = timedelta(days=35)  # how far back "the most recent call" is looked for
_GO = re.compile(r"^\s*(go|no-go)\b", re.IGNORECASE)


def install(rt: Runtime) -> None:
    install_on(rt.gov)
    routes = rt.extras.setdefault("routes", [])
    routes += calendar_routes(rt.gov)
    scheduler = WakeupScheduler(
        rt.leadership, lambda now: _next_at(rt.gov, now), rt.wake.set, rt.clock
    )
    rt.extras["meetings_scheduler"] = scheduler
    rt.extras.setdefault("startup", []).append(
        lambda: scheduler.follow(lambda: rt.is_leader, rt.stop)
    )


def install_on(gov: Governance) -> None:
    """Register the meeting commands and the timer tick hook."""
    gov.register(c.Meetings, list_meetings)
    gov.register(c.MeetingSchedule, schedule)
    gov.register(c.MeetingMove, move)
    gov.register(c.Confirm, confirm)
    gov.register(c.MeetingCancel, cancel)
    gov.register(c.MeetingDecide, decide)
    gov.register(c.MeetingAction, action)
    gov.register(c.AgendaAdd, agenda_add)
    gov.add_tick_hook(timers.tick)


def _next_at(gov: Governance, now: datetime) -> datetime | None:
    with session_scope(gov.engine) as session:
        return timers.next_timer_at(session, gov.charter, now)


# -- helpers ----------------------------------------------------------------------------------


def _zone(session: Session, gov: Governance, actor: Actor) -> str:
    row = identities.lookup(session, actor.surface, actor.surface_id)
    return (row.timezone if row is not None else None) or gov.charter.charter.timezone


def _fail(text: str) -> Message:
    return Message.text_only(text, ok=False)


def _calls(session: Session, gov: Governance, now: datetime) -> list[Call]:
    return timers.calls(session, gov.charter, now - RECENT)


def _by_id(session: Session, gov: Governance, call_id: str, now: datetime) -> Call | None:
    if (meeting := gov.charter.meeting(call_id)) is not None:
        return meeting
    row = session.get(AdhocMeetingRow, call_id)
    return None if row is None else timers.adhoc_call(row)


def _known(session: Session, gov: Governance, now: datetime) -> str:
    return ", ".join(call.id for call in _calls(session, gov, now))


def _occurrence_of(session: Session, call: Call, key: str) -> Occurrence | str:
    """The occurrence ``key`` of ``call`` (wherever it was moved), or why there is none."""
    schedule = store.schedule(session)
    if key in schedule.cancelled:
        return f"{key} is cancelled."
    nominal = parse_key(key)[1]
    start = schedule.moved.get(key)
    if isinstance(call, AdhocMeeting):
        start = call.starts_at
    elif start is None:
        from charter.meetings import localize, zone_of

        start = localize(nominal, zone_of(call.timezone))
    window = occurrences(call, start - timedelta(minutes=1), until=start, schedule=schedule)
    found = next((o for o in window if o.key == key), None)
    return found or f"{key} is not an occurrence of {call.id}."


def resolve(
    session: Session, gov: Governance, ref: str, now: datetime
) -> tuple[Call, Occurrence] | str:
    """A meeting reference (see the module rules) → the call and the occurrence it names."""
    if "@" in ref:
        try:
            call_id = parse_key(ref)[0]
        except MeetingError as exc:
            return str(exc)
        call = _by_id(session, gov, call_id, now)
        if call is None:
            return f"There is no meeting {call_id}; known: {_known(session, gov, now)}."
        found = _occurrence_of(session, call, ref)
        return found if isinstance(found, str) else (call, found)
    call = _by_id(session, gov, ref, now)
    if call is None:
        return f"There is no meeting {ref}; known: {_known(session, gov, now)}."
    upcoming = occurrences(call, now, count=1, schedule=store.schedule(session))
    if not upcoming:
        return f"{ref} has no upcoming occurrence."
    return call, upcoming[0]


def current_or_recent(
    session: Session, gov: Governance, now: datetime
) -> tuple[Call, Occurrence] | None:
    """The call in progress, else the one that started last (within ``RECENT``)."""
    schedule = store.schedule(session)
    started: list[tuple[Call, Occurrence]] = []
    for call in _calls(session, gov, now):
        past = occurrences(call, now - RECENT, until=now, schedule=schedule)
        if past:
            started.append((call, past[-1]))
    if not started:
        return None
    live = [(call, o) for call, o in started if o.ends_at > now]
    return max(live or started, key=lambda pair: (pair[1].starts_at, pair[1].key))


def _announce(call: Call, occ_key: str, title: str, text: str, **data: Any) -> Announce:
    payload = {"meeting": call.id, "occurrence": occ_key, **data}
    return Announce(kind="meeting", title=title, text=text, data=payload)


def _login(actor: Actor) -> str:
    return actor.login or actor.display or actor.surface_id


# -- commands ---------------------------------------------------------------------------------


def list_meetings(
    gov: Governance, session: Session, cmd: c.Meetings, actor: Actor, now: datetime
) -> Message:
    """The next ``n`` calls of every series and ad-hoc call (in progress included)."""
    schedule = store.schedule(session)
    found: list[tuple[Occurrence, Call]] = []
    for call in _calls(session, gov, now):
        for occ in occurrences(call, now - call.duration, count=cmd.next_n, schedule=schedule):
            found.append((occ, call))
    found.sort(key=lambda pair: (pair[0].starts_at, pair[0].key))
    zone = _zone(session, gov, actor) if actor.surface == "console" else None
    lines: list[Line] = []
    for occ, call in found[: cmd.next_n]:
        line: Line = (f"{call.title}: ", When(occ.starts_at))
        if zone and zone.upper() != "UTC":
            local = preview_local(occ.starts_at, zone)
            line = (*line, f" ({local})")
        length = format_duration(occ.ends_at - occ.starts_at)
        lines.append((*line, f" · {length} · {occ.key}" + (" (moved)" if occ.moved else "")))
    if not lines:
        return Message.text_only("No calls are scheduled.")
    return Message(
        title="Next calls",
        lines=tuple(lines),
        footer="Subscribe to every call: /calendar.ics (one series: /calendar/<id>.ics).",
    )


def preview_local(at: datetime, zone: str) -> str:
    from charter.meetings import zone_of

    local = at.astimezone(zone_of(zone))
    return f"{local:%a %Y-%m-%d %H:%M} {zone}"


def _when(
    session: Session, gov: Governance, actor: Actor, text: str, now: datetime
) -> tuple[Any, str] | Message:
    zone = _zone(session, gov, actor)
    try:
        return parse_when(text, now, zone), zone
    except WhenError as exc:
        return _fail(str(exc))


def _ask(
    session: Session, actor: Actor, action: str, payload: dict[str, Any], now: datetime
) -> str:
    token = secrets.token_urlsafe(6)
    store.add_confirmation(
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


def _preview_message(title: str, result: Any, zone: str, extra: str, token: str) -> Message:
    minutes = int(CONFIRM_TTL.total_seconds() // 60)
    return Message(
        title=title,
        lines=(
            ("Starts ", When(result.at_utc)),
            (preview(result, zone),),
            (f"Read as {result.interpreted_as}.",),
            (extra,),
            (f"Nothing is scheduled yet: run /charter confirm {token} within {minutes} minutes.",),
        ),
    )


def schedule(
    gov: Governance, session: Session, cmd: c.MeetingSchedule, actor: Actor, now: datetime
) -> Message:
    """Preview an ad-hoc call and ask for confirmation (nothing is scheduled yet)."""
    parsed = _when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return parsed
    result, zone = parsed
    if cmd.proposal is not None and repo.load(session, cmd.proposal) is None:
        return _fail(f"There is no proposal #{cmd.proposal}.")
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
    return _preview_message("Schedule this call?", result, zone, extra, token)


def _iana(zone: str) -> str:
    from charter.meetings import zone_of

    try:
        zone_of(zone)
        return zone
    except MeetingError:
        return "UTC"


def move(
    gov: Governance, session: Session, cmd: c.MeetingMove, actor: Actor, now: datetime
) -> Message:
    """Preview moving a call and ask for confirmation."""
    target = resolve(session, gov, cmd.id, now)
    if isinstance(target, str):
        return _fail(target)
    call, occ = target
    parsed = _when(session, gov, actor, cmd.when_text, now)
    if isinstance(parsed, Message):
        return parsed
    result, zone = parsed
    payload = {"call": call.id, "occurrence": occ.key, "moved_to": result.at_utc.isoformat()}
    token = _ask(session, actor, "move", payload, now)
    extra = f"Moves {call.title} ({occ.key}, now {occ.starts_at:%Y-%m-%d %H:%M} UTC)."
    return _preview_message("Move this call?", result, zone, extra, token)


def confirm(
    gov: Governance, session: Session, cmd: c.Confirm, actor: Actor, now: datetime
) -> Message:
    """Carry out a previewed schedule or move, for the person who asked, re-authorised."""
    if actor.login is None:
        return _fail("Link your GitHub login first (/charter link); then confirm again.")
    taken = store.take_confirmation(session, cmd.token, actor.login, now)
    if isinstance(taken, str):
        return _fail(taken)
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
        return _fail("That time has passed meanwhile; schedule the call again.")
    call_id = store.free_adhoc_id(session, f"call-{starts:%Y%m%d-%H%M}")
    row = AdhocMeetingRow(
        id=call_id,
        kind="adhoc",
        title=data["title"],
        starts_at=starts,
        duration_seconds=int(data["duration_seconds"]),
        timezone=data["zone"],
        proposal=data.get("proposal"),
        created_by=_login(actor),
        created_at=now,
    )
    session.add(row)
    store.bump_revision(session, call_id, now)
    call = timers.adhoc_call(row)
    occ = call.occurrence()
    text = f"{row.title}: {starts:%Y-%m-%d %H:%M} UTC, {format_duration(call.duration)}."
    audit = {**data, "id": call_id}
    gov.effects(
        session,
        [
            Audit("meeting-scheduled", f"meeting:{call_id}", audit),
            _announce(call, occ.key, f"New call: {row.title}", text),
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
    gov: Governance, session: Session, data: dict[str, Any], actor: Actor, now: datetime
) -> Message:
    to = datetime.fromisoformat(data["moved_to"])
    call_id, key = str(data["call"]), str(data["occurrence"])
    row = session.get(AdhocMeetingRow, call_id)
    if row is not None:
        row.starts_at = to
        session.add(row)
    else:
        store.set_exception(
            session, key=key, meeting_id=call_id, moved_to=to, by=_login(actor), now=now
        )
    store.bump_revision(session, call_id, now)
    call = _by_id(session, gov, call_id, now)
    assert call is not None  # it was resolved when the move was previewed
    text = f"{call.title} ({key}) moves to {to:%Y-%m-%d %H:%M} UTC."
    gov.effects(
        session,
        [
            Audit("meeting-moved", f"meeting:{key}", {"to": to.isoformat(), "call": call_id}),
            _announce(call, key, f"Moved: {call.title}", text),
        ],
        actor,
        now,
    )
    return Message(title="Moved", lines=((f"{call.title} ({key}) now starts ", When(to)),))


def cancel(
    gov: Governance, session: Session, cmd: c.MeetingCancel, actor: Actor, now: datetime
) -> Message:
    """Cancel an ad-hoc call, or one occurrence of a series (its next one for a series id)."""
    target = resolve(session, gov, cmd.id, now)
    if isinstance(target, str):
        return _fail(target)
    call, occ = target
    row = session.get(AdhocMeetingRow, call.id)
    if row is not None:
        row.cancelled = True
        session.add(row)
    else:
        store.set_exception(
            session, key=occ.key, meeting_id=call.id, moved_to=None, by=_login(actor), now=now
        )
    store.bump_revision(session, call.id, now)
    text = f"{call.title} on {occ.starts_at:%Y-%m-%d %H:%M} UTC is cancelled."
    gov.effects(
        session,
        [
            Audit("meeting-cancelled", f"meeting:{occ.key}", {"call": call.id}),
            _announce(call, occ.key, f"Cancelled: {call.title}", text),
        ],
        actor,
        now,
    )
    return Message(
        title="Cancelled",
        lines=((f"{call.title} ({occ.key}) at ", When(occ.starts_at), " is cancelled."),),
    )


def _outcome(
    gov: Governance,
    session: Session,
    kind: str,
    text: str,
    actor: Actor,
    now: datetime,
    owner: str = "",
) -> tuple[Call, Occurrence, int] | Message:
    found = current_or_recent(session, gov, now)
    if found is None:
        return _fail("No call has taken place yet to record this on.")
    call, occ = found
    row = store.add_outcome(
        session,
        key=occ.key,
        meeting_id=call.id,
        kind=kind,
        text=text,
        by=_login(actor),
        now=now,
        owner=owner,
    )
    payload = {"id": row.id, "text": text, "call": call.id, **({"owner": owner} if owner else {})}
    gov.effects(session, [Audit(f"meeting-{kind}", f"meeting:{occ.key}", payload)], actor, now)
    return call, occ, int(row.id or 0)


def decide(
    gov: Governance, session: Session, cmd: c.MeetingDecide, actor: Actor, now: datetime
) -> Message:
    """Record a decision on the current (or latest) call; on a go/no-go call, also the gate's."""
    done = _outcome(gov, session, "decision", cmd.text, actor, now)
    if isinstance(done, Message):
        return done
    call, occ, _ = done
    extra = ""
    row = session.get(AdhocMeetingRow, call.id)
    go = _GO.match(cmd.text)
    if row is not None and row.kind == "go-no-go" and go and row.proposal and row.stage:
        from bot.rollouts import record_go_no_go

        record_go_no_go(
            gov,
            session,
            proposal=row.proposal,
            stage=row.stage,
            decision=go.group(1).lower(),
            by=_login(actor),
            now=now,
            note=cmd.text,
        )
        extra = f" Recorded as the {row.stage} go/no-go decision for #{row.proposal}."
    return Message.text_only(f"Decision recorded for {call.title} ({occ.key}).{extra}")


def action(
    gov: Governance, session: Session, cmd: c.MeetingAction, actor: Actor, now: datetime
) -> Message:
    """Record an action item (it stays on later agendas until done)."""
    owner = cmd.who.lstrip("@")
    done = _outcome(gov, session, "action", cmd.text, actor, now, owner=owner)
    if isinstance(done, Message):
        return done
    call, occ, number = done
    return Message.text_only(
        f"Action item [{number}] for {owner} recorded on {call.title} ({occ.key})."
    )


def agenda_add(
    gov: Governance, session: Session, cmd: c.AgendaAdd, actor: Actor, now: datetime
) -> Message:
    """Add an item to the agenda of a call's next occurrence (or the occurrence named)."""
    target = resolve(session, gov, cmd.meeting, now)
    if isinstance(target, str):
        return _fail(target)
    call, occ = target
    if occ.starts_at <= now:
        return _fail(f"{occ.key} has already started; add the item to the next call.")
    store.add_agenda_item(session, occ.key, cmd.text, _login(actor), now)
    gov.effects(
        session, [Audit("agenda-item-added", f"meeting:{occ.key}", {"text": cmd.text})], actor, now
    )
    return Message(lines=((f"Added to the agenda of {call.title} on ", When(occ.starts_at), "."),))


# -- calendar feeds ---------------------------------------------------------------------------


def feed(gov: Governance, series: str | None, now: datetime) -> bytes:
    """The iCalendar feed of every call, or of one series or ad-hoc call (ValueError if none)."""
    with session_scope(gov.engine) as session:
        exceptions = store.schedule(session)
        adhoc = [timers.adhoc_call(r) for r in store.adhoc_rows(session)]
        revisions = store.revisions(session)
    return calendar_ics(gov.charter, exceptions, adhoc, series=series, now=now, revisions=revisions)


def calendar_routes(gov: Governance) -> list[Route]:
    async def everything(request: Request) -> Response:
        body = await asyncio.to_thread(feed, gov, None, gov.clock.now())
        return Response(body, media_type="text/calendar; charset=utf-8")

    async def one(request: Request) -> Response:
        series = request.path_params["series"]
        try:
            body = await asyncio.to_thread(feed, gov, series, gov.clock.now())
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        return Response(body, media_type="text/calendar; charset=utf-8")

    return [
        Route("/calendar.ics", everything, methods=["GET"]),
        Route("/calendar/{series}.ics", one, methods=["GET"]),
    ]


__all__ = ["install", "install_on"]
