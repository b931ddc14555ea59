"""A release reported by its tag (``ready … refs/tags/v1.0.0``) is shown by that tag whole — in
chat's rollout matrix, the inventory and the dashboard — never cut to 12 characters
(``refs/tags/v1`` is another tag); a commit sha is still abbreviated. The workflow run its tag
push started (``head_branch`` ``v1.0.0``, the short name) is the check on that release."""

from __future__ import annotations

import pytest

from bot.web import fast_views
from bot.web.app import environment
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, World, form

SHA = "0123abcd" * 5  # the tag's commit
EARLIER = "fedcba98" * 5  # the release on staging
TAG = "refs/tags/v1.0.0"


@pytest.fixture
def tagged(world: World) -> World:
    """#1 for aurora alone: staging entered, canary reported by tag; the tag's workflow run
    (GitHub names the tag short: ``v1.0.0``) concluded success on commit SHA."""
    world.accept(1, form(clients=("aurora",)))
    world.ok(MAINTAINER["aurora"], f"ready 1 aurora staging 0.9.0 {EARLIER}")
    world.ok(MAINTAINER["aurora"], f"ready 1 aurora canary 1.0.0 {TAG}")
    world.check("aurora", SHA, "interop-matrix", kind="workflow_run", head_branch="v1.0.0")
    return world


def test_chat_shows_the_tag_whole_and_its_run_as_the_check(tagged: World) -> None:
    shown = tagged.ok(None, "rollout 1")
    assert "staging 0.9.0@fedcba98fedc (" in shown  # a sha: abbreviated
    assert f"canary 1.0.0@{TAG} (" in shown and "interop-matrix=success" in shown
    assert "@refs/tags/v1 " not in shown and "@refs/tags/v1 (" not in shown
    assert "  PASS require_checks: interop-matrix passed on every client's release" in shown


@pytest.mark.parametrize("text", ["inventory 1", "inventory"])
def test_the_inventory_shows_the_tag_whole(tagged: World, text: str) -> None:
    lines = tagged.ok(COORDINATOR, text).splitlines()
    assert [line.split(" since ")[0] for line in lines[1:]] == [
        "aurora:",
        "  staging: 0.9.0@fedcba98fedc for #1",
        f"  canary: 1.0.0@{TAG} for #1",
    ]


def test_the_dashboard_shows_the_tag_whole(tagged: World) -> None:
    """The rollouts page's matrix (its ``matrix`` macro) on the page's own view."""
    views, _, _ = fast_views.rollouts_page(tagged.gov, tagged.clock.now(), 1)
    macro = '{% import "_macros.html" as m %}{{ m.matrix(r) }}'
    html = environment().from_string(macro).render(r=views[0], rel=str)
    assert f'<code class="ref">{TAG}</code>' in html
    assert '<code class="ref">fedcba98fedc</code>' in html


RELEASE, LATER = "1" * 40, "2" * 40


@pytest.mark.parametrize(
    ("ref", "what"),
    [("refs/heads/main", "is a branch"), ("refs/pull/7/head", "is not a tag")],
)
def test_a_release_reported_by_branch_is_refused(world: World, ref: str, what: str) -> None:
    """By branch, a later, unrelated commit's run on main would pass the release's gate (its
    own commit failed): the report is refused, saying what to give instead."""
    world.accept(1, form(clients=("aurora",), likelihood=1, impact=1))
    a = MAINTAINER["aurora"]
    world.ok(a, f"ready 1 aurora staging 1.0.0 {RELEASE}")
    said = world.refused(a, f"ready 1 aurora canary 1.1.0 {ref}")
    assert said == (
        f"error: {ref} {what}: it moves on to later commits, whose check runs would count for"
        " this release; report the release by its commit sha or its tag (refs/tags/<tag>)"
    )
    world.check("aurora", RELEASE, "interop-matrix", "failure", head_branch="main")
    world.check("aurora", LATER, "interop-matrix", "success", head_branch="main")
    shown = world.ok(None, "rollout 1")
    assert "canary 1.1.0" not in shown and "PASS require_checks" not in shown
    world.ok(a, f"ready 1 aurora canary 1.1.0 {RELEASE}")
    failed = f"  FAIL require_checks: interop-matrix on aurora@{RELEASE} concluded failure"
    assert failed in world.ok(None, "rollout 1").splitlines()  # its own commit's run


@pytest.mark.parametrize("branch", ["v1.x", "1.2.x"])
def test_a_release_branch_typed_bare_is_refused(world: World, branch: str) -> None:
    """Typed bare, a release branch looked like a tag, so a later commit's run pushed to it
    passed the release's gate (its own commit failed): only a whole version is read as a tag,
    anything else is refused, saying what to give instead."""
    world.accept(1, form(clients=("aurora",), likelihood=1, impact=1))
    a = MAINTAINER["aurora"]
    world.ok(a, f"ready 1 aurora staging 1.0.0 {RELEASE}")
    said = world.refused(a, f"ready 1 aurora canary 1.1.0 {branch}")
    assert f"'{branch}' may be a branch" in said
    assert "report the release by its commit sha or its tag (refs/tags/<tag>)" in said
    world.check("aurora", RELEASE, "interop-matrix", "failure", head_branch=branch)
    world.check("aurora", LATER, "interop-matrix", "success", head_branch=branch)
    shown = world.ok(None, "rollout 1")
    assert "canary 1.1.0" not in shown and "PASS require_checks" not in shown
