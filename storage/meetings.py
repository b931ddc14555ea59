"""Meeting state: what people changed about calls (cancelled, moved, scheduled, revised).

Elsewhere: agendas (:mod:`storage.agendas`), what was decided (:mod:`storage.meeting_outcomes`),
which timers were handled (:mod:`storage.meeting_timers`).

Rules:
- Every change to a series or ad-hoc call raises its revision (ICS SEQUENCE) by one.
- A moved ad-hoc call keeps its start in ``adhoc_meeting.starts_at`` and is also recorded in
  ``meeting_exception`` under the key of its *first* start (as a moved series instance is), so
  :func:`to_adhoc` gives it that key back wherever it is moved: its agenda issue, agenda items
  and outcomes stay with it.
- A scheduled ad-hoc call's id ends in a random suffix (:func:`new_adhoc_id`), never in a
  number that depends on the calls already stored, so it cannot reveal a private one.
- Confirmation tokens (a scheduling request awaiting ``/charter confirm``):
  :mod:`storage.meeting_confirmations`.
- A private ad-hoc call is made public when what kept it private is disclosed
  (:func:`publish_adhoc`): a call about a proposal, when that proposal is; a post-incident
  review call, when its incident is no longer confidential.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from charter.meetings import AdhocMeeting, Schedule, localize, parse_key, zone_of
from storage.dashboard_queries import confidential_incidents
from storage.models.meetings import (
    AdhocMeetingRow,
    MeetingExceptionRow,
    MeetingRevisionRow,
)
from storage.times import aware

# -- exceptions, ad-hoc calls, revisions ------------------------------------------------------


def schedule(session: Session) -> Schedule:
    """Every cancelled and moved occurrence of the charter's series."""
    rows = session.exec(select(MeetingExceptionRow)).all()
    cancelled = frozenset(r.occurrence_key for r in rows if r.kind == "cancelled")
    moved = {r.occurrence_key: aware(r.moved_to) for r in rows if r.moved_to is not None}
    return Schedule(cancelled=cancelled, moved=moved)


def set_exception(
    session: Session,
    *,
    key: str,
    meeting_id: str,
    moved_to: datetime | None,
    by: str,
    now: datetime,
) -> None:
    """Cancel (``moved_to`` None) or move one occurrence; a later change replaces an earlier."""
    row = session.get(MeetingExceptionRow, key) or MeetingExceptionRow(
        occurrence_key=key, meeting_id=meeting_id, kind="cancelled", by=by, at=now
    )
    row.kind = "cancelled" if moved_to is None else "moved"
    row.moved_to, row.by, row.at = moved_to, by, now
    session.add(row)
    session.info.pop(_FIRST_KEYS, None)  # an ad-hoc call may just have been moved


def adhoc_rows(session: Session, *, since: datetime | None = None) -> list[AdhocMeetingRow]:
    stmt = select(AdhocMeetingRow).order_by(col(AdhocMeetingRow.starts_at), col(AdhocMeetingRow.id))
    if since is not None:
        stmt = stmt.where(col(AdhocMeetingRow.starts_at) >= since)
    return list(session.exec(stmt).all())


def to_adhoc(
    row: AdhocMeetingRow,
    *,
    reminders: tuple[timedelta, ...] = (),
    agenda_before: timedelta | None = None,
) -> AdhocMeeting:
    """The call stored in ``row``; one moved since it was scheduled gets its first start back
    (read in the row's session), so that it keeps its occurrence key."""
    return AdhocMeeting(
        id=row.id,
        title=row.title,
        starts_at=aware(row.starts_at),
        duration=timedelta(seconds=row.duration_seconds),
        timezone=row.timezone,
        agenda_before=agenda_before,
        reminders=reminders,
        cancelled=row.cancelled,
        private=row.private,
        first_start=_first_start(row),
    )


_FIRST_KEYS = "charterbot.meeting-exception-keys"  # session.info: meeting id -> a key


