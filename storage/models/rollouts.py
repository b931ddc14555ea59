"""Rollout tables: the rollout aggregate, readiness reports, check results, incidents (with an
append-only timeline), the feature-flag registry and go/no-go decisions.

Rules:
- A rollout row keeps indexed columns for queries and the whole aggregate as JSON in ``data``;
  the aggregate is the truth, the columns are re-derived from it on every save.
- Check results are keyed by (repo, head_sha, name): the latest event for a run replaces the
  earlier one (a re-run that has not concluded yet is "running" again).
- Readiness reports are one row per report, never edited: together they are the inventory.
- An incident's timeline is append-only (migration 0003_rollouts installs triggers refusing
  UPDATE and DELETE): a correction is a new entry.
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


class RolloutRow(SQLModel, table=True):
    __tablename__ = "rollout"

    proposal: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    stage: str = Field(index=True)  # the current stage id, or "pending"
    paused: bool = False
    confidential: bool = False
    started_at: datetime = Field(sa_column=_ts(nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    data: str = Field(sa_column=_text())


class ReadyReportRow(SQLModel, table=True):
    __tablename__ = "ready_report"

    id: int | None = Field(default=None, primary_key=True)
    proposal: int = Field(index=True)
    client: str = Field(index=True)
    stage: str
    version: str
    ref: str | None = None
    notes: str = Field(default="", sa_column=_text())
    reported_by: str
    source: str  # command | release
    at: datetime = Field(sa_column=_ts(nullable=False))


class CheckResultRow(SQLModel, table=True):
    __tablename__ = "check_result"
    __table_args__ = (
        sa.UniqueConstraint("repo", "head_sha", "name", name="uq_check_result_repo_sha_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str  # owner/name, lowercased
    head_sha: str
    name: str
    kind: str  # check_run | check_suite | workflow_run
    status: str
    conclusion: str | None = None
    html_url: str = ""
    at: datetime = Field(sa_column=_ts(nullable=False))
    head_branch: str | None = None  # the branch or tag the run was for (0008_check_head_branch)


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    severity: str = Field(index=True)
    summary: str = Field(sa_column=_text())
    declared_by: str
    declared_at: datetime = Field(sa_column=_ts(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    review_due_at: datetime | None = Field(default=None, sa_column=_ts())
    data: str = Field(sa_column=_text())  # proposals, clients, roles, resolution (JSON)


class IncidentEntryRow(SQLModel, table=True):
    __tablename__ = "incident_entry"

    id: int | None = Field(default=None, primary_key=True)
    incident: int = Field(foreign_key="incident.id", index=True)
    at: datetime = Field(sa_column=_ts(nullable=False))
    by: str
    kind: str  # declared | role | update | resolved
    text: str = Field(sa_column=_text())


class FlagRow(SQLModel, table=True):
    """One feature flag of one proposal in one client, with its last switch."""

    __tablename__ = "feature_flag"

    proposal: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    client: str = Field(primary_key=True)
    name: str = Field(primary_key=True, index=True)
    state: str  # on | off
    changed_at: datetime = Field(sa_column=_ts(nullable=False))
    changed_by: str
    reason: str = Field(default="", sa_column=_text())


class GoNoGoRow(SQLModel, table=True):
    __tablename__ = "go_no_go"

    id: int | None = Field(default=None, primary_key=True)
    proposal: int = Field(index=True)
    stage: str
    decision: str  # go | no-go
    by: str
    note: str = Field(default="", sa_column=_text())
    at: datetime = Field(sa_column=_ts(nullable=False))
