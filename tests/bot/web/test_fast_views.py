"""The overview and rollouts pages' batched reads show exactly what the per-proposal functions
would, and pages are rendered fresh: a change that leaves no audit entry shows at once.

The references below are the general-purpose, one-at-a-time paths (``proposals.listing`` and
``load``, ``bot.views.summary_view``, ``bot.rollout_reads.view_of``, ``rollouts.with_checks`` /
``incidents`` / ``go_no_go``) on the demo campaign, enriched with a started rollout of the
undisclosed proposal, a go/no-go call and extra check results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot import rollout_reads
from bot.rollout_lifecycle import start_rollout
from bot.rollout_views import is_final
from bot.runtime import Runtime
from bot.views import summary_view
from bot.web import fast_views, queries
from charter.gates import GoNoGo
from storage import (
    check_results as check_store,
    dashboard_queries as q,
    dashboard_rollouts as rq,
    proposals as repo,
    rollout_reports as report_store,
    rollouts as store,
)
from storage.db import read_scope, session_scope
from storage.models.rollouts import CheckResultRow
from tests.bot.web.conftest import NOW

HIDDEN = 9  # the demo's undisclosed security patch


def enrich(rt: Runtime) -> None:
    """Give the hidden proposal a rollout in a stage, record a go/no-go call and a check."""
    with session_scope(rt.engine) as session:
        stored = repo.load(session, HIDDEN)
        assert stored is not None
        started = start_rollout(rt.gov, session, stored, NOW)
        store.save_rollout(session, replace(started, stage_index=0), rt.gov.charter, NOW)
        call = GoNoGo(1, "production", "no-go", "jonas-coord", NOW - timedelta(hours=2))
        report_store.record_go_no_go(session, call, "not yet")


def reference_summaries(rt: Runtime) -> dict[int, dict[str, Any]]:
    with read_scope(rt.engine) as session:
        items = repo.listing(session, limit=10_000)
    return {
        s.proposal.number: {
            **summary_view(s, rt.gov.charter, NOW),
            "clients": sorted(queries._clients(s)),
        }
        for s in items
    }


def reference_rollouts(rt: Runtime) -> list[tuple[dict[str, Any], bool]]:
    """Every rollout's ``view_of`` (unfinished first, newest first), its gate rows as the
    dashboard lists them, and whether it is public."""
    out = []
    with read_scope(rt.engine) as session:
        found = []
        for rollout in store.rollouts(session, rt.gov.charter):
            stored = repo.load(session, rollout.proposal)
            assert stored is not None
            found.append((stored, rollout))
        # unfinished first: completed, or final as the proposal is (rolled back), come last
        found.sort(
            key=lambda f: (
                is_final(f[1], f[0].proposal.state.value),
                -f[1].proposal,
            )
        )
        for stored, rollout in found:
            public = queries.is_public(stored, rt.gov.charter)
            view = rollout_reads.view_of(rt.gov, session, stored, rollout, NOW)
            # as the dashboard lists gates: each named once (queries.gate_rows)
            out.append(({**view, "gates": queries.gate_rows(view["gates"])}, public))
    return out


@pytest.mark.parametrize("when", [timedelta(0), timedelta(days=3), timedelta(days=30)])
def test_summary_equals_summary_view(seeded: Runtime, when: timedelta) -> None:
    """A list entry equals ``summary_view`` plus clients for every proposal, at any moment."""
    with read_scope(seeded.engine) as session:
        items = repo.listing(session, limit=10_000)
    charter = seeded.gov.charter
    for s in items:
        expected = {**summary_view(s, charter, NOW + when), "clients": sorted(queries._clients(s))}
        assert fast_views.summary(s, charter, NOW + when) == expected


def test_batched_repository_reads_equal_one_at_a_time(seeded: Runtime) -> None:
    """Checks, go/no-go calls and proposal headers read in batches equal the
    repository's per-rollout answers."""
    enrich(seeded)
    repos = rollout_reads.client_repos(seeded.gov.charter)
    with read_scope(seeded.engine) as session:
        rollouts = store.rollouts(session, seeded.gov.charter)
        batched = rq.with_checks_all(session, rollouts, repos)
        assert batched == [check_store.with_checks(session, r, repos) for r in rollouts]
        assert any(r.checks for r in batched)
        numbers = [r.proposal for r in rollouts]
        calls = rq.go_no_go_of(session, numbers)
        assert calls == {n: report_store.go_no_go(session, n) for n in numbers} and calls[1]
        for n, head in q.headers(session, [*numbers, 999]).items():
            full = repo.load(session, n)
            assert full is not None and head.proposal.title == full.proposal.title
            assert (head.proposal.fields, head.disclosed) == (full.proposal.fields, full.disclosed)
        assert q.hidden_among(session, [1, HIDDEN, 999]) == {HIDDEN}


