"""Meeting tables: exceptions to series, ad-hoc calls, calendar revisions, agenda issues, agenda
items, outcomes (decisions, action items, minutes), fired timers and pending confirmations.

Rules:
- Occurrences are never stored: they are expanded from the charter on demand
  (:mod:`charter.meetings`). Only what people changed is stored, keyed by the stable occurrence
  key ``<meeting-id>@<YYYY-MM-DDTHH:MM>``.
- ``fired_timer.timer_key`` is UNIQUE: a timer is handled (fired or recorded missed) in the same
  transaction that inserts its row, so two replicas, a restart or a retry can never handle it
  twice — the second insert conflicts and its transaction does nothing.
- ``agenda_issue`` maps an occurrence to its GitHub issue; the number is stored before the outbox
  item is marked sent, and ``body_sha256`` is what GitHub holds, so edits happen only on change.
  A row moves to another key when an amendment changes its series' hour (the call keeps its
  issue: ``storage.agendas.rekey_agenda``).
- ``meeting_revision.revision`` is the ICS SEQUENCE of a series or ad-hoc call; it is raised on
  every change to it.
- Times are stored as UTC (``DateTime(timezone=True)``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)


def _text() -> sa.Column[str]:
    return sa.Column(sa.Text, nullable=False)


class MeetingExceptionRow(SQLModel, table=True):
    """One occurrence of a series cancelled, or moved to ``moved_to``; also an ad-hoc call's
    move, kept under the key of its first start (so the call keeps its agenda and outcomes)."""

    __tablename__ = "meeting_exception"

    occurrence_key: str = Field(primary_key=True)
    meeting_id: str = Field(index=True)
    kind: str  # cancelled | moved
    moved_to: datetime | None = Field(default=None, sa_column=_ts())
    by: str
    at: datetime = Field(sa_column=_ts(nullable=False))


class AdhocMeetingRow(SQLModel, table=True):
    """A one-off call: scheduled by a person (``kind`` adhoc), for a go/no-go decision, or for
    an incident's post-incident review."""

    __tablename__ = "adhoc_meeting"

    id: str = Field(primary_key=True)
    kind: str = "adhoc"  # adhoc | go-no-go | incident-review
    title: str
    starts_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    duration_seconds: int
    timezone: str = "UTC"
    proposal: int | None = Field(default=None, index=True)
    stage: str | None = None
    cancelled: bool = False
    # A call about a confidential, undisclosed rollout: announced only on private channels,
    # no public agenda issue, left out of public pages (cleared when the proposal is disclosed).
    private: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_by: str
    created_at: datetime = Field(sa_column=_ts(nullable=False))


class MeetingRevisionRow(SQLModel, table=True):
    """The ICS SEQUENCE of a series or ad-hoc call."""

    __tablename__ = "meeting_revision"

    series: str = Field(primary_key=True)
    revision: int = 0
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class AgendaIssueRow(SQLModel, table=True):
    """The GitHub issue holding one occurrence's agenda, and the hash of the body it holds."""

    __tablename__ = "agenda_issue"

    occurrence_key: str = Field(primary_key=True)
    issue_number: int
    body_sha256: str
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class AgendaItemRow(SQLModel, table=True):
    """An item someone added to an occurrence's agenda (``/charter agenda add``)."""

    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_key: str = Field(index=True)
    text: str = Field(sa_column=_text())
    added_by: str
    added_at: datetime = Field(sa_column=_ts(nullable=False))


class MeetingOutcomeRow(SQLModel, table=True):
    """A decision, action item or minutes link recorded for an occurrence."""

    __tablename__ = "meeting_outcome"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_key: str = Field(index=True)
    meeting_id: str = Field(index=True)
    kind: str  # decision | action | minutes
    text: str = Field(sa_column=_text())
    owner: str = ""  # the action item's owner
    done: bool = Field(default=False, index=True)
    done_at: datetime | None = Field(default=None, sa_column=_ts())
    by: str
    at: datetime = Field(sa_column=_ts(nullable=False))


class FiredTimerRow(SQLModel, table=True):
    """A timer handled once: ``outcome`` fired or missed. The UNIQUE key is the guard."""

    __tablename__ = "fired_timer"

    id: int | None = Field(default=None, primary_key=True)
    timer_key: str = Field(unique=True)
    series: str = Field(index=True)
    occurrence_key: str = Field(index=True)
    kind: str  # reminder | agenda | audit-witness (bot.audit_witness: a period looked at)
    outcome: str  # fired | missed (audit-witness: fired | unchanged)
    fires_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    handled_at: datetime = Field(sa_column=_ts(nullable=False))


class MeetingConfirmationRow(SQLModel, table=True):
    """A scheduling request previewed to a person and waiting for ``/charter confirm``."""

    __tablename__ = "meeting_confirmation"

    token: str = Field(primary_key=True)
    login: str
    surface: str
    surface_id: str
    action: str  # schedule | move
    payload: str = Field(sa_column=_text())
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_ts())
