"""storage.dashboard_rollouts.with_checks_all: the dashboard's batched read of check results
equals ``rollouts.with_checks`` rollout by rollout — runs named by a commit's (abbreviated) sha,
and runs started for a tag, named as reported or as ``refs/tags/…``; never a branch's runs
(``head_branch`` is also the branch any later commit was pushed to)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from charter.rollout import ReadyReport, Rollout
from storage import check_results as store, dashboard_rollouts as q
from storage.db import read_scope, session_scope

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
REPOS = {"aurora": "meridian-net/aurora", "dorado": "meridian-net/dorado"}
SHA = "abc123" + "0" * 34


def report(client: str, stage: str, ref: str) -> ReadyReport:
    return ReadyReport(client, stage, "1.2.0", ref, "", f"maintainer-{client}", T)


def test_tags_and_shas_are_read_as_the_one_rollout_read_does(engine: Engine) -> None:
    runs = [
        ("meridian-net/aurora", SHA, "unit", None),
        ("meridian-net/aurora", "f" * 40, "interop", "v1.2.0"),  # a tag push's run
        ("meridian-net/dorado", "e" * 40, "interop", "v2.0.0"),
        ("meridian-net/dorado", "d" * 40, "interop", "v9"),  # a tag no report names
    ]
    with session_scope(engine) as session:
        for repo, sha, name, branch in runs:
            store.record_check(
                session, repo=repo, head_sha=sha, name=name, kind="check_run", status="completed",
                conclusion="success", html_url="", at=T, head_branch=branch,
            )  # fmt: skip
    rollouts = [
        Rollout(
            proposal=1,
            clients=("aurora", "dorado"),
            started_at=T,
            reports=(
                report("aurora", "staging", SHA[:8]),
                report("aurora", "canary", "v1.2.0"),
                report("dorado", "staging", "refs/tags/v2.0.0"),
            ),
        )
    ]
    with read_scope(engine) as session:
        batched = q.with_checks_all(session, rollouts, REPOS)
        assert batched == [store.with_checks(session, r, REPOS) for r in rollouts]
    found = {(c.client, c.name, c.head_branch) for c in batched[0].checks}
    assert found == {("aurora", "unit", None), ("aurora", "interop", "v1.2.0"),
                     ("dorado", "interop", "v2.0.0")}  # fmt: skip


@pytest.mark.parametrize(
    ("ref", "found"),
    [
        ("refs/tags/v1.2.0", {"f" * 40}),  # the tag's run
        ("v1.2.0", {"f" * 40}),
        (SHA, {SHA}),  # the release commit's own run
        ("refs/heads/main", set()),  # stored by an earlier version: no run by branch
        ("refs/heads/release/1.x", set()),
    ],
)
def test_a_branch_never_takes_the_runs_pushed_to_it(
    engine: Engine, ref: str, found: set[str]
) -> None:
    """The release commit SHA failed on main; a later commit on main passed."""
    runs = [
        (SHA, "failure", "main"),
        ("9" * 40, "success", "main"),
        ("8" * 40, "success", "release/1.x"),
        ("f" * 40, "success", "v1.2.0"),
    ]
    with session_scope(engine) as session:
        for sha, conclusion, branch in runs:
            store.record_check(
                session, repo=REPOS["aurora"], head_sha=sha, name="interop", kind="check_run",
                status="completed", conclusion=conclusion, html_url="", at=T, head_branch=branch,
            )  # fmt: skip
    rollouts = [
        Rollout(
            proposal=1,
            clients=("aurora",),
            started_at=T,
            reports=(report("aurora", "canary", ref),),
        )
    ]
    with read_scope(engine) as session:
        batched = q.with_checks_all(session, rollouts, REPOS)
        assert batched == [store.with_checks(session, r, REPOS) for r in rollouts]
    assert {c.head_sha for c in batched[0].checks} == found
