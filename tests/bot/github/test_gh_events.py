"""Webhook payloads → neutral events, against every recorded GitHub fixture."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.github.events import (
    CheckEvent,
    CommentEvent,
    IssueEvent,
    MalformedEvent,
    Ping,
    ReleaseEvent,
    parse_event,
)
from tests.paths import FIXTURES

WEBHOOKS = FIXTURES / "github" / "webhooks"
T_ISSUE = datetime(2019, 5, 15, 15, 20, 18, tzinfo=UTC)

# fixture path (relative to the webhooks dir) → expected event (None: ignored)
EXPECTED: dict[str, Any] = {
    "ping/payload.json": Ping(
        repo="Octocoders/Hello-World", zen="Anything added dilutes everything else.",
        hook_id="109948940",
    ),
    "issues/opened.payload.json": IssueEvent(
        action="opened", number=1, title="Spelling error in the README file",
        body="It looks like you accidently spelled 'commit' with two 't's.",
        author="Codertocat", labels=("bug",), state="open",
        repo_full_name="Codertocat/Hello-World", updated_at=T_ISSUE, sender="Codertocat",
    ),
    "issues/edited.payload.json": IssueEvent(
        action="edited", number=1, title="Spelling error in the README file",
        body="It looks like you accidently spelled 'commit' with two 't's.",
        author="Codertocat", labels=("bug",), state="open",
        repo_full_name="Codertocat/Hello-World", updated_at=T_ISSUE, sender="Codertocat",
    ),
    "issues/reopened.payload.json": IssueEvent(
        action="reopened", number=1, title="Spelling error in the README file", body="",
        author="Codertocat", labels=("bug",), state="open", repo_full_name="Codertocat/Hello-World",
        updated_at=datetime(2021, 10, 11, 16, 40, 56, tzinfo=UTC), sender="Codertocat",
    ),
    "issues/closed.json": IssueEvent(
        action="closed", number=1, title="Needs content",
        body="This repo needs some content, as currently, it does not have **any**.",
        author="wilhelmklopp", labels=("enhancement", "invalid", "question"), state="closed",
        repo_full_name="github-slack/public-test",
        updated_at=datetime(2017, 10, 19, 16, 35, 13, tzinfo=UTC), sender="bkeepers",
    ),
    "issue_comment/created.payload.json": CommentEvent(
        action="created", issue_number=1, comment_id="492700400", author="Codertocat",
        body="You are totally right! I'll get this fixed right away.",
        created_at=datetime(2019, 5, 15, 15, 20, 21, tzinfo=UTC),
        updated_at=datetime(2019, 5, 15, 15, 20, 21, tzinfo=UTC),
        repo="Codertocat/Hello-World", sender="Codertocat",
    ),
    "check_run/completed.payload.json": CheckEvent(
        kind="check_run", name="Octocoders-linter",
        head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821", conclusion="success",
        status="completed", repo="Codertocat/Hello-World",
        html_url="https://github.com/Codertocat/Hello-World/runs/128620228",
        head_branch="changes",  # from the run's check_suite
        happened_at=datetime(2019, 5, 15, 15, 21, 12, tzinfo=UTC),  # completed_at
    ),
    "check_suite/completed.payload.json": CheckEvent(
        kind="check_suite", name="octocoders-linter",
        head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821", conclusion="success",
        status="completed", repo="Codertocat/Hello-World", html_url="", head_branch="changes",
        happened_at=datetime(2019, 5, 15, 15, 21, 14, tzinfo=UTC),  # updated_at
    ),
    "workflow_run/completed.payload.json": CheckEvent(
        kind="workflow_run", name="test",
        head_sha="3484a3fb816e0859fd6e1cea078d76385ff50625", conclusion="success",
        status="completed", repo="octo-org/octo-repo",
        html_url="https://github.com/octo-org/octo-repo/actions/runs/289782451",
        head_branch="master",
        happened_at=datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC),  # updated_at
    ),
    "release/published.payload.json": ReleaseEvent(
        repo="Codertocat/Hello-World", tag="0.0.1", body="", author="Codertocat",
        published_at=datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC),
    ),
    "installation/created.payload.json": None,
    "label/created.payload.json": None,
    "pull_request/opened.payload.json": None,
}  # fmt: skip


def _fixtures() -> list[str]:
    return sorted(str(p.relative_to(WEBHOOKS)) for p in WEBHOOKS.rglob("*.json"))


def _load(relative: str) -> tuple[str, dict[str, Any]]:
    path = WEBHOOKS / relative
    return Path(relative).parts[0], json.loads(path.read_text(encoding="utf-8"))


def test_every_fixture_has_an_expectation() -> None:
    """A new fixture file must get an expected translation here (none is silently skipped)."""
    assert _fixtures() == sorted(EXPECTED)


@pytest.mark.parametrize("relative", _fixtures())
def test_fixture_translates(relative: str) -> None:
    """Each recorded delivery translates to exactly the expected neutral event (or None)."""
    event_name, payload = _load(relative)
    assert parse_event(event_name, payload) == EXPECTED[relative]


def test_edit_changes_carry_previous_values() -> None:
    """`changes` on an edit maps each changed field to its previous value."""
    _, payload = _load("issues/edited.payload.json")
    payload["changes"] = {"title": {"from": "Old title"}, "body": {"from": "Old body"}}
    event = parse_event("issues", payload)
    assert isinstance(event, IssueEvent)
    assert event.changes == {"title": "Old title", "body": "Old body"}


@pytest.mark.parametrize(
    ("action", "translated"),
    [("created", True), ("edited", True), ("deleted", True), ("pinned", False)],
)
def test_comment_actions(action: str, translated: bool) -> None:
    """Comment created/edited/deleted become events; other actions are ignored."""
    _, payload = _load("issue_comment/created.payload.json")
    payload["action"] = action
    event = parse_event("issue_comment", payload)
    assert (isinstance(event, CommentEvent) and event.action == action) is translated


@pytest.mark.parametrize(
    ("changes", "previous"),
    [
        pytest.param({"body": {"from": "/vote approve\u200b"}}, "/vote approve", id="body-before"),
        pytest.param(None, None, id="no-changes"),
        pytest.param({"title": {"from": "x"}}, None, id="other-field"),
        pytest.param({"body": {"from": None}}, None, id="null"),
        pytest.param({"body": "oops"}, None, id="malformed"),
    ],
)
def test_a_comment_edit_carries_its_sender_and_previous_body(
    changes: dict[str, Any] | None, previous: str | None
) -> None:
    """Who edited (``sender``, not necessarily the author) and the text before the edit,
    cleaned like any body."""
    _, payload = _load("issue_comment/created.payload.json")
    payload.update(action="edited", sender={"login": "mallory"})
    if changes is not None:
        payload["changes"] = changes
    event = parse_event("issue_comment", payload)
    assert isinstance(event, CommentEvent)
    assert (event.sender, event.author, event.previous_body) == ("mallory", "Codertocat", previous)


def test_comment_on_pull_request_is_ignored() -> None:
    """Proposals are issues: a comment on a pull request is not a command."""
    _, payload = _load("issue_comment/created.payload.json")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    assert parse_event("issue_comment", payload) is None


@pytest.mark.parametrize("action", ["created", "edited", "released", "prereleased"])
def test_release_acts_only_on_published(action: str) -> None:
    """GitHub sends several actions per release; only `published` becomes an event (and an
    `edited` that changed the body, below: this fixture's has no `changes`)."""
    _, payload = _load("release/published.payload.json")
    payload["action"] = action
    assert parse_event("release", payload) is None


RELEASE_EDITS = [
    # (what, changes, draft, previous body carried; None: no event)
    ("the body changed", {"body": {"from": "old"}, "name": {"from": "FOO"}}, False, "old"),
    ("the body was empty", {"body": {"from": ""}}, False, ""),
    ("the name only", {"name": {"from": "FOO"}}, False, None),
    ("no changes said", None, False, None),
    ("a draft's body", {"body": {"from": "old"}}, True, None),
    ("an odd from", {"body": {"from": 7}}, False, None),
]


@pytest.mark.parametrize(
    ("what", "changes", "draft", "previous"), RELEASE_EDITS, ids=[e[0] for e in RELEASE_EDITS]
)
def test_a_release_edit_of_its_body_carries_the_body_before(
    what: str, changes: dict[str, Any] | None, draft: bool, previous: str | None
) -> None:
    """octokit's `release/edited` example has `changes: {name: {from}, body: {from}}`: an edit
    of a published release's body is an event with the body before it; anything else is not."""
    _, payload = _load("release/published.payload.json")
    payload["action"] = "edited"
    payload["release"].update(body="charterbot: ready 1 staging", draft=draft)
    if changes is not None:
        payload["changes"] = changes
    event = parse_event("release", payload)
    if previous is None:
        assert event is None
    else:
        assert event == ReleaseEvent(
            repo="Codertocat/Hello-World",
            tag="0.0.1",
            body="charterbot: ready 1 staging",
            author="Codertocat",
            action="edited",
            published_at=datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC),
            previous_body=previous,
        )


