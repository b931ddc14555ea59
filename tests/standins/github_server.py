"""A local GitHub stand-in speaking the REST wire format, for tests of the GitHub edge.

Run by uvicorn on 127.0.0.1 (random port) in a background thread. It keeps issues, comments,
labels and check runs in memory (`standin.store`), records every request (`standin.requests`),
serves `application/json` with `url` fields under its own base URL, and mimics the GitHub
behaviours the bot must cope with:
- pagination (`per_page`, `page`, `Link`), ETag / `If-None-Match` → 304 on GETs;
- a simulated primary rate budget (`rate_remaining`) that 304s do not consume;
- token auth, GitHub App installation tokens (RS256 JWT verified) that expire by the stand-in's
  clock, and the OAuth device flow (scripted: pending N times, then an outcome);
- injected refusals: `fail_next(k, kind=...)` answers the next k API requests with a
  secondary-limit 403 (with or without retry-after), a primary-limit 403 or a 429;
- latency: `delay_next(seconds)` holds the next response (to prove callers don't block).

Other areas import `running_github_standin()` (a context manager) or `GitHubStandin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.standins.github_routes import ROUTES, Reply
from tests.standins.github_store import Store, iso

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:0000."
)
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lowercase names
    json: Any
    status: int = 0
    fault: str | None = None


@dataclass
class DeviceScript:
    """How the device flow answers: `pending` polls, optional slow_down first, then outcome."""

    client_id: str = "Iv1.standin"
    pending: int = 0
    slow_down: bool = False
    outcome: str = "linked"  # linked | denied | expired
    login: str = "octocat"
    polls: int = 0


class GitHubStandin:
    def __init__(
        self,
        repo: str = "octo-org/charter",
        *,
        token: str = "ghp_standin",
        bot_login: str = "charterbot",
        rate_limit: int = 5000,
    ) -> None:
        self.token = token
        self.bot_login = bot_login
        self.rate_limit = rate_limit
        self._repo = repo
        self._serial = itertools.count(1)
        self._lock = threading.RLock()
        self.reset()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all state, recordings and configuration (reuse one server across tests)."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self.store = Store(self._repo)
        self.rate_remaining = self.rate_limit
        self.requests: list[Recorded] = []
        self.issued_tokens: list[str] = []
        self.device = DeviceScript()
        self._app: tuple[str, str, int, int] | None = None  # app id, public PEM, inst id, ttl
        self._installation_tokens: dict[str, Any] = {}
        self._user_tokens: dict[str, str] = {}
        self._faults: list[tuple[str, int | None]] = []
        self._delays: list[float] = []

    def start(self) -> GitHubStandin:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Accepted sockets inherit TCP_NODELAY; without it keep-alive requests stall ~40 ms
        # (Nagle against delayed ACK).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=_METHODS)])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("GitHub stand-in did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # -- configuration --------------------------------------------------------------------

    def configure_app(
        self, app_id: str, public_key_pem: str, installation_id: int, *, ttl: int = 3600
    ) -> None:
        """Accept RS256 JWTs from this app and issue installation tokens living `ttl` s."""
        self._app = (str(app_id), public_key_pem, installation_id, ttl)

    def fail_next(
        self, count: int = 1, *, kind: str = "secondary", retry_after: int | None = None
    ) -> None:
        """Refuse the next `count` API requests: kind secondary | primary | 429."""
        if kind not in ("secondary", "primary", "429"):
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.extend([(kind, retry_after)] * count)

    def delay_next(self, seconds: float) -> None:
        with self._lock:
            self._delays.append(seconds)

    def requests_to(self, method: str, path_pattern: str) -> list[Recorded]:
        """Recorded requests with this method whose path matches the regex fully."""
        rx = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and rx.fullmatch(r.path)]

    # -- HTTP -----------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        raw = await request.body()
        payload = _decode(raw, request.headers.get("content-type", ""))
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        with self._lock:
            delay = self._delays.pop(0) if self._delays else 0.0
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            reply, fault = self._respond(request.method, request.url.path, query, headers, payload)
            self.requests.append(
                Recorded(
                    request.method, request.url.path, query, headers, payload, reply.status, fault
                )
            )
        if reply.status in (204, 304):
            return Response(status_code=reply.status, headers=reply.headers)
        return Response(
            json.dumps(reply.data).encode(),
            status_code=reply.status,
            headers=reply.headers,
            media_type="application/json",
        )

    def _respond(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[Reply, str | None]:
        if path.startswith("/login/"):
            return self._device(path, body), None
        if self._faults:
            kind, retry_after = self._faults.pop(0)
            return self._fault(kind, retry_after), kind
        if path.startswith("/app/"):
            return self._installation_token(path, headers), None
        login = self._identify(headers.get("authorization", ""))
        if login is None:
            return Reply(401, {"message": "Bad credentials", "documentation_url": DOCS}), None
        reply = self._route(method, path, query, body, login)
        if method == "GET" and reply.status == 200:
            etag = 'W/"' + hashlib.sha256(json.dumps(reply.data).encode()).hexdigest() + '"'
            reply.headers["etag"] = etag
            if headers.get("if-none-match") == etag:
                # GitHub: a 304 to an authorised conditional request is free.
                return Reply(304, None, {**self._rate_headers(), "etag": etag}), None
        self.rate_remaining = max(self.rate_remaining - 1, 0)
        reply.headers.update(self._rate_headers())
        return reply, None

    def _rate_headers(self) -> dict[str, str]:
        reset = int((self.store.now + timedelta(hours=1)).timestamp())
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(self.rate_remaining),
            "x-ratelimit-used": str(self.rate_limit - self.rate_remaining),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }

    def _fault(self, kind: str, retry_after: int | None) -> Reply:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        if kind == "primary":
            reset = int((self.store.now + timedelta(seconds=90)).timestamp())
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
            message = "API rate limit exceeded for installation ID 1."
            return Reply(403, {"message": message, "documentation_url": DOCS}, headers)
        status = 429 if kind == "429" else 403
        return Reply(status, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}, headers)

    def _identify(self, authorization: str) -> str | None:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not credential:
            return None
        if credential == self.token:
            return self.bot_login
        expires = self._installation_tokens.get(credential)
        if expires is not None and expires > self.store.now:
            return f"{self.bot_login}[bot]"
        return self._user_tokens.get(credential)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any, login: str) -> Reply:
        for verb, rx, handler in ROUTES:
            match = rx.fullmatch(path)
            if verb == method and match:
                params = match.groupdict()
                repo = params.pop("repo", None)
                if repo is not None and repo != self.store.repo:
                    break
                return handler(self.store, self.base_url, params, query, body, login)
        return Reply(404, {"message": "Not Found", "documentation_url": DOCS})

    # -- auth endpoints -------------------------------------------------------------------

    def _installation_token(self, path: str, headers: dict[str, str]) -> Reply:
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if self._app is None or match is None:
            return Reply(404, {"message": "Not Found"})
        app_id, public_pem, installation_id, ttl = self._app
        scheme, _, token = headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, public_pem, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            return Reply(401, {"message": f"A JSON web token could not be decoded: {exc}"})
        if scheme.lower() != "bearer" or str(claims.get("iss")) != app_id:
            return Reply(401, {"message": "'Issuer' claim ('iss') must be the app id"})
        if int(match.group(1)) != installation_id:
            return Reply(404, {"message": "Not Found"})
        token_value = f"ghs_standin{next(self._serial):04d}"
        expires = self.store.now + timedelta(seconds=ttl)
        self._installation_tokens[token_value] = expires
        self.issued_tokens.append(token_value)
        return Reply(
            201,
            {
                "token": token_value,
                "expires_at": iso(expires),
                "permissions": {"issues": "write", "checks": "read"},
                "repository_selection": "selected",
            },
        )

    def _device(self, path: str, form: Any) -> Reply:
        form = form if isinstance(form, dict) else {}
        script = self.device
        if form.get("client_id") != script.client_id:
            return Reply(
                200,
                {
                    "error": "incorrect_client_credentials",
                    "error_description": "The client_id is not valid.",
                },
            )
        if path == "/login/device/code":
            return Reply(
                200,
                {
                    "device_code": "dc-standin",
                    "user_code": "WDJB-MJHT",
                    "verification_uri": f"{self.base_url}/login/device",
                    "expires_in": 900,
                    "interval": 5,
                },
            )
        if path != "/login/oauth/access_token":
            return Reply(404, {"message": "Not Found"})
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" or (
            form.get("device_code") != "dc-standin"
        ):
            return Reply(200, {"error": "incorrect_device_code"})
        script.polls += 1
        if script.slow_down and script.polls == 1:
            return Reply(200, {"error": "slow_down", "interval": 10})
        if script.polls <= script.pending + int(script.slow_down):
            return Reply(200, {"error": "authorization_pending"})
        if script.outcome != "linked":
            error = {"denied": "access_denied", "expired": "expired_token"}[script.outcome]
            return Reply(200, {"error": error})
        token = f"gho_standin{next(self._serial):04d}"
        self._user_tokens[token] = script.login
        return Reply(200, {"access_token": token, "token_type": "bearer", "scope": ""})


_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode()))
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@contextlib.contextmanager
def running_github_standin(**kwargs: Any) -> Iterator[GitHubStandin]:
    """A started stand-in, stopped on exit (`with running_github_standin() as gh: …`)."""
    standin = GitHubStandin(**kwargs).start()
    try:
        yield standin
    finally:
        standin.stop()
