"""A running charterbot (the real app, the real service) against the GitHub stand-in.

Deliveries are signed exactly as GitHub signs them and posted to ``/github/webhook`` of the
Starlette app; background work (inbox, deadlines, relays) is stepped by hand with a fixed clock,
so tests are deterministic and fast.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import itertools
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from github import Auth
from sqlalchemy.engine import make_url

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.github.events import parse_event
from bot.github.gateway import PyGithubGateway
from bot.github.handler import handle_event
from bot.github.ratelimit import RetryPolicy, Throttle, WritePacer
from bot.http import create_app
from bot.runtime import Runtime
from bot.senders.pacing import Pacer
from bot.settings import Settings
from storage import identities
from storage.db import session_scope
from tests.bot.slack.wire import SECRET as SLACK_SECRET, TOKEN as SLACK_TOKEN
from tests.paths import SHARED
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

SECRET = "It's a Secret to Everybody"
REPO = "meridian-net/upgrades"
WEBHOOKS = SHARED / "fixtures" / "github" / "webhooks"
EXAMPLE_BODY = (SHARED / "github" / "example-proposal-body.md").read_text()
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# GitHub comment ids, unique across every harness in the run: a restarted bot (a new harness
# over the same database) must not take an id its predecessor gave another comment.
_COMMENT_IDS = itertools.count(9_000_001)
# A SQLite file the real migrations brought to head, set for the session by
# tests/bot/conftest.py: a bot whose SQLite file does not exist yet starts on a copy of it.
MIGRATED_SQLITE: Path | None = None


def start_migrated(database_url: str) -> None:
    """Give a bot's new SQLite file the migrated schema before it starts. ``build`` migrates
    an empty database first, which cost about a tenth of a second a bot; starting on a copy of
    the session's migrated file, it finds the schema current (as on any restart) and goes on
    exactly as it would have after migrating. An existing file, or an unusable path, is left
    as it is; so is PostgreSQL. Starting on an empty database has tests of its own."""
    if MIGRATED_SQLITE is None:
        return
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(str(url.database))
    if path.parent.is_dir() and not path.exists():
        shutil.copyfile(MIGRATED_SQLITE, path)


def fixture(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / path).read_text())
    return data


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def open_issue(rt: Runtime, number: int, body: str, author: str = "alice-aurora") -> None:
    """Issue ``number`` opened with the proposal label and ``body``, handled at START in the
    runtime's own transaction (no HTTP, no stand-in)."""
    payload = copy.deepcopy(fixture("issues/opened.payload.json"))
    payload["repository"]["full_name"] = REPO
    payload["issue"].update(number=number, title=f"Proposal {number}", body=body)
    payload["issue"]["user"]["login"] = author
    payload["issue"]["labels"] = [{"name": "upgrade-proposal", "id": 1, "color": "ededed"}]
    payload["sender"]["login"] = author
    with session_scope(rt.engine) as session:
        handle_event(rt.gov, session, parse_event("issues", payload), START)


class InstantSleep:
    """Sleeps that only record how long they would have waited."""

    def __init__(self) -> None:
        self.waited: list[float] = []
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)
        self.t += max(0.0, seconds)


def slack_settings(slack: SlackStandIn) -> dict[str, str]:
    """Settings that turn Slack on (HTTP mode) against the Slack stand-in."""
    return {
        "slack_bot_token": SLACK_TOKEN,
        "slack_signing_secret": SLACK_SECRET,
        "slack_api_url": slack.api_url,
    }


