"""The webhook's content type: JSON and GitHub's form encoding are read, anything else is
refused with 415 before it is stored (a 202 tells GitHub the delivery succeeded)."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.github.receiver import FORM, UnreadableDelivery, delivery_json
from storage import inbox
from storage.db import session_scope
from tests.bot.harness import Bot, sign, valid_body
from tests.standins.github_server import GitHubStandin

PAYLOAD = {"action": "opened", "issue": {"number": 1, "title": "Gas ≤ 30M, über & +1"}}
JSON_TEXT = json.dumps(PAYLOAD, ensure_ascii=False).encode()


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", JSON_TEXT, id="json"),
        pytest.param("Application/JSON; charset=utf-8", JSON_TEXT, id="json-parameters-case"),
        pytest.param(None, JSON_TEXT, id="no-content-type"),
        pytest.param(FORM, form(payload=JSON_TEXT.decode()), id="form"),
        pytest.param(f"{FORM}; charset=UTF-8", form(payload=JSON_TEXT.decode()), id="form-params"),
    ],
)
def test_a_delivery_is_stored_as_its_json_text(content_type: str | None, body: bytes) -> None:
    """JSON is kept as is; a form's ``payload`` field is url-decoded to the same JSON text."""
    assert json.loads(delivery_json(content_type, body)) == PAYLOAD


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        pytest.param("text/plain", JSON_TEXT, "unsupported content type 'text/plain'", id="text"),
        pytest.param("multipart/form-data; boundary=x", b"", "multipart/form-data", id="multi"),
        pytest.param(FORM, b"", "exactly one payload field", id="form-empty"),
        pytest.param(FORM, form(body="{}"), "exactly one payload field", id="form-other-field"),
        pytest.param(FORM, b"payload=1&payload=2", "exactly one payload", id="form-two-payloads"),
        pytest.param(FORM, b"payload", "exactly one payload field", id="form-no-equals"),
        pytest.param(FORM, b"payload=%FF", "exactly one payload field", id="form-not-utf8"),
        pytest.param(FORM, "payload=é".encode(), "exactly one payload field", id="form-not-ascii"),
    ],
)
def test_other_bodies_are_unreadable(content_type: str, body: bytes, says: str) -> None:
    """Anything else is refused with a message naming what to set."""
    with pytest.raises(UnreadableDelivery, match=says):
        delivery_json(content_type, body)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def _post_raw(bot: Bot, event: str, body: bytes, content_type: str) -> int:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),  # GitHub signs the raw form bytes
        "Content-Type": content_type,
    }
    response = await bot.http.post("/github/webhook", content=body, headers=headers)
    return response.status_code


async def test_a_form_encoded_delivery_is_processed(bot: Bot) -> None:
    """A webhook left on GitHub's default content type opens the proposal like a JSON one."""
    number = bot.standin.store.add_issue(
        "Raise the gas target", valid_body(), "alice-aurora", ("upgrade-proposal",)
    ).number
    payload = bot.issue_payload("opened", number, valid_body())
    assert await _post_raw(bot, "issues", form(payload=json.dumps(payload)), FORM) == 202
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        assert inbox.failed(session) == []
    view = await bot.http.get(f"/api/proposals/{number}")
    assert view.status_code == 200 and view.json()["state"] == "review"


async def test_a_form_encoded_ping_is_answered(bot: Bot) -> None:
    """The ping GitHub sends when the hook is saved reads the same way."""
    body = form(payload=json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}))
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(body), "Content-Type": FORM}
    response = await bot.http.post("/github/webhook", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["zen"] == "Keep it logically awesome."


@pytest.mark.parametrize(
    ("event", "body", "content_type"),
    [
        pytest.param("issues", JSON_TEXT, "text/plain", id="other-type"),
        pytest.param("issues", b"payload", FORM, id="form-without-payload"),
        pytest.param("ping", b"zen=x", FORM, id="ping"),
    ],
)
async def test_an_unreadable_delivery_is_refused_before_it_is_stored(
    bot: Bot, event: str, body: bytes, content_type: str
) -> None:
    """415, counted, nothing stored: GitHub shows the delivery (or the hook's ping) failed."""
    assert await _post_raw(bot, event, body, content_type) == 415
    assert bot.rt.receiver.stats.rejected == {"unsupported-content-type": 1}
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session)["total"] == 0
