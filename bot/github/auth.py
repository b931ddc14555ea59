"""Credentials for the GitHub API: a token, or a GitHub App installation.

Rules:
- Token auth (`CHARTERBOT_GITHUB_TOKEN`) is used as is.
- App auth (`CHARTERBOT_GITHUB_APP_ID` + `CHARTERBOT_GITHUB_APP_PRIVATE_KEY` +
  `CHARTERBOT_GITHUB_INSTALLATION_ID`): the app signs an RS256 JWT locally and exchanges it for
  an installation token (`POST /app/installations/<id>/access_tokens`). Installation tokens
  live one hour; we renew `renew_before` (default 5 min) ahead of expiry by our own clock, so a
  token never expires in the middle of a paced or retried call.
- Exactly one of the two must be configured; anything else is a clear configuration error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from github import Auth
from github.InstallationAuthorization import InstallationAuthorization

WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RenewingInstallationAuth(Auth.AppInstallationAuth):
    """An installation token that is renewed `renew_before` ahead of its expiry.

    PyGithub's own renewal uses the real clock and a 20 s margin; ours takes an injected clock
    (for tests) and a wider margin. Thread-safe: gateway calls run in worker threads.
    """

    def __init__(
        self,
        app_auth: Auth.AppAuth,
        installation_id: int,
        *,
        clock: WallClock = utc_now,
        renew_before: timedelta = timedelta(minutes=5),
    ) -> None:
        super().__init__(app_auth, installation_id)
        self._clock = clock
        self._renew_before = renew_before
        self._current: InstallationAuthorization | None = None
        self._guard = threading.Lock()
        self.renewals = 0

    @property
    def token(self) -> str:
        with self._guard:
            if self._current is None or self._needs_renewal(self._current):
                self._current = self._get_installation_authorization()
                self.renewals += 1
            return self._current.token

    def _needs_renewal(self, current: InstallationAuthorization) -> bool:
        return bool(current.expires_at - self._renew_before <= self._clock())


def token_auth(token: str) -> Auth.Token:
    token = token.strip()
    if not token:
        raise ValueError("CHARTERBOT_GITHUB_TOKEN is empty")
    return Auth.Token(token)


def app_auth(
    app_id: str,
    private_key_pem: str,
    installation_id: int,
    *,
    clock: WallClock = utc_now,
    renew_before: timedelta = timedelta(minutes=5),
) -> RenewingInstallationAuth:
    """App installation auth from the app id, its private key (PEM text) and installation id."""
    if not str(app_id).strip():
        raise ValueError("CHARTERBOT_GITHUB_APP_ID is empty")
    if "PRIVATE KEY-----" not in private_key_pem:
        raise ValueError(
            "CHARTERBOT_GITHUB_APP_PRIVATE_KEY is not a PEM private key "
            "(expected the text of the .pem file GitHub generated for the app)"
        )
    signer = Auth.AppAuth(str(app_id).strip(), private_key_pem)
    return RenewingInstallationAuth(
        signer, int(installation_id), clock=clock, renew_before=renew_before
    )


def auth_from_settings(
    *,
    token: str | None,
    app_id: str | None,
    private_key_pem: str | None,
    installation_id: int | None,
    clock: WallClock = utc_now,
) -> Auth.Auth:
    """Pick token or App auth from configuration; exactly one must be complete."""
    has_app = bool(app_id or private_key_pem or installation_id)
    if token and has_app:
        raise ValueError(
            "both CHARTERBOT_GITHUB_TOKEN and GitHub App settings are set; configure only one"
        )
    if token:
        return token_auth(token)
    if app_id and private_key_pem and installation_id is not None:
        return app_auth(app_id, private_key_pem, installation_id, clock=clock)
    if has_app:
        missing = [
            name
            for name, value in (
                ("CHARTERBOT_GITHUB_APP_ID", app_id),
                ("CHARTERBOT_GITHUB_APP_PRIVATE_KEY", private_key_pem),
                ("CHARTERBOT_GITHUB_INSTALLATION_ID", installation_id),
            )
            if not value
        ]
        raise ValueError(f"GitHub App auth is incomplete: set {', '.join(missing)}")
    raise ValueError(
        "no GitHub credentials: set CHARTERBOT_GITHUB_TOKEN, or the GitHub App settings "
        "CHARTERBOT_GITHUB_APP_ID, CHARTERBOT_GITHUB_APP_PRIVATE_KEY, "
        "CHARTERBOT_GITHUB_INSTALLATION_ID"
    )
