"""Read-optimised rollout queries for the dashboard: rollouts, their decisions, calls and checks.

Rules:
- Every function reads; none writes (one ``storage.db.read_scope`` per page, as for
  :mod:`storage.dashboard_queries`).
- Each returns exactly what the general-purpose repository functions would
  (``rollouts.rollouts`` / ``go_no_go`` / ``with_checks``, ``meetings.go_no_go_calls``), only
  batched: one statement for many proposals instead of one per proposal, and the indexed columns
  (stage, completion) do the filtering instead of parsing every aggregate.
- A rollout is public as its proposal is (:func:`storage.dashboard_queries.public`); one whose
  proposal row is missing stays in, as the repository walk counts it too. Go/no-go calls are
  returned private ones too: what may be shown of them is the caller's to decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session, col

from charter.gates import GoNoGo
from charter.model import Charter
from charter.rollout_facts import CheckResult, Rollout, tag_name
from storage.dashboard_queries import _CHUNK, public
from storage.models.core import ProposalRow
from storage.models.meetings import AdhocMeetingRow
from storage.models.rollouts import CheckResultRow, GoNoGoRow, RolloutRow
from storage.rollout_json import rollout_from_json
from storage.times import aware


def _shown() -> ColumnElement[bool]:
    # A rollout is left out when its proposal is hidden; one whose proposal row is missing
    # stays in (the outer join gives NULLs), as the repository walk counts it too.
    return or_(col(ProposalRow.number).is_(None), public())


def unfinished_rollouts(session: Session, charter: Charter) -> list[Rollout]:
    """Public rollouts not completed, newest proposal first, their stages as indexes into
    ``charter``: the ones a gate can block, including one still pending (its first stage not
    entered: a gate blocks that stage as any other)."""
    stmt = (
        select(col(RolloutRow.data))
        .outerjoin(ProposalRow, col(ProposalRow.number) == col(RolloutRow.proposal))
        .where(col(RolloutRow.completed_at).is_(None))
        .where(_shown())
        .order_by(col(RolloutRow.proposal).desc())
    )
    return [rollout_from_json(data, charter) for data in session.execute(stmt).scalars()]


def rollout_page(
    session: Session, charter: Charter, *, offset: int, limit: int
) -> tuple[list[Rollout], int]:
    """One page of public rollouts (unfinished first, then newest proposal first), their
    stages as indexes into ``charter``, and how many there are."""
    joined = (
        select(col(RolloutRow.data))
        .outerjoin(ProposalRow, col(ProposalRow.number) == col(RolloutRow.proposal))
        .where(_shown())
    )
    stmt = (
        joined.order_by(col(RolloutRow.completed_at).is_not(None), col(RolloutRow.proposal).desc())
        .offset(offset)
        .limit(limit)
    )
    page = [rollout_from_json(data, charter) for data in session.execute(stmt).scalars()]
    total = int(session.execute(select(func.count()).select_from(joined.subquery())).scalar_one())
    return page, total


def go_no_go_of(session: Session, numbers: Iterable[int]) -> dict[int, tuple[GoNoGo, ...]]:
    """Every proposal's recorded go/no-go decisions in the order they were made
    (``rollouts.go_no_go`` for many proposals at once)."""
    wanted = sorted(set(numbers))
    found: dict[int, list[GoNoGo]] = {n: [] for n in wanted}
    rows: list[GoNoGoRow] = []
    for i in range(0, len(wanted), _CHUNK):
        stmt = select(GoNoGoRow).where(col(GoNoGoRow.proposal).in_(wanted[i : i + _CHUNK]))
        rows.extend(session.execute(stmt).scalars())
    for r in sorted(rows, key=lambda r: r.id or 0):
        found[r.proposal].append(
            GoNoGo(r.proposal, r.stage, "go" if r.decision == "go" else "no-go", r.by, aware(r.at))
        )
    return {n: tuple(v) for n, v in found.items()}


def go_no_go_calls_of(session: Session, numbers: Iterable[int]) -> dict[int, list[AdhocMeetingRow]]:
    """Every proposal's go/no-go calls, first attempt first (``meetings.go_no_go_calls`` for
    many proposals and all their stages at once); private ones too: what may be shown of them
    is the caller's to decide."""
    wanted = sorted(set(numbers))
    found: dict[int, list[AdhocMeetingRow]] = {n: [] for n in wanted}
    rows: list[AdhocMeetingRow] = []
    for i in range(0, len(wanted), _CHUNK):
        stmt = (
            select(AdhocMeetingRow)
            .where(col(AdhocMeetingRow.kind) == "go-no-go")
            .where(col(AdhocMeetingRow.proposal).in_(wanted[i : i + _CHUNK]))
        )
        rows.extend(session.execute(stmt).scalars())
    for r in sorted(rows, key=lambda r: (aware(r.created_at), r.id)):
        if r.proposal is not None:
            found[r.proposal].append(r)
    return found