class Bot:
    def __init__(
        self,
        database_url: str,
        standin: GitHubStandin,
        clock: FixedClock | None = None,
        *,
        github_app: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        """``github_app`` (app id, private key, installation id settings) replaces token auth:
        the runtime then builds its own gateway from settings, as ``charterbot serve`` does."""
        self.standin = standin
        self.clock = clock or FixedClock(START)
        self.sleeps = InstantSleep()
        auth = github_app if github_app is not None else {"github_token": standin.token}
        # Deadlines fire on the dot unless a test asks for the grace (tests/bot/test_vote_grace.py).
        extra.setdefault("deadline_grace_seconds", 0)
        # No audit head posts unless a test asks (tests/bot/test_audit_witness.py): they would
        # open an issue on the stand-in and shift the numbers of the tests' own issues.
        extra.setdefault("audit_witness_every", "off")
        start_migrated(database_url)
        settings = Settings(
            database_url=database_url,
            github_webhook_secret=SECRET,
            github_api_url=standin.base_url,
            public_url="http://charterbot.test",
            **auth,
            **extra,
        )
        if github_app is not None:  # the runtime's own gateway: real pacing, App auth
            self.rt: Runtime = build(settings, clock=self.clock)
            assert isinstance(self.rt.gateway, PyGithubGateway)
            self.gateway = self.rt.gateway
        else:
            throttle = Throttle(
                RetryPolicy(max_retries=4),
                WritePacer(clock=self.sleeps, sleep=self.sleeps.sleep),
                wall_clock=self.sleeps,
                sleep=self.sleeps.sleep,
            )
            self.gateway = PyGithubGateway(
                REPO, Auth.Token(standin.token), standin.base_url, throttle=throttle
            )
            self.rt = build(settings, clock=self.clock, gateway=self.gateway)
        self._instant_pacing()
        self.app = create_app(self.rt, run_background=False)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bot"
        )
        self._comment_ids = _COMMENT_IDS

    def _instant_pacing(self) -> None:
        """Broadcasts and notifications keep their pacing rules but wait on ``self.sleeps``:
        Slack's one message per second per channel cost these tests a second per message.
        What they would have waited is in ``self.sleeps.waited``."""
        relay = self.rt.extras.get("broadcast_relay")
        if relay is None:
            return
        pacer = Pacer(relay.pacer.limits, clock=self.sleeps, sleep=self.sleeps.sleep)
        relay.pacer = pacer
        notifier = self.rt.extras.get("notify_relay")
        if notifier is not None:
            notifier.pacer = pacer

    @classmethod
    def fresh(cls, database_url: str, standin: GitHubStandin, **extra: Any) -> Bot:
        """A bot over a reset stand-in whose clock starts where the bot's does."""
        standin.reset()
        bot = cls(database_url, standin, **extra)
        standin.store.now = bot.clock.now()
        return bot

    @property
    def gov(self):  # type: ignore[no-untyped-def]
        return self.rt.gov

    async def close(self) -> None:
        # Bolt answers after the ack in a background task: let in-flight ones finish so they
        # close their HTTP sessions before the test's event loop goes away.
        # The stand-ins' own connection handlers (aiohttp's RequestHandler.start) live until the
        # clients close their keep-alive connections below; waiting for them only cost 2 s.
        pending = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task()
            and getattr(t.get_coro(), "__qualname__", "") != "RequestHandler.start"
        ]
        if pending:
            await asyncio.wait(pending, timeout=2)
        for stop in self.rt.extras.get("shutdown", []):
            await stop()
        await self.http.aclose()
        self.gateway.close()
        self.rt.engine.dispose()

    # -- deliveries ----------------------------------------------------------------------------

    async def post(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery: str | None = None,
        secret: str = SECRET,
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, secret),
            "Content-Type": "application/json",
        }
        return await self.http.post("/github/webhook", content=body, headers=headers)

    def issue_payload(
        self,
        action: str,
        number: int,
        body: str,
        *,
        title: str = "Raise the gas target",
        author: str = "alice-aurora",
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload = copy.deepcopy(fixture("issues/opened.payload.json"))
        payload["action"] = action
        payload["repository"]["full_name"] = REPO
        issue = payload["issue"]
        issue.update(number=number, title=title, body=body, updated_at=_iso(self.clock.now()))
        issue["user"]["login"] = author
        issue["labels"] = [{"name": "upgrade-proposal", "id": 1, "color": "ededed"}]
        payload["sender"]["login"] = author
        if changes is not None:
            payload["changes"] = changes
        return payload

    def comment_payload(
        self,
        action: str,
        number: int,
        body: str,
        author: str,
        comment_id: int | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        payload = copy.deepcopy(fixture("issue_comment/created.payload.json"))
        payload["action"] = action
        payload["repository"]["full_name"] = REPO
        payload["issue"]["number"] = number
        now = self.clock.now()
        comment = payload["comment"]
        comment.update(
            id=comment_id or next(self._comment_ids),
            body=body,
            created_at=_iso(created or now),
            updated_at=_iso(now),
        )
        comment["user"]["login"] = author
        payload["sender"]["login"] = author
        return payload

    async def comment(self, number: int, body: str, author: str) -> int:
        payload = self.comment_payload("created", number, body, author)
        response = await self.post("issue_comment", payload)
        assert response.status_code == 202, response.text
        return int(payload["comment"]["id"])

    # -- background work, stepped ------------------------------------------------------------------

    async def open_issue(
        self,
        title: str = "Raise the gas target",
        body: str | None = None,
        author: str = "alice-aurora",
        *,
        settle: bool = True,
    ) -> int:
        """An upgrade-proposal issue filed on the stand-in (the issue form's ``valid_body``
        unless ``body``) and its ``opened`` delivery accepted; settled unless told not to.
        Returns the issue's number."""
        body = valid_body() if body is None else body
        n = self.standin.store.add_issue(title, body, author, ("upgrade-proposal",)).number
        payload = self.issue_payload("opened", n, body, title=title, author=author)
        response = await self.post("issues", payload)
        assert response.status_code == 202, response.text
        if settle:
            await self.settle()
        return n

    async def open_voting(self, title: str = "Raise the gas target") -> int:
        """A proposal opened on GitHub from the issue form and moved into its voting window."""
        n = await self.open_issue(title)
        await self.advance(later(days=7, seconds=1))
        return n

    async def settle(self) -> None:
        """Process the inbox, fire due deadlines and run the relays until nothing is left."""
        for _ in range(20):
            now = self.clock.now()
            work = self.rt.worker.process_pending(now)
            work += self.gov.tick(now)
            for relay in self.rt.relays:
                work += await relay(now)
            if not work:
                return
        raise AssertionError("background work did not settle")

    def link(self, surface_id: str, login: str = "alice-aurora", *, surface: str = "slack") -> None:
        """``login`` proved earlier, for the chat user ``surface_id`` (see test_chat_e2e for
        the proof itself)."""
        with session_scope(self.rt.engine) as session:
            identities.link(
                session,
                surface=surface,
                surface_id=surface_id,
                login=login,
                method="comment-code",
                now=self.clock.now(),
            )

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.standin.store.now = self.clock.now().replace(microsecond=0)
        await self.settle()

    # -- what GitHub holds ---------------------------------------------------------------

    def issue_comments(self, number: int) -> list[Any]:
        return [c for c in self.standin.store.comments.values() if c.issue_number == number]

    def tracking(self, number: int) -> list[Any]:
        return [c for c in self.issue_comments(number) if "<!-- charterbot:tracking -->" in c.body]

    def labels(self, number: int) -> set[str]:
        return set(self.standin.store.issues[number].labels)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def valid_body(**replace: str) -> str:
    body = EXAMPLE_BODY
    for old, new in replace.items():
        body = body.replace(old, new)
    return body


def later(days: float = 0, hours: float = 0, seconds: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours, seconds=seconds)
