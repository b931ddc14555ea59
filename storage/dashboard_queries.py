"""Read-optimised queries for the dashboard: only the rows a page shows, in a few statements.

Rules:
- Every function reads; none writes. Callers use one ``storage.db.read_scope`` per page so a
  page is one consistent snapshot and never waits for (or holds) the write lock.
- Each returns exactly what the general-purpose repository functions would (``proposals.load``
  / ``listing``), only batched: one statement for many proposals instead of one per proposal, and
  the indexed columns (state, next deadline) do the filtering instead of parsing every aggregate.
  The rollout queries (rollouts, go/no-go decisions and calls, check results) are
  :mod:`storage.dashboard_rollouts`.
- "Public" is the dashboard's rule: a confidential proposal is left out until it is disclosed.
  What names it stays private with it (:func:`secrets`): a *confidential incident* names, holds
  paused or held paused an undisclosed confidential proposal (the rule the announcements follow,
  ``bot.rollout_incident_secrecy.kept_private``; a resolved incident lifted its pauses, the
  audit log's ``rollout-paused`` entries still say what it held); a *private call* is an ad-hoc
  call marked private or about such a proposal.
  A number no proposal has is kept as private as a hidden one (``Secrets.hides``), so the two
  cannot be told apart.
- Numbers from a URL go through :func:`positive_id`: ASCII digits only, within the database's
  integers, so odd input is a "no such thing", never an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import Session, col

from storage.models.audit import AuditEntry
from storage.models.core import ProposalRow
from storage.models.meetings import AdhocMeetingRow
from storage.models.rollouts import IncidentRow, RolloutRow
from storage.proposals import Stored, from_data, from_json

_CHUNK = 200  # bound parameters per statement stay well under SQLite's limit


def public() -> ColumnElement[bool]:
    """Proposals the public may see: not confidential, or disclosed."""
    return or_(col(ProposalRow.confidential).is_(False), col(ProposalRow.disclosed).is_(True))


def hidden_numbers(session: Session) -> set[int]:
    """Proposals the public may not see yet (confidential and not disclosed)."""
    stmt = select(col(ProposalRow.number)).where(~public())
    return {int(n) for n in session.execute(stmt).scalars()}


MAX_ID = 2**63 - 1  # the largest integer SQLite (and PostgreSQL's BIGINT) stores


def positive_id(raw: str | None) -> int | None:
    """``raw`` as a number from a URL (an id, a page, a cursor), or None when it is not one.

    Only ASCII digits count (``str.isdigit`` also accepts "²" and other scripts' digits, which
    ``int`` then reads or refuses), and the value must be 1 … :data:`MAX_ID` (a larger one
    overflows the database's integers)."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw.lstrip("0")) > 19:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


@dataclass(frozen=True)
class Secrets:
    """What the public may not see yet, read once per page: undisclosed confidential proposals,
    the incidents (ids) and ad-hoc calls (ids) that name them, and (``known``) the numbers
    proposals have — None when not read, so no number counts as missing."""

    proposals: frozenset[int] = frozenset()
    incidents: frozenset[str] = frozenset()
    meetings: frozenset[str] = frozenset()
    known: frozenset[int] | None = None

    def hides(self, number: int | None) -> bool:
        """Whether the public may not see what names proposal ``number``: a hidden one, or one
        no proposal has (or not a number) — the two must read alike, or naming a number (a
        refused command or release line) would tell whether it is a hidden proposal."""
        return number in self.proposals or (self.known is not None and number not in self.known)


def secrets(session: Session) -> Secrets:
    hidden = hidden_numbers(session)
    known = frozenset(int(n) for n in session.execute(select(col(ProposalRow.number))).scalars())
    return Secrets(
        frozenset(hidden),
        frozenset(confidential_incidents(session, hidden)),
        frozenset(private_meetings(session, hidden)),
        known,
    )


def named_numbers(value: object) -> set[int]:
    """The proposal numbers a payload value names (a number, or a list of them)."""
    items = value if isinstance(value, list | tuple) else [value]
    out: set[int] = set()
    for v in items:
        if isinstance(v, int) and not isinstance(v, bool):
            out.add(v)
        elif isinstance(v, str) and (n := positive_id(v)) is not None:
            out.add(n)
    return out


def _chunks(numbers: Iterable[int]) -> Iterable[list[int]]:
    wanted = sorted(set(numbers))
    for i in range(0, len(wanted), _CHUNK):
        yield wanted[i : i + _CHUNK]


def confidential_incidents(session: Session, hidden: Iterable[int] | None = None) -> set[str]:
    """Ids of the incidents the public may not see yet: each names, holds paused or held paused
    (``rollout-paused`` entries of its rollout) a proposal of ``hidden`` (default: every
    undisclosed confidential proposal). A hold placed as a hidden rollout started (recorded
    ``at_start``: :func:`started_holds`) does not count: the incident was declared, in public,
    before that rollout existed, and the hold is recorded under the rollout, itself withheld."""
    secret = hidden_numbers(session) if hidden is None else set(hidden)
    if not secret:
        return set()
    out: set[str] = set()
    for ident, data in session.execute(select(col(IncidentRow.id), col(IncidentRow.data))).all():
        if named_numbers(json.loads(data).get("proposals", [])) & secret:
            out.add(str(ident))
    for part in _chunks(secret):
        records = list(_pause_records(session, part))
        started = _started(records)
        stmt = select(col(RolloutRow.proposal), col(RolloutRow.data)).where(
            col(RolloutRow.proposal).in_(part)
        )
        for n, data in session.execute(stmt).all():
            out.update(k for k, _ in json.loads(data)["pauses"] if k and (k, n) not in started)
        out.update(
            str(p["incident"]) for _, p in records if p.get("incident") and not p.get("at_start")
        )
    return out


def started_holds(session: Session, numbers: Iterable[int]) -> set[tuple[str, int]]:
    """The (incident id, proposal) holds among ``numbers``' rollouts placed as they started
    (``rollout-paused`` entries recorded ``at_start``)."""
    return {h for part in _chunks(numbers) for h in _started(_pause_records(session, part))}


def _started(records: Iterable[tuple[int, dict[str, Any]]]) -> set[tuple[str, int]]:
    return {(str(p["incident"]), n) for n, p in records if p.get("incident") and p.get("at_start")}


def _pause_records(session: Session, numbers: list[int]) -> Iterable[tuple[int, dict[str, Any]]]:
    """The payloads of the ``rollout-paused`` entries of ``numbers``' rollouts, by proposal."""
    subjects = {f"rollout:{n}": n for n in numbers}
    held = (
        select(col(AuditEntry.subject), col(AuditEntry.payload))
        .where(col(AuditEntry.kind) == "rollout-paused")
        .where(col(AuditEntry.subject).in_(list(subjects)))
    )
    for subject, payload in session.execute(held).all():
        yield subjects[subject], json.loads(payload)


def private_meetings(session: Session, hidden: Iterable[int] | None = None) -> set[str]:
    """Ids of the ad-hoc calls the public may not see: marked private (a confidential
    rollout's go/no-go, a call about a hidden proposal), or about a proposal of ``hidden``."""
    secret = hidden_numbers(session) if hidden is None else set(hidden)
    stmt = select(
        col(AdhocMeetingRow.id), col(AdhocMeetingRow.private), col(AdhocMeetingRow.proposal)
    )
    return {
        str(ident)
        for ident, private, proposal in session.execute(stmt).all()
        if private or proposal in secret
    }


def state_counts(session: Session) -> dict[str, int]:
    """How many public proposals are in each state (one ``GROUP BY``)."""
    stmt = (
        select(col(ProposalRow.state), func.count())
        .where(public())
        .group_by(col(ProposalRow.state))
    )
    return {str(s): int(n) for s, n in session.execute(stmt).all()}


def closing_first(session: Session, limit: int) -> tuple[list[Stored], int]:
    """The ``limit`` public proposals in voting whose next deadline comes first, and how many
    public proposals are in voting in all."""
    voting = and_(col(ProposalRow.state) == "voting", public())
    stmt = (
        select(col(ProposalRow.data), col(ProposalRow.disclosed))
        .where(voting)
        .order_by(col(ProposalRow.next_due_at))
        .limit(limit)
    )
    items = [from_json(data, disclosed=bool(d)) for data, d in session.execute(stmt).all()]
    total = int(session.execute(select(func.count()).where(voting)).scalar_one())
    return items, total


def newest_public(session: Session, states: Sequence[str], limit: int) -> list[Stored]:
    """Public proposals in ``states``, newest first (``proposals.listing`` with
    ``include_confidential=False``)."""
    stmt = (
        select(col(ProposalRow.data), col(ProposalRow.disclosed))
        .where(col(ProposalRow.state).in_(list(states)))
        .where(public())
        .order_by(col(ProposalRow.number).desc())
        .limit(limit)
    )
    return [from_json(data, disclosed=bool(d)) for data, d in session.execute(stmt).all()]


def headers(session: Session, numbers: Iterable[int]) -> dict[int, Stored]:
    """The stored proposals among ``numbers`` (missing ones are absent) *without their votes
    and concerns* — for pages that show only a proposal's title, state and form fields (its
    rollout), where building thousands of votes would be wasted."""
    wanted = sorted(set(numbers))
    out: dict[int, Stored] = {}
    for i in range(0, len(wanted), _CHUNK):
        stmt = select(
            col(ProposalRow.number), col(ProposalRow.data), col(ProposalRow.disclosed)
        ).where(col(ProposalRow.number).in_(wanted[i : i + _CHUNK]))
        for number, data, disclosed in session.execute(stmt).all():
            d = {**json.loads(data), "votes": [], "concerns": []}
            out[int(number)] = from_data(d, disclosed=bool(disclosed))
    return out


def hidden_among(session: Session, numbers: Iterable[int]) -> set[int]:
    """Which of ``numbers`` the public may not see yet (primary-key lookups, no scan)."""
    wanted = sorted(set(numbers))
    out: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        stmt = (
            select(col(ProposalRow.number))
            .where(col(ProposalRow.number).in_(wanted[i : i + _CHUNK]))
            .where(~public())
        )
        out.update(int(n) for n in session.execute(stmt).scalars())
    return out
