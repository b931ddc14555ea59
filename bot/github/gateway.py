"""`GitHubGateway` over PyGithub.

Rules:
- Every request goes through ``PyGithubRest`` (bot.github.rest): off the event loop, paced by
  our `Throttle`, lists paged by hand with ETag / 304.
- `charter_repo` is fixed per instance; only the reads of bot.github.client_repos
  (`list_check_runs`, `list_releases`) may name another repo (a client's).
- A hidden marker is trusted only in the bot's own posts: `find_comment_with_marker` and
  `find_issue_with_marker` skip comments and issues anyone else wrote, since anyone can paste
  a marker (an installation token may edit any comment, so adopting one would let its author
  rewrite what the bot shows). The bot's own login (`own_login`) is asked once and kept:
  `GET /user` for a token; a GitHub App's installation token may not read that (403), so then
  `GET /app`, signed with the app's JWT, gives its slug, and its posts carry `<slug>[bot]`.
  An installation token given as a plain token (Actions' `GITHUB_TOKEN`, a `ghs_…` token)
  can read neither; then the login is learnt from the bot's first post, and until then only
  an app's account (`…[bot]`, which no person's login can be) is taken for the bot.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from functools import partial
from typing import Any

from github import Auth, Github, GithubIntegration
from github.IssueComment import IssueComment

from bot.github.client_repos import ClientRepoReads
from bot.github.device_flow import DeviceFlow
from bot.github.ratelimit import Throttle
from bot.github.rest import REPO_NAME, json_list, next_link
from bot.github.wire import (
    comment_snapshot,
    format_time,
    hook_delivery,
    hook_delivery_summary,
    issue_snapshot,
    same_login,
)
from bot.github_web import default_web_url
from bot.ports import (
    MAX_HOOK_DELIVERIES,
    CommentSnapshot,
    DeviceCode,
    DeviceFlowResult,
    GitHubError,
    GitHubNotFound,
    HookDelivery,
    HookDeliverySummary,
    IssueSnapshot,
)

log = logging.getLogger("charterbot.github")


def is_own(author: str, own: str) -> bool:
    """Whether a post by ``author`` is the bot's, whose login is ``own`` ("" when GitHub would
    not say: then only an app's account, ``…[bot]``, which no person's login can be)."""
    return same_login(author, own) if own else author.casefold().endswith("[bot]")


NEW_LABEL_COLOR = "ededed"


class PyGithubGateway(ClientRepoReads):
    """The application's GitHub port for one charter repository."""

    def __init__(
        self,
        repo_full_name: str,
        auth: Auth.Auth,
        base_url: str = "https://api.github.com",
        *,
        web_url: str | None = None,
        throttle: Throttle | None = None,
        per_page: int = 100,
        timeout: float = 15.0,
    ) -> None:
        if not REPO_NAME.match(repo_full_name):
            raise ValueError(f"repository must be 'owner/name', got {repo_full_name!r}")
        self._repo_name = repo_full_name
        self._base_url = base_url.rstrip("/")
        self._web_url = (web_url or default_web_url(self._base_url)).rstrip("/")
        self._throttle = throttle or Throttle()
        self._per_page = per_page
        self._auth = auth
        self._own_login: str | None = None  # asked once (see the module rules)
        self._gh = Github(
            base_url=self._base_url,
            auth=auth,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            per_page=per_page,
            timeout=int(timeout),
        )
        self._repo = self._gh.get_repo(repo_full_name)  # lazy: no request
        self._known_labels: set[str] | None = None
        self._device_flow = DeviceFlow(self._web_url, self._base_url, http_timeout=timeout)

    @property
    def charter_repo(self) -> str:
        return self._repo_name

    def close(self) -> None:
        self._gh.close()

    # -- reads ----------------------------------------------------------------------------

    async def get_issue(self, number: int) -> IssueSnapshot:
        data = await self._read(lambda: self._repo.get_issue(number).raw_data, f"issue #{number}")
        return issue_snapshot(data)

    async def list_comments(self, number: int) -> list[CommentSnapshot]:
        items, _ = await self._list(self._issue_path(number) + "/comments", {}, None)
        return [comment_snapshot(item, number) for item in items]

    async def find_comment_with_marker(self, number: int, marker: str) -> CommentSnapshot | None:
        """The bot's own first comment holding ``marker``; anyone else's is skipped."""
        if not marker:
            raise ValueError("marker must not be empty")
        comments = [c for c in await self.list_comments(number) if marker in c.body]
        if not comments:
            return None  # nothing to check: no need to ask who we are
        own = await self.own_login()
        return next((c for c in comments if is_own(c.author, own)), None)

    async def find_issue_with_marker(
        self, marker: str, since: datetime | None = None
    ) -> IssueSnapshot | None:
        """The bot's own first issue holding ``marker``. Scans the repository's issues (not the
        search API: its index lags, and this runs right after a crash to find a post that was
        not recorded)."""
        if not marker:
            raise ValueError("marker must not be empty")
        issues, _ = await self.list_issues_since(since, None)
        issues = [i for i in issues if marker in (i.body or "")]
        if not issues:
            return None
        own = await self.own_login()
        return next((i for i in issues if is_own(i.author, own)), None)

    async def own_login(self) -> str:
        """The login on the bot's own posts, asked once; "" while GitHub will not say (a plain
        installation token: see the module rules)."""
        if self._own_login is None:
            try:
                _, _, user = await self._read(partial(self._get, "/user", None, None), "GET /user")
                login = str(user["login"])
            except GitHubError as exc:
                if exc.status != 403:
                    raise
                if not isinstance(self._auth, Auth.AppInstallationAuth):
                    log.warning("GitHub does not say whose token this is (GET /user: 403)")
                    self._own_login = ""  # a 403 stays one for this token: not asked again
                    return ""
                login = f"{await self._app_slug(self._auth)}[bot]"
            self._own_login = login
        return self._own_login

    def _learn_login(self, raw: dict[str, Any]) -> None:
        """A post's author is the bot: kept when GitHub would not say it otherwise."""
        user = raw.get("user")
        if not self._own_login and isinstance(user, dict) and user.get("login"):
            self._own_login = str(user["login"])

    async def _app_slug(self, auth: Auth.AppInstallationAuth) -> str:
        """``GET /app`` as the app itself (its JWT, not the installation token)."""
        app = GithubIntegration(
            auth=auth._app_auth,
            base_url=self._base_url,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        try:
            return await self._read(lambda: str(app.get_app().slug), "GET /app")
        finally:
            app.close()

    async def list_issues_since(
        self, since: datetime | None, etag: str | None
    ) -> tuple[list[IssueSnapshot], str | None]:
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
        if since is not None:
            params["since"] = format_time(since)
        items, new_etag = await self._list(f"/repos/{self._repo_name}/issues", params, etag)
        issues = [issue_snapshot(item) for item in items]
        return [i for i in issues if not i.is_pull_request], new_etag

    async def list_comments_since(
        self, number: int, since: datetime | None, etag: str | None
    ) -> tuple[list[CommentSnapshot], str | None]:
        params = {} if since is None else {"since": format_time(since)}
        items, new_etag = await self._list(self._issue_path(number) + "/comments", params, etag)
        return [comment_snapshot(item, number) for item in items], new_etag

    async def list_hook_deliveries(self, hook_id: int, after_id: int) -> list[HookDeliverySummary]:
        """Newest first, page by page (GitHub's cursor links), until ``after_id`` is reached."""
        url: str | None = f"/repos/{self._repo_name}/hooks/{hook_id}/deliveries"
        params: dict[str, Any] | None = {"per_page": 100}
        found: list[HookDeliverySummary] = []
        while url is not None and len(found) < MAX_HOOK_DELIVERIES:
            _, headers, data = await self._read(partial(self._get, url, params, None), f"GET {url}")
            page = [hook_delivery_summary(item) for item in json_list(data, None)]
            newer = [d for d in page if d.id > after_id]
            found.extend(newer)
            url = next_link(headers) if len(newer) == len(page) else None
            params = None  # the next link carries them
        return found[:MAX_HOOK_DELIVERIES]

    async def get_hook_delivery(self, hook_id: int, delivery_id: int) -> HookDelivery:
        url = f"/repos/{self._repo_name}/hooks/{hook_id}/deliveries/{delivery_id}"
        _, _, data = await self._read(partial(self._get, url, None, None), f"GET {url}")
        return hook_delivery(data)

    # -- writes ---------------------------------------------------------------------------

    async def create_comment(self, number: int, body: str) -> str:
        issue = self._repo.get_issue(number)
        comment = await self._write(lambda: issue.create_comment(body), f"comment on #{number}")
        if self._own_login == "":
            self._learn_login(comment.raw_data)
        return str(comment.id)

    async def edit_comment(self, comment_id: str, body: str) -> None:
        if not comment_id.isdigit():
            raise ValueError(f"comment id must be numeric, got {comment_id!r}")
        url = f"{self._repo.url}/issues/comments/{comment_id}"
        comment = IssueComment(self._requester, url=url)
        await self._write(lambda: comment.edit(body), f"comment {comment_id}")

    async def set_labels(
        self, number: int, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
    ) -> None:
        await self._ensure_labels(add)
        issue = self._repo.get_issue(number)
        if add:
            await self._write(lambda: issue.add_to_labels(*add), f"labels of #{number}")
        for name in remove:
            with contextlib.suppress(GitHubNotFound):  # already absent: removal is idempotent
                await self._write(partial(issue.remove_from_labels, name), f"label {name}")

    async def create_issue(self, title: str, body: str, labels: tuple[str, ...] = ()) -> int:
        if not title.strip():
            raise ValueError("an issue needs a non-empty title")
        await self._ensure_labels(labels)
        issue = await self._write(
            lambda: self._repo.create_issue(title=title, body=body, labels=list(labels)),
            "new issue",
        )
        if self._own_login == "":
            self._learn_login(issue.raw_data)
        return int(issue.number)

    async def edit_issue(
        self, number: int, title: str | None = None, body: str | None = None
    ) -> None:
        changes: dict[str, str] = {}
        if title is not None:
            changes["title"] = title
        if body is not None:
            changes["body"] = body
        if not changes:
            return
        issue = self._repo.get_issue(number)
        await self._write(lambda: issue.edit(**changes), f"issue #{number}")  # type: ignore[arg-type]

    # -- identity linking (OAuth device flow) ---------------------------------------------

    async def device_flow_start(self, client_id: str, scope: str = "") -> DeviceCode:
        return await self._device_flow.start(client_id, scope)

    async def device_flow_poll(self, client_id: str, device_code: str) -> DeviceFlowResult:
        return await self._device_flow.poll(client_id, device_code)

    def _issue_path(self, number: int) -> str:
        return f"/repos/{self._repo_name}/issues/{int(number)}"

    async def _ensure_labels(self, names: tuple[str, ...]) -> None:
        """Create labels the repository lacks (GitHub compares label names case-insensitively)."""
        if not names:
            return
        if self._known_labels is None:
            items, _ = await self._list(f"/repos/{self._repo_name}/labels", {}, None)
            self._known_labels = {str(item["name"]).lower() for item in items}
        for name in names:
            if name.lower() in self._known_labels:
                continue
            try:
                create = partial(self._repo.create_label, name, NEW_LABEL_COLOR)
                await self._write(create, f"label {name}")
            except GitHubError as exc:
                if exc.status != 422:  # 422: someone created it meanwhile
                    raise
            self._known_labels.add(name.lower())
