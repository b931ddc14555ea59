"""The overview and rollouts pages' data, read in one snapshot with a handful of statements.

Rules:
- A page reads inside one ``read_scope`` (a deferred SQLite transaction: a consistent snapshot
  that never waits for, or holds, the write lock).
- Only what the page shows is read and described: the overview's ten votes closing first
  (by the indexed ``next_due_at``), twenty newest in review, state counts by ``GROUP BY``,
  gates only of rollouts that entered a stage; the rollouts page only its own page.
- The views are the shared ones (``bot.views.summary_view``, the rollout area's
  ``rollout_view`` with gates from ``charter.gates.evaluate``), built from the same facts
  ``bot.rollout_reads.view_of`` gathers — open incidents, go/no-go calls, check results on the
  reported refs — fetched once per page instead of once per rollout. So a page shows exactly
  what the per-proposal functions would (tests/bot/web/test_fast_views.py compares them).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlmodel import Session, col

from bot import rollout_reads
from bot.meetings_hand_cancel import hand_cancelled_call
from bot.rollout_views import next_stage, rollout_view
from bot.service import Governance
from bot.web import queries
from charter.deadlines import deadlines
from charter.gates import GateFacts, GateResult, GoNoGo, evaluate
from charter.incident_facts import Incident
from charter.lifecycle import State
from charter.model import Charter
from charter.prerequisites import form_minimums
from charter.proposal import rules_for, tally_of
from charter.rollout_facts import Rollout
from charter.seats import seats
from storage import (
    audit,
    audit_witness,
    dashboard_queries as q,
    dashboard_rollouts as rq,
    incidents as incident_store,
    state,
)
from storage.db import read_scope
from storage.models.core import ProposalRow
from storage.models.meetings import AdhocMeetingRow
from storage.models.rollouts import RolloutRow
from storage.proposals import Stored
from storage.rollout_json import rollout_from_json
from storage.rollouts import ENDED_STATES

CLOSING_LIMIT = 10
REVIEW_LIMIT = 20
ROLLOUT_PAGE = 20

GateList = list[dict[str, Any]]


_TALLY_KEYS = ("seats", "voted", "approve", "reject", "abstain", "quorum_met", "outcome")


def summary(stored: Stored, charter: Charter, now: datetime) -> dict[str, Any]:
    """A list entry: ``bot.views.summary_view`` plus the proposal's clients — computed without
    the full view's per-vote seat labels and seat matrix, which a list does not show."""
    p = stored.proposal
    charter = rules_for(p, charter)  # the version the proposal was opened under
    track = charter.tracks.get(p.track)
    tally: dict[str, Any] = dict.fromkeys(_TALLY_KEYS)
    if track is not None and p.voting_opened_at is not None:
        t = tally_of(p, charter, p.decided_at or now)
        tally = {
            "seats": len(t.seats),
            "voted": t.cast,
            "approve": t.approve,
            "reject": t.reject,
            "abstain": t.abstain,
            "quorum_met": t.quorum_met,
            "outcome": t.outcome.value,
        }
    elif track is not None:
        tally = {**dict.fromkeys(_TALLY_KEYS, 0), "quorum_met": False, "outcome": "pending"}
        tally["seats"] = len(seats(track, charter))
    due = None
    if track is not None and p.state in (State.REVIEW, State.VOTING):
        d = deadlines(p, charter)
        due = d.review_ends if p.state is State.REVIEW else d.confirm_until or d.voting_closes
    return {
        "number": p.number,
        "title": p.title,
        "track": p.track,
        "state": p.state.value,
        "author": p.author,
        "tally": tally,
        "next_deadline": queries._iso(due),
        "clients": sorted(queries._clients(stored)),
    }


