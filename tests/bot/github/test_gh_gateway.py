"""PyGithubGateway against the GitHub stand-in (real HTTP on loopback, real PyGithub)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from github import Auth

from bot.github.gateway import PyGithubGateway, default_web_url
from bot.ports import GitHubError, GitHubGateway, GitHubNotFound, GitHubRateLimited
from tests.standins.github_server import GitHubStandin

MARKER = "<!-- charterbot:tracking -->"
REPO = "/repos/octo-org/charter"


def test_gateway_satisfies_the_port(gateway: PyGithubGateway) -> None:
    """The implementation offers every method of the GitHubGateway protocol."""
    missing = [
        name
        for name in dir(GitHubGateway)
        if not name.startswith("_") and not hasattr(gateway, name)
    ]
    assert missing == []
    assert gateway.charter_repo == "octo-org/charter"


async def test_get_issue(github_standin: GitHubStandin, gateway: PyGithubGateway) -> None:
    """An issue comes back as a snapshot with labels, author and UTC times."""
    rec = github_standin.store.add_issue("Upgrade to 2.0", "Why: …", "alice", ("proposal",))
    snap = await gateway.get_issue(rec.number)
    assert (snap.number, snap.title, snap.body, snap.author) == (
        rec.number, "Upgrade to 2.0", "Why: …", "alice",
    )  # fmt: skip
    assert snap.labels == ("proposal",)
    assert snap.created_at == github_standin.store.now
    assert snap.updated_at.tzinfo is not None


async def test_missing_issue_is_not_found(gateway: PyGithubGateway) -> None:
    """A 404 becomes GitHubNotFound naming what was asked for."""
    with pytest.raises(GitHubNotFound, match="issue #999"):
        await gateway.get_issue(999)


async def test_bad_credentials_are_a_clear_error(make_gateway: Any) -> None:
    """A rejected token surfaces as GitHubError with status 401 (not retried)."""
    gateway = make_gateway(Auth.Token("ghp_wrong"))
    with pytest.raises(GitHubError, match="401") as info:
        await gateway.get_issue(1)
    assert info.value.status == 401


async def test_unreachable_github_is_a_clear_error(make_gateway: Any) -> None:
    """A connection failure names the URL that could not be reached."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again on exit: nothing listens there
    gateway = make_gateway(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(GitHubError, match=f"cannot reach GitHub at http://127.0.0.1:{port}"):
        await gateway.get_issue(1)


async def test_tracking_comment_create_edit_find(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """The bot's tracking comment is created once, found again by its hidden marker, edited."""
    number = github_standin.store.add_issue("Upgrade", "body").number
    github_standin.store.add_comment(number, "/vote approve", "bob")
    assert await gateway.find_comment_with_marker(number, MARKER) is None

    comment_id = await gateway.create_comment(number, f"{MARKER}\nStatus: review")
    assert isinstance(comment_id, str)
    assert comment_id.isdigit()
    found = await gateway.find_comment_with_marker(number, MARKER)
    assert found is not None
    assert found.comment_id == comment_id
    assert found.author == github_standin.bot_login

    await gateway.edit_comment(comment_id, f"{MARKER}\nStatus: voting")
    assert github_standin.store.comments[int(comment_id)].body.endswith("Status: voting")
    edits = github_standin.requests_to("PATCH", rf"{REPO}/issues/comments/{comment_id}")
    assert [r.json for r in edits] == [{"body": f"{MARKER}\nStatus: voting"}]
    assert len(github_standin.requests_to("POST", rf"{REPO}/issues/\d+/comments")) == 1


async def test_list_comments_follows_pagination(
    github_standin: GitHubStandin, make_gateway: Any
) -> None:
    """All pages are read through `Link: rel="next"`, in order."""
    number = github_standin.store.add_issue("Busy thread").number
    for i in range(25):
        github_standin.store.add_comment(number, f"comment {i}", f"user{i}")
    gateway = make_gateway(per_page=10)
    comments = await gateway.list_comments(number)
    assert [c.body for c in comments] == [f"comment {i}" for i in range(25)]
    pages = github_standin.requests_to("GET", rf"{REPO}/issues/{number}/comments")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3"]


async def test_set_labels_creates_missing_labels(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """Missing labels are created first (once, case-insensitively); removal is idempotent."""
    store = github_standin.store
    store.ensure_label("Proposal")
    number = store.add_issue("Upgrade", labels=("proposal", "review")).number

    await gateway.set_labels(number, add=("voting", "PROPOSAL"), remove=("review", "absent"))
    assert store.issues[number].labels == ["Proposal", "voting"]
    created = github_standin.requests_to("POST", rf"{REPO}/labels")
    assert [r.json["name"] for r in created] == ["voting"]

    await gateway.set_labels(number, add=("voting",))
    assert len(github_standin.requests_to("POST", rf"{REPO}/labels")) == 1


async def test_create_and_edit_issue(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """Issues are created with labels (made to exist) and edited in place."""
    number = await gateway.create_issue("Incident 7", "details", ("incident",))
    rec = github_standin.store.issues[number]
    assert (rec.title, rec.body, rec.labels) == ("Incident 7", "details", ["incident"])
    await gateway.edit_issue(number, body="resolved")
    assert (rec.title, rec.body) == ("Incident 7", "resolved")
    await gateway.edit_issue(number)  # nothing to change: no request
    assert len(github_standin.requests_to("PATCH", rf"{REPO}/issues/{number}")) == 1


async def test_create_issue_needs_a_title(gateway: PyGithubGateway) -> None:
    """An empty title is refused before any request."""
    with pytest.raises(ValueError, match="title"):
        await gateway.create_issue("  ", "body")


async def test_list_check_runs_of_a_client_repo(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """Check runs are read for any repository and ref, not just the charter repo."""
    store = github_standin.store
    store.add_check_run("acme/app", "abc123", "build", "completed", "success")
    store.add_check_run("acme/app", "abc123", "e2e", "in_progress", None)
    store.add_check_run("acme/app", "def456", "build", "completed", "failure")
    runs = await gateway.list_check_runs("acme/app", "abc123")
    assert [(r.name, r.status, r.conclusion) for r in runs] == [
        ("build", "completed", "success"),
        ("e2e", "in_progress", None),
    ]


async def test_check_runs_carry_what_a_check_run_webhook_does(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """Each run says its id and when it started and finished (GitHub's listing names no tag
    or branch: bot.github.poll_checks.run_tag); a tag is asked in GitHub's documented form, its
    slash kept."""
    store = github_standin.store
    store.add_tag("acme/app", "v1.0.0", "a" * 40)
    rec = store.add_check_run(
        "acme/app", "a" * 40, "build", "completed", "success", head_branch="v1.0.0"
    )
    (run,) = await gateway.list_check_runs("acme/app", "tags/v1.0.0")
    assert (run.run_id, run.head_sha, run.head_branch) == (str(rec.id), "a" * 40, None)
    assert run.started_at == run.completed_at == store.now
    (asked,) = github_standin.requests_to("GET", r"/repos/acme/app/commits/.*")
    assert asked.path == "/repos/acme/app/commits/tags/v1.0.0/check-runs"


@pytest.mark.parametrize("ref", ["tags/../../issues", "refs//x", "./x", ""])
async def test_a_ref_that_is_no_ref_is_refused_before_any_request(
    github_standin: GitHubStandin, gateway: PyGithubGateway, ref: str
) -> None:
    """A ref goes into the request path with its slashes: no dot or empty segment."""
    with pytest.raises(ValueError, match="not a ref"):
        await gateway.list_check_runs("acme/app", ref)
    assert github_standin.requests == []


async def test_issue_listing_is_conditional(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """A repeated listing with the ETag gets a 304 and does not consume the rate budget."""
    store = github_standin.store
    store.add_issue("one")
    store.add_issue("a pull request", pull_request=True)
    items, etag = await gateway.list_issues_since(None, None)
    assert [i.title for i in items] == ["one"]  # pull requests are not issues here
    assert etag is not None

    budget = github_standin.rate_remaining
    again, same = await gateway.list_issues_since(None, etag)
    assert (again, same) == ([], etag)
    assert github_standin.requests[-1].status == 304
    assert github_standin.rate_remaining == budget

    store.advance(5)
    store.add_issue("two")
    changed, new_etag = await gateway.list_issues_since(None, etag)
    assert [i.title for i in changed] == ["one", "two"]
    assert new_etag != etag
    assert github_standin.rate_remaining == budget - 1


async def test_calls_do_not_block_the_event_loop(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """PyGithub runs in a worker thread: a concurrent task keeps ticking during a slow call."""
    number = github_standin.store.add_issue("slow").number
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    github_standin.delay_next(0.3)
    await gateway.get_issue(number)
    github_standin.delay_next(0.3)
    await gateway.create_comment(number, "hello")
    stop.set()
    await task
    assert ticks >= 20  # a blocking call would have frozen the ticker for 0.6 s


@pytest.mark.parametrize(
    ("kind", "retry_after", "refusals", "expected_sleeps"),
    [
        pytest.param("secondary", None, 2, [60.0, 120.0], id="secondary-403-no-headers"),
        pytest.param("secondary", 7, 1, [7.0], id="secondary-403-retry-after"),
        pytest.param("429", None, 1, [60.0], id="429"),
        pytest.param("primary", None, 1, [91.0], id="primary-remaining-0"),
    ],
)
async def test_rate_limited_write_is_retried_end_to_end(
    github_standin: GitHubStandin,
    gateway: PyGithubGateway,
    clock: Any,
    kind: str,
    retry_after: int | None,
    refusals: int,
    expected_sleeps: list[float],
) -> None:
    """The stand-in's refusals are waited out as GitHub prescribes, then the write lands once."""
    number = github_standin.store.add_issue("Upgrade").number
    github_standin.fail_next(refusals, kind=kind, retry_after=retry_after)
    comment_id = await gateway.create_comment(number, "hello")
    posts = github_standin.requests_to("POST", rf"{REPO}/issues/{number}/comments")
    assert [r.fault for r in posts] == [kind] * refusals + [None]
    assert int(comment_id) in github_standin.store.comments
    assert [s for s in clock.sleeps if s >= 7.0] == expected_sleeps


async def test_persistent_rate_limit_gives_up(
    github_standin: GitHubStandin, make_gateway: Any, clock: Any
) -> None:
    """After N retries the caller gets GitHubRateLimited and GitHub saw N+1 requests."""
    number = github_standin.store.add_issue("Upgrade").number
    gateway = make_gateway(max_retries=2)
    github_standin.fail_next(10, kind="secondary")
    with pytest.raises(GitHubRateLimited, match="gave up after 2 retries"):
        await gateway.get_issue(number)
    assert len(github_standin.requests) == 3
    assert clock.sleeps == [60.0, 120.0]


async def test_writes_are_paced_one_second_apart(
    github_standin: GitHubStandin, gateway: PyGithubGateway, clock: Any
) -> None:
    """Consecutive writes wait ≥ 1 s (on our clock) — PyGithub's own throttle is off."""
    number = github_standin.store.add_issue("Upgrade").number
    for i in range(3):
        await gateway.create_comment(number, f"c{i}")
    assert clock.sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("https://api.acme-eu.ghe.com/", "https://acme-eu.ghe.com"),
        ("https://api.example.com", "https://api.example.com"),  # not GHE.com: as given
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_web_url_defaults(api: str, web: str) -> None:
    """OAuth endpoints and links live on the web host: github.com, the GHES host without
    /api/v3, or GHE.com's <subdomain>.ghe.com without its api. host."""
    assert default_web_url(api) == web


@pytest.mark.parametrize("bad", ["charter", "a/b/c", "", "owner/"])
def test_repository_name_is_validated(bad: str) -> None:
    """The charter repository must be given as owner/name."""
    with pytest.raises(ValueError, match="owner/name"):
        PyGithubGateway(bad, Auth.Token("t"), "http://127.0.0.1:1")