def _first_start(row: AdhocMeetingRow) -> datetime | None:
    """Where a moved ad-hoc call was first scheduled: the key its move is recorded under. The
    keys are read once per session (a feed lists every call), again after a change."""
    session = object_session(row)
    if session is None:  # a row never stored has never been moved
        return None
    keys: dict[str, str] | None = session.info.get(_FIRST_KEYS)
    if keys is None:
        pairs = sa.select(
            col(MeetingExceptionRow.meeting_id), col(MeetingExceptionRow.occurrence_key)
        )
        keys = session.info[_FIRST_KEYS] = {m: k for m, k in session.execute(pairs)}
    key = keys.get(row.id)
    return None if key is None else localize(parse_key(key)[1], zone_of(row.timezone))


REVIEW_KIND = "incident-review"  # a post-incident review call (``adhoc_meeting.kind``)


def review_call_id(incident: str) -> str:
    """The id of the post-incident review call of ``incident`` (one per incident)."""
    return f"{REVIEW_KIND}-{incident}"


def publish_adhoc(session: Session, proposal: int) -> int:
    """Make the private calls about ``proposal`` public (it was disclosed), and the review
    calls of the incidents no longer confidential now (none names or held paused a proposal
    still undisclosed: :func:`storage.dashboard_queries.confidential_incidents`); returns how
    many."""
    private = select(AdhocMeetingRow).where(col(AdhocMeetingRow.private).is_(True))
    rows = list(session.exec(private.where(AdhocMeetingRow.proposal == proposal)).all())
    reviews = session.exec(private.where(AdhocMeetingRow.kind == REVIEW_KIND)).all()
    if reviews:
        secret = {review_call_id(i) for i in confidential_incidents(session)}
        rows += [r for r in reviews if r.id not in secret]  # about no proposal: not in rows
    for row in rows:
        row.private = False
        session.add(row)
    return len(rows)


def adhoc_exists(session: Session, call_id: str) -> bool:
    return session.get(AdhocMeetingRow, call_id) is not None


def go_no_go_calls(session: Session, proposal: int, stage: str) -> list[AdhocMeetingRow]:
    """The go/no-go calls stored for ``proposal`` entering ``stage``, first attempt first."""
    stmt = (
        select(AdhocMeetingRow)
        .where(AdhocMeetingRow.kind == "go-no-go")
        .where(AdhocMeetingRow.proposal == proposal)
        .where(AdhocMeetingRow.stage == stage)
        .order_by(col(AdhocMeetingRow.created_at), col(AdhocMeetingRow.id))
    )
    return list(session.exec(stmt).all())


# Lower-case letters and digits that cannot be misread for one another (no 0/o, 1/l/i).
CALL_SUFFIX_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CALL_SUFFIX_LENGTH = 4


def random_call_suffix() -> str:
    return "".join(secrets.choice(CALL_SUFFIX_ALPHABET) for _ in range(CALL_SUFFIX_LENGTH))


def new_adhoc_id(session: Session, base: str, draw: Callable[[], str] | None = None) -> str:
    """``base-<suffix>`` with a random suffix (``call-20261129-1800-k3m9``), drawn again in the
    rare case it is taken. Every new call gets one, whatever else is stored, so an id says
    nothing about other calls: a suffix counting the calls before it (:func:`free_adhoc_id`'s
    ``-2``) would tell anyone who sees a public call that a private one took its slot."""
    while True:
        candidate = f"{base}-{(draw or random_call_suffix)()}"
        if session.get(AdhocMeetingRow, candidate) is None:
            return candidate


def free_adhoc_id(session: Session, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is not taken yet."""
    candidate, n = base, 1
    while session.get(AdhocMeetingRow, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def bump_revision(session: Session, series: str, now: datetime) -> int:
    row = session.get(MeetingRevisionRow, series, with_for_update=True)
    if row is None:
        row = MeetingRevisionRow(series=series, revision=0, updated_at=now)
    row.revision += 1
    row.updated_at = now
    session.add(row)
    return row.revision


def revisions(session: Session) -> dict[str, int]:
    return {r.series: r.revision for r in session.exec(select(MeetingRevisionRow)).all()}


def revised(session: Session) -> dict[str, datetime]:
    """When each series or ad-hoc call was last revised (cancelled, moved, or a call
    created): its ``meeting_revision`` time, else an ad-hoc call's creation."""
    found = {r.id: aware(r.created_at) for r in session.exec(select(AdhocMeetingRow)).all()}
    for r in session.exec(select(MeetingRevisionRow)).all():
        found[r.series] = aware(r.updated_at)
    return found
