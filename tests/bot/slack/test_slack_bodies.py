"""``POST /slack/events`` (bot.slack.serve) before Bolt sees a request: the signature over the
raw bytes first (401, nothing decoded or parsed), then a signed body Bolt cannot read (400),
quickly and never a 500; the ±5 minute window is the app's own clock's."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable, Mapping
from urllib.parse import quote

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_sdk.signature import Clock
from starlette.applications import Starlette
from starlette.requests import Request

from bot.slack import serve
from bot.slack.app import build_slack_app
from bot.slack.serve import slack_routes
from tests.bot.slack.fake_core import FakeCore
from tests.bot.slack.wire import SECRET, TOKEN, slash_body
from tests.standins.slack_server import SlackStandIn

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NESTED = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
NESTED_ARRAY = b"[" * 100_000 + b"]" * 100_000  # url-encoded, still under MAX_BODY
BAD_UTF8 = b'{"type":"event_callback","x":"\xff"}'


def raw_headers(
    body: bytes, *, ts: int | str | None = None, secret: str = SECRET, content_type: str = JSON
) -> dict[str, str]:
    """Slack's headers for raw bytes (which need not be UTF-8), signed at ``ts`` (now)."""
    stamp = str(int(time.time()) if ts is None else ts)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest}",
    }


def make_client(app: AsyncApp) -> httpx.AsyncClient:
    web = Starlette(routes=slack_routes(app))
    transport = httpx.ASGITransport(app=web, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://bot")


@pytest.fixture
def app(core: FakeCore, standin: SlackStandIn) -> AsyncApp:
    return build_slack_app(
        core,
        signing_secret=SECRET,
        bot_token=TOKEN,
        api_url=standin.api_url,
        process_before_response=True,
    )


@pytest.fixture
async def client(app: AsyncApp) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


CHALLENGE = b'{"token": "t", "challenge": "c", "type": "url_verification"}'
UNSIGNED = {"x-slack-request-timestamp": "0", "x-slack-signature": "v0=00"}
Headers = Mapping[str, str] | Mapping[bytes, bytes]


def non_ascii_signature(body: bytes) -> Headers:
    """Signed headers whose signature is then a latin-1 byte (Starlette reads it as 'ÿ')."""
    signed = {k.encode(): v.encode() for k, v in raw_headers(body).items()}
    return signed | {b"x-slack-signature": b"v0=\xff"}


NOT_SIGNED: list[tuple[str, bytes, Callable[[bytes], Headers], int]] = [
    ("bad-utf8", BAD_UTF8, lambda _: {"content-type": JSON} | UNSIGNED, 401),
    ("nested-1e5", NESTED, lambda _: {"content-type": JSON} | UNSIGNED, 401),
    ("nested-form-no-headers", b"payload=" + NESTED, lambda _: {"content-type": FORM}, 401),
    ("nested-wrong-secret", NESTED, lambda b: raw_headers(b, secret="not-ours"), 401),
    ("nested-non-integer-ts", NESTED, lambda b: raw_headers(b, ts="soon"), 401),
    ("nested-huge-ts", NESTED, lambda b: raw_headers(b, ts="9" * 5000), 401),
    ("non-ascii-signature", NESTED, non_ascii_signature, 401),
    ("stale", BAD_UTF8, lambda b: raw_headers(b, ts=int(time.time()) - 400), 401),
    ("signed-control", CHALLENGE, raw_headers, 200),
]


@pytest.mark.parametrize(
    ("body", "headers", "status"), [pytest.param(*case[1:], id=case[0]) for case in NOT_SIGNED]
)
async def test_an_unsigned_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
    core: FakeCore,
    monkeypatch: pytest.MonkeyPatch,
    body: bytes,
    headers: Callable[[bytes], Headers],
    status: int,
) -> None:
    """A bad, missing or stale signature gets 401 within a second, and nothing has decoded or
    parsed the body (Bolt's request is never even built); the control, signed, is built."""
    built: list[bytes] = []

    def spy(request: Request, raw: bytes) -> AsyncBoltRequest:
        built.append(raw)
        return to_async_bolt_request(request, raw)

    monkeypatch.setattr(serve, "to_async_bolt_request", spy)
    started = time.perf_counter()
    response = await client.post("/slack/events", content=body, headers=headers(body))
    assert time.perf_counter() - started < 1
    assert (response.status_code, core.runs) == (status, [])
    assert built == ([] if status == 401 else [body])


