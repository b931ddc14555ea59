"""Meeting state: what people changed about calls, what was decided, which timers were handled.

Rules:
- :func:`claim_timer` is the exactly-once guard: ``INSERT … ON CONFLICT DO NOTHING`` on the
  UNIQUE timer key, in the caller's transaction. It returns True only to the one transaction
  that inserted the row; whatever that transaction also writes (the reminder's outbox item, the
  agenda post) commits or rolls back with it. On PostgreSQL a concurrent insert of the same key
  waits for the first transaction and then conflicts, so two replicas cannot both fire.
- :func:`last_fired` is the misfire policy's memory: per timer series, the ``fires_at`` of the
  latest timer handled (fired or missed); see :func:`charter.meeting_timers.due_timers`.
- Every change to a series or ad-hoc call raises its revision (ICS SEQUENCE) by one.
- A moved ad-hoc call keeps its start in ``adhoc_meeting.starts_at`` and is also recorded in
  ``meeting_exception`` under the key of its *first* start (as a moved series instance is), so
  :func:`to_adhoc` gives it that key back wherever it is moved: its agenda issue, agenda items
  and outcomes stay with it.
- An agenda counts as posted once its timer fired (:func:`posted_agendas`); its GitHub issue
  follows the occurrence's key, which :func:`rekey_agenda` changes when an amended series takes
  over a stale agenda.
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
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from charter.meeting_timers import Reminder
from charter.meetings import AdhocMeeting, Schedule, localize, parse_key, zone_of
from storage.dashboard_queries import confidential_incidents
from storage.models.core import OutboxRow
from storage.models.meetings import (
    AdhocMeetingRow,
    AgendaIssueRow,
    AgendaItemRow,
    FiredTimerRow,
    MeetingExceptionRow,
    MeetingOutcomeRow,
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


# -- agendas ----------------------------------------------------------------------------------


def agenda_issue(session: Session, key: str) -> AgendaIssueRow | None:
    return session.get(AgendaIssueRow, key)


def save_agenda_issue(session: Session, key: str, number: int, digest: str, now: datetime) -> None:
    row = session.get(AgendaIssueRow, key)
    if row is None:
        row = AgendaIssueRow(
            occurrence_key=key,
            issue_number=number,
            body_sha256=digest,
            created_at=now,
            updated_at=now,
        )
    row.issue_number, row.body_sha256, row.updated_at = number, digest, now
    session.add(row)


def posted_agendas(
    session: Session, *, keys: Collection[str] = (), prefix: str | None = None
) -> set[str]:
    """Of the occurrence ``keys`` (and of the keys starting with ``prefix``), those whose
    agenda was posted: an agenda timer of theirs fired."""
    stmt = (
        sa.select(col(FiredTimerRow.occurrence_key))
        .where(col(FiredTimerRow.kind) == "agenda")
        .where(col(FiredTimerRow.outcome) == "fired")
    )
    which: list[sa.ColumnElement[bool]] = []
    if keys:
        which.append(col(FiredTimerRow.occurrence_key).in_(sorted(keys)))
    if prefix is not None:
        which.append(col(FiredTimerRow.occurrence_key).startswith(prefix, autoescape=True))
    if not which:
        return set()
    return set(session.execute(stmt.where(sa.or_(*which)).distinct()).scalars())


def posted_since(session: Session, series: str, since: datetime) -> set[str]:
    """The occurrences of the meeting ``series`` whose agenda timer was due at or after
    ``since`` and fired (their agenda was posted), whatever the series' rule now produces."""
    stmt = (
        sa.select(col(FiredTimerRow.occurrence_key))
        .where(col(FiredTimerRow.occurrence_key).startswith(f"{series}@", autoescape=True))
        .where(col(FiredTimerRow.kind) == "agenda")
        .where(col(FiredTimerRow.outcome) == "fired")
        .where(col(FiredTimerRow.fires_at) >= since)
    )
    return set(session.execute(stmt.distinct()).scalars())


def pending_key(occurrence_key: str) -> str:
    """The outbox key of the agenda post of ``occurrence_key`` waiting for the relay."""
    return f"agenda-issue:{occurrence_key}:pending"


def holding_agendas(session: Session, keys: Collection[str], *, items: bool = True) -> set[str]:
    """Of the occurrence ``keys``, those whose agenda still holds something: a GitHub issue, a
    post waiting for the relay or (``items``) items people added. One taken over by another
    occurrence (:func:`rekey_agenda`) holds nothing, though its agenda timer fired."""
    wanted = sorted(keys)
    if not wanted:
        return set()
    issue = col(AgendaIssueRow.occurrence_key)
    found = set(session.execute(sa.select(issue).where(issue.in_(wanted))).scalars())
    posts = {pending_key(k): k for k in wanted}
    waiting = sa.select(col(OutboxRow.key)).where(col(OutboxRow.key).in_(sorted(posts)))
    found.update(posts[k] for k in session.execute(waiting).scalars())
    if items:
        added = col(AgendaItemRow.occurrence_key)
        found.update(session.execute(sa.select(added).where(added.in_(wanted))).scalars())
    return found


