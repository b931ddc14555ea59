"""A GitHub release reports its tag as the release's ref, whatever its ``target_commitish`` says.

GitHub's release payload names the tag (``tag_name``) and ``target_commitish``: where GitHub
creates the tag from when it does not exist yet, a branch name ("main", the default) or a commit
sha, and unused when the tag already exists (GitHub's create-release documentation). A branch
there moves on to later commits, and even a sha is only what the author passed, not
necessarily the commit the tag names. The tag is what the release is: the report records it
(``version`` and ``ref`` both the tag, shown as the version alone), and the gate takes the runs
of the tag (a tag push's run names it as ``head_branch``; the check reader asks GitHub for the
runs of the tag's commit, :mod:`bot.github.poll_checks`), never a run of the branch, nor of the
sha ``target_commitish`` names when the tag's commit is another."""

from __future__ import annotations

import copy

import pytest

from storage import rollouts as store
from storage.db import session_scope
from tests.bot.rollouts.conftest import MAINTAINER, World, form, webhook

TAGGED = "0123abcd" * 5  # the commit the tag v1.0.0 names
OTHER = "fedcba98" * 5  # a commit target_commitish names, not the tag's (the tag existed)
LATER = "2" * 40  # a later commit on main
EARLIER = "1" * 40  # the release on staging


def release(world: World, tag: str, target: str, body: str) -> None:
    """The public ``release/published`` fixture, in aurora's repository, with ``target``."""
    payload = copy.deepcopy(webhook("release", "published"))
    payload["repository"]["full_name"] = world.gov.charter.client("aurora").repository  # type: ignore[union-attr]
    stamp = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["release"].update(tag_name=tag, target_commitish=target, body=body, published_at=stamp)
    payload["release"]["author"]["login"] = MAINTAINER["aurora"]
    world.deliver("release", payload)


@pytest.fixture
def on_staging(world: World) -> World:
    world.accept(1, form(clients=("aurora",), likelihood=1, impact=1))
    world.ok(MAINTAINER["aurora"], f"ready 1 aurora staging 0.9.0 {EARLIER}")
    return world


@pytest.mark.parametrize(
    "target", ["main", "refs/heads/main", TAGGED, OTHER], ids=["branch", "ref", "sha", "other"]
)
def test_a_release_reports_its_tag_whatever_its_target(on_staging: World, target: str) -> None:
    world = on_staging
    release(world, "v1.0.0", target, "charterbot: ready 1 canary")
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, 1, world.gov.charter)
    assert rollout is not None
    report = rollout.latest_report("aurora", "canary")
    assert report is not None
    assert (report.version, report.ref) == ("v1.0.0", "v1.0.0")
    shown = world.ok(None, "rollout 1")
    assert "canary v1.0.0 (" in shown  # the version alone: its ref is its own tag
    assert TAGGED[:12] not in shown and OTHER[:12] not in shown
    # A run of the branch (a later commit pushed to main) or of the sha target_commitish names
    # passes nothing; the runs of the tag do.
    world.check("aurora", LATER, "interop-matrix", "success", head_branch="main")
    world.check("aurora", OTHER, "interop-matrix", "success", head_branch="main")
    assert "PASS require_checks" not in world.ok(None, "rollout 1")
    world.check("aurora", TAGGED, "interop-matrix", kind="workflow_run", head_branch="v1.0.0")
    shown = world.ok(None, "rollout 1")
    assert "  PASS require_checks: interop-matrix passed on every client's release" in shown