def with_checks_all(
    session: Session, rollouts: Sequence[Rollout], repos: Mapping[str, str]
) -> list[Rollout]:
    """Each rollout with the check results on the refs its reports name — what
    ``rollouts.with_checks`` gives one rollout — read in one statement per ref length, and one
    for the tags.

    A ref names every run whose head commit starts with it (``record_check`` stores both
    lowercased); ``substr(head_sha, 1, n) IN (refs of length n)`` is that prefix test with
    expanding parameters, so the statement stays small however many refs a page has. A tag
    also names the runs its push started (``head_branch``, by its short name:
    ``charter.rollout_facts.tag_name``); a branch never does."""
    wanted: dict[int, set[str]] = {}
    tags: set[str] = set()
    names: set[str] = set()
    for rollout in rollouts:
        for r in rollout.reports:
            if r.ref and r.client in repos:
                wanted.setdefault(len(r.ref), set()).add(r.ref.lower())
                tags.update(t for t in (tag_name(r.ref),) if t is not None)
                names.add(repos[r.client].lower())
    sha, branch = col(CheckResultRow.head_sha), col(CheckResultRow.head_branch)
    fields = (
        col(CheckResultRow.id),
        col(CheckResultRow.repo),
        sha,
        col(CheckResultRow.name),
        col(CheckResultRow.conclusion),
        col(CheckResultRow.at),
        branch,
    )
    matches = [func.substr(sha, 1, n).in_(sorted(refs)) for n, refs in sorted(wanted.items())]
    if tags:
        matches.append(branch.in_(sorted(tags)))
    found: dict[int, _Run] = {}
    for match in matches:
        stmt = select(*fields).where(col(CheckResultRow.repo).in_(sorted(names))).where(match)
        for row in session.execute(stmt).all():
            run = _Run(
                int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], aware(row[5]), row[6]
            )
            found[run.id] = run
    runs: dict[str, list[_Run]] = {}
    for run in sorted(found.values(), key=lambda r: r.id):
        runs.setdefault(run.repo, []).append(run)
    return [_attach(rollout, runs, repos) for rollout in rollouts]


@dataclass(frozen=True)
class _Run:
    id: int
    repo: str
    head_sha: str
    name: str
    conclusion: str | None
    at: datetime
    head_branch: str | None


def _attach(
    rollout: Rollout, runs: Mapping[str, Sequence[_Run]], repos: Mapping[str, str]
) -> Rollout:
    # Same walk as rollouts.with_checks: refs in sorted order, a later (client, ref) that
    # matches the same run names its client, results ordered by row id.
    found: dict[int, CheckResult] = {}
    for client, ref in sorted({(r.client, r.ref) for r in rollout.reports if r.ref}):
        repo = repos.get(client)
        if repo is None:
            continue
        tag = tag_name(ref)
        for run in runs.get(repo.lower(), ()):
            if run.head_sha.startswith(ref.lower()) or (tag is not None and run.head_branch == tag):
                found[run.id] = CheckResult(
                    client, run.name, run.head_sha, run.conclusion, run.at, run.head_branch
                )
    return replace(rollout, checks=tuple(found[k] for k in sorted(found)))
