"""The calls the bot keeps timers for, and where it places a call it schedules itself.

Rules:
- The calls are the charter's meeting series and the stored ad-hoc calls (:func:`calls`). An
  ad-hoc call gets reminders ``ADHOC_REMINDERS`` before it; a go/no-go call and a post-incident
  review call also get an agenda ``GO_NO_GO_AGENDA`` before (:func:`adhoc_call`).
- A call the bot schedules itself (:mod:`bot.meetings_go_no_go`,
  :mod:`bot.meetings_incident_review`) starts on the hour and overlaps no other call: the same
  people sit in every call, and ``meeting decide`` records on the call in progress. It is moved
  past any call it would overlap, to that call's end rounded up to the hour, at most
  ``GO_NO_GO_CLASH_TRIES`` times (:func:`free_start`); its announcement names the calls it
  follows, and a public call's names no private one (:func:`follows`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from charter.effects import Announce
from charter.meetings import AdhocMeeting, Call, Occurrence, clashes, is_private, occurrences
from charter.model import Charter
from storage import meetings as store
from storage.models.meetings import AdhocMeetingRow

LOOKBACK = timedelta(days=1)  # timers older than this are not considered at all
ADHOC_REMINDERS = (timedelta(hours=1), timedelta(minutes=10))
GO_NO_GO_AGENDA = timedelta(hours=24)
GO_NO_GO_CLASH_TRIES = 24  # how many times a go/no-go call is moved past overlapping calls
REVIEW_KIND = store.REVIEW_KIND  # a post-incident review call (AdhocMeetingRow.kind)


def adhoc_call(row: AdhocMeetingRow) -> AdhocMeeting:
    """A stored ad-hoc call with its reminder settings (go/no-go and post-incident review
    calls also get an agenda)."""
    before = GO_NO_GO_AGENDA if row.kind in ("go-no-go", REVIEW_KIND) else None
    return store.to_adhoc(row, reminders=ADHOC_REMINDERS, agenda_before=before)


def calls(session: Session, charter: Charter, since: datetime) -> list[Call]:
    """Every series of the charter and every ad-hoc call starting at or after ``since``."""
    adhoc = [adhoc_call(r) for r in store.adhoc_rows(session, since=since)]
    return [*charter.meetings, *adhoc]


def announce(
    call: Call, occ: Occurrence, charter: Charter, title: str, text: str, **extra: str
) -> Announce:
    data = {"meeting": call.id, "occurrence": occ.key, "starts_at": occ.starts_at.isoformat()}
    data.update(extra)
    return Announce(
        kind="meeting",
        title=title,
        text=text,
        confidential=is_private(call, charter),
        data=data,
    )


def hour_up(at: datetime) -> datetime:
    hours = math.ceil(at.astimezone(UTC).timestamp() / 3600)
    return datetime.fromtimestamp(hours * 3600, UTC)


def free_start(
    session: Session, charter: Charter, start: datetime, length: timedelta, now: datetime
) -> tuple[datetime, list[Call]]:
    """The first start at or after ``start`` where a call of ``length`` overlaps no other call,
    and the calls it was moved past. The same people sit in every call, and
    ``meeting decide`` records on the call in progress, so a go/no-go call must not overlap
    another one. Each move goes to the end of the overlapping calls, rounded up to the hour;
    after ``GO_NO_GO_CLASH_TRIES`` moves ``start`` is kept: better a clash than no call."""
    schedule = store.schedule(session)
    others = calls(session, charter, now - LOOKBACK - timedelta(days=1))
    by_id = {call.id: call for call in others}
    at, passed = start, dict[str, Call]()
    for _ in range(GO_NO_GO_CLASH_TRIES):
        end = at + length
        found = [
            occ
            for call in others
            for occ in occurrences(call, at - call.duration, until=end, schedule=schedule)
        ]
        hits = clashes(at, end, found)
        if not hits:
            return at, list(passed.values())
        passed.update((o.meeting_id, by_id[o.meeting_id]) for o in hits)
        at = hour_up(max(o.ends_at for o in hits))
    return start, []


def follows(passed: list[Call], charter: Charter, *, private: bool) -> str:
    """The line saying which calls a new call was moved past ("" for none). A public call's
    announcement names no private call (a confidential rollout's go/no-go, a confidential
    incident's review, the security council's): it says "another call" instead."""
    if not passed:
        return ""
    names = [c.title for c in passed if private or not is_private(c, charter)]
    hidden = len(passed) - len(names)
    if hidden:
        names.append("another call" if hidden == 1 else f"{hidden} other calls")
    return f" It follows {' and '.join(names)}, so that the calls do not overlap."
