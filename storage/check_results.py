"""Check results: the latest event of each GitHub check run, and the ones a rollout names.

Rules:
- Check results are not part of the stored rollout (:mod:`storage.rollouts`): they live in
  ``check_result`` (one row per repo × head_sha × check name) and :func:`with_checks` attaches
  the ones a rollout's reports name.
- :func:`record_check` keeps the newest event of a run: a late delivery changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from charter.rollout_facts import CheckResult, Rollout, tag_name
from storage.models.rollouts import CheckResultRow
from storage.times import aware


def record_check(
    session: Session,
    *,
    repo: str,
    head_sha: str,
    name: str,
    kind: str,
    status: str,
    conclusion: str | None,
    html_url: str,
    at: datetime,
    head_branch: str | None = None,
) -> bool:
    """Store the latest event of a check run, keyed by (repo, head_sha, name); ``at`` is when
    the run reached ``status``.

    Rule: an event older than the stored one is a late delivery and changes nothing (a re-run's
    failure must not be undone by the first run's success arriving after it); at the same
    instant a run that has not concluded does not replace one that has (a check may start and
    finish within the second GitHub's times resolve). Returns whether the event was stored."""
    repo, head_sha = repo.lower(), head_sha.lower()
    stmt = (
        select(CheckResultRow)
        .where(CheckResultRow.repo == repo)
        .where(CheckResultRow.head_sha == head_sha)
        .where(CheckResultRow.name == name)
    )
    row = session.exec(stmt).first()
    if row is not None and _stale(aware(row.at), row.conclusion, at, conclusion):
        return False
    if row is None:
        row = CheckResultRow(
            repo=repo, head_sha=head_sha, name=name, kind=kind, status=status, at=at
        )
    row.head_branch = head_branch or row.head_branch
    row.kind, row.status, row.conclusion, row.html_url, row.at = (
        kind,
        status,
        conclusion,
        html_url,
        at,
    )
    session.add(row)
    return True


def _stale(stored_at: datetime, stored: str | None, at: datetime, conclusion: str | None) -> bool:
    return at < stored_at or (at == stored_at and stored is not None and conclusion is None)


def with_checks(session: Session, rollout: Rollout, repos: Mapping[str, str]) -> Rollout:
    """The rollout with the check results on every ref its reports name (``repos``: client →
    owner/name): the runs on a commit the ref names (its sha, abbreviated or not), and for a
    tag the runs its push started (``head_branch``: ``charter.rollout_facts.tag_name``). A
    branch's runs are never taken (a later commit's would count for the release)."""
    found: dict[int, CheckResult] = {}
    wanted = {(r.client, r.ref) for r in rollout.reports if r.ref}
    for client, ref in sorted(wanted):
        repo = repos.get(client)
        if repo is None:
            continue
        named = col(CheckResultRow.head_sha).startswith(ref.lower(), autoescape=True)
        tag = tag_name(ref)  # a run its tag's push started; a branch's runs never count
        if tag is not None:
            named = sa.or_(named, col(CheckResultRow.head_branch) == tag)
        stmt = select(CheckResultRow).where(CheckResultRow.repo == repo.lower()).where(named)
        for row in session.exec(stmt).all():
            assert row.id is not None
            found[row.id] = CheckResult(
                client, row.name, row.head_sha, row.conclusion, aware(row.at), row.head_branch
            )
    return replace(rollout, checks=tuple(found[k] for k in sorted(found)))
