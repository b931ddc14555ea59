"""What each dashboard page shows, read from storage and described by the shared views.

Rules:
- The dashboard is public: a confidential proposal (its track says so) is left out until it is
  disclosed — from lists, its own page (404), rollouts, and the audit log (entries about it are
  shown with their hashes, so the chain stays checkable, but their content is withheld).
- Proposals are described by ``bot.views.proposal_view`` and rollouts by the rollout area's
  ``view_of``; templates render those dictionaries and nothing else. The overview and rollouts
  pages build the same views in batches (``bot.web.fast_views``).
- Reads use ``read_scope``: a snapshot that never takes the write lock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from bot import rollout_reads
from bot.service import Governance
from bot.views import OPEN_STATES, proposal_view, summary_view
from charter.model import Charter
from charter.proposal import rules_for
from storage import (
    audit,
    audit_query,
    dashboard_queries,
    incidents as incident_store,
    proposals as repo,
    rollouts as rollout_store,
    state,
)
from storage.db import read_scope

PAGE = 50


class RuntimeLike(Protocol):
    """What the dashboard uses of ``bot.bootstrap.Runtime`` (a transport may not import it)."""

    gov: Governance
    engine: Engine
    clock: Any
    extras: dict[str, Any]


CLOSING_SOON = timedelta(days=3)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def hidden_numbers(session: Session) -> set[int]:
    """Proposals the public may not see yet (confidential and not disclosed)."""
    return dashboard_queries.hidden_numbers(session)


def is_public(stored: repo.Stored, charter: Charter) -> bool:
    track = rules_for(stored.proposal, charter).tracks.get(stored.proposal.track)
    return track is None or not track.confidential or stored.disclosed


@dataclass
class Reader:
    """Read access for one request: the engine, the live charter and the time of the read."""

    gov: Governance
    now: datetime

    @property
    def engine(self) -> Engine:
        return self.gov.engine

    @property
    def charter(self) -> Charter:
        return self.gov.charter

    # -- proposals --------------------------------------------------------------------------

    def proposals(
        self, *, state: str = "", track: str = "", client: str = "", page: int = 1
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of public proposals (newest first) and whether another page follows."""
        with read_scope(self.engine) as session:
            items = repo.listing(
                session,
                states=[state] if state else [],
                track=track or None,
                include_confidential=False,
                limit=100_000 if client else PAGE + 1,
                offset=0 if client else (page - 1) * PAGE,
            )
        if client:
            items = [s for s in items if client in _clients(s)]
            items = items[(page - 1) * PAGE : page * PAGE + 1]
        views = [self._summary(s) for s in items[:PAGE]]
        return views, len(items) > PAGE

    def _summary(self, stored: repo.Stored) -> dict[str, Any]:
        view = summary_view(stored, self.charter, self.now)
        view["clients"] = sorted(_clients(stored))
        return view

    def proposal(self, number: int) -> dict[str, Any] | None:
        with read_scope(self.engine) as session:
            stored = repo.load(session, number)
            if stored is None or not is_public(stored, self.charter):
                return None
            view = proposal_view(stored, self.charter, self.now)
            rows = [
                *audit_query.entries(session, subject=f"proposal:{number}"),
                *audit_query.entries(session, subject=f"rollout:{number}"),
            ]
            view["timeline"] = [_entry(e) for e in sorted(rows, key=lambda e: e.seq)]
            view["rollout"] = self._rollout_of(session, stored)
        view["clients"] = sorted(_clients(stored))
        return view

    # -- rollouts and incidents --------------------------------------------------------------

    def _rollout_of(self, session: Session, stored: repo.Stored) -> dict[str, Any] | None:
        rollout = rollout_store.load_rollout(session, stored.proposal.number)
        if rollout is None:
            return None
        view: dict[str, Any] = rollout_reads.view_of(self.gov, session, stored, rollout, self.now)
        return view

    def incidents(self) -> list[dict[str, Any]]:
        with read_scope(self.engine) as session:
            hidden = hidden_numbers(session)
            items = incident_store.incidents(session)
        views = [_incident(i, hidden) for i in items]
        views.sort(key=lambda v: (not v["open"], v["declared_at"]), reverse=False)
        return views

    # -- audit ---------------------------------------------------------------------------------

    def audit_page(
        self, *, before: int | None, subject: str | None, kind: str | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of entries, newest first, and the ``before`` of the next (older) page."""
        with read_scope(self.engine) as session:
            hidden = hidden_numbers(session)
            rows = audit_query.entries(
                session, subject=subject, kind=kind, limit=PAGE + 1, before_seq=before
            )
            entries = [_entry(r, hidden) for r in rows[:PAGE]]
        older = entries[-1]["seq"] if len(rows) > PAGE else None
        return entries, older

    def head(self) -> tuple[int, str] | None:
        with read_scope(self.engine) as session:
            return audit.head(session)

    def demo(self) -> bool:
        with read_scope(self.engine) as session:
            return bool(state.get(session, "demo", False))


def _clients(stored: repo.Stored) -> set[str]:
    value = stored.proposal.fields.get("clients")
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def _entry(row: Any, hidden: set[int] | None = None) -> dict[str, Any]:
    subject = str(row.subject)
    withheld = False
    if hidden and subject.startswith("proposal:"):
        number = subject.partition(":")[2]
        withheld = number.isdigit() and int(number) in hidden
    return {
        "seq": row.seq,
        "at": _iso(audit._utc(row.at)),
        "actor": "—" if withheld else row.actor,
        "kind": row.kind,
        "subject": "withheld" if withheld else subject,
        "payload": "withheld: a confidential proposal not yet disclosed"
        if withheld
        else row.payload,
        "charter_version": row.charter_version,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
        "withheld": withheld,
        "detail": "" if withheld else _detail(row.payload),
    }


_DETAIL_KEYS = ("choice", "reason", "name", "client", "stage", "version", "to", "outcome", "why")


def _detail(payload: str) -> str:
    """A short reading of an entry's payload for timelines (the full text is in the log)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data[k]) for k in _DETAIL_KEYS if isinstance(data.get(k), str | int) and data[k]]
    return " · ".join(parts)[:160]


def _incident(incident: Any, hidden: set[int]) -> dict[str, Any]:
    return {
        "id": incident.id,
        "severity": incident.severity,
        "summary": incident.summary,
        "proposals": [n for n in incident.proposals if n not in hidden],
        "clients": list(incident.clients),
        "declared_by": incident.declared_by,
        "declared_at": _iso(incident.declared_at),
        "roles": dict(incident.roles),
        "open": incident.resolved_at is None,
        "resolved_at": _iso(incident.resolved_at),
        "resolution": incident.resolution,
        "timeline": [
            {"at": _iso(t.at), "by": t.by, "text": t.text, "kind": t.kind}
            for t in incident.timeline
        ],
    }


def open_states() -> Sequence[str]:
    return [s.value for s in OPEN_STATES]
