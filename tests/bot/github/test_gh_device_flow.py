"""Identity linking through GitHub's OAuth device flow, against the stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.github.device_flow import GRANT_TYPE
from bot.ports import GitHubError
from tests.standins.github_server import GitHubStandin

CLIENT = "Iv1.standin"


async def test_start_returns_the_code_to_show(github_standin: GitHubStandin, gateway: Any) -> None:
    """Step 1 asks for JSON and returns the user code, verification URI and interval."""
    code = await gateway.device_flow_start(CLIENT, "read:user")
    assert (code.user_code, code.expires_in, code.interval) == ("WDJB-MJHT", 900, 5)
    assert code.verification_uri.endswith("/login/device")
    sent = github_standin.requests_to("POST", "/login/device/code")[0]
    assert sent.json == {"client_id": CLIENT, "scope": "read:user"}
    assert sent.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param(dict(pending=2), [("pending", None), ("pending", None), ("linked", "octocat")],
                     id="pending-twice-then-linked"),
        pytest.param(dict(slow_down=True), [("slow_down", None), ("linked", "octocat")],
                     id="slow-down-first"),
        pytest.param(dict(pending=1, outcome="denied"), [("pending", None), ("denied", None)],
                     id="denied"),
        pytest.param(dict(outcome="expired"), [("expired", None)], id="expired"),
    ],
)  # fmt: skip
async def test_poll_outcomes(
    github_standin: GitHubStandin,
    gateway: Any,
    script: dict[str, Any],
    expected: list[tuple[str, str | None]],
) -> None:
    """Each poll reports pending / slow_down / denied / expired, or the verified login."""
    for key, value in script.items():
        setattr(github_standin.device, key, value)
    code = await gateway.device_flow_start(CLIENT)
    results = [await gateway.device_flow_poll(CLIENT, code.device_code) for _ in expected]
    assert [(r.status, r.login) for r in results] == expected
    polls = github_standin.requests_to("POST", "/login/oauth/access_token")
    assert all(p.json["grant_type"] == GRANT_TYPE for p in polls)


async def test_slow_down_raises_the_interval(github_standin: GitHubStandin, gateway: Any) -> None:
    """After slow_down the caller must wait the new, longer interval GitHub sends."""
    github_standin.device.slow_down = True
    code = await gateway.device_flow_start(CLIENT)
    result = await gateway.device_flow_poll(CLIENT, code.device_code)
    assert (result.status, result.interval) == ("slow_down", 10)


async def test_linked_login_comes_from_get_user(
    github_standin: GitHubStandin, gateway: Any
) -> None:
    """The login is read from GET /user with the user's token (not from anything the user says)."""
    github_standin.device.login = "maintainer-mia"
    code = await gateway.device_flow_start(CLIENT)
    result = await gateway.device_flow_poll(CLIENT, code.device_code)
    assert result.login == "maintainer-mia"
    user = github_standin.requests_to("GET", "/user")[0]
    assert user.headers["authorization"].startswith("Bearer gho_")


@pytest.mark.parametrize(
    ("client_id", "message"),
    [("Iv1.unknown", "incorrect_client_credentials"), ("", "CHARTERBOT_GITHUB_OAUTH_CLIENT_ID")],
)
async def test_bad_client_id_is_a_clear_error(gateway: Any, client_id: str, message: str) -> None:
    """A wrong or missing OAuth client id fails with the reason, not a silent pending."""
    with pytest.raises((GitHubError, ValueError), match=message):
        await gateway.device_flow_start(client_id)


async def test_wrong_device_code_is_an_error(gateway: Any) -> None:
    """Polling with a device code GitHub never issued is an error, not pending."""
    with pytest.raises(GitHubError, match="incorrect_device_code"):
        await gateway.device_flow_poll(CLIENT, "made-up")
