"""Credentials: token auth, GitHub App installation tokens and their renewal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from github import Auth

from bot.github.auth import app_auth, auth_from_settings
from bot.ports import GitHubError
from tests.standins.github_server import GitHubStandin

APP_ID = "4242"
INSTALLATION = 77


class WallClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_token_auth_header(github_standin: GitHubStandin, gateway: Any) -> None:
    """Token auth sends `Authorization: token <token>` on every request."""
    number = github_standin.store.add_issue("x").number
    await gateway.get_issue(number)
    assert github_standin.requests[-1].headers["authorization"] == f"token {github_standin.token}"


async def test_app_installation_token_exchange_and_renewal(
    github_standin: GitHubStandin, make_gateway: Any, app_keys: tuple[str, str]
) -> None:
    """The app's RS256 JWT buys an installation token, reused until 5 min before expiry,
    then renewed (by our injected clock, not the real one)."""
    private_pem, public_pem = app_keys
    github_standin.configure_app(APP_ID, public_pem, INSTALLATION, ttl=3600)
    number = github_standin.store.add_issue("x").number
    clock = WallClock(github_standin.store.now)
    auth = app_auth(APP_ID, private_pem, INSTALLATION, clock=clock)
    gateway = make_gateway(auth)

    await gateway.get_issue(number)
    await gateway.get_issue(number)
    exchanges = github_standin.requests_to(
        "POST", rf"/app/installations/{INSTALLATION}/access_tokens"
    )
    assert [r.status for r in exchanges] == [201]
    assert exchanges[0].headers["authorization"].startswith("Bearer ")
    first = github_standin.issued_tokens[0]
    reads = github_standin.requests_to("GET", r"/repos/.+/issues/\d+")
    assert {r.headers["authorization"] for r in reads} == {f"token {first}"}

    clock.now += timedelta(minutes=54)  # 6 min left: still valid
    await gateway.get_issue(number)
    assert len(github_standin.issued_tokens) == 1

    clock.now += timedelta(minutes=2)  # 4 min left: inside the renewal margin
    await gateway.get_issue(number)
    assert len(github_standin.issued_tokens) == 2
    second = github_standin.issued_tokens[1]
    assert second != first
    last = github_standin.requests_to("GET", r"/repos/.+/issues/\d+")[-1]
    assert last.headers["authorization"] == f"token {second}"


async def test_app_auth_with_a_foreign_key_is_refused(
    github_standin: GitHubStandin, make_gateway: Any, app_keys: tuple[str, str]
) -> None:
    """A JWT not signed by the app's registered key gets no installation token."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, public_pem = app_keys
    github_standin.configure_app(APP_ID, public_pem, INSTALLATION)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    gateway = make_gateway(app_auth(APP_ID, other_pem, INSTALLATION))
    with pytest.raises(GitHubError, match="401"):
        await gateway.get_issue(1)
    assert github_standin.issued_tokens == []


@pytest.mark.parametrize(
    ("settings", "kind", "error"),
    [
        (dict(token="ghp_x"), Auth.Token, None),
        (
            dict(app_id=APP_ID, private_key_pem="PRIVATE", installation_id=1),
            Auth.AppInstallationAuth,
            None,
        ),
        (dict(), None, "no GitHub credentials"),
        (dict(token="ghp_x", app_id=APP_ID), None, "configure only one"),
        (
            dict(app_id=APP_ID),
            None,
            "CHARTERBOT_GITHUB_APP_PRIVATE_KEY, CHARTERBOT_GITHUB_INSTALLATION_ID",
        ),
        (dict(app_id=APP_ID, private_key_pem="not a key", installation_id=1), None, "not a PEM"),
        (dict(token="   "), None, "CHARTERBOT_GITHUB_TOKEN is empty"),
    ],
)  # fmt: skip
def test_auth_from_settings(
    app_keys: tuple[str, str], settings: dict[str, Any], kind: type | None, error: str | None
) -> None:
    """Exactly one complete credential set is required; mistakes name the setting to fix."""
    full: dict[str, Any] = {"token": None, "app_id": None, "private_key_pem": None,
                            "installation_id": None} | settings  # fmt: skip
    if full["private_key_pem"] == "PRIVATE":
        full["private_key_pem"] = app_keys[0]
    if error is None:
        assert isinstance(auth_from_settings(**full), kind)  # type: ignore[arg-type]
    else:
        with pytest.raises(ValueError, match=error):
            auth_from_settings(**full)
