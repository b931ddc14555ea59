"""How the gateway calls GitHub's REST API through PyGithub (``PyGithubRest``, the base of
bot.github.gateway.PyGithubGateway, whose ``__init__`` sets the connection it reads).

Rules:
- PyGithub is synchronous: every call runs in `asyncio.to_thread`, never on the event loop.
- PyGithub's own throttling and retries are off (`retry=None`, no seconds_between_*); every
  request goes through our `Throttle` instead (write pacing + GitHub's rate-limit rules).
- Lists are paged by hand from the raw JSON (following `Link: rel="next"`): PyGithub's list
  objects would fetch each item again on access, and lists must support ETag / 304.
- GitHub's answers become the port's errors: a 404 is `GitHubNotFound`; any other error
  status, or GitHub out of reach, is `GitHubError`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

import requests
from github import Github
from github.GithubException import GithubException
from github.Requester import Requester

from bot.github.ratelimit import RateLimitAnswer, Throttle
from bot.ports import GitHubError, GitHubNotFound

T = TypeVar("T")
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class PyGithubRest:
    """Paced, translated requests for one repository's gateway."""

    # Set by PyGithubGateway.__init__.
    _repo_name: str
    _base_url: str
    _throttle: Throttle
    _per_page: int
    _gh: Github

    @property
    def _requester(self) -> Requester:
        return self._gh.requester

    async def _list(
        self,
        path: str,
        params: Mapping[str, Any],
        etag: str | None,
        *,
        items_key: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """All pages of a list. With `etag`, a 304 on the first page returns `([], etag)`."""
        first = {**params, "per_page": self._per_page}
        status, headers, data = await self._read(
            lambda: self._get(path, first, etag), f"GET {path}"
        )
        if status == 304:
            return [], etag
        new_etag = headers.get("etag")
        items = json_list(data, items_key)
        while (url := next_link(headers)) is not None:
            status, headers, data = await self._read(partial(self._get, url, None, None), url)
            items.extend(json_list(data, items_key))
        return items, new_etag

    def _get(
        self, url: str, params: Mapping[str, Any] | None, etag: str | None
    ) -> tuple[int, dict[str, Any], Any]:
        """One GET in the worker thread; raises PyGithub's exception for error statuses."""
        headers = {"If-None-Match": etag} if etag else None
        status, resp_headers, body = self._requester.requestJson(
            "GET", url, dict(params) if params else None, headers
        )
        data = _json(body)
        if status >= 400:
            raise Requester.createException(status, resp_headers, data)
        return status, resp_headers, data

    async def _read(self, fn: Callable[[], T], what: str) -> T:
        return await self._call(fn, what, write=False)

    async def _write(self, fn: Callable[[], T], what: str) -> T:
        return await self._call(fn, what, write=True)

    async def _call(self, fn: Callable[[], T], what: str, *, write: bool) -> T:
        try:
            return await self._throttle.run(
                lambda: asyncio.to_thread(fn), write=write, answer_of=rate_limit_answer
            )
        except GithubException as exc:
            if exc.status == 404:
                raise GitHubNotFound(
                    f"{what}: not found in {self._repo_name} ({_message(exc)})", status=404
                ) from exc
            raise GitHubError(
                f"{what}: GitHub answered {exc.status}: {_message(exc)}", status=exc.status
            ) from exc
        except requests.RequestException as exc:
            raise GitHubError(f"{what}: cannot reach GitHub at {self._base_url}: {exc}") from exc


def rate_limit_answer(exc: BaseException) -> RateLimitAnswer | None:
    """The retry policy's view of a PyGithub error (None for anything but 403/429)."""
    if not isinstance(exc, GithubException) or exc.status not in (403, 429):
        return None
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    return RateLimitAnswer(status=exc.status, headers=headers, message=_message(exc))


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, Mapping) and data.get("message"):
        return str(data["message"])
    return exc.message or ""


def _json(body: str) -> Any:
    return json.loads(body) if body else None


def json_list(data: Any, items_key: str | None) -> list[dict[str, Any]]:
    if items_key is not None:
        data = data.get(items_key) if isinstance(data, Mapping) else None
    if not isinstance(data, list):
        raise GitHubError(f"expected a JSON list{f' under {items_key!r}' if items_key else ''}")
    return data


def next_link(headers: Mapping[str, Any]) -> str | None:
    match = NEXT_LINK.search(str(headers.get("link", "")))
    return match.group(1) if match else None
