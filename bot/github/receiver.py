"""``POST /github/webhook``: verify, store durably, answer 202; processing happens elsewhere.

Order matters and is the rule:
1. Bodies over 25 MB (GitHub's own cap) are refused with 413 before they are read in full.
2. The signature is checked over the raw bytes, in constant time, *before* anything parses them;
   a missing or wrong signature gets 401 and is counted.
3. The body is read as the webhook's content type says (:func:`delivery_json`): JSON as is,
   GitHub's form encoding (``payload=<url-encoded JSON>``) decoded to that JSON, so the inbox
   always holds JSON text the processor can read. Any other content type, or a form without
   its ``payload`` field, gets 415 saying which content type to set, *before* anything is
   stored: a delivery answered 202 must be one the bot can process (GitHub records a 202 as a
   success and the reconciler never looks at it again).
   For the same reason that JSON text must be UTF-8 and parse to a JSON object
   (:func:`parse_payload`): malformed UTF-8, nesting deeper than the parser goes, non-JSON or
   a non-object gets 400 saying so, and nothing is stored.
4. ``ping`` is answered (200) and not stored (so a hook set up with a wrong content type shows
   a failed ping at once). A ping from a repository the bot reads nothing from (neither the
   charter's nor a client's; ``repositories``) gets 422 naming the repositories it reads, and
   a warning is logged: GitHub shows the failed ping on the hook's settings page, where the
   operator who just added the hook to the wrong repository looks. A ping without a
   repository (an organization's or an app's hook) is answered 200.
5. Anything else is stored keyed by ``X-GitHub-Delivery`` and acknowledged with 202. A
   redelivery (same id, same payload: equal bytes or equal JSON) is acknowledged too and
   changes nothing. The same id with another payload is not a redelivery but another event
   under a reused id: it gets 409 saying so, is logged and counted (``key-reused``), and is not
   stored, so it is neither processed nor silently dropped behind a 2xx
   (``storage.inbox.KeyReused``).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.bodies import read_capped
from bot.github.signature import verify_signature
from storage.inbox import KeyReused

log = logging.getLogger("charterbot.github")

MAX_BODY = 25 * 1024 * 1024
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# store(delivery_id, event_name, body) -> True when new, False when a duplicate; raises
# KeyReused when the id is stored with another body
StoreDelivery = Callable[[str, str, bytes], Awaitable[bool]]


@dataclass
class ReceiverStats:
    received: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


class GitHubReceiver:
    def __init__(
        self,
        secret: bytes | None,
        store: StoreDelivery,
        on_stored: Callable[[], None] = lambda: None,
        repositories: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self._secret = secret
        self._store = store
        self._on_stored = on_stored
        self._repositories = repositories  # owner/name the bot reads (None: any)
        self.stats = ReceiverStats()

    async def __call__(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            self.stats.reject("too-large")
            return _error(413, "payload larger than 25 MB")
        body = await read_capped(request, MAX_BODY)
        if body is None:
            self.stats.reject("too-large")
            return _error(413, "payload larger than 25 MB")
        if not self._secret:
            self.stats.reject("not-configured")
            return _error(401, "webhook secret not configured (CHARTERBOT_GITHUB_WEBHOOK_SECRET)")
        if not verify_signature(self._secret, body, request.headers.get("x-hub-signature-256")):
            self.stats.reject("bad-signature")
            log.warning("github delivery rejected: bad or missing signature")
            return _error(401, "bad signature")
        try:
            body = delivery_json(request.headers.get("content-type"), body)
        except UnreadableDelivery as exc:
            self.stats.reject("unsupported-content-type")
            log.warning("github delivery rejected: %s", exc)
            return _error(415, str(exc))
        try:
            payload = parse_payload(body)
        except UnreadableDelivery as exc:
            self.stats.reject("unparseable")
            log.warning("github delivery rejected: %s", exc)
            return _error(400, str(exc))
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return self._ping(payload)
        delivery = request.headers.get("x-github-delivery", "")
        if not delivery or not event:
            self.stats.reject("missing-headers")
            return _error(400, "X-GitHub-Delivery and X-GitHub-Event headers are required")
        try:
            new = await self._store(delivery, event, body)
        except KeyReused:
            self.stats.reject("key-reused")
            log.warning(
                "github delivery %s (%s) refused: the id was received before with another payload",
                delivery,
                event,
            )
            return _error(
                409,
                f"X-GitHub-Delivery {delivery} was received before with a different payload;"
                " a delivery id names one event, so this one was not stored: send it under a"
                " new delivery id",
            )
        self.stats.received += 1
        if not new:
            self.stats.duplicates += 1
        else:
            self._on_stored()
        return JSONResponse({"accepted": True, "duplicate": not new}, status_code=202)

    def _ping(self, payload: dict[str, object]) -> JSONResponse:
        """200, or 422 when the hook is on a repository the bot reads nothing from."""
        repo = payload.get("repository")
        name = repo.get("full_name") if isinstance(repo, dict) else None
        known = list(self._repositories()) if self._repositories is not None else []
        if not isinstance(name, str) or not known:
            return JSONResponse({"ok": True, "zen": _zen(payload)})
        if name.casefold() in {k.casefold() for k in known}:
            return JSONResponse({"ok": True, "zen": _zen(payload)})
        self.stats.reject("wrong-repository")
        reads = ", ".join(known)
        log.warning(
            "github ping from %s: charterbot reads only %s; hook on the wrong repository?",
            name,
            reads,
        )
        return _error(
            422,
            f"this webhook is on {name}, but charterbot reads events only from {reads} (the"
            " charter's github.repository and its clients' repositories): add the webhook to"
            " the charter's repository instead, or correct github.repository in the charter",
        )


class UnreadableDelivery(ValueError):
    """A signed delivery whose body is not in a form the bot reads (the message says why and
    what to set)."""


_SET_JSON = f"set the webhook's content type to {JSON} (or {FORM})"


def delivery_json(content_type: str | None, body: bytes) -> bytes:
    """The JSON text of a delivery, by its ``Content-Type`` (parameters and case ignored).

    ``application/json``: the body itself. ``application/x-www-form-urlencoded`` (GitHub's
    default for a new webhook): the one ``payload`` field, url-decoded. No content type at all
    is read as JSON (GitHub always names one; the body is signed, so only a sender holding the
    secret gets here). Anything else raises :class:`UnreadableDelivery`.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("", JSON):
        return body
    if media != FORM:
        raise UnreadableDelivery(f"unsupported content type {media!r}: {_SET_JSON}")
    try:  # form bodies are ASCII; the url-encoded JSON within is UTF-8
        text = body.decode("ascii")
        fields = urllib.parse.parse_qs(
            text, keep_blank_values=True, strict_parsing=True, errors="strict"
        )
    except ValueError:  # UnicodeDecodeError too: not ASCII, or escapes that are not UTF-8
        fields = {}
    payload = fields.get("payload", [])
    if len(payload) != 1:
        raise UnreadableDelivery(
            f"a form-encoded delivery ({FORM}) must hold exactly one payload field"
            " (payload=<url-encoded JSON>, as GitHub sends it)"
        )
    return payload[0].encode()


def parse_payload(text: bytes) -> dict[str, object]:
    """The delivery's JSON object, parsed from strict UTF-8 (what the processor will read).

    Raises :class:`UnreadableDelivery` for malformed UTF-8, text that is not JSON, JSON nested
    deeper than the parser's recursion limit, or JSON that is not an object: none of these can
    ever be processed, so they must not be acknowledged.
    """
    try:
        value = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UnreadableDelivery(f"the body is not valid UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise UnreadableDelivery("the body's JSON is nested too deeply to read") from None
    except ValueError as exc:
        raise UnreadableDelivery(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UnreadableDelivery("the body must be a JSON object")
    return value


def _zen(payload: dict[str, object]) -> str:
    value = payload.get("zen", "")
    return value if isinstance(value, str) else ""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