SIGNED_GARBAGE = [
    pytest.param(BAD_UTF8, JSON, "not UTF-8", id="bad-utf8"),
    pytest.param(b"payload=%7B%22a%22%3A%22\xff%22%7D", FORM, "not UTF-8", id="bad-utf8-form"),
    pytest.param(NESTED, JSON, "nested too deeply", id="nested-1e5"),
    pytest.param(NESTED_ARRAY, JSON, "nested too deeply", id="nested-array"),
    pytest.param(
        b"payload=" + quote(NESTED_ARRAY).encode(), FORM, "nested too deeply", id="nested-form"
    ),
    pytest.param(b'{"type": "event_callback",', JSON, "not a Slack request", id="truncated"),
    pytest.param(b"[1, 2]", JSON, "not a Slack request", id="array"),
    pytest.param(b"payload=null", FORM, "not a Slack request", id="form-payload-null"),
    pytest.param(b'{"team": 5, "user": 5}', JSON, "not a Slack request", id="scalar-fields"),
]


@pytest.mark.parametrize(("body", "content_type", "says"), SIGNED_GARBAGE)
async def test_a_signed_body_bolt_cannot_read_gets_400(
    client: httpx.AsyncClient, core: FakeCore, body: bytes, content_type: str, says: str
) -> None:
    """Signed, but not UTF-8 or not a Slack request: 400 saying which, within a second."""
    started = time.perf_counter()
    response = await client.post(
        "/slack/events", content=body, headers=raw_headers(body, content_type=content_type)
    )
    assert time.perf_counter() - started < 1
    assert response.status_code == 400 and says in response.text
    assert core.runs == []


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def set_app_clock(app: AsyncApp, clock: Clock) -> None:
    # Bolt has no public accessor for its verification middleware (nor does serve).
    [verification] = [
        m for m in app._async_middleware_list if isinstance(m, AsyncRequestVerification)
    ]
    verification.verifier.clock = clock


@pytest.mark.parametrize(
    ("skew", "status"),
    [(0, 200), (299, 200), (-299, 200), (301, 401), (-301, 401), (-3600, 401)],
    ids=["now", "future-299s", "old-299s", "future-301s", "stale-301s", "stale-1h"],
)
async def test_the_window_is_the_apps_clock(
    app: AsyncApp,
    core: FakeCore,
    standin: SlackStandIn,
    skew: int,
    status: int,
) -> None:
    """The endpoint checks the ±5 minute window with the app's clock (a fixed one here, years
    from the wall clock): only timestamps within 300 s of it either way are accepted."""
    then = 1_500_000_000
    set_app_clock(app, FixedClock(then))
    body = slash_body("whoami", standin.response_url(), encoded=True).encode()
    async with make_client(app) as client:
        response = await client.post(
            "/slack/events",
            content=body,
            headers=raw_headers(body, ts=then + skew, content_type=FORM),
        )
    assert response.status_code == status
    assert len(core.runs) == (1 if status == 200 else 0)


async def test_a_socket_mode_app_verifies_nothing(core: FakeCore, standin: SlackStandIn) -> None:
    """An app without a signing secret has no verifier: even a body signed with an empty key
    gets 401 before it is read."""
    app = build_slack_app(core, signing_secret=None, bot_token=TOKEN, api_url=standin.api_url)
    body = slash_body("whoami", standin.response_url(), encoded=True).encode()
    async with make_client(app) as client:
        response = await client.post(
            "/slack/events", content=body, headers=raw_headers(body, secret="", content_type=FORM)
        )
    assert (response.status_code, response.text) == (401, "invalid request signature")
    assert core.runs == []


def test_verifier_lookup_finds_the_apps(app: AsyncApp) -> None:
    """The lookup reads Bolt's private middleware list: if Bolt renamed it, every request
    would be refused (fail closed), and this says why."""
    found: Callable[[], object] = serve.app_verifier(app)
    assert isinstance(found(), serve.RawBodyVerifier)


async def test_a_body_longer_than_its_content_length_is_cut_off(
    client: httpx.AsyncClient, core: FakeCore
) -> None:
    """The cap holds on the bytes that arrive, not on what Content-Length claims: 413, and
    nothing past ``MAX_BODY`` is kept."""
    body = b"x" * (serve.MAX_BODY + 1)
    headers = raw_headers(body, content_type=FORM) | {"content-length": "10"}
    response = await client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 413 and core.runs == []
