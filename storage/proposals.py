"""Proposals: the aggregate stored as JSON, with derived columns for queries.

Rules:
- ``save`` writes the whole aggregate and re-derives every indexed column from it (state, track,
  confidentiality, the next deadline), so the columns can never disagree with the aggregate.
- ``next_due_at`` is recomputed on every save from stored timestamps (charter.deadlines), which
  is what lets the scheduler sleep until the earliest deadline and catch up after downtime.
- ``load(..., for_update=True)`` locks the row on PostgreSQL so two workers cannot decide the
  same proposal at once (SQLite's BEGIN IMMEDIATE already serialises writers).
- A transaction reads a proposal once: ``load`` and ``save`` keep it in a per-transaction cache
  (``session.info``), and a locked read is not repeated. Both use Core statements, never ORM
  objects, so nothing loaded through the ORM can go stale behind them; the cache also tells
  ``save`` whether the row exists (UPDATE) or is new (INSERT).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from charter.concerns import Concern
from charter.deadlines import next_due_at
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal, rules_for
from charter.votes import Outcome, Vote
from storage.models.core import ProposalRow
from storage.times import aware


@dataclass(frozen=True)
class Stored:
    """A proposal with what the application keeps beside the rules' aggregate."""

    proposal: Proposal
    intake_problems: tuple[str, ...] = ()
    disclosed: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _p(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _vote(v: Vote) -> dict[str, Any]:
    return {
        "voter": v.voter,
        "choice": v.choice.value,
        "reason": v.reason,
        "at": _t(v.at),
        "via": v.via,
    }


def _concern(c: Concern) -> dict[str, Any]:
    return {
        "name": c.name,
        "text": c.text,
        "raised_by": c.raised_by,
        "raised_at": _t(c.raised_at),
        "resolved_by": c.resolved_by,
        "resolved_at": _t(c.resolved_at),
    }


def to_json(stored: Stored) -> str:
    p = stored.proposal
    data = {
        "number": p.number,
        "title": p.title,
        "author": p.author,
        "track": p.track,
        "state": p.state.value,
        "fields": dict(p.fields),
        "charter_version": p.charter_version,
        "created_at": _t(p.created_at),
        "entered_review_at": _t(p.entered_review_at),
        "voting_opened_at": _t(p.voting_opened_at),
        "decided_at": _t(p.decided_at),
        "outcome": None if p.outcome is None else p.outcome.value,
        "votes": [_vote(v) for v in p.votes],
        "concerns": [_concern(c) for c in p.concerns],
        "withdrawn_by": p.withdrawn_by,
        "intake_problems": list(stored.intake_problems),
        "extra": dict(stored.extra),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str, *, disclosed: bool = False) -> Stored:
    return from_data(json.loads(text), disclosed=disclosed)


def from_data(d: Mapping[str, Any], *, disclosed: bool = False) -> Stored:
    """The stored proposal from its parsed JSON (``from_json`` without the parse)."""
    p = Proposal(
        number=d["number"],
        title=d["title"],
        author=d["author"],
        track=d["track"],
        state=State(d["state"]),
        fields=d["fields"],
        charter_version=d["charter_version"],
        created_at=datetime.fromisoformat(d["created_at"]),
        entered_review_at=_p(d["entered_review_at"]),
        voting_opened_at=_p(d["voting_opened_at"]),
        decided_at=_p(d["decided_at"]),
        outcome=None if d["outcome"] is None else Outcome(d["outcome"]),
        votes=tuple(
            Vote(v["voter"], v["choice"], v["reason"], datetime.fromisoformat(v["at"]), v["via"])
            for v in d["votes"]
        ),
        concerns=tuple(
            Concern(
                c["name"],
                c["text"],
                c["raised_by"],
                datetime.fromisoformat(c["raised_at"]),
                c["resolved_by"],
                _p(c["resolved_at"]),
            )
            for c in d["concerns"]
        ),
        withdrawn_by=d["withdrawn_by"],
    )
    return Stored(p, tuple(d.get("intake_problems", ())), disclosed, d.get("extra", {}))


def _cache(session: Session) -> dict[int, Stored]:
    """Proposals already read or written in this transaction (the service reads one several
    times per command); it lives in ``session.info`` and is dropped with the session."""
    cache: dict[int, Stored] = session.info.setdefault("charterbot.proposals", {})
    return cache


_TABLE: sa.Table = ProposalRow.__table__  # type: ignore[attr-defined]
_LOAD = sa.select(_TABLE.c.data, _TABLE.c.disclosed).where(_TABLE.c.number == sa.bindparam("n"))
_UPDATE = _TABLE.update().where(_TABLE.c.number == sa.bindparam("n"))


def load(session: Session, number: int, *, for_update: bool = False) -> Stored | None:
    cached = _cache(session).get(number)
    if cached is not None and (not for_update or session.info.get(("locked", number))):
        return cached
    stmt = _LOAD
    if for_update:
        # SQLite's BEGIN IMMEDIATE already holds the write lock: the row needs no lock of its own.
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        session.info[("locked", number)] = True
    session.flush()  # what the ORM's autoflush would do before a query
    row = session.connection().execute(stmt, {"n": number}).first()
    if row is None:
        return None
    stored = from_json(row.data, disclosed=row.disclosed)
    _cache(session)[number] = stored
    return stored


def save(session: Session, stored: Stored, charter: Charter, now: datetime) -> None:
    """Write the aggregate and its derived columns (one UPDATE, or an INSERT for a new one)."""
    p = stored.proposal
    charter = rules_for(p, charter)  # the version the proposal was opened under
    track = charter.tracks.get(p.track)
    values = {
        "title": p.title,
        "author": p.author,
        "track": p.track,
        "state": p.state.value,
        "confidential": bool(track and track.confidential),
        "disclosed": stored.disclosed,
        "updated_at": now,
        "next_due_at": next_due_at(p, charter) if track is not None else None,
        "data": to_json(stored),
    }
    session.flush()  # keep the ORM's order: its pending writes go first
    connection = session.connection()
    if p.number in _cache(session):  # read or written in this transaction: the row exists
        connection.execute(_UPDATE, {"n": p.number, **values})
    elif connection.execute(_UPDATE, {"n": p.number, **values}).rowcount == 0:
        insert = {"number": p.number, "created_at": p.created_at, **values}
        connection.execute(_TABLE.insert(), insert)
    _cache(session)[p.number] = stored


def due(session: Session, now: datetime, grace: timedelta = timedelta(0)) -> Sequence[int]:
    """Numbers of proposals whose next deadline has come (or passed while we were down).

    A proposal in voting is due ``grace`` after its deadline: votes cast before the deadline
    may still be on their way (a webhook in flight, the next poll), and they count.
    """
    waits = sa.or_(
        col(ProposalRow.state) != State.VOTING.value,
        col(ProposalRow.next_due_at) <= now - grace,
    )
    stmt = (
        select(ProposalRow.number)
        .where(col(ProposalRow.next_due_at).is_not(None))
        .where(col(ProposalRow.next_due_at) <= now)
        .where(waits)
        .order_by(col(ProposalRow.next_due_at))
    )
    return list(session.exec(stmt).all())


def next_deadline(session: Session, grace: timedelta = timedelta(0)) -> datetime | None:
    """When :func:`due` next returns a proposal, with the same ``grace`` (None: never)."""
    firsts: list[datetime] = []
    for voting, wait in ((False, timedelta(0)), (True, grace)):
        in_voting = col(ProposalRow.state) == State.VOTING.value
        stmt = select(ProposalRow.next_due_at).where(col(ProposalRow.next_due_at).is_not(None))
        stmt = stmt.where(in_voting if voting else sa.not_(in_voting))
        value = session.exec(stmt.order_by(col(ProposalRow.next_due_at)).limit(1)).first()
        if value is not None:
            firsts.append(aware(value) + wait)
    return min(firsts, default=None)


def listing(
    session: Session,
    *,
    states: Sequence[str] = (),
    track: str | None = None,
    include_confidential: bool = True,
    limit: int = 500,
    offset: int = 0,
) -> list[Stored]:
    # Columns, not entities: ``save`` writes with Core, so no ORM object may go stale here.
    stmt = select(col(ProposalRow.data), col(ProposalRow.disclosed))
    stmt = stmt.order_by(col(ProposalRow.number).desc())
    if states:
        stmt = stmt.where(col(ProposalRow.state).in_(list(states)))
    if track:
        stmt = stmt.where(ProposalRow.track == track)
    if not include_confidential:
        stmt = stmt.where((col(ProposalRow.confidential).is_(False)) | col(ProposalRow.disclosed))
    stmt = stmt.offset(offset).limit(limit)
    return [from_json(data, disclosed=disclosed) for data, disclosed in session.exec(stmt).all()]
