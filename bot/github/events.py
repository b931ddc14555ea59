"""Webhook payloads → neutral events.

Rules:
- Only what the governance pipeline acts on becomes an event: issues, issue comments (on issues,
  not pull requests — proposals live in issues), check runs / check suites / workflow runs,
  published releases and ping. Everything else (`installation`, `label`, `pull_request`, …)
  translates to None and is acknowledged without work.
- Platform ids are strings; times are tz-aware UTC; a null body is the empty string.
- Issue titles and bodies and comment bodies are user text: invisible characters are dropped
  (``charter.text.strip_invisible``: NUL, other controls but newline and tab, lone surrogates,
  format characters) before anything is stored or hashed, so no database or UTF-8 encoder
  refuses them and the delivery is processed, not parked.
- ``sender`` is who acted. On a comment's edit or deletion it may be someone other than its
  author (collaborators may edit and delete anyone's comments); the body before an edit
  (``changes.body.from``) is kept as ``previous_body``. A polled comment's sender is its
  author: a poll cannot tell who edited it.
- A payload missing a field we need raises `MalformedEvent` naming the field, so a bad delivery
  is rejected loudly rather than half-processed.
- A release reports readiness with lines ``charterbot: ready <n> <stage>`` (``RELEASE_LINE``,
  read by ``bot.rollout_watch.on_release`` and, line by line, by ``bot.github.poll_releases``).
  Such a line is one line of the body: the words are apart by spaces or tabs only, never by a
  line break, so "charterbot: ready 1" with "staging" on the next line is no report. A line may
  end with ``\r`` (a body typed in GitHub's form has CRLF line ends). Case and a ``#`` before
  ``<n>`` do not matter.
- A release's deliveries: ``published`` reports its ready lines, dated by its
  ``published_at`` (``charter.release_time``; None when missing or unreadable: dated on
  arrival). ``edited`` with a changed body (``changes.body.from``) of a release that is not a
  draft carries the body before the edit as ``previous_body``: only the lines it added report
  (dated on arrival: GitHub gives no time for the edit). Every other action (``created``,
  ``released``, an edit of the name only, a draft's edit…) carries nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.github.wire import WireFormatError, parse_time, time_or_none
from bot.ports import CommentSnapshot, IssueSnapshot
from charter.text import strip_invisible

# A ready line of a release (see the rules): one line, so only [ \t] between its words, and
# one pattern for both readers (the webhook's event and the releases poller).
RELEASE_LINE = re.compile(
    r"^[ \t]*charterbot:[ \t]*ready[ \t]+#?([0-9]{1,9})[ \t]+([a-z0-9][a-z0-9_-]*)[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)


class MalformedEvent(WireFormatError):
    """The payload lacks a field the event needs (the message names its path)."""


@dataclass(frozen=True)
class IssueEvent:
    action: str  # opened | edited | closed | reopened | labeled | unlabeled | deleted | …
    number: int
    title: str
    body: str
    author: str
    labels: tuple[str, ...]
    state: str
    repo_full_name: str
    updated_at: datetime
    # field → previous value, from `changes` on edits (e.g. {"title": "old title"})
    changes: Mapping[str, str] = field(default_factory=dict, hash=False)
    sender: str = ""  # who acted (closing or editing need not be the author)


@dataclass(frozen=True)
class CommentEvent:
    action: str  # created | edited | deleted
    issue_number: int
    comment_id: str
    author: str
    body: str
    created_at: datetime
    updated_at: datetime
    repo: str
    sender: str = ""  # who acted: on an edit or a delete, not necessarily the author
    # The body before this edit (``changes.body.from``); None when the delivery does not say.
    previous_body: str | None = None


@dataclass(frozen=True)
class CheckEvent:
    kind: str  # check_run | check_suite | workflow_run
    name: str
    head_sha: str
    conclusion: str | None
    status: str
    repo: str
    html_url: str
    head_branch: str | None = None  # the branch or tag the run was for (a tag push: the tag)
    # When GitHub says the run reached this state (see _check_time); None when it does not say.
    happened_at: datetime | None = None


@dataclass(frozen=True)
class ReleaseEvent:
    repo: str
    tag: str
    body: str
    author: str
    action: str = "published"  # published | edited
    published_at: datetime | None = None  # GitHub's; None: not given or unreadable
    previous_body: str | None = None  # an edit's body before it (``changes.body.from``)


@dataclass(frozen=True)
class Ping:
    repo: str
    zen: str = ""
    hook_id: str = ""


Event = IssueEvent | CommentEvent | CheckEvent | ReleaseEvent | Ping


@dataclass(frozen=True)
class Delivery:
    """One event with the id the pipeline dedupes on (X-GitHub-Delivery, or a synthetic
    `poll:…` id in poll mode)."""

    delivery_id: str
    event_name: str
    event: Event


COMMENT_ACTIONS = frozenset({"created", "edited", "deleted"})


def parse_event(event_name: str, payload: Mapping[str, Any]) -> Event | None:
    """Translate one webhook (`X-GitHub-Event` name and decoded JSON body), or None to ignore."""
    if not isinstance(payload, Mapping):
        raise MalformedEvent(f"{event_name} delivery: payload must be a JSON object")
    try:
        return _translate(event_name, payload)
    except (WireFormatError, TypeError, ValueError, KeyError) as exc:
        raise MalformedEvent(f"{event_name} delivery: {exc}") from exc


def _translate(event_name: str, payload: Mapping[str, Any]) -> Event | None:
    if event_name == "ping":
        return Ping(
            repo=_repo(payload, required=False),
            zen=str(payload.get("zen", "")),
            hook_id=str(payload.get("hook_id", "")),
        )
    if event_name == "issues":
        return _issue_event(payload)
    if event_name == "issue_comment":
        return _comment_event(payload)
    if event_name in ("check_run", "check_suite", "workflow_run"):
        return _check_event(event_name, payload)
    if event_name == "release":
        return _release_event(payload)
    return None


def _issue_event(payload: Mapping[str, Any]) -> IssueEvent:
    issue = _obj(payload, "issue")
    changes = {
        name: str(change.get("from", ""))
        for name, change in dict(payload.get("changes") or {}).items()
        if isinstance(change, Mapping)
    }
    return IssueEvent(
        action=_str(payload, "action"),
        number=int(_get(issue, "number", "issue.number")),
        title=strip_invisible(str(issue.get("title") or "")),
        body=strip_invisible(str(issue.get("body") or "")),
        author=_login(issue, "user", "issue.user"),
        labels=_labels(issue),
        state=str(issue.get("state") or "open"),
        repo_full_name=_repo(payload),
        updated_at=parse_time(_get(issue, "updated_at", "issue.updated_at")),
        changes=changes,
        sender=_sender(payload),
    )


def _comment_event(payload: Mapping[str, Any]) -> CommentEvent | None:
    action = _str(payload, "action")
    issue = _obj(payload, "issue")
    if action not in COMMENT_ACTIONS or issue.get("pull_request"):
        return None
    comment = _obj(payload, "comment")
    return CommentEvent(
        action=action,
        issue_number=int(_get(issue, "number", "issue.number")),
        comment_id=str(_get(comment, "id", "comment.id")),
        author=_login(comment, "user", "comment.user"),
        body=strip_invisible(str(comment.get("body") or "")),
        created_at=parse_time(_get(comment, "created_at", "comment.created_at")),
        updated_at=parse_time(_get(comment, "updated_at", "comment.updated_at")),
        repo=_repo(payload),
        sender=_sender(payload),
        previous_body=_previous_body(payload),
    )


def _previous_body(payload: Mapping[str, Any]) -> str | None:
    changes = payload.get("changes")
    change = changes.get("body") if isinstance(changes, Mapping) else None
    before = change.get("from") if isinstance(change, Mapping) else None
    return strip_invisible(before) if isinstance(before, str) else None


def _check_event(kind: str, payload: Mapping[str, Any]) -> CheckEvent:
    obj = _obj(payload, kind)
    if kind == "check_suite":
        # Suites have no name of their own; the app that runs them names them.
        app = obj.get("app") or {}
        name = str(app.get("name") or app.get("slug") or "")
    elif kind == "workflow_run":
        workflow = payload.get("workflow") or {}
        name = str(obj.get("name") or workflow.get("name") or "")
    else:
        name = str(_get(obj, "name", f"{kind}.name"))
    conclusion = obj.get("conclusion")
    # A check run carries its suite, and the suite (like a workflow run) the branch or tag.
    branch = obj.get("head_branch") or (obj.get("check_suite") or {}).get("head_branch")
    return CheckEvent(
        kind=kind,
        name=name,
        head_sha=str(_get(obj, "head_sha", f"{kind}.head_sha")),
        conclusion=None if conclusion is None else str(conclusion),
        status=str(obj.get("status") or ""),
        repo=_repo(payload),
        html_url=str(obj.get("html_url") or ""),
        head_branch=str(branch) if branch else None,
        happened_at=_check_time(obj),
    )


def _check_time(obj: Mapping[str, Any]) -> datetime | None:
    """When the run reached the state this delivery reports: a check run's completion (else its
    start), a suite's or workflow run's last update. Deliveries are not ordered (and failed ones
    are redelivered later), so this — not arrival — says which of two deliveries is newer."""
    for key in ("completed_at", "started_at", "updated_at"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            try:
                return parse_time(value)
            except WireFormatError:  # an odd time costs the ordering, not the delivery
                return None
    return None


def _release_event(payload: Mapping[str, Any]) -> ReleaseEvent | None:
    # GitHub sends created/published/released/edited/… for one release: act on publication,
    # and on an edit of a published release's body (see the rules).
    action = payload.get("action")
    release = _obj(payload, "release")
    changes = payload.get("changes")
    change = changes.get("body") if isinstance(changes, Mapping) else None
    before = change.get("from") if isinstance(change, Mapping) else None
    previous = before if isinstance(before, str) else None  # as GitHub sent it, as ``body``
    if action == "edited" and (previous is None or release.get("draft")):
        return None
    if action not in ("published", "edited"):
        return None
    return ReleaseEvent(
        repo=_repo(payload),
        tag=str(_get(release, "tag_name", "release.tag_name")),
        body=str(release.get("body") or ""),
        author=_login(release, "author", "release.author"),
        action=str(action),
        published_at=time_or_none(release.get("published_at")),
        previous_body=previous if action == "edited" else None,
    )


def issue_event_from_snapshot(
    snap: IssueSnapshot, *, action: str, repo: str, sender: str = ""
) -> IssueEvent:
    """The event a webhook would have carried for this issue (poll mode)."""
    return IssueEvent(
        action=action,
        number=snap.number,
        title=strip_invisible(snap.title),
        body=strip_invisible(snap.body),
        author=snap.author,
        labels=snap.labels,
        state=snap.state,
        repo_full_name=repo,
        updated_at=snap.updated_at,
        sender=sender,
    )


def comment_event_from_snapshot(snap: CommentSnapshot, *, action: str, repo: str) -> CommentEvent:
    """The event a webhook would have carried for this comment (poll mode)."""
    return CommentEvent(
        action=action,
        issue_number=snap.issue_number,
        comment_id=snap.comment_id,
        author=snap.author,
        body=strip_invisible(snap.body),
        created_at=snap.created_at,
        updated_at=snap.updated_at,
        repo=repo,
        sender=snap.author,
    )


def _get(obj: Mapping[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise MalformedEvent(f"payload is missing {path}")
    return value


def _obj(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = _get(payload, key, key)
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"payload field {key} must be an object")
    return value


def _str(payload: Mapping[str, Any], key: str) -> str:
    return str(_get(payload, key, key))


def _login(obj: Mapping[str, Any], key: str, path: str) -> str:
    user = obj.get(key)
    if not isinstance(user, Mapping) or not user.get("login"):
        raise MalformedEvent(f"payload is missing {path}.login")
    return str(user["login"])


def _labels(issue: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(label["name"]) for label in issue.get("labels") or () if "name" in label)


def _repo(payload: Mapping[str, Any], *, required: bool = True) -> str:
    repo = payload.get("repository")
    if isinstance(repo, Mapping) and repo.get("full_name"):
        return str(repo["full_name"])
    if required:
        raise MalformedEvent("payload is missing repository.full_name")
    return ""


def _sender(payload: Mapping[str, Any]) -> str:
    sender = payload.get("sender")
    return str(sender.get("login", "")) if isinstance(sender, Mapping) else ""
