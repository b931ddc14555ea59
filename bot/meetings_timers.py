"""Meeting timers, derived from stored state on every tick: reminders and agenda posts.

Nothing about a timer lives in memory. Each tick expands the charter's series and the stored
ad-hoc calls over a window around ``now``, derives every timer
(:func:`charter.meeting_timers.reminders_for`), and asks
:func:`charter.meeting_timers.due_timers` which to fire and which to record as missed,
given the per-series watermark in ``fired_timer``. A restart therefore neither loses a timer
(it is derived again) nor repeats one (its row exists).

Misfire policy (explicit):
- A reminder fires if it is at most ``REMINDER_GRACE`` (10 minutes) late; later, it is recorded
  as missed and never sent ("starts in 1 hour" after the call began would mislead).
- An agenda post fires late as long as the call has not started (its grace is ``agenda_before``).
- Coalescing: after downtime only the latest pending timer of a series is a candidate; the
  earlier ones are recorded missed. Three hours down across an hourly timer fire it once.
  Reminders coalesce per meeting; agenda posts per occurrence (each upcoming call gets its
  agenda after an outage, see :func:`charter.meeting_timers.reminders_for`).
- Timers older than ``LOOKBACK`` (one day) are not considered at all.
- A posted agenda is kept current until its call ends (:func:`refresh_agendas`), wherever the
  call now falls: moved far ahead, or cancelled (its issue then says so, once).
- Exactly once: each timer is claimed with :func:`storage.meeting_timers.claim_timer` (UNIQUE
  key) in the transaction that also queues its announcement, so two replicas or a retry cannot both
  fire it. Claims are made in key order, so concurrent replicas never deadlock each other.

Go/no-go calls and post-incident review calls are scheduled by :mod:`bot.meetings_go_no_go` and
:mod:`bot.meetings_incident_review`; the tick (:func:`tick`) stores the go/no-go calls due, then
fires the due timers, then keeps posted agendas current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import meetings_agenda as agenda
from bot.meetings_calls import LOOKBACK, announce, calls
from bot.meetings_go_no_go import schedule_go_no_go
from charter.effects import Audit, Effect
from charter.meeting_timers import Reminder, due_timers, reminders_for, time_left
from charter.meetings import (
    AdhocMeeting,
    Call,
    Occurrence,
    Schedule,
    find_occurrence,
    heir,
    is_instance,
    is_private,
    localize,
    nominal_occurrence,
    occurrence_key,
    occurrences,
    parse_key,
    zone_of,
)
from charter.model import Charter, Meeting
from storage import (
    agendas as agenda_store,
    meeting_outcomes as outcome_store,
    meeting_timers as timer_store,
    meetings as store,
)

if TYPE_CHECKING:
    from bot.service import Governance

REMINDER_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Timer:
    call: Call
    occurrence: Occurrence
    timer: Reminder


def _reach(call: Call) -> timedelta:
    offsets = [*call.reminders, call.agenda_before or timedelta(0)]
    return max(offsets, default=timedelta(0))


def timers(
    session: Session, charter: Charter, now: datetime, ahead: timedelta = timedelta(minutes=1)
) -> list[Timer]:
    """Every timer of every occurrence starting in (now - LOOKBACK, now + offset + ahead]."""
    schedule = store.schedule(session)
    out: list[Timer] = []
    for call in calls(session, charter, now - LOOKBACK - timedelta(days=1)):
        until = now + _reach(call) + ahead
        for occ in occurrences(call, now - LOOKBACK, until=until, schedule=schedule):
            out.extend(Timer(call, occ, t) for t in reminders_for(occ, call))
    return out


def next_timer_at(session: Session, charter: Charter, now: datetime) -> datetime | None:
    """When the next timer after ``now`` is due (the scheduler's wake-up), if any."""
    found = timers(session, charter, now, ahead=timedelta(days=1))
    future = [t.timer.fires_at for t in found if t.timer.fires_at > now]
    return min(future, default=None)


def _decide(
    found: list[Timer], now: datetime, last: dict[str, datetime]
) -> list[tuple[Timer, str]]:
    by_key = {t.timer.key: t for t in found}
    decided: list[tuple[Timer, str]] = []
    for call in {id(t.call): t.call for t in found}.values():
        mine = [t.timer for t in found if t.call is call]
        reminders = [t for t in mine if t.kind == "reminder"]
        posts = [t for t in mine if t.kind == "agenda"]
        for group, grace in (
            (reminders, REMINDER_GRACE),
            (posts, call.agenda_before or timedelta(0)),
        ):
            due = due_timers(group, now, last, grace)
            decided += [(by_key[t.key], "fired") for t in due.fire]
            decided += [(by_key[t.key], "missed") for t in due.missed]
    return sorted(decided, key=lambda pair: pair[0].timer.key)


def fire_due(gov: Governance, session: Session, now: datetime) -> int:
    """Handle every due timer once; returns how many fired."""
    charter = gov.charter
    fired = 0
    for item, outcome in _decide(
        timers(session, charter, now), now, timer_store.last_fired(session)
    ):
        if not timer_store.claim_timer(session, item.timer, outcome, now) or outcome != "fired":
            continue
        fired += 1
        if item.timer.kind == "agenda":
            _post_agenda(gov, session, item, now)
        else:
            _remind(gov, session, item, now)
    return fired


def _remind(gov: Governance, session: Session, item: Timer, now: datetime) -> None:
    """A reminder says the time really left, not its nominal lead: it may fire up to
    ``REMINDER_GRACE`` late, for a call scheduled closer than its lead too (a short lead may
    even fire after the start: it then says how long ago the call started)."""
    occ, call = item.occurrence, item.call
    left, half = occ.starts_at - now, timedelta(seconds=30)
    if left >= half:
        when = f"starts in {time_left(left)}"
    elif left > -half:
        when = "starts now"
    else:
        when = f"started {time_left(-left)} ago"
    text = f"{call.title} {when}."  # the notice's When says at what time
    gov.effects(
        session,
        [
            announce(
                call, occ, gov.charter, f"Reminder: {call.title}", text, reminder=item.timer.key
            )
        ],
        "charterbot",
        now,
    )


def _post_agenda(gov: Governance, session: Session, item: Timer, now: datetime) -> None:
    """Post the agenda; a series call first takes over the agenda posted for its day at the hour
    the charter held before an amendment (one issue per call, see :func:`agenda.adopt`)."""
    occ, call = item.occurrence, item.call
    if isinstance(call, Meeting):
        agenda.adopt(session, call, occ, now)
    built = agenda.agenda_for(session, gov.charter, call, occ, now)
    if not is_private(call, gov.charter):
        agenda.queue_post(session, occ, built, now)
    text = built.body_markdown.split("\n", 1)[1]  # without the hidden marker line
    effects: list[Effect] = [
        announce(call, occ, gov.charter, built.title, text, agenda=occ.key),
        Audit("meeting-agenda-posted", f"meeting:{occ.key}", {"title": built.title}),
    ]
    gov.effects(session, effects, "charterbot", now)


def _unfinished(call: Call, now: datetime, schedule: Schedule) -> list[tuple[Occurrence, bool]]:
    """The occurrences of ``call`` not over at ``now`` whose agenda may have been posted, each
    with whether it is cancelled: those starting within ``agenda_before``, and moved or
    cancelled ones wherever they now fall (a cancelled one at its planned time)."""
    if isinstance(call, AdhocMeeting):
        occ = call.occurrence()
        return [(occ, call.cancelled)] if occ.ends_at > now else []
    before = call.agenda_before or timedelta(0)
    live = occurrences(call, now - call.duration, until=now + before, schedule=schedule)
    found = {occ.key: (occ, False) for occ in live}
    zone = zone_of(call.timezone)
    excepted = [(k, at, False) for k, at in schedule.moved_for(call.id).items()]
    excepted += [
        (k, localize(parse_key(k)[1], zone), True)
        for k in schedule.cancelled
        if parse_key(k)[0] == call.id
    ]
    for key, at, cancelled in excepted:
        if at + call.duration > now and key not in found:  # cheap test first: most are past
            hit = find_occurrence(call, key, schedule)
            if hit is not None:
                found[key] = (hit, cancelled)
    return list(found.values())


def refresh_agendas(gov: Governance, session: Session, now: datetime) -> int:
    """Re-build the posted agenda of every call not yet over, wherever it now falls (moved,
    or cancelled: its issue says so); queue an edit where the text changed."""
    charter, schedule = gov.charter, store.schedule(session)
    candidates = [
        (call, occ, cancelled)
        for call in calls(session, charter, now - LOOKBACK - timedelta(days=1))
        if call.agenda_before is not None and not is_private(call, charter)
        for occ, cancelled in _unfinished(call, now, schedule)
    ]
    posted = agenda_store.posted_agendas(session, keys={occ.key for _, occ, _ in candidates})
    queued = 0
    for call, occ, cancelled in candidates:
        if occ.key in posted:
            if isinstance(call, Meeting):  # amended back to an hour it had: its issue again
                agenda.adopt(session, call, occ, now)
            built = agenda.agenda_for(session, charter, call, occ, now, cancelled=cancelled)
            queued += agenda.queue_post(session, occ, built, now)
    for meeting in charter.meetings:
        if meeting.agenda_before is not None and not is_private(meeting, charter):
            queued += _cancel_removed(gov, session, meeting, now)
    return queued


def _cancel_removed(gov: Governance, session: Session, meeting: Meeting, now: datetime) -> int:
    """Say "[Cancelled]" on the posted agenda of each call of ``meeting`` that an amendment
    removed (the series' rule no longer produces its key) and that no call of its day will take
    over (:func:`charter.meetings.heir`: none that day, or one with an issue of its own, or one
    over already), until its nominal end. Else its issue would go on announcing it."""
    before = meeting.agenda_before or timedelta(0)
    posted = agenda_store.posted_since(session, meeting.id, now - meeting.duration - before)
    stale = {k for k in posted if not is_instance(meeting, parse_key(k)[1])}
    queued = 0
    for key in sorted(agenda_store.holding_agendas(session, stale, items=False)):
        occ = nominal_occurrence(meeting, key)
        if occ.ends_at <= now or outcome_store.outcomes(session, key):
            continue
        local = heir(meeting, key)
        if local is not None:
            taker = nominal_occurrence(meeting, occurrence_key(meeting.id, local))
            own = agenda_store.holding_agendas(session, [taker.key], items=False)
            if not own and taker.ends_at > now:
                continue  # it takes this agenda over when its own is posted
        built = agenda.agenda_for(session, gov.charter, meeting, occ, now, cancelled=True)
        queued += agenda.queue_post(session, occ, built, now)
    return queued


def tick(gov: Governance, session: Session, now: datetime) -> int:
    """The tick hook: go/no-go calls, due timers, then agenda edits."""
    made = schedule_go_no_go(gov, session, now)
    fired = fire_due(gov, session, now)
    refresh_agendas(gov, session, now)
    return made + fired
