"""GitHub OAuth device flow, used only to prove who a chat user is on GitHub.

Rules (GitHub docs, "Authorizing OAuth apps" → device flow):
1. `POST <web>/login/device/code` (client_id, scope) → device_code, user_code, verification_uri,
   expires_in, interval. The user types user_code at verification_uri.
2. `POST <web>/login/oauth/access_token` (client_id, device_code, grant_type=device_code) every
   `interval` seconds: `authorization_pending` → keep waiting; `slow_down` → wait the new, longer
   interval; `expired_token` / `access_denied` → stop; success → an access token.
3. `GET <api>/user` with that token → the verified login. The token is then dropped: we need the
   identity, never the user's powers.
Both OAuth endpoints answer form-encoded by default; we ask for JSON (`Accept`).
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.ports import DeviceCode, DeviceFlowResult, GitHubError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
JSON = {"Accept": "application/json"}
WAIT_ERRORS: dict[str, Any] = {
    "authorization_pending": "pending",
    "slow_down": "slow_down",
    "expired_token": "expired",
    "access_denied": "denied",
}


class DeviceFlow:
    """The two OAuth endpoints on the web host and `GET /user` on the API host."""

    def __init__(self, web_url: str, api_url: str, *, http_timeout: float = 15.0) -> None:
        self._web_url = web_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._http_timeout = http_timeout

    async def start(self, client_id: str, scope: str = "") -> DeviceCode:
        if not client_id:
            raise ValueError(
                "device flow needs an OAuth client id: set CHARTERBOT_GITHUB_OAUTH_CLIENT_ID"
            )
        form = {"client_id": client_id, "scope": scope}
        data = await self._post("/login/device/code", form)
        _raise_error(data, "start the device flow")
        try:
            return DeviceCode(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                verification_uri=str(data["verification_uri"]),
                expires_in=int(data["expires_in"]),
                interval=int(data.get("interval", 5)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(f"device flow: unexpected answer from GitHub: {data!r}") from exc

    async def poll(self, client_id: str, device_code: str, interval: int = 5) -> DeviceFlowResult:
        """One poll; the caller waits `result.interval` seconds before the next."""
        form = {"client_id": client_id, "device_code": device_code, "grant_type": GRANT_TYPE}
        data = await self._post("/login/oauth/access_token", form)
        error = data.get("error")
        if error in WAIT_ERRORS:
            return DeviceFlowResult(
                status=WAIT_ERRORS[error], interval=int(data.get("interval", interval))
            )
        _raise_error(data, "finish the device flow")
        token = data.get("access_token")
        if not token:
            raise GitHubError(f"device flow: GitHub sent neither a token nor an error: {data!r}")
        login = await self._login(str(token))
        return DeviceFlowResult(status="linked", interval=interval, login=login)

    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        url = self._web_url + path
        async with httpx.AsyncClient(timeout=self._http_timeout) as client:
            response = await client.post(url, data=form, headers=JSON)
        return _json_object(response, url)

    async def _login(self, token: str) -> str:
        url = f"{self._api_url}/user"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
        async with httpx.AsyncClient(timeout=self._http_timeout) as client:
            response = await client.get(url, headers=headers)
        data = _json_object(response, url)
        if response.status_code != 200 or not data.get("login"):
            raise GitHubError(
                f"device flow: GET /user answered {response.status_code}",
                status=response.status_code,
            )
        return str(data["login"])


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise GitHubError(
            f"{url} answered {response.status_code} without JSON", status=response.status_code
        ) from exc
    if not isinstance(data, dict):
        raise GitHubError(f"{url} answered a JSON {type(data).__name__}, expected an object")
    return data


def _raise_error(data: dict[str, Any], what: str) -> None:
    if "error" in data:
        detail = data.get("error_description") or data["error"]
        raise GitHubError(f"could not {what}: {data['error']}: {detail}")
