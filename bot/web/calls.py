"""Upcoming calls for the Meetings page: the charter's series expanded by ``charter.meetings``.

When the meetings area is installed and offers ``upcoming(engine, charter, now, count)``
(cancellations, moves and ad-hoc calls included), its answer is used instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Engine

from bot.web.queries import optional
from charter.meetings import occurrences
from charter.model import Charter


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def upcoming(
    engine: Engine, charter: Charter, now: datetime, count: int = 8
) -> list[dict[str, Any]]:
    service = optional("bot.meetings_service")
    custom = getattr(service, "upcoming", None) if service is not None else None
    if custom is not None:
        try:
            return list(custom(engine, charter, now, count))
        except TypeError:
            pass  # a different signature: fall back to the charter's series
    private = {name for name, ch in charter.channels.items() if getattr(ch, "private", False)}
    out: list[dict[str, Any]] = []
    repo = charter.github.repository
    for meeting in charter.meetings:
        for occ in occurrences(meeting, now, count=count):
            out.append(
                {
                    "id": meeting.id,
                    "title": meeting.title,
                    "starts_at": _iso(occ.starts_at),
                    "ends_at": _iso(occ.ends_at),
                    "zone": meeting.timezone,
                    "local": occ.local_start.strftime("%a %d %b %Y %H:%M"),
                    "private": bool(meeting.announce_to) and set(meeting.announce_to) <= private,
                    "agenda": f"https://github.com/{repo}/issues?q="
                    + quote_plus(f'is:issue "{meeting.title}" agenda'),
                    "calendar": f"/calendar.ics?series={meeting.id}",
                }
            )
    out.sort(key=lambda m: m["starts_at"])
    return out[:count]