@pytest.mark.parametrize("published_at", [None, "yesterday"])
def test_a_release_without_a_readable_publication_time_still_parses(
    published_at: str | None,
) -> None:
    """Missing or unreadable, ``published_at`` is None: the report is dated on arrival."""
    _, payload = _load("release/published.payload.json")
    payload["release"]["published_at"] = published_at
    event = parse_event("release", payload)
    assert isinstance(event, ReleaseEvent)
    assert event.published_at is None


def test_ids_are_strings() -> None:
    """Platform ids are strings, even when GitHub sends numbers."""
    _, payload = _load("issue_comment/created.payload.json")
    event = parse_event("issue_comment", payload)
    assert isinstance(event, CommentEvent)
    assert isinstance(event.comment_id, str)


@pytest.mark.parametrize(
    ("event_name", "mutate", "message"),
    [
        ("issues", lambda p: p.pop("issue"), "missing issue"),
        ("issues", lambda p: p["issue"].pop("number"), "issue.number"),
        ("issues", lambda p: p.pop("repository"), "repository.full_name"),
        ("issues", lambda p: p["issue"].update(updated_at="yesterday"), "ISO 8601"),
        ("issues", lambda p: p["issue"].update(user=None), "issue.user.login"),
        ("issue_comment", lambda p: p["comment"].pop("id"), "comment.id"),
    ],
)
def test_malformed_payloads_raise_clear_errors(event_name: str, mutate: Any, message: str) -> None:
    """A payload missing what we need is rejected with the event and field named."""
    source = (
        "issues/opened.payload.json"
        if event_name == "issues"
        else ("issue_comment/created.payload.json")
    )
    _, payload = _load(source)
    mutate(payload)
    with pytest.raises(MalformedEvent, match=message) as info:
        parse_event(event_name, payload)
    assert str(info.value).startswith(f"{event_name} delivery:")


def test_non_object_payload_is_rejected() -> None:
    """The decoded body must be a JSON object."""
    with pytest.raises(MalformedEvent, match="JSON object"):
        parse_event("issues", [1, 2])  # type: ignore[arg-type]
