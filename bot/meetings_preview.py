"""Previews of the scheduling commands: times read, confirmation asked, clashes warned about.

Rules:
- Times people type are read in their linked zone, else the charter's (``charter.timezone``);
  scheduling and moving a call first show a preview (UTC and the reader's local time) and wait
  for ``/charter confirm <token>`` from the same person within ``CONFIRM_TTL``.
- A preview warns about the calls the asker may see that overlap the new time (a private call
  only to those who may see it): confirming anyway is the asker's choice.
- A call that has started (or is over) is history: it cannot be cancelled or moved
  (:func:`started`).
- A reply to a GitHub comment is public (:func:`public_reply`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.messages import Actor, Message, When
from charter import commands as c
from charter.meetings import MeetingError, Occurrence, clashes, occurrences, zone_of
from charter.when import WhenError, parse_when, preview
from storage import meeting_confirmations as confirmations, meetings as store

if TYPE_CHECKING:
    from bot.service import Governance

from bot.meetings_lookup import fail, own_start, recent_calls, user_zone

CONFIRM_TTL = timedelta(minutes=15)
DEFAULT_LENGTH = timedelta(hours=1)


def read_when(
    session: Session, gov: Governance, actor: Actor, text: str, now: datetime
) -> tuple[Any, str] | Message:
    zone = user_zone(session, gov, actor)
    try:
        return parse_when(text, now, zone), zone
    except WhenError as exc:
        return fail(str(exc))


def ask(session: Session, actor: Actor, action: str, payload: dict[str, Any], now: datetime) -> str:
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


def preview_message(
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


def clash_warning(
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


def public_reply(actor: Actor) -> bool:
    """Whether the reply is public: a GitHub comment, seen by anyone reading the issue."""
    return actor.surface == "github"


def iana(zone: str) -> str:
    try:
        zone_of(zone)
        return zone
    except MeetingError:
        return "UTC"


def schedule_payload(
    cmd: c.MeetingSchedule, at: datetime, zone: str, length: timedelta, proposal: int | None
) -> dict[str, Any]:
    """What a previewed schedule keeps for its confirmation: the call it then stores."""
    return {
        "title": cmd.title,
        "starts_at": at.isoformat(),
        "zone": iana(zone),
        "duration_seconds": int(length.total_seconds()),
        "proposal": proposal,
    }


def started(occ: Occurrence, now: datetime, verb: str) -> Message | None:
    """A refusal when ``occ`` has already started: what happened on a call is history. Its
    start is also said in the call's own zone, the one its key is written in."""
    if occ.starts_at > now:
        return None
    return Message(
        lines=(
            (
                f"{occ.key} started ",
                When(occ.starts_at),
                f" ({own_start(occ)}) and cannot be {verb} any more.",
            ),
            (
                "Record what happened with /charter meeting decide <text> or /charter meeting"
                " action <who> <text>.",
            ),
        ),
        ok=False,
    )
