"""A hidden marker is trusted only in the bot's own posts: anyone can paste
``<!-- charterbot:tracking -->`` into a comment, and adopting it would let them rewrite what the
bot shows. The bot's login is asked once: ``GET /user``, or ``GET /app`` for a GitHub App."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import jwt
import pytest
from github import Auth

from bot.github.auth import app_auth
from bot.github.gateway import PyGithubGateway, is_own
from bot.github.tracking import MARKER
from bot.github.wire import same_login
from storage.db import session_scope
from storage.models.core import TrackingMessageRow
from tests.bot.github.conftest import FakeClock, fake_throttle
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_routes import Reply
from tests.standins.github_server import GitHubStandin

APP_ID, INSTALLATION = "4242", 77


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("charterbot", "charterbot", True), ("CharterBot", "charterbot", True),
     ("charterbot[bot]", "charterbot", False), ("mallory", "charterbot", False)],
)  # fmt: skip
def test_same_login(a: str, b: str, same: bool) -> None:
    """Logins name one account without regard to case."""
    assert same_login(a, b) is same


async def test_a_marker_is_found_only_in_the_bots_own_comment(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    store = github_standin.store
    number = store.add_issue("Upgrade").number
    store.add_comment(number, f"{MARKER}\nplanted", "mallory")
    assert await gateway.find_comment_with_marker(number, MARKER) is None
    own = store.add_comment(number, f"{MARKER}\nmine", github_standin.bot_login.upper())
    store.add_comment(number, f"{MARKER}\nplanted again", "mallory")
    found = await gateway.find_comment_with_marker(number, MARKER)
    assert found is not None and found.comment_id == str(own.id)
    assert len(github_standin.requests_to("GET", "/user")) == 1, "asked once, then kept"


async def test_a_marker_is_found_only_in_the_bots_own_issue(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    marker = "<!-- charterbot:agenda:core@2026-12-01 -->"
    github_standin.store.add_issue("Agenda", f"{marker}\nfake", "mallory")
    assert await gateway.find_issue_with_marker(marker) is None
    own = github_standin.store.add_issue("Agenda", f"{marker}\nreal", github_standin.bot_login)
    found = await gateway.find_issue_with_marker(marker)
    assert found is not None and found.number == own.number


async def test_no_marker_anywhere_asks_nothing_more(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    """Who we are matters only when a marker was found (the usual first sync finds none)."""
    number = github_standin.store.add_issue("Upgrade").number
    assert await gateway.find_comment_with_marker(number, MARKER) is None
    assert await gateway.find_issue_with_marker(MARKER) is None
    assert github_standin.requests_to("GET", "/user") == []


class AppIdentity(GitHubStandin):
    """As GitHub answers a GitHub App: its installation token may not read ``/user`` (403);
    ``GET /app`` with the app's JWT gives its slug. (Here no token may read ``/user``.)"""

    def configure_app(
        self, app_id: str, public_key_pem: str, installation_id: int, *, ttl: int = 3600
    ) -> None:
        super().configure_app(app_id, public_key_pem, installation_id, ttl=ttl)
        self.public_pem = public_key_pem

    def _respond(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> tuple[Reply, str | None]:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if path == "/user":
            return Reply(403, {"message": "Resource not accessible by integration"}), None
        if (method, path) == ("GET", "/app"):
            claims = jwt.decode(credential, self.public_pem, algorithms=["RS256"])
            assert scheme.lower() == "bearer" and claims["iss"] == APP_ID
            return Reply(200, {"id": int(APP_ID), "slug": "charter-app"}), None
        return super()._respond(method, path, query, headers, body)


@pytest.fixture
def app_standin(app_keys: tuple[str, str]) -> Iterator[AppIdentity]:
    standin = AppIdentity().start()
    standin.configure_app(APP_ID, app_keys[1], INSTALLATION)
    try:
        yield standin
    finally:
        standin.stop()


async def test_a_github_app_is_its_slug_as_a_bot(
    app_standin: AppIdentity, app_keys: tuple[str, str]
) -> None:
    auth = app_auth(APP_ID, app_keys[0], INSTALLATION)
    gateway = PyGithubGateway(
        app_standin.store.repo,
        auth,
        app_standin.base_url,
        throttle=fake_throttle(FakeClock(app_standin.store.now.timestamp())),
    )
    try:
        assert await gateway.own_login() == "charter-app[bot]"
        assert await gateway.own_login() == "charter-app[bot]"
    finally:
        gateway.close()
    asked = [(r.path, r.status) for r in app_standin.requests if r.path in ("/user", "/app")]
    assert asked == [("/user", 403), ("/app", 200)]


@pytest.mark.parametrize(
    ("author", "own", "mine"),
    [("charterbot", "charterbot", True), ("CHARTERBOT", "charterbot", True),
     ("mallory", "charterbot", False), ("charter-app[bot]", "charterbot", False),
     # GitHub would not say who we are: only an app's account can be the bot
     ("charter-app[bot]", "", True), ("github-actions[bot]", "", True), ("mallory", "", False),
     ("mallory-bot", "", False)],
)  # fmt: skip
def test_is_own(author: str, own: str, mine: bool) -> None:
    assert is_own(author, own) is mine


async def test_a_plain_token_that_may_not_read_user_learns_its_login_from_its_post(
    app_standin: AppIdentity,
) -> None:
    """An installation token given as a plain token (Actions' GITHUB_TOKEN) may read neither
    ``/user`` nor ``/app``: until the bot has posted, only an app's account is taken for it;
    its first post says which one. ``/user`` is asked once."""
    store = app_standin.store
    number = store.add_issue("Upgrade").number
    store.add_comment(number, f"{MARKER}\nplanted", "mallory")
    other = store.add_comment(number, f"{MARKER}\nan app's", "other-app[bot]")
    gateway = PyGithubGateway(
        store.repo,
        Auth.Token(app_standin.token),
        app_standin.base_url,
        throttle=fake_throttle(FakeClock(store.now.timestamp())),
    )
    try:
        found = await gateway.find_comment_with_marker(number, MARKER)
        assert found is not None and found.comment_id == str(other.id)
        assert await gateway.own_login() == ""
        await gateway.create_comment(number, "hello")
        assert await gateway.own_login() == app_standin.bot_login
        assert await gateway.find_comment_with_marker(number, MARKER) is None  # not ours
    finally:
        gateway.close()
    assert len(app_standin.requests_to("GET", "/user")) == 1
    assert app_standin.requests_to("GET", "/app") == []


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_a_planted_marker_is_not_adopted_as_the_tracking_comment(bot: Bot) -> None:
    """A marker planted before the proposal label was added: the bot posts its own tracking
    comment and never edits the planted one."""
    n = bot.standin.store.add_issue("Raise the gas target", valid_body(), "alice-aurora").number
    opened = bot.issue_payload("opened", n, valid_body())
    opened["issue"]["labels"] = []
    assert (await bot.post("issues", opened)).status_code == 202
    await bot.settle()
    planted = bot.standin.store.add_comment(n, f"{MARKER}\nnice proposal!", author="mallory")
    await bot.advance(later(seconds=10))
    bot.standin.store.issues[n].labels = ["upgrade-proposal"]
    assert (await bot.post("issues", bot.issue_payload("labeled", n, valid_body()))).is_success
    await bot.settle()

    with session_scope(bot.rt.engine) as session:
        row = session.get(TrackingMessageRow, (n, "github"))
        assert row is not None
        tracked = int(row.message_id)
    assert tracked != planted.id
    assert bot.standin.store.comments[tracked].author == bot.standin.bot_login
    assert bot.standin.store.comments[planted.id].body == f"{MARKER}\nnice proposal!"
    assert bot.standin.requests_to("PATCH", rf"/repos/.+/issues/comments/{planted.id}") == []
