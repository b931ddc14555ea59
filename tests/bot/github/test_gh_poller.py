"""Poll mode: conditional listing → the same events as webhooks, with stable delivery ids."""

from __future__ import annotations

from typing import Any

from bot.github.events import CommentEvent, IssueEvent
from bot.github.poller import Poller, PollResult, PollState
from tests.standins.github_server import GitHubStandin

ISSUES = r"/repos/octo-org/charter/issues"
COMMENTS = r"/repos/octo-org/charter/issues/\d+/comments"


def summary(result: PollResult) -> list[tuple[str, str]]:
    out = []
    for d in result.deliveries:
        e = d.event
        assert isinstance(e, IssueEvent | CommentEvent)
        what = f"#{e.number}" if isinstance(e, IssueEvent) else f"c:{e.body}"
        out.append((d.event_name, f"{e.action} {what}"))
    return out


async def test_first_poll_translates_issues_and_comments(
    github_standin: GitHubStandin, gateway: Any
) -> None:
    """Issues and their comments become issues / issue_comment deliveries, issue first."""
    store = github_standin.store
    number = store.add_issue("Upgrade to 2.0", "why", "alice", ("proposal",)).number
    comment = store.add_comment(number, "/vote approve", "bob")
    store.add_issue("a pull request", pull_request=True)

    result = await Poller(gateway).poll(PollState())
    assert summary(result) == [
        ("issues", "opened #1"),
        ("issue_comment", "created c:/vote approve"),
    ]
    stamp = store.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [d.delivery_id for d in result.deliveries] == [
        f"poll:issue:{number}:{stamp}",
        f"poll:comment:{comment.id}:{stamp}",
    ]
    issue_event = result.deliveries[0].event
    assert isinstance(issue_event, IssueEvent)
    assert (issue_event.author, issue_event.labels, issue_event.repo_full_name) == (
        "alice", ("proposal",), "octo-org/charter",
    )  # fmt: skip
    assert result.state.watermark == store.now


async def test_quiet_repository_costs_one_free_request(
    github_standin: GitHubStandin, gateway: Any
) -> None:
    """Once settled, a poll of an unchanged repository is a single 304: no events, no budget."""
    store = github_standin.store
    number = store.add_issue("Upgrade").number
    store.add_comment(number, "/vote approve", "bob")
    poller = Poller(gateway)
    state = (await poller.poll(PollState())).state
    state = (await poller.poll(state)).state  # boundary issue returns once (since is inclusive)

    budget = github_standin.rate_remaining
    before = len(github_standin.requests)
    result = await poller.poll(state)
    assert result.deliveries == ()
    new = github_standin.requests[before:]
    assert [(r.method, r.status) for r in new] == [("GET", 304)]
    assert github_standin.rate_remaining == budget
    assert result.state == state


async def test_repeated_boundary_issue_yields_no_duplicate_events(
    github_standin: GitHubStandin, gateway: Any
) -> None:
    """The inclusive `since` returns the last issue again; it produces no new deliveries and its
    unchanged comments answer 304."""
    store = github_standin.store
    store.add_issue("Older")
    store.advance(60)
    number = store.add_issue("Upgrade").number
    store.add_comment(number, "/vote approve", "bob")
    poller = Poller(gateway)
    state = (await poller.poll(PollState())).state
    before = len(github_standin.requests)
    result = await poller.poll(state)
    assert result.deliveries == ()
    issue_reads = [r for r in github_standin.requests[before:] if r.path.endswith("/issues")]
    assert [r.status for r in issue_reads] == [200]  # the list changed: only the boundary issue
    comment_reads = [r for r in github_standin.requests[before:] if "comments" in r.path]
    assert [r.status for r in comment_reads] == [304]


async def test_changes_between_polls(github_standin: GitHubStandin, gateway: Any) -> None:
    """New and edited comments, edits, closing and reopening each yield the webhook action."""
    store = github_standin.store
    number = store.add_issue("Upgrade").number
    poller = Poller(gateway)
    state = (await poller.poll(PollState())).state

    steps: list[tuple[Any, list[tuple[str, str]]]] = [
        (lambda: store.add_comment(number, "/vote reject", "carol"),
         [("issue_comment", "created c:/vote reject")]),
        (lambda: store.edit_comment(max(store.comments), "/vote approve"),
         [("issue_comment", "edited c:/vote approve")]),
        (lambda: store.edit_issue(number, title="Upgrade to 2.1"), [("issues", "edited #1")]),
        (lambda: store.edit_issue(number, state="closed"), [("issues", "closed #1")]),
        (lambda: store.edit_issue(number, state="open"), [("issues", "reopened #1")]),
        (lambda: store.add_issue("Second"), [("issues", "opened #2")]),
    ]  # fmt: skip
    seen_ids: set[str] = set()
    for change, expected in steps:
        store.advance(60)
        change()
        result = await poller.poll(state)
        assert summary(result) == expected
        ids = {d.delivery_id for d in result.deliveries}
        assert not ids & seen_ids  # every real change gets a fresh delivery id
        seen_ids |= ids
        state = result.state


async def test_old_issue_first_seen_after_start_is_an_edit(
    github_standin: GitHubStandin, gateway: Any
) -> None:
    """Starting at a watermark skips history; an older issue that changes later is `edited`."""
    store = github_standin.store
    number = store.add_issue("Old proposal").number
    store.advance(3600)
    poller = Poller(gateway)
    state = PollState.starting_at(store.now)
    assert (await poller.poll(state)).deliveries == ()
    store.advance(10)
    store.edit_issue(number, body="updated")
    assert summary(await poller.poll(state)) == [("issues", "edited #1")]


def test_state_round_trips_through_json() -> None:
    """The caller persists the poll state as JSON and gets the same state back."""
    from datetime import UTC, datetime

    state = PollState(
        watermark=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        issues_etag='W/"abc"',
        comment_etags={7: 'W/"def"'},
        issues_seen={7: "open:0123"},
    )
    assert PollState.from_json(state.to_json()) == state
    assert PollState.from_json(PollState().to_json()) == PollState()
