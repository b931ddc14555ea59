"""PyGithubGateway.list_releases against the GitHub stand-in (real HTTP, real PyGithub)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.github.gateway import PyGithubGateway
from bot.github.wire import WireFormatError
from bot.ports import GitHubRateLimited
from tests.bot.github.conftest import GatewayFactory
from tests.standins.github_server import GitHubStandin

RELEASES = r"/repos/acme/app/releases"


async def test_releases_come_newest_first_in_one_request(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """One page of ``per_page``, newest first; the next page GitHub links is not followed."""
    store = github_standin.store
    old = store.add_release("acme/app", "v1.0.0", "charterbot: ready 1 staging", "alice")
    store.advance(60)
    store.add_release("acme/app", "v1.1.0-rc1", None, "bob", prerelease=True)
    store.advance(60)
    draft = store.add_release("acme/app", "v2.0.0", "wip", "carol", draft=True)
    store.add_release("acme/other", "v9", "", "dave")
    listed = await gateway.list_releases("acme/app", 2)
    assert [(r.tag, r.author, r.body, r.draft, r.prerelease) for r in listed] == [
        ("v2.0.0", "carol", "wip", True, False),
        ("v1.1.0-rc1", "bob", "", False, True),
    ]
    assert listed[0].published_at is None  # a draft was never published
    assert listed[1].published_at == store.now - timedelta(seconds=60)
    assert listed[0].release_id == str(draft.id)
    (asked,) = github_standin.requests_to("GET", RELEASES)
    assert asked.query.get("per_page") == "2"
    everything = await gateway.list_releases("acme/app", 100)
    assert [r.release_id for r in everything][-1] == str(old.id)


async def test_a_later_page_is_asked_for_by_number(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """``page`` is GitHub's page number (newest first by creation); each is one request, and
    each release says when it was created (a draft: its creation, not its publication)."""
    store = github_standin.store
    made = []
    for i in range(5):
        made.append(store.add_release("acme/app", f"v1.{i}", "", "alice"))
        store.advance(60)
    second = await gateway.list_releases("acme/app", 2, 2)
    assert [r.tag for r in second] == ["v1.2", "v1.1"]
    assert [r.created_at for r in second] == [made[2].created_at, made[1].created_at]
    assert await gateway.list_releases("acme/app", 2, 4) == []
    asked = github_standin.requests_to("GET", RELEASES)
    assert [(a.query.get("per_page"), a.query.get("page")) for a in asked] == [
        ("2", "2"),
        ("2", "4"),
    ]


@pytest.mark.parametrize(
    ("repo", "per_page", "page", "why"),
    [
        ("acme", 10, 1, "owner/name"),
        ("acme/app/releases/../x", 10, 1, "owner/name"),
        ("acme/app", 0, 1, "per_page"),
        ("acme/app", 101, 1, "per_page"),
        ("acme/app", 10, 0, "page must be 1 or more"),
    ],
)
async def test_a_bad_request_is_refused_before_any_request(
    github_standin: GitHubStandin,
    gateway: PyGithubGateway,
    repo: str,
    per_page: int,
    page: int,
    why: str,
) -> None:
    with pytest.raises(ValueError, match=why):
        await gateway.list_releases(repo, per_page, page)
    assert github_standin.requests == []


async def test_a_release_without_its_tag_is_a_wire_format_error(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    rec = github_standin.store.add_release("acme/app", "v1", "", "alice")
    rec.tag = None  # type: ignore[assignment]
    with pytest.raises(WireFormatError, match="tag_name"):
        await gateway.list_releases("acme/app", 10)


async def test_the_listing_goes_through_the_shared_throttle(
    github_standin: GitHubStandin, make_gateway: GatewayFactory
) -> None:
    """A rate-limit refusal is retried by the throttle, and one it cannot outwait is raised."""
    github_standin.store.add_release("acme/app", "v1", "", "alice")
    gateway = make_gateway(max_retries=1)
    github_standin.fail_next(1, kind="secondary", retry_after=1)
    assert [r.tag for r in await gateway.list_releases("acme/app", 10)] == ["v1"]
    github_standin.fail_next(2, kind="secondary", retry_after=1)
    with pytest.raises(GitHubRateLimited):
        await gateway.list_releases("acme/app", 10)
    assert [r.status for r in github_standin.requests_to("GET", RELEASES)] == [403, 200, 403, 403]
