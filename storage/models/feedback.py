"""Feedback requests on proposals (storage.feedback; the rules are charter.feedback).

Rules:
- One row per request: who was asked (``login``), by whom, when, with what note; answered
  requests keep their row, with when and how (``comment``, ``vote`` or ``concern``) they were
  answered, so the record is never deleted. An open request has ``answered_at`` NULL.
- Rows are written in the transaction that decided them, with their audit entries
  (``feedback-requested``, ``feedback-given``); the proposal row is locked first, so two
  requests for the same person cannot both be taken.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class FeedbackRequestRow(SQLModel, table=True):
    __tablename__ = "feedback_request"

    id: int | None = Field(default=None, primary_key=True)
    proposal: int = Field(index=True)
    login: str
    asked_by: str
    asked_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    answered_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )
    answered_how: str | None = Field(default=None)
