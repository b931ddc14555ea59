"""Upcoming calls for the Meetings page, in UTC (the browser shows them in the reader's zone).

The calls are the charter's series and the ad-hoc calls, with their stored exceptions
(cancelled, moved) applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Engine

from bot import meetings_calls
from bot.github_web import GITHUB_WEB, repo_page
from charter.meetings import AdhocMeeting, Schedule, occurrences
from charter.model import Charter, Meeting
from storage import meetings as store
from storage.db import read_scope


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _known_calls(
    engine: Engine, charter: Charter, now: datetime
) -> tuple[Sequence[Meeting | AdhocMeeting], Schedule]:
    with read_scope(engine) as session:
        return list(meetings_calls.calls(session, charter, now)), store.schedule(session)


def upcoming(
    engine: Engine, charter: Charter, now: datetime, count: int = 8, *, github: str = ""
) -> list[dict[str, Any]]:
    """The next ``count`` public calls; each agenda is a search of the charter repository's
    issues at ``github`` (its web page: ``Governance.github_page``; github.com's if not given)."""
    github = github or repo_page(GITHUB_WEB, charter.github.repository)
    calls, schedule = _known_calls(engine, charter, now)
    private = {name for name, ch in charter.channels.items() if ch.private}
    series = {m.id for m in charter.meetings}
    out: list[dict[str, Any]] = []
    for call in calls:
        if isinstance(call, AdhocMeeting) and call.private:
            continue  # a confidential rollout's go/no-go: not on public pages
        for occ in occurrences(call, now, count=count, schedule=schedule):
            out.append(
                {
                    "id": call.id,
                    "title": call.title,
                    "starts_at": _iso(occ.starts_at),
                    "ends_at": _iso(occ.ends_at),
                    "zone": call.timezone,
                    "local": occ.local_start.strftime("%a %d %b %Y %H:%M"),
                    "moved": occ.moved,
                    "private": bool(call.announce_to) and set(call.announce_to) <= private,
                    "agenda": f"{github}/issues?q=" + quote_plus(f'is:issue "{call.title}" agenda'),
                    "calendar": f"/calendar/{call.id}.ics"
                    if call.id in series
                    else "/calendar.ics",
                }
            )
    out.sort(key=lambda m: m["starts_at"])
    return out[:count]
