"""When a meeting's reminders and agenda post fire, and which of them fire after downtime.

The keys and series of the timers are stated in :func:`reminders_for`; the misfire policy
(coalescing, grace) in :func:`due_timers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from charter.meetings import AdhocMeeting, Occurrence, require_aware
from charter.model import Meeting, format_duration


@dataclass(frozen=True)
class Reminder:
    """One timer: ``key`` is unique per firing, ``series`` groups timers that coalesce."""

    key: str
    fires_at: datetime  # UTC
    series: str
    occurrence_key: str = ""
    kind: str = "reminder"  # reminder | agenda | any other timer kind


def reminders_for(occurrence: Occurrence, meeting: Meeting | AdhocMeeting) -> list[Reminder]:
    """A reminder per offset in ``reminders``, and the agenda post at ``agenda_before``.

    Keys are ``<occurrence key>/remind-<offset>`` (the offset as the charter writes durations,
    largest exact unit: 24h is ``1d``) and ``<occurrence key>/agenda``. The series (what
    coalesces, see :func:`due_timers`) of a reminder is ``<meeting id>/<label>``: after downtime
    only the latest "starts in 1h" of a meeting is worth sending. An agenda post's series is
    ``<occurrence key>/agenda``: every upcoming call needs its own agenda, so each one is judged
    on its own grace and a later call's post never makes an earlier one missed. A moved instance
    gets keys suffixed with its new start, so moving a call re-arms its reminders.
    """
    timers = [(f"remind-{format_duration(off)}", off, "reminder") for off in meeting.reminders]
    if meeting.agenda_before is not None:
        timers.append(("agenda", meeting.agenda_before, "agenda"))
    suffix = f"@moved-{occurrence.starts_at:%Y%m%dT%H%MZ}" if occurrence.moved else ""
    out = [
        Reminder(
            key=f"{occurrence.key}/{label}{suffix}",
            fires_at=occurrence.starts_at - offset,
            series=f"{occurrence.key if kind == 'agenda' else occurrence.meeting_id}/{label}",
            occurrence_key=occurrence.key,
            kind=kind,
        )
        for label, offset, kind in timers
    ]
    return sorted(out, key=lambda r: (r.fires_at, r.key))


class Due(NamedTuple):
    fire: tuple[Reminder, ...]
    missed: tuple[Reminder, ...]


def due_timers(
    timers: Iterable[Reminder],
    now: datetime,
    last_fired: Mapping[str, datetime],
    grace: timedelta,
) -> Due:
    """Which timers to fire now, and which to record as missed.

    Misfire policy:

    - A timer is pending when ``fires_at <= now`` and it is later than ``last_fired[series]``
      (the ``fires_at`` of the last timer of its series that was fired or recorded missed).
    - Coalescing: of the pending timers of one series only the latest is a candidate; the
      earlier ones are recorded as missed. Three hours of downtime across an hourly timer
      therefore fire it once, not three times.
    - Grace: the candidate fires only if it is at most ``grace`` late (``now - fires_at``);
      later than that it is recorded as missed, never sent late (a "call in 1 hour"
      reminder that arrives after the call started does harm).

    Both lists are sorted by (fires_at, key). Record the outcome with :func:`mark_handled`.
    """
    at = require_aware(now, "now")
    pending: dict[str, list[Reminder]] = {}
    for timer in timers:
        done = last_fired.get(timer.series)
        if timer.fires_at <= at and (done is None or timer.fires_at > done):
            pending.setdefault(timer.series, []).append(timer)
    fire: list[Reminder] = []
    missed: list[Reminder] = []
    for series in pending.values():
        *stale, latest = sorted(series, key=lambda r: (r.fires_at, r.key))
        missed.extend(stale)
        (fire if at - latest.fires_at <= grace else missed).append(latest)

    def order(r: Reminder) -> tuple[datetime, str]:
        return (r.fires_at, r.key)

    return Due(tuple(sorted(fire, key=order)), tuple(sorted(missed, key=order)))


def mark_handled(last_fired: Mapping[str, datetime], due: Due) -> dict[str, datetime]:
    """The new ``last_fired``: each series advances to its latest fired or missed timer."""
    out = dict(last_fired)
    for timer in (*due.fire, *due.missed):
        if timer.series not in out or out[timer.series] < timer.fires_at:
            out[timer.series] = timer.fires_at
    return out


def time_left(left: timedelta) -> str:
    """How long until a call starts or a planned drill is due, as a reminder says it: to the
    minute under an hour ("3m"), to five minutes under a day ("1h", "23h50m"), to the hour from
    a day on ("1d", "36h"); at least a minute."""
    step = timedelta(minutes=1)
    if left >= timedelta(days=1):
        step = timedelta(hours=1)
    elif left >= timedelta(hours=1):
        step = timedelta(minutes=5)
    rounded = max(step, round(left / step) * step)
    hours, minutes = divmod(int(rounded.total_seconds()) // 60, 60)
    return f"{hours}h{minutes}m" if hours and minutes else format_duration(rounded)