def rekey_agenda(session: Session, old: str, new: str, now: datetime) -> bool:
    """Give the agenda of occurrence ``old`` to occurrence ``new``: the items people added and,
    unless ``new`` has one already, its GitHub issue (edited at the next post, as the body
    differs). True when anything moved."""
    items = agenda_items(session, old)
    for item in items:
        item.occurrence_key = new
        session.add(item)
    issue = session.get(AgendaIssueRow, old)
    if issue is not None and session.get(AgendaIssueRow, new) is None:
        session.add(
            AgendaIssueRow(
                occurrence_key=new,
                issue_number=issue.issue_number,
                body_sha256=issue.body_sha256,
                created_at=issue.created_at,
                updated_at=now,
            )
        )
        session.delete(issue)
        return True
    return bool(items)


def waiting_post(session: Session, outbox_key: str) -> OutboxRow | None:
    """The outbox item holding the coalescing key ``outbox_key``: queued and not taken for
    sending yet (taking it frees the key, see :mod:`storage.outbox`), locked until the caller
    commits (a relay taking it meanwhile waits; one that read it just before sends the text it
    read, and the next agenda refresh queues the newer one)."""
    stmt = select(OutboxRow).where(OutboxRow.key == outbox_key).with_for_update()
    return session.exec(stmt).first()


def add_agenda_item(session: Session, key: str, text: str, by: str, now: datetime) -> None:
    session.add(AgendaItemRow(occurrence_key=key, text=text, added_by=by, added_at=now))


def agenda_items(session: Session, key: str) -> list[AgendaItemRow]:
    stmt = select(AgendaItemRow).where(AgendaItemRow.occurrence_key == key)
    return list(session.exec(stmt.order_by(col(AgendaItemRow.id))).all())


# -- outcomes ---------------------------------------------------------------------------------


def add_outcome(
    session: Session,
    *,
    key: str,
    meeting_id: str,
    kind: str,
    text: str,
    by: str,
    now: datetime,
    owner: str = "",
) -> MeetingOutcomeRow:
    row = MeetingOutcomeRow(
        occurrence_key=key, meeting_id=meeting_id, kind=kind, text=text, owner=owner, by=by, at=now
    )
    session.add(row)
    session.flush()
    return row


def outcomes(session: Session, key: str) -> list[MeetingOutcomeRow]:
    stmt = select(MeetingOutcomeRow).where(MeetingOutcomeRow.occurrence_key == key)
    return list(session.exec(stmt.order_by(col(MeetingOutcomeRow.id))).all())


def open_actions(session: Session) -> list[MeetingOutcomeRow]:
    stmt = (
        select(MeetingOutcomeRow)
        .where(MeetingOutcomeRow.kind == "action")
        .where(col(MeetingOutcomeRow.done).is_(False))
        .order_by(col(MeetingOutcomeRow.id))
    )
    return list(session.exec(stmt).all())


def finish_action(
    session: Session, action_id: int, now: datetime, *, owner: str
) -> MeetingOutcomeRow | None:
    """Mark ``owner``'s open action item done; None (nothing changed) if there is no such item."""
    row = session.get(MeetingOutcomeRow, action_id)
    if row is None or row.kind != "action" or row.done or row.owner != owner:
        return None
    row.done, row.done_at = True, now
    session.add(row)
    return row


# -- timers -----------------------------------------------------------------------------------


def claim_timer(session: Session, timer: Reminder, outcome: str, now: datetime) -> bool:
    """Record ``timer`` as fired or missed; True only for the transaction that recorded it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(FiredTimerRow)
        .values(
            timer_key=timer.key,
            series=timer.series,
            occurrence_key=timer.occurrence_key,
            kind=timer.kind,
            outcome=outcome,
            fires_at=timer.fires_at,
            handled_at=now,
        )
        .on_conflict_do_nothing(index_elements=["timer_key"])
        .returning(col(FiredTimerRow.id))
    )
    # RETURNING, not rowcount: an ORM-enabled insert does not report rowcount on PostgreSQL.
    return session.execute(stmt).first() is not None


def last_fired(session: Session) -> dict[str, datetime]:
    series = col(FiredTimerRow.series)
    stmt = sa.select(series, sa.func.max(col(FiredTimerRow.fires_at))).group_by(series)
    return {name: aware(at) for name, at in session.execute(stmt).all()}


def fired_timers(
    session: Session, *, kind: str | None = None, since: datetime | None = None
) -> list[FiredTimerRow]:
    stmt = select(FiredTimerRow).order_by(col(FiredTimerRow.fires_at), col(FiredTimerRow.id))
    if kind is not None:
        stmt = stmt.where(FiredTimerRow.kind == kind)
    if since is not None:
        stmt = stmt.where(col(FiredTimerRow.fires_at) >= since)
    return list(session.exec(stmt).all())
