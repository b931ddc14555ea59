"""Meeting timers, derived from stored state on every tick: reminders, agenda posts, go/no-go.

Nothing about a timer lives in memory. Each tick expands the charter's series and the stored
ad-hoc calls over a window around ``now``, derives every timer (:func:`charter.meetings.
reminders_for`), and asks :func:`charter.meetings.due_timers` which to fire and which to record
as missed, given the per-series watermark in ``fired_timer``. A restart therefore neither loses
a timer (it is derived again) nor repeats one (its row exists).

Misfire policy (explicit):
- A reminder fires if it is at most ``REMINDER_GRACE`` (10 minutes) late; later, it is recorded
  as missed and never sent ("starts in 1 hour" after the call began would mislead).
- An agenda post fires late as long as the call has not started (its grace is ``agenda_before``).
- Coalescing: after downtime only the latest pending timer of a series is a candidate; the
  earlier ones are recorded missed. Three hours down across an hourly timer fire it once.
  Reminders coalesce per meeting; agenda posts per occurrence (each upcoming call gets its
  agenda after an outage, see :func:`charter.meetings.reminders_for`).
- Timers older than ``LOOKBACK`` (one day) are not considered at all.
- A posted agenda is kept current until its call ends (:func:`refresh_agendas`), wherever the
  call now falls: moved far ahead, or cancelled (its issue then says so, once).
- Exactly once: each timer is claimed with :func:`storage.meetings.claim_timer` (UNIQUE key) in
  the transaction that also queues its announcement, so two replicas or a retry cannot both
  fire it. Claims are made in key order, so concurrent replicas never deadlock each other.

Go/no-go calls: when a rollout's next stage has ``go_no_go_meeting: true`` and the soak of the
current stage ends within ``GO_NO_GO_LEAD`` (two days), an ad-hoc call ``go-no-go-<n>-<stage>``
is stored at the end of the soak (rounded up to the hour, never sooner than an hour from now),
moved past any call it would overlap (to that call's end, rounded up to the hour), and announced
with its start as the notice's When (reminders too: their text says "starts in 1d", the When
shows the time in each reader's zone).
A further attempt (``go-no-go-<n>-<stage>-2``, ``-3``…) is stored, and announced the same way,
when the soak nears its end and the latest call no longer stands for the current soak:
- the decision that counts (:func:`charter.gates.current_go_no_go`: the latest one made since
  the rollout last entered the current stage) is a no-go made after the latest call was stored
  and once it had started; the new call is then no sooner than ``GO_NO_GO_RETRY`` after that
  decision, so it gets the same notice as the first. A no-go recorded (on an earlier call)
  before the latest call started adds none: that waiting call is the retry;
- or no decision counts and the latest call was stored before the soak clock last (re)started
  (a rollback below the current stage and back): that call was for an earlier soak;
- or no decision counts and the latest call was stored before the latest rollback out of the
  stage the call is for (:func:`charter.gates.rolled_back_from`: e.g. every client rolled back
  from production to canary, whose soak clock kept running): a decision from before it no
  longer counts, and the new call, like one after a no-go, is no sooner than ``GO_NO_GO_RETRY``
  after the rollback;
- or no decision counts and the latest call was over (its start plus its length) at or before
  the latest report that brought the call's stage a release (:func:`charter.soak.brought`: a
  client's first report for it, or a new version; from any client, on that stage or not, by
  ``ready`` or a GitHub release): the call could not see that release, so what it decided (go
  or no-go) no longer counts, and the new call is no sooner than ``GO_NO_GO_RETRY`` after the
  report (time to check the release).
  A call not over when the report comes decides on it: one that waits (starts after it), and
  one in progress (starts at or before it, ends after it), whose decision recorded after the
  report counts (a decision recorded before it no longer does: the call decides again). So a
  release reported while a call waits or runs adds no second call, and a no-go voided by a new
  release gets the one new call a release gets (it is the new release that the next call
  decides on).
A rollout that completed, was rolled back for good, or whose next stage needs no call (e.g. it
went back below the stage before) gets no call (:func:`bot.rollout_views.next_stage`); a
pending call it can no longer use is cancelled (:func:`bot.rollout_lifecycle.cancel_moot_calls`).
A report that voids the decision that counted stores the new call at once (the reply names it,
:func:`bot.rollouts.report`); the tick would store the same call, once. Made while the latest
call is in progress, it stores none: the reply says that call decides on the release.
Which attempt comes next follows from stored rows alone, so each attempt is created once.

Post-incident review calls: resolving an incident stores an ad-hoc call ``incident-review-<id>``
(kind ``incident-review``, one hour, titled "Post-incident review: incident <id> — <summary>")
on the review's due date (``incidents.review_within`` after resolution), at the time of day of
the charter's first meeting series in its zone, or 15:00 UTC with no series
(:func:`charter.incidents.review_at`); never sooner than an hour from now (then on the next
hour), and moved past any call it would overlap, as a go/no-go call is. It is announced and
audited like one, and gets the same reminders and an agenda ``GO_NO_GO_AGENDA`` before, which
lists the line naming the drafted review issue among its added items
(:func:`schedule_incident_review`). A confidential incident's call is private until the
incident is no longer confidential (its proposals disclosed:
:func:`storage.meetings.publish_adhoc`). Its id makes it once: an incident is resolved once (a
second ``incident resolve`` is refused), and a stored call is never stored again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import meetings_agenda as agenda
from bot.rollout_views import next_stage
from charter.effects import Announce, Audit, Effect
from charter.gates import GoNoGo, current_go_no_go, rolled_back_from
from charter.incidents import Incident, review_at
from charter.meetings import (
    AdhocMeeting,
    Occurrence,
    Reminder,
    Schedule,
    clashes,
    due_timers,
    find_occurrence,
    heir,
    is_instance,
    localize,
    nominal_occurrence,
    occurrence_key,
    occurrences,
    parse_key,
    reminders_for,
    zone_of,
)
from charter.model import Charter, Meeting, format_duration
from charter.rollout_facts import ReadyReport, Rollout
from charter.soak import brought, replaced, replacing
from storage import meetings as store, proposals as proposal_store, rollouts as rollout_store
from storage.models.meetings import AdhocMeetingRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

REMINDER_GRACE = timedelta(minutes=10)
LOOKBACK = timedelta(days=1)
GO_NO_GO_LEAD = timedelta(days=2)
GO_NO_GO_LENGTH = timedelta(hours=1)
ADHOC_REMINDERS = (timedelta(hours=1), timedelta(minutes=10))
GO_NO_GO_AGENDA = timedelta(hours=24)
GO_NO_GO_RETRY = GO_NO_GO_LEAD  # a call after a no-go is at least this long after it
GO_NO_GO_CLASH_TRIES = 24  # how many times a go/no-go call is moved past overlapping calls
REVIEW_KIND = store.REVIEW_KIND  # a post-incident review call (AdhocMeetingRow.kind)
REVIEW_LENGTH = timedelta(hours=1)


@dataclass(frozen=True)
class Timer:
    call: agenda.Call
    occurrence: Occurrence
    timer: Reminder


def adhoc_call(row: AdhocMeetingRow) -> AdhocMeeting:
    """A stored ad-hoc call with its reminder settings (go/no-go and post-incident review
    calls also get an agenda)."""
    before = GO_NO_GO_AGENDA if row.kind in ("go-no-go", REVIEW_KIND) else None
    return store.to_adhoc(row, reminders=ADHOC_REMINDERS, agenda_before=before)


def calls(session: Session, charter: Charter, since: datetime) -> list[agenda.Call]:
    """Every series of the charter and every ad-hoc call starting at or after ``since``."""
    adhoc = [adhoc_call(r) for r in store.adhoc_rows(session, since=since)]
    return [*charter.meetings, *adhoc]


def _reach(call: agenda.Call) -> timedelta:
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
    for item, outcome in _decide(timers(session, charter, now), now, store.last_fired(session)):
        if not store.claim_timer(session, item.timer, outcome, now) or outcome != "fired":
            continue
        fired += 1
        if item.timer.kind == "agenda":
            _post_agenda(gov, session, item, now)
        else:
            _remind(gov, session, item, now)
    return fired


def _announce(
    call: agenda.Call, occ: Occurrence, charter: Charter, title: str, text: str, **extra: str
) -> Announce:
    data = {"meeting": call.id, "occurrence": occ.key, "starts_at": occ.starts_at.isoformat()}
    data.update(extra)
    return Announce(
        kind="meeting",
        title=title,
        text=text,
        confidential=agenda.is_private(call, charter),
        data=data,
    )


def _time_left(left: timedelta) -> str:
    """How long until a call starts, as a reminder says it: to the minute under an hour
    ("3m"), to five minutes under a day ("1h", "23h50m"), to the hour from a day on ("1d",
    "36h"); at least a minute."""
    step = timedelta(minutes=1)
    if left >= timedelta(days=1):
        step = timedelta(hours=1)
    elif left >= timedelta(hours=1):
        step = timedelta(minutes=5)
    rounded = max(step, round(left / step) * step)
    hours, minutes = divmod(int(rounded.total_seconds()) // 60, 60)
    return f"{hours}h{minutes}m" if hours and minutes else format_duration(rounded)


def _remind(gov: Governance, session: Session, item: Timer, now: datetime) -> None:
    """A reminder says the time really left, not its nominal lead: it may fire up to
    ``REMINDER_GRACE`` late, for a call scheduled closer than its lead too (a short lead may
    even fire after the start: it then says how long ago the call started)."""
    occ, call = item.occurrence, item.call
    left, half = occ.starts_at - now, timedelta(seconds=30)
    if left >= half:
        when = f"starts in {_time_left(left)}"
    elif left > -half:
        when = "starts now"
    else:
        when = f"started {_time_left(-left)} ago"
    text = f"{call.title} {when}."  # the notice's When says at what time
    gov.effects(
        session,
        [
            _announce(
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
    if not agenda.is_private(call, gov.charter):
        agenda.queue_post(session, occ, built, now)
    text = built.body_markdown.split("\n", 1)[1]  # without the hidden marker line
    effects: list[Effect] = [
        _announce(call, occ, gov.charter, built.title, text, agenda=occ.key),
        Audit("meeting-agenda-posted", f"meeting:{occ.key}", {"title": built.title}),
    ]
    gov.effects(session, effects, "charterbot", now)


def _unfinished(
    call: agenda.Call, now: datetime, schedule: Schedule
) -> list[tuple[Occurrence, bool]]:
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
        if call.agenda_before is not None and not agenda.is_private(call, charter)
        for occ, cancelled in _unfinished(call, now, schedule)
    ]
    posted = store.posted_agendas(session, keys={occ.key for _, occ, _ in candidates})
    queued = 0
    for call, occ, cancelled in candidates:
        if occ.key in posted:
            if isinstance(call, Meeting):  # amended back to an hour it had: its issue again
                agenda.adopt(session, call, occ, now)
            built = agenda.agenda_for(session, charter, call, occ, now, cancelled=cancelled)
            queued += agenda.queue_post(session, occ, built, now)
    for meeting in charter.meetings:
        if meeting.agenda_before is not None and not agenda.is_private(meeting, charter):
            queued += _cancel_removed(gov, session, meeting, now)
    return queued


def _cancel_removed(gov: Governance, session: Session, meeting: Meeting, now: datetime) -> int:
    """Say "[Cancelled]" on the posted agenda of each call of ``meeting`` that an amendment
    removed (the series' rule no longer produces its key) and that no call of its day will take
    over (:func:`charter.meetings.heir`: none that day, or one with an issue of its own, or one
    over already), until its nominal end. Else its issue would go on announcing it."""
    before = meeting.agenda_before or timedelta(0)
    posted = store.posted_since(session, meeting.id, now - meeting.duration - before)
    stale = {k for k in posted if not is_instance(meeting, parse_key(k)[1])}
    queued = 0
    for key in sorted(store.holding_agendas(session, stale, items=False)):
        occ = nominal_occurrence(meeting, key)
        if occ.ends_at <= now or store.outcomes(session, key):
            continue
        local = heir(meeting, key)
        if local is not None:
            taker = nominal_occurrence(meeting, occurrence_key(meeting.id, local))
            own = store.holding_agendas(session, [taker.key], items=False)
            if not own and taker.ends_at > now:
                continue  # it takes this agenda over when its own is posted
        built = agenda.agenda_for(session, gov.charter, meeting, occ, now, cancelled=True)
        queued += agenda.queue_post(session, occ, built, now)
    return queued


def schedule_go_no_go(gov: Governance, session: Session, now: datetime) -> int:
    """Store a go/no-go call for each rollout whose soak before such a stage is about to end,
    and a new attempt where the latest call no longer stands (see the module rules)."""
    live = rollout_store.rollouts(session, gov.charter, active_only=True)
    return sum(schedule_next_call(gov, session, r, now) is not None for r in live)


def schedule_next_call(
    gov: Governance, session: Session, rollout: Rollout, now: datetime
) -> AdhocMeetingRow | None:
    """Store and announce the go/no-go call ``rollout`` needs now for the stage it enters next,
    if any (see the module rules); None when none is due."""
    charter = gov.charter
    target = next_stage(rollout, charter)
    stage = charter.stage(target) if target else None
    current = rollout.stage_name(charter) if rollout.stage_index >= 0 else None
    since = rollout.stage_entered_at.get(current) if current else None
    if stage is None or not stage.go_no_go_meeting or since is None:
        return None
    soak_end = since + (stage.soak or timedelta(0))
    if now < soak_end - GO_NO_GO_LEAD:
        return None
    earlier = store.go_no_go_calls(session, rollout.proposal, stage.id)
    decisions = rollout_store.go_no_go(session, rollout.proposal)
    back, release = rolled_back_from(stage, rollout), brought(rollout, stage.id)
    due = _attempt_due(
        current_go_no_go(stage, rollout, decisions, charter),
        earlier,
        since,
        soak_end,
        rolled_back=None if back is None else back.at,
        released=None if release is None else release.at,
    )
    if due is None:
        return None
    not_before, why = due
    if why == "restarted":
        why = f"the soak on {current} restarted {since:%Y-%m-%d %H:%M} UTC"
    elif why == "rolled-back" and back is not None:
        why = f"a rollback out of {stage.id} ({back.by}, {back.at:%Y-%m-%d %H:%M} UTC)"
    elif why == "released" and release is not None:
        why = _new_release(rollout, release)
    # A confidential rollout's call is private until its proposal is disclosed.
    stored = proposal_store.load(session, rollout.proposal)
    private = rollout.confidential and not (stored is not None and stored.disclosed)
    call_id = store.free_adhoc_id(session, f"go-no-go-{rollout.proposal}-{stage.id}")
    return _store_go_no_go(
        gov,
        session,
        call_id,
        rollout.proposal,
        stage.id,
        not_before,
        now,
        private=private,
        attempt=len(earlier) + 1,
        why=why,
    )


def running_call(
    session: Session, proposal: int, stage: str, now: datetime
) -> AdhocMeetingRow | None:
    """The latest go/no-go call for ``proposal`` entering ``stage`` when it is in progress at
    ``now`` (a release reported now is its to decide on), else None."""
    found = store.go_no_go_calls(session, proposal, stage)
    if not found:
        return None
    return found[-1] if aware(found[-1].starts_at) <= now < _ends(found[-1]) else None


def _ends(row: AdhocMeetingRow) -> datetime:
    """When a stored call ends (UTC)."""
    return aware(row.starts_at) + timedelta(seconds=row.duration_seconds)


def _new_release(rollout: Rollout, report: ReadyReport) -> str:
    """The report that brought the call's stage a release, as the reason for a new call:
    "aurora's 2.0.0 replaced 1.0.0 for production (…)" or "borealis reported 1.0.0 for …"."""
    old = replaced(rollout, report)
    what = f"{report.client} reported {report.version}" if old is None else replacing(report, old)
    return f"{what} for {report.stage} ({report.at:%Y-%m-%d %H:%M} UTC)"


def _attempt_due(
    decided: GoNoGo | None,
    earlier: list[AdhocMeetingRow],
    since: datetime,
    soak_end: datetime,
    *,
    rolled_back: datetime | None = None,
    released: datetime | None = None,
) -> tuple[datetime, str] | None:
    """The earliest start of a new go/no-go call for the current soak (which began ``since``)
    and why it is needed ("first", "no-go": made once the latest call had started, "restarted",
    "rolled-back": clients were rolled back out of the call's stage at ``rolled_back``, or
    "released": a report brought the call's stage a release at ``released``, once the latest
    call was over), or None while the latest of the ``earlier`` calls still stands (a call
    waiting or in progress decides on a release reported meanwhile, and a call waiting when a
    no-go was recorded is its retry). ``decided`` is the decision that counts
    (:func:`charter.gates.current_go_no_go`: none from before the soak, the rollback or the
    release)."""
    if not earlier:
        return soak_end, "first"
    latest = earlier[-1]
    stored_at, starts = aware(latest.created_at), aware(latest.starts_at)
    if decided is None:
        if rolled_back is not None and since <= rolled_back and stored_at < rolled_back:
            return max(soak_end, rolled_back + GO_NO_GO_RETRY), "rolled-back"
        if stored_at < since:
            return soak_end, "restarted"
        # A call not over when the release came decides on it: no second call while it waits
        # or runs (what it decides after the report counts, current_go_no_go).
        if released is not None and _ends(latest) <= released:
            return max(soak_end, released + GO_NO_GO_RETRY), "released"
        return None
    # A no-go made before the latest call started (on an earlier one) is that call's to
    # decide on: it is the retry, not a call beside it.
    if decided.decision == "no-go" and decided.at >= stored_at and starts <= decided.at:
        return max(soak_end, decided.at + GO_NO_GO_RETRY), "no-go"
    return None


def _hour_up(at: datetime) -> datetime:
    hours = math.ceil(at.astimezone(UTC).timestamp() / 3600)
    return datetime.fromtimestamp(hours * 3600, UTC)


def _free_start(
    session: Session, charter: Charter, start: datetime, length: timedelta, now: datetime
) -> tuple[datetime, list[agenda.Call]]:
    """The first start at or after ``start`` where a call of ``length`` overlaps no other call,
    and the calls it was moved past. The same people sit in every call, and
    ``meeting decide`` records on the call in progress, so a go/no-go call must not overlap
    another one. Each move goes to the end of the overlapping calls, rounded up to the hour;
    after ``GO_NO_GO_CLASH_TRIES`` moves ``start`` is kept: better a clash than no call."""
    schedule = store.schedule(session)
    others = calls(session, charter, now - LOOKBACK - timedelta(days=1))
    by_id = {call.id: call for call in others}
    at, passed = start, dict[str, agenda.Call]()
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
        at = _hour_up(max(o.ends_at for o in hits))
    return start, []


def _follows(passed: list[agenda.Call], charter: Charter, *, private: bool) -> str:
    """The line saying which calls a new call was moved past ("" for none). A public call's
    announcement names no private call (a confidential rollout's go/no-go, a confidential
    incident's review, the security council's): it says "another call" instead."""
    if not passed:
        return ""
    names = [c.title for c in passed if private or not agenda.is_private(c, charter)]
    hidden = len(passed) - len(names)
    if hidden:
        names.append("another call" if hidden == 1 else f"{hidden} other calls")
    return f" It follows {' and '.join(names)}, so that the calls do not overlap."


def _store_go_no_go(
    gov: Governance,
    session: Session,
    call_id: str,
    proposal: int,
    stage: str,
    not_before: datetime,
    now: datetime,
    *,
    private: bool = False,
    attempt: int = 1,
    why: str = "first",
) -> AdhocMeetingRow:
    """Store the call and return it (``attempt`` > 1: a new call after a no-go, a restarted
    soak, a rollback or a new release; ``why`` says which); a ``private`` one (a confidential
    rollout not yet disclosed) is announced only on private channels and gets no public agenda
    issue."""
    wanted = _hour_up(max(not_before, now + timedelta(hours=1)))
    starts, passed = _free_start(session, gov.charter, wanted, GO_NO_GO_LENGTH, now)
    title = f"Go/no-go: #{proposal} to {stage}" + (f" (attempt {attempt})" if attempt > 1 else "")
    row = AdhocMeetingRow(
        id=call_id,
        kind="go-no-go",
        title=title,
        starts_at=starts,
        duration_seconds=int(GO_NO_GO_LENGTH.total_seconds()),
        timezone=gov.charter.charter.timezone,
        proposal=proposal,
        stage=stage,
        private=private,
        created_by="charterbot",
        created_at=now,
    )
    session.add(row)
    store.bump_revision(session, call_id, now)
    occ = adhoc_call(row).occurrence()
    if attempt > 1:
        reason = "the last call decided no-go" if why == "no-go" else why
        lead = (
            f"A new go/no-go call (attempt {attempt}) for #{proposal} entering {stage} is "
            f"scheduled: {reason}, so the earlier decision no longer counts."
        )
    else:
        lead = (
            f"A go/no-go call for #{proposal} entering {stage} is scheduled for when the soak ends."
        )
    lead += _follows(passed, gov.charter, private=private)
    text = (
        f"{lead} Record the outcome on the call "
        f"with `/charter meeting decide go` or `/charter meeting decide no-go <why>`."
    )
    payload: dict[str, Any] = {
        "proposal": proposal,
        "stage": stage,
        "starts_at": starts.isoformat(),
    }
    if attempt > 1:
        payload["attempt"] = attempt
    effects: list[Effect] = [
        _announce(adhoc_call(row), occ, gov.charter, title, text),
        Audit("meeting-scheduled", f"meeting:{call_id}", payload),
    ]
    gov.effects(session, effects, "charterbot", now)
    return row


def schedule_incident_review(
    gov: Governance,
    session: Session,
    incident: Incident,
    due: datetime,
    now: datetime,
    *,
    drafted: str,
    private: bool = False,
) -> AdhocMeetingRow | None:
    """Store the post-incident review of ``incident``, due at ``due``, as an ad-hoc call (see
    the module rules), ``drafted`` (where its review was drafted) the first item of its agenda;
    ``private`` for a confidential incident. None when it is stored already."""
    call_id = store.review_call_id(incident.id)
    if store.adhoc_exists(session, call_id):
        return None
    at, zone = review_at(gov.charter, due)
    soonest = now + timedelta(hours=1)
    wanted = at if at >= soonest else _hour_up(soonest)
    starts, passed = _free_start(session, gov.charter, wanted, REVIEW_LENGTH, now)
    summary = " ".join(incident.summary.split())
    row = AdhocMeetingRow(
        id=call_id,
        kind=REVIEW_KIND,
        title=f"Post-incident review: incident {incident.id} — {summary}",
        starts_at=starts,
        duration_seconds=int(REVIEW_LENGTH.total_seconds()),
        timezone=zone,
        private=private,
        created_by="charterbot",
        created_at=now,
    )
    session.add(row)
    store.bump_revision(session, call_id, now)
    call = adhoc_call(row)
    occ = call.occurrence()
    store.add_agenda_item(session, occ.key, drafted, "charterbot", now)
    lead = f"The post-incident review of incident {incident.id} is scheduled (due {due:%Y-%m-%d})."
    lead += _follows(passed, gov.charter, private=private)
    payload = {"incident": incident.id, "starts_at": starts.isoformat(), "due": due.isoformat()}
    effects: list[Effect] = [
        _announce(call, occ, gov.charter, row.title, f"{lead}\n{drafted}"),
        Audit("meeting-scheduled", f"meeting:{call_id}", payload),
    ]
    gov.effects(session, effects, "charterbot", now)
    return row


def tick(gov: Governance, session: Session, now: datetime) -> int:
    """The tick hook: go/no-go calls, due timers, then agenda edits."""
    made = schedule_go_no_go(gov, session, now)
    fired = fire_due(gov, session, now)
    refresh_agendas(gov, session, now)
    return made + fired