def closing(items: Sequence[Stored], charter: Charter, now: datetime) -> list[dict[str, Any]]:
    """Summaries of open votes by next deadline, ``soon`` when it falls within three days."""
    views = [summary(s, charter, now) for s in items]
    views.sort(key=lambda v: v["next_deadline"] or "9999")
    horizon = queries._iso(now + queries.CLOSING_SOON) or ""
    for v in views:
        v["soon"] = bool(v["next_deadline"] and v["next_deadline"] <= horizon)
    return views


Gated = tuple[Stored, Rollout, str | None, tuple[GateResult, ...]]


def gated(
    gov: Governance,
    session: Session,
    pairs: Sequence[tuple[Stored, Rollout]],
    now: datetime,
    incidents: Sequence[Incident] | None = None,
    secret: Collection[str] | None = None,
) -> list[Gated]:
    """Each rollout with its check results, the stage ``advance`` would enter and that stage's
    gates evaluated now — ``bot.rollout_reads.view_of``'s facts, read once for every pair
    (``incidents``: the open ones, ``secret``: the confidential incidents' ids)."""
    charter = gov.charter
    checked = rq.with_checks_all(
        session, [r for _, r in pairs], rollout_reads.client_repos(charter)
    )
    targets: list[str | None] = [
        next_stage(r, charter, stored.proposal.state.value)
        for (stored, _), r in zip(pairs, checked, strict=True)
    ]
    numbers = [r.proposal for r, target in zip(checked, targets, strict=True) if target]
    calls = rq.go_no_go_of(session, numbers) if numbers else {}
    asking = [
        r.proposal
        for r, target in zip(checked, targets, strict=True)
        if target and (stage := charter.stage(target)) is not None and stage.go_no_go_meeting
    ]
    meetings = rq.go_no_go_calls_of(session, asking) if asking else {}
    if numbers and incidents is None:
        incidents = incident_store.incidents(session, open_only=True)
    if numbers and incidents and secret is None:
        secret = q.confidential_incidents(session)
    out: list[Gated] = []
    for (stored, _), current, target in zip(pairs, checked, targets, strict=True):
        gates: tuple[GateResult, ...] = ()
        if target is not None:
            stage = charter.stage(target)
            assert stage is not None
            p = stored.proposal
            facts = GateFacts(
                tuple(incidents or ()),
                rollout_reads.assessment(p),
                calls[p.number],
                form_minimums(p.fields),
                frozenset(secret or ()),
                _cancelled_call(current, charter, meetings.get(p.number, []), calls[p.number]),
            )
            gates = evaluate(stage, current, facts, charter, now)
        out.append((stored, current, target, gates))
    return out


def _cancelled_call(
    rollout: Rollout,
    charter: Charter,
    meetings: Sequence[AdhocMeetingRow],
    decisions: Sequence[GoNoGo],
) -> str | None:
    """``bot.rollout_reads.cancelled_call`` for a public page: the id of the next stage's
    current go/no-go call when it was cancelled by hand, but never a private call's (the
    dashboard keeps private calls out, ``queries.private_meetings``)."""
    row = hand_cancelled_call(rollout, charter, meetings, decisions) if meetings else None
    return None if row is None or row.private else row.id


def rollout_views(
    gov: Governance,
    session: Session,
    pairs: Sequence[tuple[Stored, Rollout]],
    now: datetime,
) -> list[dict[str, Any]]:
    """``bot.rollout_reads.view_of`` for every pair, confidential incidents redacted as the
    proposal page does (``queries.redact_rollout``)."""
    secret = q.confidential_incidents(session)
    incidents = incident_store.incidents(session, open_only=True) if secret else None
    out = []
    for stored, current, _, gates in gated(gov, session, pairs, now, incidents, secret):
        p = stored.proposal
        view: dict[str, Any] = rollout_view(
            current, gov.charter, gates=gates, title=p.title, state=p.state.value
        )
        out.append(queries.redact_rollout(view, current.pauses, secret))
    return out


