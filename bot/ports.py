"""Ports: the narrow interfaces the application needs from the outside world.

Each section belongs to one edge. The application codes against these Protocols; the edges
(bot.github, …) implement them and tests fake them at exactly this seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

# ---------------------------------------------------------------------------------------------
# GitHub
# ---------------------------------------------------------------------------------------------


class GitHubError(Exception):
    """A GitHub call failed in a way the caller should see (`status`: HTTP status, 0 if none)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class GitHubNotFound(GitHubError):
    """The issue, comment or repository does not exist (or the credentials cannot see it)."""


class GitHubRateLimited(GitHubError):
    """GitHub kept refusing with a rate limit after every retry the policy allowed."""


# How far back a catch-up looks at most (GitHub keeps deliveries for a few days).
MAX_HOOK_DELIVERIES = 1000


@dataclass(frozen=True)
class HookDeliverySummary:
    """One attempt GitHub made to deliver a webhook event to the repository webhook."""

    id: int
    guid: str  # X-GitHub-Delivery: the same for every redelivery of the event
    event: str  # X-GitHub-Event
    status_code: int  # the answer GitHub got; 0 when it could not connect at all
    delivered_at: datetime

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass(frozen=True)
class HookDelivery:
    """A delivery with what GitHub sent: the event name and its JSON payload."""

    guid: str
    event: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class IssueSnapshot:
    """An issue as GitHub holds it now. Times are tz-aware UTC."""

    number: int
    title: str
    body: str
    author: str
    labels: tuple[str, ...]
    state: str  # open | closed
    created_at: datetime
    updated_at: datetime
    html_url: str = ""
    is_pull_request: bool = False


@dataclass(frozen=True)
class CommentSnapshot:
    """A comment on an issue. The id is a string, like every platform id we store."""

    comment_id: str
    issue_number: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime
    html_url: str = ""


@dataclass(frozen=True)
class CheckSnapshot:
    """One check run on a commit (status: queued | in_progress | completed), with what a
    ``check_run`` webhook carries of it: the branch or tag its suite ran for, and its times."""

    name: str
    head_sha: str
    status: str
    conclusion: str | None
    html_url: str = ""
    run_id: str = ""
    head_branch: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class ReleaseSnapshot:
    """One release of a repository as GitHub's listing gives it, with what a ``release``
    webhook carries of it; ``published_at`` is None for a draft (never published)."""

    release_id: str
    tag: str
    body: str
    author: str
    draft: bool
    prerelease: bool
    published_at: datetime | None
    name: str = ""
    html_url: str = ""
    created_at: datetime | None = None  # the listing's order (a draft's creation, not publication)


@dataclass(frozen=True)
class DeviceCode:
    """What the user must see to link an identity (GitHub OAuth device flow, step 1)."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


DeviceFlowStatus = Literal["pending", "slow_down", "denied", "expired", "linked"]


@dataclass(frozen=True)
class DeviceFlowResult:
    """One poll of the device flow. `login` is set only when status is "linked".

    `interval` is the number of seconds to wait before polling again (GitHub raises it on
    slow_down; polling faster than that is an error).
    """

    status: DeviceFlowStatus
    interval: int
    login: str | None = None


class GitHubGateway(Protocol):
    """What the application asks of GitHub, for one charter repository fixed per instance.

    Every method is async; implementations must never block the event loop, must pace writes
    and must honour GitHub's rate-limit answers themselves.
    """

    @property
    def charter_repo(self) -> str: ...

    async def get_issue(self, number: int) -> IssueSnapshot: ...

    async def list_comments(self, number: int) -> list[CommentSnapshot]: ...

    async def create_comment(self, number: int, body: str) -> str: ...

    async def edit_comment(self, comment_id: str, body: str) -> None: ...

    async def find_comment_with_marker(self, number: int, marker: str) -> CommentSnapshot | None:
        """The first comment whose body contains `marker` (e.g. `<!-- charterbot:tracking -->`)."""
        ...

    async def set_labels(
        self, number: int, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
    ) -> None:
        """Add and remove labels; labels missing from the repository are created first."""
        ...

    async def create_issue(self, title: str, body: str, labels: tuple[str, ...] = ()) -> int: ...

    async def find_issue_with_marker(
        self, marker: str, since: datetime | None = None
    ) -> IssueSnapshot | None:
        """The first issue (open or closed, updated at or after `since`) whose body contains
        `marker`, e.g. `<!-- charterbot:agenda:<key> -->`: finds a post a crash left unrecorded."""
        ...

    async def edit_issue(
        self, number: int, title: str | None = None, body: str | None = None
    ) -> None: ...

    async def list_check_runs(self, repo: str, ref: str) -> list[CheckSnapshot]: ...

    async def list_releases(self, repo: str, per_page: int, page: int = 1) -> list[ReleaseSnapshot]:
        """Page ``page`` of ``repo``'s releases (a client's), ``per_page`` a page, newest first
        by creation: one page."""
        ...

    async def list_issues_since(
        self, since: datetime | None, etag: str | None
    ) -> tuple[list[IssueSnapshot], str | None]:
        """Issues (not pull requests) updated at or after `since`, oldest first.

        Conditional: when `etag` still matches GitHub answers 304 (free against the rate limit)
        and this returns `([], etag)`.
        """
        ...

    async def list_comments_since(
        self, number: int, since: datetime | None, etag: str | None
    ) -> tuple[list[CommentSnapshot], str | None]:
        """Comments on one issue updated at or after `since`; conditional like list_issues_since."""
        ...

    async def list_hook_deliveries(self, hook_id: int, after_id: int) -> list[HookDeliverySummary]:
        """Attempts to deliver to repository webhook ``hook_id`` with an id above ``after_id``,
        newest first; at most the newest ``MAX_HOOK_DELIVERIES``."""
        ...

    async def get_hook_delivery(self, hook_id: int, delivery_id: int) -> HookDelivery: ...

    async def device_flow_start(self, client_id: str, scope: str = "") -> DeviceCode: ...

    async def device_flow_poll(self, client_id: str, device_code: str) -> DeviceFlowResult: ...
