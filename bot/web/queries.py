"""What each dashboard page shows, read from storage and described by the shared views.

Rules:
- The dashboard is public: a confidential proposal (its track says so) is left out until it is
  disclosed — from lists, its own page (404), rollouts, and the audit log — and so is what names
  it (``storage.dashboard_queries.secrets``): its rollout, a confidential incident (one that
  names it or holds, or held, its rollout paused) and a private call.
- The audit log withholds an entry whose subject is one of those (``proposal:N``/``rollout:N``,
  ``incident:<id>``, ``meeting:<id>``) or whose payload names one (``proposal``, ``proposals``,
  ``paused``, ``pause``, ``incident``, ``meeting``). A proposal number no proposal has is withheld
  alike (``Secrets.hides``): else provoking a refusal that names it (``vote 7 …``, a release's
  ``ready 7``) would tell a hidden #7 from a missing one. Unfiltered, a withheld entry keeps its
  place, seq and hashes (so the chain stays checkable) but not its time, actor, kind, subject,
  payload or charter version: its hash would confirm a guess of the rest, and its time to the
  microsecond is what makes guessing too costly (``at`` and ``charter_version`` are None). Filtered
  by ``subject=`` or ``kind=``, withheld entries are left out, so the answer for a hidden subject is
  the answer for one that does not exist. Timelines leave them out.
  An entry's payload is shown without its salt (``storage.audit.shown_payload``): random noise
  to a reader; the export keeps the hashed text whole.
- A public rollout paused or blocked by a confidential incident says "a confidential incident"
  (no number, severity or summary) in its pause and gate reasons, and a gate's row names the
  gate once (``bot.rollout_public``, which the read API shares).
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
from bot.rollout_public import (  # re-exported: the dashboard's views read them here
    gate_rows as gate_rows,
    redact_gates as redact_gates,
    redact_rollout as redact_rollout,
)
from bot.service import Governance
from bot.views import OPEN_STATES, proposal_view, summary_view, unreached_deadlines
from charter.feedback import FeedbackRequest
from charter.model import Charter
from charter.proposal import rules_for
from storage import (
    audit,
    audit_query,
    dashboard_queries,
    feedback as feedback_store,
    incidents as incident_store,
    proposals as repo,
    rollouts as rollout_store,
    state,
)
from storage.dashboard_queries import MAX_ID, Secrets, positive_id
from storage.db import read_scope

PAGE = 50
WITHHELD = "withheld: a confidential proposal not yet disclosed"


class RuntimeLike(Protocol):
    """What the dashboard uses of ``bot.runtime.Runtime`` (a transport may not import it)."""

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
                offset=0 if client else min((page - 1) * PAGE, MAX_ID),
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
            asked = feedback_store.for_proposal(session, number)
            view = proposal_view(stored, self.charter, self.now, asked)
            view["unreached"] = unreached_deadlines(view)  # after the decision: not upcoming
            # Shown like its concerns: open and answered ones, on a page only the public may
            # reach once the proposal is (confidential and then) disclosed.
            view["feedback_requests"] = [_feedback(r) for r in asked]
            secret = dashboard_queries.secrets(session)
            rows = [
                *audit_query.entries(session, subject=f"proposal:{number}"),
                *audit_query.entries(session, subject=f"rollout:{number}"),
            ]
            entries = [_entry(e, secret) for e in sorted(rows, key=lambda e: e.seq)]
            view["timeline"] = [e for e in entries if not e["withheld"]]
            view["rollout"] = self._rollout_of(session, stored, secret)
        view["clients"] = sorted(_clients(stored))
        return view

    # -- rollouts and incidents --------------------------------------------------------------

    def _rollout_of(
        self, session: Session, stored: repo.Stored, secret: Secrets
    ) -> dict[str, Any] | None:
        rollout = rollout_store.load_rollout(session, stored.proposal.number, self.gov.charter)
        if rollout is None:
            return None
        view: dict[str, Any] = rollout_reads.view_of(self.gov, session, stored, rollout, self.now)
        return redact_rollout(view, rollout.pauses, secret.incidents)

    def incidents(self) -> list[dict[str, Any]]:
        """Every incident but the confidential ones (see the module rules)."""
        with read_scope(self.engine) as session:
            hidden = hidden_numbers(session)
            secret = dashboard_queries.confidential_incidents(session, hidden)
            items = incident_store.incidents(session)
        views = [_incident(i, hidden) for i in items if i.id not in secret]
        views.sort(key=lambda v: (not v["open"], v["declared_at"]), reverse=False)
        return views

    # -- audit ---------------------------------------------------------------------------------

    def audit_page(
        self, *, before: int | None, subject: str | None, kind: str | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of entries, newest first, and the ``before`` of the next (older) page.

        Filtered (``subject`` or ``kind``), withheld entries are left out: a filter must not
        tell that a hidden proposal, incident or call exists (see the module rules)."""
        with read_scope(self.engine) as session:
            secret = dashboard_queries.secrets(session)
            if subject is not None and _subject_withheld(subject, secret):
                return [], None
            filtered = subject is not None or kind is not None
            found: list[dict[str, Any]] = []
            cursor = before
            while len(found) <= PAGE:
                batch = 2 * PAGE if filtered else PAGE + 1
                rows = audit_query.entries(
                    session, subject=subject, kind=kind, limit=batch, before_seq=cursor
                )
                for r in rows:
                    e = _entry(r, secret)
                    if not (filtered and e["withheld"]):
                        found.append(e)
                if len(rows) < batch:
                    break
                cursor = rows[-1].seq
        entries = found[:PAGE]
        older = entries[-1]["seq"] if len(found) > PAGE else None
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


