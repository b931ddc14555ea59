"""GitHub App auth through the runtime: ``build(Settings(app id, private key, installation))``.

No gateway is handed to ``build``: the runtime makes its own from settings, as ``charterbot
serve`` does, and the relay's writes to the stand-in must carry an installation token the
stand-in issued for the app's RS256 JWT, renewed (by the runtime's clock) before it expires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clock import FixedClock
from bot.github.ratelimit import WritePacer
from bot.github.tracking import ALL_STATE_LABELS
from storage import audit
from storage.db import session_scope
from tests.bot.harness import Bot, valid_body
from tests.standins.github_server import GitHubStandin, Recorded

APP_ID = "31337"
INSTALLATION = 4711
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture(scope="module")
def app_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a throwaway app key made with cryptography."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.fixture
async def bot(
    sqlite_url: str, github: GitHubStandin, app_keys: tuple[str, str]
) -> AsyncIterator[Bot]:
    """A bot whose only GitHub credentials are the App's; its clock starts at the stand-in's."""
    github.reset()
    private_pem, public_pem = app_keys
    start = datetime.now(UTC).replace(microsecond=0)
    github.store.now = start
    github.configure_app(APP_ID, public_pem, INSTALLATION, ttl=3600)
    for label in (*ALL_STATE_LABELS, "upgrade-proposal"):  # a set-up repository has them
        github.store.ensure_label(label)
    app = {
        "github_app_id": APP_ID,
        "github_app_private_key": private_pem,
        "github_installation_id": INSTALLATION,
    }
    b = Bot(sqlite_url, github, FixedClock(start), github_app=app)
    # The runtime's own gateway paces writes one second apart; its pacer keeps that rule but
    # waits on the harness's instant sleeps (what it would have waited is in b.sleeps.waited),
    # so the test does not sit out a second per write. Auth is what is under test here.
    b.gateway._throttle.pacer = WritePacer(clock=b.sleeps, sleep=b.sleeps.sleep)
    yield b
    await b.close()


def writes_since(github: GitHubStandin, seen: int) -> list[Recorded]:
    """API writes after request ``seen`` (token exchanges under ``/app/`` are not counted)."""
    return [
        r for r in github.requests[seen:] if r.method in WRITES and not r.path.startswith("/app/")
    ]


async def status_reply(bot: Bot, n: int, after: timedelta) -> list[Recorded]:
    """Move both clocks on, ask ``/status`` in a comment, and return the writes it caused."""
    await bot.advance(after)
    seen = len(bot.standin.requests)
    await bot.comment(n, "/status", "alice-aurora")
    await bot.settle()
    writes = writes_since(bot.standin, seen)
    assert writes and all(r.status in (200, 201) for r in writes), writes
    return writes


async def test_relay_writes_carry_a_renewed_installation_token(bot: Bot) -> None:
    """The relay's writes are authorised by an installation token the stand-in issued for the
    App's JWT; it is reused while more than 5 minutes remain and renewed inside that margin,
    so a write never meets an expired token (the stand-in expires it by its own clock)."""
    github = bot.standin
    n = github.store.add_issue("Raise", valid_body(), "alice-aurora", ("upgrade-proposal",))
    response = await bot.post("issues", bot.issue_payload("opened", n.number, valid_body()))
    assert response.status_code == 202
    await bot.settle()
    assert len(bot.tracking(n.number)) == 1 and "charter:review" in bot.labels(n.number)

    exchanges = github.requests_to("POST", rf"/app/installations/{INSTALLATION}/access_tokens")
    assert [r.status for r in exchanges] == [201]
    assert exchanges[0].headers["authorization"].startswith("Bearer ")  # the app's JWT
    first = github.issued_tokens[0]
    opening = writes_since(github, 0)
    assert opening and {r.headers["authorization"] for r in opening} == {f"token {first}"}

    # 54 minutes in, 6 left: the same token.
    writes = await status_reply(bot, n.number, timedelta(minutes=54))
    assert {r.headers["authorization"] for r in writes} == {f"token {first}"}
    assert len(github.issued_tokens) == 1

    # 56 minutes in, 4 left: renewed before use, while the first is still valid.
    writes = await status_reply(bot, n.number, timedelta(minutes=2))
    assert len(github.issued_tokens) == 2
    second = github.issued_tokens[1]
    assert {r.headers["authorization"] for r in writes} == {f"token {second}"}

    # 61 minutes in: the first token has expired at the stand-in; writes go on with the second.
    writes = await status_reply(bot, n.number, timedelta(minutes=5))
    assert {r.headers["authorization"] for r in writes} == {f"token {second}"}
    assert len(github.issued_tokens) == 2
    assert not [r for r in github.requests if r.status == 401]
    assert bot.sleeps.waited, "the writes were not paced"  # paced, on the instant clock
    with session_scope(bot.rt.engine) as session:
        assert audit.verify(session).ok
