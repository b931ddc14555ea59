"""The webhook's content type: JSON and GitHub's form encoding are read, anything else is
refused with 415 before it is stored (a 202 tells GitHub the delivery succeeded); a signed body
that is not UTF-8 JSON (an object) gets 400; and nothing reads a body before its signature is
checked."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import pytest

from bot.github import receiver
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


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b'{"issue":{"title":"\xff\xfe"}}', "not valid UTF-8", id="malformed-utf8"),
        pytest.param(NESTED, "nested too deeply", id="nested-1e5"),
        pytest.param(b"not json at all", "not valid JSON", id="not-json"),
        pytest.param(JSON_TEXT + b"\x00", "not valid JSON", id="trailing-garbage"),
        pytest.param(b"[1, 2]", "must be a JSON object", id="array"),
        pytest.param(form(payload="{oops"), "not valid JSON", id="form-payload-not-json"),
    ],
)
async def test_a_signed_unparseable_delivery_is_refused(bot: Bot, body: bytes, says: str) -> None:
    """Signed but never processable: 400 saying why, quickly, counted, and nothing stored
    (a 202 would tell GitHub it succeeded while the worker failed it for good)."""
    content_type = FORM if body.startswith(b"payload=") else "application/json"
    started = time.perf_counter()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
        "Content-Type": content_type,
    }
    response = await bot.http.post("/github/webhook", content=body, headers=headers)
    assert time.perf_counter() - started < 1
    assert response.status_code == 400 and says in response.json()["error"]
    assert bot.rt.receiver.stats.rejected == {"unparseable": 1}
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session)["total"] == 0


def _flip_last_hex(header: str) -> str:
    return header[:-1] + ("0" if header[-1] != "0" else "1")


def _flip_byte(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]


SIGNED = json.dumps(PAYLOAD).encode()
GOOD = sign(SIGNED)
MUTANTS = [
    pytest.param(SIGNED, None, 401, id="missing-header"),
    pytest.param(SIGNED, "", 401, id="empty-header"),
    pytest.param(SIGNED, "sha1=" + GOOD.removeprefix("sha256="), 401, id="sha1-prefix"),
    pytest.param(SIGNED, "sha256=" + GOOD.removeprefix("sha256=").upper(), 401, id="uppercase"),
    pytest.param(_flip_byte(SIGNED, 14), GOOD, 401, id="body-byte-flipped"),
    pytest.param(SIGNED, _flip_last_hex(GOOD), 401, id="hex-digit-flipped"),
    pytest.param(json.dumps(PAYLOAD, indent=2).encode(), GOOD, 401, id="re-serialised-json"),
    pytest.param(SIGNED + b"\n", GOOD, 401, id="trailing-newline"),
    pytest.param(SIGNED, GOOD, 202, id="genuine"),
]


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every body the receiver reads (its content-type reader, its JSON reader and the
    ``json.loads`` it calls), recorded."""
    seen: list[object] = []

    def spy(real: Callable[..., object]) -> Callable[..., object]:
        def read(*args: object) -> object:
            seen.append(args[-1])  # the body (or text) is every reader's last argument
            return real(*args)

        return read

    monkeypatch.setattr(receiver, "delivery_json", spy(receiver.delivery_json))
    monkeypatch.setattr(receiver, "parse_payload", spy(receiver.parse_payload))
    monkeypatch.setattr(receiver, "json", SimpleNamespace(loads=spy(json.loads)))
    return seen


@pytest.mark.parametrize(("body", "header", "status"), MUTANTS)
async def test_the_signature_is_checked_before_anything_parses_the_body(
    bot: Bot, parsed: list[object], body: bytes, header: str | None, status: int
) -> None:
    """Over HTTP, every mutation of the body or the header gets 401 and is counted, nothing is
    stored, and neither the content-type reader nor the JSON parser ever sees the body; the
    genuine delivery (the control) is read and stored."""
    headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": str(uuid.uuid4())}
    headers |= {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    response = await bot.http.post("/github/webhook", content=body, headers=headers)
    with session_scope(bot.rt.engine) as session:
        stored = inbox.counts(session)["total"]
    if status == 202:  # the control: the spies do see what the receiver reads
        assert (response.status_code, stored) == (202, 1)
        assert parsed == [SIGNED, SIGNED, SIGNED.decode()]
        return
    assert (response.status_code, stored, parsed) == (status, 0, [])
    assert bot.rt.receiver.stats.rejected == {"bad-signature": 1}


async def _deliver(bot: Bot, body: bytes, delivery: str) -> tuple[int, dict[str, object]]:
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
    }
    response = await bot.http.post("/github/webhook", content=body, headers=headers)
    answer: dict[str, object] = response.json()
    return response.status_code, answer


async def test_a_reused_delivery_id_with_another_payload_gets_409(bot: Bot) -> None:
    """Two correctly signed deliveries under one X-GitHub-Delivery with different payloads:
    the first is stored and processed, its exact redelivery is a 202 duplicate, and the other
    payload is refused with 409 saying why, counted and not stored (it used to get 202 and be
    dropped unseen)."""
    numbers = [
        bot.standin.store.add_issue(t, valid_body(), "alice-aurora", ("upgrade-proposal",)).number
        for t in ("A", "B")
    ]
    first, other = (
        json.dumps(bot.issue_payload("opened", n, valid_body())).encode() for n in numbers
    )
    assert await _deliver(bot, first, "same-id") == (202, {"accepted": True, "duplicate": False})
    assert await _deliver(bot, first, "same-id") == (202, {"accepted": True, "duplicate": True})
    status, answer = await _deliver(bot, other, "same-id")
    assert status == 409
    assert "X-GitHub-Delivery same-id was received before with a different payload" in str(
        answer["error"]
    )
    assert bot.rt.receiver.stats.rejected == {"key-reused": 1}
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session) == {"total": 1, "pending": 0}
    assert (await bot.http.get(f"/api/proposals/{numbers[0]}")).status_code == 200
    assert (await bot.http.get(f"/api/proposals/{numbers[1]}")).status_code == 404


async def test_a_redelivery_encoded_otherwise_stays_a_duplicate(bot: Bot) -> None:
    """The same event in other JSON text (spacing, key order, escapes: as the reconciler stores
    a delivery it fetched from GitHub's API) is the same event: a 202 duplicate, not a 409."""
    number = bot.standin.store.add_issue("A", valid_body(), "alice-aurora", ("x",)).number
    payload = bot.issue_payload("opened", number, valid_body())
    compact = json.dumps(payload, separators=(",", ":")).encode()
    assert (await _deliver(bot, compact, "one-id"))[0] == 202
    pretty = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False).encode()
    assert await _deliver(bot, pretty, "one-id") == (202, {"accepted": True, "duplicate": True})
    assert bot.rt.receiver.stats.rejected == {}
