"""What the gateway reads of a client's repository: the check runs on a ref, and its releases
page by page (``ClientRepoReads``, a base of bot.github.gateway.PyGithubGateway).

Rules:
- These name the repository they read (``owner/name``, checked before any request); every
  other read and write is the gateway's fixed `charter_repo`.
- A ref is never a path trick: no empty, ``.`` or ``..`` part.
"""

from __future__ import annotations

import urllib.parse
from functools import partial

from bot.github.rest import REPO_NAME, PyGithubRest, json_list
from bot.github.wire import check_snapshot, release_snapshot
from bot.ports import CheckSnapshot, ReleaseSnapshot


class ClientRepoReads(PyGithubRest):
    """Reads of a repository named by the caller (a client's)."""

    async def list_check_runs(self, repo: str, ref: str) -> list[CheckSnapshot]:
        """The latest run of each check on ``ref``: a commit sha, a tag or branch name, or
        GitHub's ``tags/<tag>`` / ``heads/<branch>`` (the slash stays a slash, as documented)."""
        if not REPO_NAME.match(repo):
            raise ValueError(f"repository must be 'owner/name', got {repo!r}")
        if any(part in ("", ".", "..") for part in ref.split("/")):  # no path tricks
            raise ValueError(f"not a ref: {ref!r}")
        path = f"/repos/{repo}/commits/{urllib.parse.quote(ref, safe='/')}/check-runs"
        items, _ = await self._list(path, {}, None, items_key="check_runs")
        return [check_snapshot(item) for item in items]

    async def list_releases(self, repo: str, per_page: int, page: int = 1) -> list[ReleaseSnapshot]:
        """Page ``page`` (from 1) of ``repo``'s releases, ``per_page`` (1-100) a page, newest
        first by creation: one page, one request (the reader decides how deep to go). Drafts
        are listed when the token may push."""
        if not REPO_NAME.match(repo):
            raise ValueError(f"repository must be 'owner/name', got {repo!r}")
        if not 1 <= per_page <= 100:
            raise ValueError(f"per_page must be 1 to 100 (GitHub's page size), got {per_page}")
        if page < 1:
            raise ValueError(f"page must be 1 or more, got {page}")
        path = f"/repos/{repo}/releases"
        params = {"per_page": per_page, "page": page}
        _, _, data = await self._read(partial(self._get, path, params, None), f"GET {path}")
        return [release_snapshot(item) for item in json_list(data, None)]
