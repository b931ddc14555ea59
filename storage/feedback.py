"""Feedback requests: the rows of ``feedback_request`` as :class:`charter.feedback.FeedbackRequest`.

Rules:
- ``for_proposal`` reads a proposal's requests in the order they were asked (open and
  answered), ``open_asking`` one person's unanswered requests on every proposal (``todo``
  keeps those on open proposals); ``first_comment`` when someone first commented on a
  proposal's issue from a moment on (a comment delivered before the request); ``save``
  writes what a decision returned: a new request is inserted, an answered one records its
  answer on the person's open row.
- Whoever decides holds the proposal's row lock first (``storage.proposals.load(...,
  for_update=True)``), so two decisions about one proposal's requests never interleave.
- Audit entries are appended by the caller, from the decision's effects, in the same
  transaction (``bot.service.Governance.effects``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from charter.feedback import Answer, FeedbackRequest
from storage.models.core import CommentRow
from storage.models.feedback import FeedbackRequestRow
from storage.times import aware, maybe_aware


def for_proposal(session: Session, proposal: int) -> tuple[FeedbackRequest, ...]:
    rows = session.exec(
        select(FeedbackRequestRow)
        .where(FeedbackRequestRow.proposal == proposal)
        .order_by(col(FeedbackRequestRow.asked_at), col(FeedbackRequestRow.id))
    ).all()
    return tuple(_request(row) for row in rows)


_TABLE = FeedbackRequestRow.__table__  # type: ignore[attr-defined]
# Built once: every comment, vote and concern asks whether it answers a request (twice for a
# voting comment), so this is a bound statement on the connection, not an ORM query built and
# compiled each time (that was 0.4 ms a call, a fifth of processing a vote delivery).
_OPEN = (
    sa.select(_TABLE)
    .where(_TABLE.c.proposal == sa.bindparam("proposal"))
    .where(_TABLE.c.answered_at.is_(None))
    .order_by(_TABLE.c.asked_at, _TABLE.c.id)
)


def open_for(session: Session, proposal: int) -> tuple[FeedbackRequest, ...]:
    """The proposal's unanswered requests, in the order they were asked."""
    rows = session.connection().execute(_OPEN, {"proposal": proposal})
    return tuple(_request(FeedbackRequestRow.model_validate(row._mapping)) for row in rows)


def open_asking(session: Session, login: str) -> tuple[FeedbackRequest, ...]:
    """The unanswered requests asking ``login`` (compared case-insensitively, as
    charter.feedback compares logins), on any proposal, oldest first: what ``todo`` lists."""
    rows = session.exec(
        select(FeedbackRequestRow)
        .where(sa.func.lower(col(FeedbackRequestRow.login)) == login.lower())
        .where(col(FeedbackRequestRow.answered_at).is_(None))
        .order_by(col(FeedbackRequestRow.asked_at), col(FeedbackRequestRow.id))
    ).all()
    return tuple(_request(row) for row in rows)


def first_comment(session: Session, proposal: int, login: str, since: datetime) -> datetime | None:
    """When ``login`` (compared case-insensitively) first commented on the proposal's issue at
    or after ``since``, among the stored comments not deleted; None if they have not.

    GitHub does not order webhook deliveries, so a comment posted after a request may be
    stored before it: the request then looks here to be answered at once."""
    first = session.exec(
        select(sa.func.min(col(CommentRow.created_at)))
        .where(CommentRow.proposal == proposal)
        .where(sa.func.lower(col(CommentRow.author)) == login.lower())
        .where(col(CommentRow.created_at) >= since)
        .where(col(CommentRow.deleted).is_(False))
    ).one()
    return maybe_aware(first)


def save(session: Session, requests: Iterable[FeedbackRequest]) -> None:
    """Insert the new requests; record the answer of answered ones on their open row (a
    person has at most one open request per proposal: charter.feedback)."""
    for request in requests:
        if request.answered_at is None:
            session.add(
                FeedbackRequestRow(
                    proposal=request.proposal,
                    login=request.login,
                    asked_by=request.asked_by,
                    asked_at=request.asked_at,
                    note=request.note,
                )
            )
            continue
        how = None if request.answered_how is None else request.answered_how.value
        session.execute(
            sa.update(FeedbackRequestRow)
            .where(col(FeedbackRequestRow.proposal) == request.proposal)
            .where(col(FeedbackRequestRow.login) == request.login)
            .where(col(FeedbackRequestRow.answered_at).is_(None))
            .values(answered_at=request.answered_at, answered_how=how)
        )
    session.flush()


def _request(row: FeedbackRequestRow) -> FeedbackRequest:
    return FeedbackRequest(
        proposal=row.proposal,
        login=row.login,
        asked_by=row.asked_by,
        asked_at=aware(row.asked_at),
        note=row.note,
        answered_at=None if row.answered_at is None else aware(row.answered_at),
        answered_how=None if row.answered_how is None else Answer(row.answered_how),
    )