@pytest.mark.parametrize("size", [1, 2, 20])
def test_rollout_pages_equal_view_of(seeded: Runtime, size: int) -> None:
    """Every page of rollouts holds the public rollouts' ``view_of`` in the reference order,
    and the total counts them; the undisclosed proposal's rollout is left out."""
    enrich(seeded)
    expected = [view for view, public in reference_rollouts(seeded) if public]
    shown: list[dict[str, Any]] = []
    for page in range(1, len(expected) + 2):
        found = fast_views.rollouts_page(seeded.gov, NOW, page, size)
        assert found is not None
        views, total, demo = found
        assert total == len(expected) and demo is True
        shown.extend(views)
    assert shown == expected
    assert HIDDEN not in {v["proposal"] for v in shown}


def test_overview_equals_reference(seeded: Runtime) -> None:
    """The overview's counts, votes closing, review list, failing gates and open incidents
    equal what the per-proposal functions give."""
    enrich(seeded)
    ctx = fast_views.overview(seeded.gov, NOW)
    summaries = reference_summaries(seeded)
    with read_scope(seeded.engine) as session:
        public = [
            s
            for s in repo.listing(session, limit=10_000)
            if queries.is_public(s, seeded.gov.charter)
        ]
    assert ctx["counts"] == dict(Counter(s.proposal.state.value for s in public))
    voting = [summaries[s.proposal.number] for s in public if s.proposal.state.value == "voting"]
    closing = sorted(voting, key=lambda v: v["next_deadline"] or "9999")
    assert [{k: v for k, v in c.items() if k != "soon"} for c in ctx["closing"]] == closing
    assert ctx["voting"] == len(voting)
    review = [s.proposal.number for s in public if s.proposal.state.value in ("review", "draft")]
    assert ctx["review"] == [summaries[n] for n in review]
    failing = [
        (v, [g for g in v["gates"] if not g["passed"]])
        for v, shown in reference_rollouts(seeded)
        if shown and v["completed_at"] is None  # pending too: a gate blocks its first stage
    ]
    failing = [(v, gates) for v, gates in failing if gates]
    assert len(ctx["failing"]) == len(failing) >= 1
    for (got, got_gates), (want, want_gates) in zip(ctx["failing"], failing, strict=True):
        assert got == {k: want[k] for k in ("proposal", "title", "next_stage")}
        assert got_gates == want_gates
    incidents = seeded.extras["dashboard"].reader().incidents()
    assert ctx["incidents"] == [i for i in incidents if i["open"]]


async def test_pages_are_fresh_after_a_change_without_audit_entry(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    """A check run turning green (stored without an audit entry, as ``on_check`` does) shows
    on the next view of both pages: they are rendered fresh, not reused from a cache keyed
    on the audit head."""
    failure = "differential-fuzz on dorado@"
    before = {p: (await client.get(p)).text for p in ("/", "/rollouts")}
    assert failure in before["/"] and failure in before["/rollouts"]
    with session_scope(seeded.engine) as session:
        row = session.exec(
            select(CheckResultRow)
            .where(CheckResultRow.name == "differential-fuzz")
            .where(CheckResultRow.conclusion == "failure")
        ).one()
        check_store.record_check(
            session,
            repo=row.repo,
            head_sha=row.head_sha,
            name=row.name,
            kind=row.kind,
            status="completed",
            conclusion="success",
            html_url=row.html_url,
            at=NOW,
        )
    after = {p: (await client.get(p)).text for p in ("/", "/rollouts")}
    assert failure not in after["/"] and failure not in after["/rollouts"]
