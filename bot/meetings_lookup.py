"""Finding calls and occurrences for commands: references, the call in progress, zones.

Rules:
- A meeting reference is an occurrence key (``core-sync@2026-03-26T15:00``), a series id (its
  next occurrence that has not started) or an ad-hoc call id (``call-20270301-1400-k3m9``;
  ids stored before random suffixes, ``call-20270301-1400``, keep working).
- "The current call" is the one in progress, else the one that started last (within ``RECENT``;
  an outcome without ``--call`` goes to it only within a day of its end:
  :data:`bot.meetings_outcomes.WRITE_UP`).
- A call named to record on (``--call``, :func:`held`) stands for its occurrence in progress,
  else its latest that started; an occurrence key names its own. One not started yet, or
  cancelled, is refused.
- A person's zone is the one stored with their linked identity, else the charter's.
- A private ad-hoc call (a confidential rollout's go/no-go, a call about an undisclosed
  confidential proposal) exists, for a person, only if they may see its proposal: the rule of
  ``proposals`` (:func:`bot.commands_core._visible`; a call whose proposal is not stored, only
  coordinators and the security council). Everyone else is never shown it, nor told its id, and
  cannot name it in a command (it is "no meeting"). Every lookup here takes the asker for that.
- A lookup for a public reply (``public``: a GitHub comment, which anyone reading the issue
  sees) sees calls as the public does: no private call (:func:`bot.meetings_is_private`,
  which also covers a series announced only to private channels) exists, whoever asks.
- A series announced only to private channels (the security council's sync) is listed to
  everyone (it is on the public calendar), but only its audience changes it: its agenda, its
  time, its action items (:func:`audience_refusal`, :mod:`charter.private_calls`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import meetings_calls
from bot.announcements import undisclosed_secrets
from bot.commands_core import _visible
from bot.messages import Actor, Message
from charter.effects import Announce
from charter.meetings import (
    AdhocMeeting,
    Call,
    MeetingError,
    Occurrence,
    is_private,
    localize,
    occurrences,
    parse_key,
    zone_of,
)
from charter.model import Charter
from charter.private_calls import CallChange, refusal
from storage import identities, meetings as store, proposals as repo
from storage.models.meetings import AdhocMeetingRow

if TYPE_CHECKING:
    from bot.service import Governance

RECENT = timedelta(days=35)  # how far back "the most recent call" is looked for


def user_zone(session: Session, gov: Governance, actor: Actor) -> str:
    row = identities.lookup(session, actor.surface, actor.surface_id)
    return (row.timezone if row is not None else None) or gov.charter.charter.timezone


def fail(text: str) -> Message:
    return Message.text_only(text, ok=False)


def may_see(
    session: Session, gov: Governance, call: Call, actor: Actor, *, public: bool = False
) -> bool:
    """Whether ``actor`` may see ``call`` (see the module rules); in a ``public`` reply, no
    private call is seen."""
    if public and is_private(call, gov.charter):
        return False
    if not (isinstance(call, AdhocMeeting) and call.private):
        return True
    row = session.get(AdhocMeetingRow, call.id)
    number = row.proposal if row is not None else None
    stored = repo.load(session, number) if number is not None else None
    if stored is None:
        return gov.may_see_confidential(actor)
    return _visible(gov, stored, actor)


def audience_refusal(
    gov: Governance,
    session: Session,
    call: Call,
    actor: Actor,
    change: CallChange,
    command: object,
    now: datetime,
) -> Message | None:
    """The refusal, audited, when ``change`` to ``call`` is not ``actor``'s to make: a private
    call's agenda, time and records are its audience's (:mod:`charter.private_calls`)."""
    why = refusal(call, gov.charter, actor, change)
    return None if why is None else gov.refuse(session, actor, command, why.reason, now)


def recent_calls(
    session: Session, gov: Governance, now: datetime, actor: Actor, *, public: bool = False
) -> list[Call]:
    """The series and the ad-hoc calls from ``RECENT`` ago on that ``actor`` may see (in a
    ``public`` reply, no private one)."""
    found = meetings_calls.calls(session, gov.charter, now - RECENT)
    return [call for call in found if may_see(session, gov, call, actor, public=public)]


def call_by_id(session: Session, gov: Governance, call_id: str, now: datetime) -> Call | None:
    if (meeting := gov.charter.meeting(call_id)) is not None:
        return meeting
    row = session.get(AdhocMeetingRow, call_id)
    return None if row is None else meetings_calls.adhoc_call(row)


def known_ids(
    session: Session, gov: Governance, now: datetime, actor: Actor, *, public: bool = False
) -> str:
    return ", ".join(call.id for call in recent_calls(session, gov, now, actor, public=public))


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
        start = localize(nominal, zone_of(call.timezone))
    window = occurrences(call, start - timedelta(minutes=1), until=start, schedule=schedule)
    found = next((o for o in window if o.key == key), None)
    return found or f"{key} is not an occurrence of {call.id}."


def _named(
    session: Session, gov: Governance, ref: str, now: datetime, actor: Actor, public: bool = False
) -> Call | str:
    """The call a meeting reference names; a call ``actor`` may not see (in a ``public`` reply,
    a private one) is no meeting."""
    try:
        call_id = parse_key(ref)[0] if "@" in ref else ref
    except MeetingError as exc:
        return str(exc)
    call = call_by_id(session, gov, call_id, now)
    if call is None or not may_see(session, gov, call, actor, public=public):
        known = known_ids(session, gov, now, actor, public=public)
        return f"There is no meeting {call_id}; known: {known}."
    return call


def resolve(
    session: Session,
    gov: Governance,
    ref: str,
    now: datetime,
    actor: Actor,
    *,
    public: bool = False,
) -> tuple[Call, Occurrence] | str:
    """A meeting reference (see the module rules) → the call and the occurrence it names; a
    call ``actor`` may not see (in a ``public`` reply, a private one) is no meeting."""
    call = _named(session, gov, ref, now, actor, public)
    if isinstance(call, str):
        return call
    if "@" in ref:
        found = _occurrence_of(session, call, ref)
        return found if isinstance(found, str) else (call, found)
    upcoming = occurrences(call, now, count=1, schedule=store.schedule(session))
    if not upcoming:
        return f"{ref} has no upcoming occurrence."
    return call, upcoming[0]


NOT_STARTED = "has not started: decisions are recorded on a call in progress or held"


def held(
    session: Session,
    gov: Governance,
    ref: str,
    now: datetime,
    actor: Actor,
    *,
    public: bool = False,
) -> tuple[Call, Occurrence] | str:
    """The occurrence a call named to record on (``--call``) stands for: an occurrence key's
    own, else the call's occurrence in progress or, if none, its latest that started (within
    ``RECENT``). One that has not started, or is cancelled, is refused; a call ``actor`` may
    not see (in a ``public`` reply, a private one) is no meeting (:func:`resolve`'s answer)."""
    call = _named(session, gov, ref, now, actor, public)
    if isinstance(call, str):
        return call
    if isinstance(call, AdhocMeeting) and call.cancelled:
        return f"{call.id} is cancelled."
    schedule = store.schedule(session)
    if "@" in ref:
        found = _occurrence_of(session, call, ref)
        if isinstance(found, str):
            return found
    elif isinstance(call, AdhocMeeting):
        found = call.occurrence()
    elif past := occurrences(call, now - RECENT, until=now, schedule=schedule):
        found = past[-1]
    else:
        return (
            f"{call.id} has had no call in the last {RECENT.days} days; name an earlier one by"
            f" its occurrence key ({call.id}@<date>T<time>)."
        )
    if found.starts_at > now:
        return f"{found.key} {NOT_STARTED}."
    return call, found


def started_calls(
    session: Session, gov: Governance, now: datetime, actor: Actor
) -> list[tuple[Call, Occurrence]]:
    """Each call ``actor`` may see with its occurrence that started last (within ``RECENT``)."""
    schedule = store.schedule(session)
    started: list[tuple[Call, Occurrence]] = []
    for call in recent_calls(session, gov, now, actor):
        past = occurrences(call, now - RECENT, until=now, schedule=schedule)
        if past:
            started.append((call, past[-1]))
    return started


def in_progress(
    started: list[tuple[Call, Occurrence]], now: datetime
) -> list[tuple[Call, Occurrence]]:
    """Those of ``started`` (:func:`started_calls`) still in progress at ``now``."""
    return [(call, o) for call, o in started if o.ends_at > now]


def latest(started: list[tuple[Call, Occurrence]], now: datetime) -> tuple[Call, Occurrence] | None:
    """Of ``started``, the call in progress (the one that started last), else the one that
    started last; ``None`` when none did."""
    live = in_progress(started, now)
    return max(live or started, key=lambda pair: (pair[1].starts_at, pair[1].key), default=None)


def announce(
    call: Call,
    charter: Charter,
    occ_key: str,
    title: str,
    text: str,
    *,
    starts_at: datetime,
    **data: Any,
) -> Announce:
    """A meeting announcement; a private call's (announced only to private channels, or a
    confidential go/no-go) stays on private channels. ``starts_at`` (the call's start) is the
    notice's When, shown in each reader's zone; the text names no time of its own."""
    payload = {
        "meeting": call.id,
        "occurrence": occ_key,
        "starts_at": starts_at.isoformat(),
        **data,
    }
    return Announce(
        kind="meeting",
        title=title,
        text=text,
        confidential=is_private(call, charter),
        data=payload,
    )


def undisclosed_secret(session: Session, gov: Governance, number: int | None) -> bool:
    """Whether a call about proposal ``number`` is private: it is confidential and undisclosed."""
    return number is not None and bool(undisclosed_secrets(gov, session, [number]))


def login_of(actor: Actor) -> str:
    return actor.login or actor.display or actor.surface_id


def preview_local(at: datetime, zone: str) -> str:
    local = at.astimezone(zone_of(zone))
    return f"{local:%a %Y-%m-%d %H:%M} {zone}"


def own_start(occ: Occurrence) -> str:
    """Where ``occ`` starts now in its call's own zone, named (``Thu 2026-04-02 15:00
    Europe/Berlin``, as :func:`preview_local` writes it): the zone its key is written in, said
    beside a key so that a start shown in UTC or the reader's zone does not seem to contradict
    the key's time (as the ``meetings`` listing does)."""
    zone = occ.local_start.tzinfo
    name = zone.key if isinstance(zone, ZoneInfo) else occ.local_start.strftime("%Z")
    return f"{occ.local_start:%a %Y-%m-%d %H:%M} {name}"
