"""``CHARTERBOT_GITHUB_MODE=off`` turns GitHub off: no webhook endpoint, no gateway, no relay,
poller or reconciler, even with credentials set; ``poll`` without credentials refuses to start."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.bootstrap import build
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import SettingError, Settings
from storage import inbox
from storage.db import read_scope

SECRET = "webhook-secret"
GITHUB_LOOPS = {"poll", "reconcile", "device-flow"}


def _settings(url: str, mode: str) -> Settings:
    return Settings(
        database_url=url,
        github_mode=mode,
        github_token="ghp_token",
        github_webhook_secret=SECRET,
        github_hook_id=42,
        github_oauth_client_id="client",
    )


def _relay_names(rt: Runtime) -> set[str]:
    return {type(getattr(relay, "__self__", relay)).__name__ for relay in rt.relays}


@pytest.fixture
async def runtime(sqlite_url: str) -> AsyncIterator[Callable[[str], Runtime]]:
    built: list[Runtime] = []

    def make(mode: str) -> Runtime:
        built.append(build(_settings(sqlite_url, mode)))
        return built[-1]

    yield make
    for rt in built:
        rt.engine.dispose()


async def _deliver(rt: Runtime) -> httpx.Response:
    body = json.dumps({"action": "labeled", "issue": {"number": 1}}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "delivery-1",
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    app = create_app(rt, run_background=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.post("/github/webhook", content=body, headers=headers)


def _stored(rt: Runtime) -> int:
    with read_scope(rt.engine) as session:
        return int(inbox.counts(session)["total"])


async def test_off_builds_no_github_parts_and_has_no_webhook_endpoint(
    runtime: Callable[[str], Runtime],
) -> None:
    rt = runtime("off")
    assert rt.gateway is None
    assert rt.reconciler is None
    assert rt.gov.identity_links.gateway is None
    assert not _relay_names(rt) & {"GitHubRelay", "IssueRelay"}
    assert not {name for name, _, _ in rt.loop_specs()} & GITHUB_LOOPS
    response = await _deliver(rt)
    assert response.status_code == 404
    assert _stored(rt) == 0


async def test_webhook_mode_with_the_same_settings_has_them_all(
    runtime: Callable[[str], Runtime],
) -> None:
    """The contrast: the same credentials in webhook mode wire every GitHub part."""
    rt = runtime("webhook")
    assert rt.gateway is not None and rt.reconciler is not None
    assert {"GitHubRelay", "IssueRelay"} <= _relay_names(rt)
    assert {"reconcile", "device-flow"} <= {name for name, _, _ in rt.loop_specs()}
    assert (await _deliver(rt)).status_code == 202
    assert _stored(rt) == 1


def test_poll_without_credentials_refuses_to_start(sqlite_url: str) -> None:
    with pytest.raises(SettingError) as refused:
        build(Settings(database_url=sqlite_url, github_mode="poll"))
    assert refused.value.name == "CHARTERBOT_GITHUB_MODE"
    assert "needs credentials" in refused.value.message
