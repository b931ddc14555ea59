"""Meetings wired into the service: commands, the tick hook, calendar feeds, the wake-up scheduler.

``install(rt)`` registers the meeting commands on ``rt.gov`` (:mod:`bot.meetings_commands`,
:mod:`bot.meetings_cancel`, :mod:`bot.meetings_outcomes`), adds the timer tick hook
(:mod:`bot.meetings_timers`), mounts ``GET /calendar.ics`` and ``GET /calendar/<id>.ics``
(:mod:`bot.calendar`, SEQUENCE from the stored revisions) and runs the wake-up scheduler
(:mod:`bot.scheduler`) on the replica that leads.

``/charter meetings [--next N]`` lists the next calls; each start is a ``When`` (Discord and Slack
show it in the reader's zone); on the console, which cannot, a linked user's zone is spelled out.
Each start is also shown in the call's own zone, named, as its occurrence key is written in that
zone (``incident-review-1@2026-11-29T15:00`` is 15:00 Berlin time, 14:00 UTC).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot import (
    drill_reminders,
    meetings_cancel,
    meetings_commands as cmds,
    meetings_outcomes as outcomes,
    meetings_timers as timers,
)
from bot.calendar import calendar_ics, live_exceptions
from bot.meetings_calls import adhoc_call
from bot.meetings_lookup import preview_local, recent_calls, user_zone
from bot.messages import Actor, Line, Message, When
from bot.scheduler import WakeupScheduler
from charter import commands as c
from charter.meetings import Call, Occurrence, occurrences
from charter.model import format_duration
from storage import charters, meetings as store
from storage.db import read_scope

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.service import Governance

log = logging.getLogger("charterbot.meetings")


def install(rt: Runtime) -> None:
    install_on(rt.gov)
    routes = rt.extras.setdefault("routes", [])
    routes += calendar_routes(rt.gov)
    scheduler = WakeupScheduler(
        rt.leadership,
        # The one alarm clock also wakes for planned rollback drills' reminders.
        lambda now: drill_reminders.sooner(
            _next_at(rt.gov, now), drill_reminders.next_at(rt.gov, now)
        ),
        rt.wake.set,
        rt.clock,
    )
    rt.extras["meetings_scheduler"] = scheduler
    rt.extras.setdefault("startup", []).append(
        lambda: scheduler.follow(lambda: rt.is_leader, rt.stop)
    )


def install_on(gov: Governance) -> None:
    """Register the meeting commands and the timer tick hook."""
    gov.register(c.Meetings, list_meetings)
    gov.register(c.MeetingSchedule, cmds.schedule)
    gov.register(c.MeetingMove, cmds.move)
    gov.register(c.Confirm, cmds.confirm)
    gov.register(c.MeetingCancel, meetings_cancel.cancel)
    gov.register(c.MeetingDecide, outcomes.decide)
    gov.register(c.MeetingAction, outcomes.action)
    gov.register(c.AgendaAdd, outcomes.agenda_add)
    gov.add_tick_hook(timers.tick)


def _next_at(gov: Governance, now: datetime) -> datetime | None:
    with read_scope(gov.engine) as session:
        return timers.next_timer_at(session, gov.charter, now)


def list_meetings(
    gov: Governance, session: Session, cmd: c.Meetings, actor: Actor, now: datetime
) -> Message:
    """The next ``n`` calls of every series and ad-hoc call (in progress included) the asker
    may see: a private call only if they may see its proposal (:mod:`bot.meetings_lookup`)."""
    schedule = store.schedule(session)
    found: list[tuple[Occurrence, Call]] = []
    for call in recent_calls(session, gov, now, actor):
        for occ in occurrences(call, now - call.duration, count=cmd.next_n, schedule=schedule):
            found.append((occ, call))
    found.sort(key=lambda pair: (pair[0].starts_at, pair[0].key))
    zone = user_zone(session, gov, actor) if actor.surface == "console" else None
    lines = [_call_line(occ, call, zone) for occ, call in found[: cmd.next_n]]
    if not lines:
        return Message.text_only("No calls are scheduled.")
    feeds = gov.page("/calendar.ics") or "/calendar.ics"
    footer = (
        f"Subscribe to every call: {feeds} (one series: /calendar/<id>.ics). A key"
        " (<id>@<date>T<time>) names a call by its first planned start in the call's own zone."
    )
    return Message(
        title="Next calls",
        lines=tuple(lines),
        footer=footer + (GUESSED_LINKS if gov.links_guessed else ""),
        more=gov.page("/meetings"),
    )


# Said after links the console builds without CHARTERBOT_PUBLIC_URL: it cannot know where a
# server runs (``serve --port`` may have moved it), only where its own settings would put it.
GUESSED_LINKS = (
    " The address assumes the server runs with this console's CHARTERBOT_HTTP_HOST and"
    " CHARTERBOT_HTTP_PORT; set CHARTERBOT_PUBLIC_URL to name it."
)


def _call_line(occ: Occurrence, call: Call, reader_zone: str | None) -> Line:
    """One listed call: its start as a ``When`` (each reader's zone on Discord and Slack; UTC,
    and the linked ``reader_zone``, on the console), then its start in the call's own zone,
    named, since that is the zone its key is written in, the length and the key as commands
    take it. The call's zone is left out where the line already shows it: on the console, a
    UTC call (the ISO time says it) or a reader in the call's zone."""
    line: Line = (f"{call.title}: ", When(occ.starts_at))
    if reader_zone and reader_zone.upper() != "UTC":
        line = (*line, f" ({preview_local(occ.starts_at, reader_zone)})")
    own = call.timezone
    console = reader_zone is not None
    if not console or (own.upper() != "UTC" and own != reader_zone):
        line = (*line, f" · {preview_local(occ.starts_at, own)}")
    length = format_duration(occ.ends_at - occ.starts_at)
    return (*line, f" · {length} · {occ.key}" + (" (moved)" if occ.moved else ""))


# -- calendar feeds ---------------------------------------------------------------------------


_reported_stale: set[str] = set()  # exception keys already logged as stale (log each once)


def feed(gov: Governance, series: str | None, now: datetime) -> bytes:
    """The iCalendar feed of every call, or of one series or ad-hoc call (ValueError if none).

    Stored cancels and moves that no longer match an occurrence (the charter changed the
    meeting's start or rrule since) are left out and logged once. A series' SEQUENCE is its
    stored revision plus the charter's version, so an amendment, which may redefine the
    series, raises it too (the version only ever goes up)."""
    with read_scope(gov.engine) as session:
        exceptions, stale = live_exceptions(gov.charter, store.schedule(session))
        adhoc = [adhoc_call(r) for r in store.adhoc_rows(session)]
        revisions = store.revisions(session)
        stamps = store.revised(session)
        adopted = charters.adopted_at(session, gov.charter.version)
    for key in stale:
        if key not in _reported_stale:
            _reported_stale.add(key)
            log.warning(
                "calendar: %s is cancelled or moved but is no longer an occurrence of its"
                " meeting (the charter changed its start or rrule); left out of the feed",
                key,
            )
    for meeting in gov.charter.meetings:
        revisions[meeting.id] = revisions.get(meeting.id, 0) + gov.charter.version
        if adopted is not None:  # the charter defines the series: its adoption revises it too
            stamps[meeting.id] = max(stamps.get(meeting.id, adopted), adopted)
    return calendar_ics(
        gov.charter,
        exceptions,
        adhoc,
        series=series,
        now=now,
        revisions=revisions,
        stamps=stamps,
    )


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
