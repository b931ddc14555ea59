"""The GitHub stand-in itself speaks GitHub's wire format (so gateway tests mean something)."""

from __future__ import annotations

import httpx
import pytest

from tests.standins.github_server import GitHubStandin
from tests.standins.github_store import iso


def _get(standin: GitHubStandin, path: str, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"token {standin.token}"}
    return httpx.get(standin.base_url + path, headers=auth | headers)


def test_json_content_type_and_urls_under_base(github_standin: GitHubStandin) -> None:
    """Responses are exactly `application/json`, and `url` fields point back at the stand-in."""
    number = github_standin.store.add_issue("x").number
    response = _get(github_standin, f"/repos/octo-org/charter/issues/{number}")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["url"].startswith(github_standin.base_url + "/repos/")


def test_link_header_pages_under_base(github_standin: GitHubStandin) -> None:
    """Lists page with `Link` URLs under the base URL, ending with rel=last."""
    for i in range(5):
        github_standin.store.add_issue(f"issue {i}")
    response = _get(github_standin, "/repos/octo-org/charter/issues?per_page=2")
    link = response.headers["link"]
    assert (
        f'<{github_standin.base_url}/repos/octo-org/charter/issues?per_page=2&page=2>; rel="next"'
        in link
    )
    assert 'page=3>; rel="last"' in link
    assert len(response.json()) == 2


def test_requests_without_credentials_are_refused(github_standin: GitHubStandin) -> None:
    """No or wrong credentials answer 401 Bad credentials."""
    response = httpx.get(github_standin.base_url + "/repos/octo-org/charter/issues")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_conditional_get_is_free(github_standin: GitHubStandin) -> None:
    """A matching If-None-Match answers 304 without spending the rate budget."""
    github_standin.store.add_issue("x")
    first = _get(github_standin, "/repos/octo-org/charter/issues")
    budget = int(first.headers["x-ratelimit-remaining"])
    again = _get(
        github_standin, "/repos/octo-org/charter/issues", **{"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert github_standin.rate_remaining == budget


@pytest.mark.parametrize(
    ("kind", "retry_after", "status", "headers"),
    [
        ("secondary", None, 403, {}),
        ("secondary", 30, 403, {"retry-after": "30"}),
        ("429", None, 429, {}),
        ("primary", None, 403, {"x-ratelimit-remaining": "0"}),
    ],
)
def test_injected_refusals(
    github_standin: GitHubStandin,
    kind: str,
    retry_after: int | None,
    status: int,
    headers: dict[str, str],
) -> None:
    """`fail_next` answers the next request like GitHub's limits do, then service resumes."""
    github_standin.fail_next(1, kind=kind, retry_after=retry_after)
    refused = _get(github_standin, "/repos/octo-org/charter/issues")
    assert refused.status_code == status
    assert headers.items() <= dict(refused.headers).items()
    if kind != "primary":
        assert "secondary rate limit" in refused.json()["message"]
    assert _get(github_standin, "/repos/octo-org/charter/issues").status_code == 200


APP = "/repos/acme/app/commits/{}/check-runs"
SHA_A, SHA_B = "a1" * 20, "b2" * 20


def _check_runs(standin: GitHubStandin) -> None:
    """On commit A: build twice (a re-run), lint on the branch push; A is tagged v1.0.0."""
    store = standin.store
    store.add_tag("acme/app", "v1.0.0", SHA_A)
    store.add_check_run("acme/app", SHA_A, "build", "completed", "failure", head_branch="v1.0.0")
    store.add_check_run("acme/app", SHA_A, "build", "completed", "success", head_branch="v1.0.0")
    store.add_check_run("acme/app", SHA_A, "lint", "queued", None, head_branch="main")
    store.add_check_run("acme/app", SHA_B, "build", "completed", "success", head_branch="main")


@pytest.mark.parametrize(
    ("ref", "query", "runs"),
    [
        (SHA_A, "", [("build", "success"), ("lint", None)]),  # latest of each name (default)
        (SHA_A, "?filter=all", [("build", "failure"), ("build", "success"), ("lint", None)]),
        (SHA_A[:7], "", [("build", "success"), ("lint", None)]),  # an abbreviated sha
        ("v1.0.0", "", [("build", "success"), ("lint", None)]),  # a tag: its commit's runs
        ("tags/v1.0.0", "", [("build", "success"), ("lint", None)]),
        ("heads/main", "", [("lint", None), ("build", "success")]),  # a branch: its runs
        ("c" * 40, "", []),  # a commit nothing ran on
    ],
)
def test_check_runs_of_a_ref(
    github_standin: GitHubStandin, ref: str, query: str, runs: list[tuple[str, str | None]]
) -> None:
    """GET .../commits/{ref}/check-runs resolves the ref as GitHub does; a run's check_suite
    is its id only, as GitHub's listing gives it (no head_branch, which a webhook carries)."""
    _check_runs(github_standin)
    response = _get(github_standin, APP.format(ref) + query)
    assert response.status_code == 200
    data = response.json()
    assert [(r["name"], r["conclusion"]) for r in data["check_runs"]] == runs
    assert data["total_count"] == len(runs)
    assert all(r["check_suite"].keys() == {"id"} for r in data["check_runs"])  # as GitHub


def test_a_check_run_keeps_its_times(github_standin: GitHubStandin) -> None:
    """A run's times are when it started and finished, not when it is read: an unchanged run
    reads the same later (and a conditional request for it is answered 304)."""
    store = github_standin.store
    run = store.add_check_run("acme/app", SHA_A, "build", "in_progress", None)
    first = _get(github_standin, APP.format(SHA_A))
    store.advance(60)
    again = _get(github_standin, APP.format(SHA_A), **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    store.finish_check_run(run, "success")
    (done,) = _get(github_standin, APP.format(SHA_A)).json()["check_runs"]
    assert done["started_at"] == first.json()["check_runs"][0]["started_at"]
    assert done["completed_at"] == iso(store.now) != done["started_at"]
