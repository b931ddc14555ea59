"""Links behind a reverse proxy and on GitHub Enterprise Server.

- ``CHARTERBOT_PUBLIC_URL`` may carry a path prefix (https://example.org/charter) that the proxy
  strips before passing requests on: every link, form, script and the live-update stream of the
  dashboard and of the e-mail confirm/unsubscribe pages must stay under it. Before, they were
  root-absolute (``href="/proposals/1"``, ``action='/subscriptions/confirm?…'``,
  ``EventSource("/events")``) and left the prefix.
- With ``CHARTERBOT_GITHUB_API_URL`` at a GHES API (https://ghe.example.com/api/v3), links to
  GitHub go to its web host (bot.github_web): the dashboard, the feed, the notices sent. Before,
  they were hardcoded to https://github.com.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.http import create_app
from bot.runtime import Runtime
from bot.senders.base import Envelope, SendResult
from bot.settings import Settings
from bot.subscribe_tokens import confirm_url, secret_key, unsubscribe_url
from charter.effects import Announce
from storage import subscriptions
from storage.db import session_scope
from tests.bot.web.conftest import NOW, copy_of

PUBLIC = "https://example.org/charter"
GHES_API = "https://ghe.example.com/api/v3"
GHES_WEB = "https://ghe.example.com/"
PAGES = ["/", "/proposals", "/proposals/1", "/rollouts", "/meetings", "/incidents", "/audit"]


class Links(HTMLParser):
    """Every URL a page makes the browser follow: href, src, form action."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value is not None:
                self.urls.append(value)
            if name == "action" and value is None:  # no action: the page's own URL
                self.urls.append("")


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


def outside(page_url: str, urls: list[str]) -> list[str]:
    """The links of a page at ``page_url`` that resolve neither under the prefix nor to GHES."""
    resolved = [urljoin(page_url, u) for u in urls]
    return [
        u
        for u in resolved
        if not (u == PUBLIC or u.startswith((f"{PUBLIC}/", f"{PUBLIC}?", GHES_WEB)))
    ]


@pytest.fixture
def behind(seeded_template: Path, tmp_path: Path) -> Iterator[Runtime]:
    """The demo campaign served at https://example.org/charter, GitHub at a GHES."""
    settings = Settings(
        database_url=f"sqlite:///{copy_of(seeded_template, tmp_path)}",
        public_url=PUBLIC,
        github_api_url=GHES_API,
    )
    rt = build(settings, clock=FixedClock(NOW))
    yield rt
    rt.engine.dispose()


@pytest.fixture
async def proxied(behind: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app as a proxy that strips the prefix reaches it."""
    transport = httpx.ASGITransport(app=create_app(behind, run_background=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as http:
        yield http


@pytest.mark.parametrize("path", PAGES)
async def test_every_dashboard_link_stays_under_the_prefix(
    proxied: httpx.AsyncClient, path: str
) -> None:
    response = await proxied.get(path)
    assert response.status_code == 200
    urls = links(response.text)
    assert urls and outside(f"{PUBLIC}{path}", urls) == []
    assert 'data-root="/charter"' in response.text  # where live.js opens /events


async def test_the_live_stream_and_redirects_keep_the_prefix(proxied: httpx.AsyncClient) -> None:
    script = (await proxied.get("/static/live.js")).text
    assert 'new EventSource(root + "/events"' in script
    assert "document.body.dataset.root" in script
    verified = await proxied.post("/audit/verify")
    assert verified.status_code == 303
    assert verified.headers["location"] == "/charter/audit#verified"


async def test_github_links_go_to_the_enterprise_server(
    proxied: httpx.AsyncClient, behind: Runtime
) -> None:
    repo = behind.gov.charter.github.repository
    page = (await proxied.get("/proposals/1")).text
    assert f'href="https://ghe.example.com/{repo}/issues/1"' in page
    meetings = links((await proxied.get("/meetings")).text)
    assert any(u.startswith(f"https://ghe.example.com/{repo}/issues?q=") for u in meetings)
    every = [u for p in PAGES for u in links((await proxied.get(p)).text)]
    assert not [u for u in every if "github.com" in u]
    with session_scope(behind.engine) as session:
        behind.gov.effects(session, [Announce("decision", "Decided", "text", proposal=1)], "t", NOW)
    feed = (await proxied.get("/feeds/announcements.atom")).text
    assert f'href="https://ghe.example.com/{repo}/issues/1"' in feed


@pytest.mark.parametrize("purpose", ["unsubscribe", "confirm"])
async def test_the_mail_link_pages_post_under_the_prefix(
    proxied: httpx.AsyncClient, behind: Runtime, purpose: str
) -> None:
    with session_scope(behind.engine) as session:
        new = subscriptions.NewSubscription("email", "ops@x.org", owner="t:1", filters={})
        subscriptions.add(session, new, NOW)
        subscriptions.request_optin(session, "ops@x.org", NOW)
        link = unsubscribe_url(PUBLIC, secret_key(session, NOW), "ops@x.org")
        if purpose == "confirm":
            link = confirm_url(PUBLIC, secret_key(session, NOW), "ops@x.org", NOW)
    response = await proxied.get(link.removeprefix(PUBLIC))
    assert response.status_code == 200
    [action] = [u for u in links(response.text) if "token=" in u]
    target = urljoin(link, action)
    assert urlsplit(target).path == f"/charter/subscriptions/{purpose}"
    assert urlsplit(target).query == urlsplit(link).query


class Recording:
    """A sender that records what it was given and accepts it."""

    platform = "slack"

    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope)
        return SendResult(True, message_id=str(len(self.sent)))

    async def aclose(self) -> None:
        return None


async def test_a_sent_announcement_links_to_the_enterprise_server(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}", github_api_url=GHES_API)
    behind = build(settings, clock=FixedClock(NOW))
    relay = behind.extras["broadcast_relay"]
    recording = Recording()
    relay.senders = {"slack": recording}
    with session_scope(behind.engine) as session:
        new = subscriptions.NewSubscription("slack", "C0GHES", owner="t:1", filters={})
        subscriptions.add(session, new, NOW)
        behind.gov.effects(session, [Announce("decision", "Decided", "text", proposal=1)], "t", NOW)
    relay.prepare()
    while await relay.deliver_once():
        pass
    mine = [e for e in recording.sent if e.address == "C0GHES" and e.notice.title == "Decided"]
    repo = behind.gov.charter.github.repository
    assert [e.notice.link for e in mine] == [f"https://ghe.example.com/{repo}/issues/1"]
    behind.engine.dispose()
