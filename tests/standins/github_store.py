"""In-memory state of the GitHub stand-in, rendered in GitHub's REST JSON shapes.

Every `url` field is built under the stand-in's own base URL, as PyGithub follows them.
Times come from the stand-in's clock (manual: `advance()` moves it) so tests control ordering.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_json(base: str, login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": zlib.crc32(login.encode()),
        "type": "Bot" if login.endswith("[bot]") else "User",
        "url": f"{base}/users/{login}",
        "html_url": f"https://github.com/{login}",
    }


@dataclass
class IssueRec:
    id: int
    number: int
    title: str
    body: str | None
    author: str
    labels: list[str]
    state: str
    created_at: datetime
    updated_at: datetime
    pull_request: bool = False
    closed_at: datetime | None = None


@dataclass
class CommentRec:
    id: int
    issue_number: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class LabelRec:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class CheckRunRec:
    id: int
    repo: str
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    head_branch: str | None = None  # the branch or tag its suite ran for (a tag push: the tag)
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class ReleaseRec:
    id: int
    repo: str
    tag: str
    body: str | None
    author: str
    draft: bool
    prerelease: bool
    created_at: datetime
    published_at: datetime | None  # None: a draft


@dataclass
class DeliveryRec:
    """One attempt to deliver a webhook event to the repository webhook."""

    id: int
    guid: str
    event: str
    action: str | None
    status_code: int  # 0: could not connect
    delivered_at: datetime
    payload: dict[str, Any]
    redelivery: bool = False


@dataclass
class Store:
    repo: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    issues: dict[int, IssueRec] = field(default_factory=dict)
    comments: dict[int, CommentRec] = field(default_factory=dict)
    labels: dict[str, LabelRec] = field(default_factory=dict)  # key: lowercase name
    check_runs: list[CheckRunRec] = field(default_factory=list)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, tag) -> commit sha
    releases: list[ReleaseRec] = field(default_factory=list)
    hook_id: int = 42  # the repository webhook whose deliveries are listed
    deliveries: list[DeliveryRec] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def next_id(self) -> int:
        return next(self._ids)

    # -- mutations ------------------------------------------------------------------------

    def add_issue(
        self,
        title: str,
        body: str | None = "",
        author: str = "octocat",
        labels: tuple[str, ...] = (),
        *,
        state: str = "open",
        pull_request: bool = False,
    ) -> IssueRec:
        number = max(self.issues, default=0) + 1
        rec = IssueRec(
            id=self.next_id(),
            number=number,
            title=title,
            body=body,
            author=author,
            labels=[self.ensure_label(name).name for name in labels],
            state=state,
            created_at=self.now,
            updated_at=self.now,
            pull_request=pull_request,
        )
        self.issues[number] = rec
        return rec

    def add_comment(self, number: int, body: str, author: str = "octocat") -> CommentRec:
        issue = self.issues[number]
        rec = CommentRec(self.next_id(), number, author, body, self.now, self.now)
        self.comments[rec.id] = rec
        issue.updated_at = self.now  # as on GitHub: a new comment bumps the issue
        return rec

    def edit_comment(self, comment_id: int, body: str) -> CommentRec:
        rec = self.comments[comment_id]
        rec.body = body
        rec.updated_at = self.now
        self.issues[rec.issue_number].updated_at = self.now
        return rec

    def edit_issue(self, number: int, **changes: Any) -> IssueRec:
        rec = self.issues[number]
        for key in ("title", "body", "state"):
            if key in changes and changes[key] is not None:
                setattr(rec, key, changes[key])
        if changes.get("state") == "closed":
            rec.closed_at = self.now
        if "labels" in changes and changes["labels"] is not None:
            rec.labels = [self.ensure_label(str(n)).name for n in changes["labels"]]
        rec.updated_at = self.now
        return rec

    def ensure_label(self, name: str) -> LabelRec:
        key = name.lower()
        if key not in self.labels:
            self.labels[key] = LabelRec(self.next_id(), name)
        return self.labels[key]

    def add_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        status: str,
        conclusion: str | None,
        *,
        head_branch: str | None = None,
    ) -> CheckRunRec:
        """A run started now (a re-run is another run, with a new id); completed now when
        ``status`` is ``completed``."""
        done = self.now if status == "completed" else None
        rec = CheckRunRec(
            self.next_id(), repo, head_sha, name, status, conclusion, head_branch, self.now, done
        )
        self.check_runs.append(rec)
        return rec

    def finish_check_run(self, rec: CheckRunRec, conclusion: str) -> None:
        rec.status, rec.conclusion, rec.completed_at = "completed", conclusion, self.now

    def add_release(
        self,
        repo: str,
        tag: str,
        body: str | None,
        author: str = "octocat",
        *,
        draft: bool = False,
        prerelease: bool = False,
    ) -> ReleaseRec:
        """A release created now; published now unless it is a draft."""
        rec = ReleaseRec(
            self.next_id(),
            repo,
            tag,
            body,
            author,
            draft,
            prerelease,
            self.now,
            None if draft else self.now,
        )
        self.releases.append(rec)
        return rec

    def add_tag(self, repo: str, tag: str, sha: str) -> None:
        self.tags[(repo, tag)] = sha

    def commit_of(self, repo: str, ref: str) -> str:
        """The commit a ref names, as GitHub resolves it: ``tags/<t>`` or a tag name through
        the tags; ``heads/<b>`` and other names, and shas, as they are (the stand-in keeps no
        branches: a branch's runs are matched by ``head_branch``)."""
        name = ref.removeprefix("tags/")
        return self.tags.get((repo, name), ref.removeprefix("heads/"))

    # -- rendering ------------------------------------------------------------------------

    def add_delivery(
        self,
        event: str,
        payload: dict[str, Any],
        status_code: int = 502,
        *,
        guid: str | None = None,
    ) -> DeliveryRec:
        """Record an attempt GitHub made (``status_code`` 0: it could not connect); the same
        ``guid`` again is a redelivery of that event."""
        rec = DeliveryRec(
            id=len(self.deliveries) + 90_000_001,
            guid=guid or f"{len(self.deliveries) + 1:08x}-0000-11ee-8000-c0ffee000000",
            event=event,
            action=payload.get("action"),
            status_code=status_code,
            delivered_at=self.now,
            payload=payload,
            redelivery=guid is not None,
        )
        self.deliveries.append(rec)
        return rec

    def delivery_json(self, rec: DeliveryRec, *, detail: bool = False) -> dict[str, Any]:
        """GitHub's hook-delivery shapes: the list item, or the detail with request/response."""
        status = {0: "failed to connect", 200: "OK"}.get(
            rec.status_code, f"Invalid HTTP Response: {rec.status_code}"
        )
        data: dict[str, Any] = {
            "id": rec.id,
            "guid": rec.guid,
            "delivered_at": iso(rec.delivered_at),
            "redelivery": rec.redelivery,
            "duration": 0.27,
            "status": status,
            "status_code": rec.status_code,
            "event": rec.event,
            "action": rec.action,
            "installation_id": None,
            "repository_id": 1296269,
            "throttled_at": None,
        }
        if detail:
            data["url"] = "https://charterbot.example/github/webhook"
            headers = {
                "X-GitHub-Delivery": rec.guid,
                "X-GitHub-Event": rec.event,
                "X-GitHub-Hook-ID": str(self.hook_id),
                "User-Agent": "GitHub-Hookshot/b8c71d8",
                "content-type": "application/json",
            }
            data["request"] = {"headers": headers, "payload": rec.payload}
            data["response"] = {"headers": {}, "payload": None if rec.status_code == 0 else ""}
        return data

    def issue_json(self, base: str, rec: IssueRec) -> dict[str, Any]:
        url = f"{base}/repos/{self.repo}/issues/{rec.number}"
        data: dict[str, Any] = {
            "id": rec.id,
            "node_id": f"I_{rec.id}",
            "url": url,
            "repository_url": f"{base}/repos/{self.repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"https://github.com/{self.repo}/issues/{rec.number}",
            "number": rec.number,
            "state": rec.state,
            "state_reason": "completed" if rec.state == "closed" else None,
            "title": rec.title,
            "body": rec.body,
            "user": user_json(base, rec.author),
            "labels": [self.label_json(base, self.ensure_label(n)) for n in rec.labels],
            "locked": False,
            "comments": sum(1 for c in self.comments.values() if c.issue_number == rec.number),
            "created_at": iso(rec.created_at),
            "updated_at": iso(rec.updated_at),
            "closed_at": iso(rec.closed_at) if rec.closed_at else None,
            "author_association": "MEMBER",
        }
        if rec.pull_request:
            data["pull_request"] = {"url": f"{base}/repos/{self.repo}/pulls/{rec.number}"}
        return data

    def comment_json(self, base: str, rec: CommentRec) -> dict[str, Any]:
        return {
            "id": rec.id,
            "node_id": f"IC_{rec.id}",
            "url": f"{base}/repos/{self.repo}/issues/comments/{rec.id}",
            "html_url": (
                f"https://github.com/{self.repo}/issues/{rec.issue_number}#issuecomment-{rec.id}"
            ),
            "issue_url": f"{base}/repos/{self.repo}/issues/{rec.issue_number}",
            "body": rec.body,
            "user": user_json(base, rec.author),
            "created_at": iso(rec.created_at),
            "updated_at": iso(rec.updated_at),
            "author_association": "MEMBER",
        }

    def label_json(self, base: str, rec: LabelRec) -> dict[str, Any]:
        return {
            "id": rec.id,
            "node_id": f"LA_{rec.id}",
            "url": f"{base}/repos/{self.repo}/labels/{rec.name}",
            "name": rec.name,
            "color": rec.color,
            "default": False,
            "description": rec.description,
        }

    def check_run_json(self, base: str, rec: CheckRunRec) -> dict[str, Any]:
        """A run as GitHub's check-runs listing gives it: its ``check_suite`` is ``{"id": N}``
        only (the documented example), no ``head_branch`` (a check_run webhook has one)."""
        return {
            "id": rec.id,
            "node_id": f"CR_{rec.id}",
            "head_sha": rec.head_sha,
            "external_id": "",
            "url": f"{base}/repos/{rec.repo}/check-runs/{rec.id}",
            "html_url": f"https://github.com/{rec.repo}/runs/{rec.id}",
            "status": rec.status,
            "conclusion": rec.conclusion,
            "name": rec.name,
            "started_at": iso(rec.started_at or self.now),
            "completed_at": None if rec.completed_at is None else iso(rec.completed_at),
            "check_suite": {"id": rec.id + 500_000_000},
        }

    def release_json(self, base: str, rec: ReleaseRec) -> dict[str, Any]:
        """A release as GitHub's releases listing gives it (the documented example's fields)."""
        url = f"{base}/repos/{rec.repo}/releases/{rec.id}"
        return {
            "url": url,
            "html_url": f"https://github.com/{rec.repo}/releases/tag/{rec.tag}",
            "assets_url": f"{url}/assets",
            "upload_url": f"{url}/assets{{?name,label}}",
            "id": rec.id,
            "node_id": f"RE_{rec.id}",
            "tag_name": rec.tag,
            "target_commitish": "main",
            "name": rec.tag,
            "body": rec.body,
            "draft": rec.draft,
            "prerelease": rec.prerelease,
            "created_at": iso(rec.created_at),
            "published_at": None if rec.published_at is None else iso(rec.published_at),
            "author": user_json(base, rec.author),
            "assets": [],
        }

    def repo_json(self, base: str, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/", 1)
        return {
            "id": zlib.crc32(full_name.encode()),
            "name": name,
            "full_name": full_name,
            "owner": user_json(base, owner),
            "url": f"{base}/repos/{full_name}",
            "html_url": f"https://github.com/{full_name}",
            "private": False,
        }