def _feedback(request: FeedbackRequest) -> dict[str, Any]:
    """A feedback request on the proposal page: who was asked, by whom and when, the note, and
    when and how (comment, vote or concern) it was answered."""
    how = request.answered_how
    return {
        "login": request.login,
        "asked_by": request.asked_by,
        "asked_at": _iso(request.asked_at),
        "note": request.note,
        "answered_at": _iso(request.answered_at),
        "answered_how": None if how is None else how.value,
    }


def _subject_withheld(subject: str, secret: Secrets) -> bool:
    """Whether an audit subject is one the public may not see yet."""
    area, _, ident = subject.partition(":")
    if area in ("proposal", "rollout"):
        return secret.hides(positive_id(ident))
    if area == "incident":
        return ident in secret.incidents
    if area == "meeting":  # meeting:<id> or meeting:<id>@<occurrence>
        return ident.partition("@")[0] in secret.meetings
    return False


_NAMING_KEYS = ("proposal", "proposals", "paused", "pause")


def _payload_withheld(payload: str, secret: Secrets) -> bool:
    """Whether an audit payload names a hidden proposal, a confidential incident or a
    private call."""
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    for key in _NAMING_KEYS:
        if key in data and any(map(secret.hides, dashboard_queries.named_numbers(data[key]))):
            return True
    incident, meeting = data.get("incident"), data.get("meeting")
    return (incident is not None and str(incident) in secret.incidents) or (
        meeting is not None and str(meeting).partition("@")[0] in secret.meetings
    )


def withheld(row: Any, secret: Secrets) -> bool:
    """Whether the public may not read this audit entry yet (see the module rules)."""
    return _subject_withheld(str(row.subject), secret) or _payload_withheld(
        str(row.payload), secret
    )


def _entry(row: Any, secret: Secrets | None = None) -> dict[str, Any]:
    hidden = secret is not None and withheld(row, secret)
    return {
        "seq": row.seq,
        "at": None if hidden else _iso(audit._utc(row.at)),
        "actor": "—" if hidden else row.actor,
        "kind": "—" if hidden else row.kind,
        "subject": "withheld" if hidden else str(row.subject),
        "payload": WITHHELD if hidden else audit.shown_payload(row.payload),  # no salt: noise
        "charter_version": None if hidden else row.charter_version,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
        "withheld": hidden,
        "detail": "" if hidden else _detail(row.payload),
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