def failing(found: Sequence[Gated]) -> list[tuple[dict[str, Any], GateList]]:
    """Rollouts whose next stage has a failing gate, each with those gates (what the overview
    shows of them: number, title, next stage, and the failing gates with their reasons; a
    confidential incident said as such, ``queries.redact_gates``)."""
    out = []
    for stored, rollout, target, gates in found:
        bad = [{"gate": g.gate, "passed": False, "reason": g.reason} for g in gates if not g.passed]
        bad = queries.redact_gates(bad)
        if bad:
            head = {"proposal": rollout.proposal, "title": stored.proposal.title}
            out.append(({**head, "next_stage": target}, bad))
    return out


def _paired(session: Session, rollouts: Sequence[Rollout]) -> list[tuple[Stored, Rollout]]:
    found = q.headers(session, [r.proposal for r in rollouts])
    return [(found[r.proposal], r) for r in rollouts if r.proposal in found]


def overview(gov: Governance, now: datetime) -> dict[str, Any]:
    """Everything ``overview.html`` shows except the audit check and the next call."""
    charter = gov.charter
    with read_scope(gov.engine) as session:
        votes, voting = q.closing_first(session, CLOSING_LIMIT)
        review = q.newest_public(session, ["review", "draft"], REVIEW_LIMIT)
        context: dict[str, Any] = {
            "counts": q.state_counts(session),
            "head": audit.head(session),
            "witnessed": audit_witness.last_posted(session),  # the head last posted to GitHub
            "demo": bool(state.get(session, "demo", False)),
        }
        incidents = incident_store.incidents(session, open_only=True)
        hidden = q.hidden_numbers(session)
        secret = q.confidential_incidents(session, hidden)
        pairs = _paired(session, rq.unfinished_rollouts(session, charter))
        context["failing"] = failing(gated(gov, session, pairs, now, incidents, secret))
        opened = [queries._incident(i, hidden) for i in incidents if i.id not in secret]
        context["incidents"] = sorted(opened, key=lambda v: v["declared_at"])
    context["closing"] = closing(votes, charter, now)
    context["voting"] = voting
    context["review"] = [summary(s, charter, now) for s in review]
    return context


def rollout_page(
    session: Session, charter: Charter, *, offset: int, limit: int
) -> tuple[list[Rollout], int]:
    """One page of public rollouts and how many there are: unfinished first, then the finished
    ones, each newest proposal first (``storage.dashboard_rollouts.rollout_page`` with
    "finished" as :func:`bot.rollout_views.is_final` says it: completed, or of a proposal whose
    final state ended the rollout — not ``completed``, as a rollback after completion reopens
    the rollout, which is then listed with the unfinished ones)."""
    # is_final in SQL: the rollout's completed_at, or its proposal's state among ENDED_STATES
    ended = sorted(ENDED_STATES)
    finished = or_(col(RolloutRow.completed_at).is_not(None), col(ProposalRow.state).in_(ended))
    joined = (
        select(col(RolloutRow.data))
        .outerjoin(ProposalRow, col(ProposalRow.number) == col(RolloutRow.proposal))
        .where(rq._shown())
    )
    stmt = (
        joined.order_by(case((finished, 1), else_=0), col(RolloutRow.proposal).desc())
        .offset(offset)
        .limit(limit)
    )
    page = [rollout_from_json(data, charter) for data in session.execute(stmt).scalars()]
    total = int(session.execute(select(func.count()).select_from(joined.subquery())).scalar_one())
    return page, total


def rollouts_page(
    gov: Governance, now: datetime, page: int, size: int = ROLLOUT_PAGE
) -> tuple[list[dict[str, Any]], int, bool]:
    """One page of public rollouts' views, how many there are, and the demo flag."""
    with read_scope(gov.engine) as session:
        rollouts, total = rollout_page(
            session, gov.charter, offset=min((page - 1) * size, q.MAX_ID), limit=size
        )
        views = rollout_views(gov, session, _paired(session, rollouts), now)
        demo = bool(state.get(session, "demo", False))
    return views, total, demo
