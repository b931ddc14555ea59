"""The Slack adapter: Bolt listeners that hand text to the command core and render its answer.

Rules:
- Slack wants an ack within 3 s. Every listener acks first (empty, so nothing is echoed) —
  a command, a vote click or an ``@mention`` only once it is journalled (durable before
  acknowledged; a mention by a listener middleware, which Bolt runs before it acks an event) —
  then asks the core, then answers through ``respond()`` (the request's response_url) or, for
  an ``@mention``, in the mention's thread. With ``process_before_response=False`` (the
  default, for a long-running server) Bolt returns the ack before the core is called at all.
- A slow journal write does not cost a command or a click its ack (``bot.acks``): the ack waits
  for the write at most ``ACK_BUDGET``, then goes out anyway — a command's with ``WORKING``
  (so the person sees it was received), a click's empty — and the command runs and is answered
  on its response_url once the write committed; a write that failed is answered there with
  ``NOT_RECORDED``. A mention keeps its write before the 2xx: Slack retries an event it did not
  see acknowledged within 3 s, with the same ``event_id``, and the journal dedupes the retry
  (a slow write costs a redelivery, which is answered 200 without a second run).
- An answer on a response_url gives up after ``ANSWER_TIMEOUT``, well inside the journal's
  lease, so a hung answer ends (closing its entry with the error) instead of lingering.
- Slack escapes ``&``, ``<`` and ``>`` in what a person types as ``&amp;``, ``&lt;`` and
  ``&gt;``; a bare ``<…>`` is always one of Slack's own tokens (``<@U…>``, ``<#C…|name>``,
  ``<mailto:…|…>``, ``<https://…|…>``, ``<!here>``). ``plain_text`` gives the core the text as
  typed: outside the tokens every entity is turned back (``&amp;`` last, so a typed ``&lt;``
  stays ``&lt;``); a token is kept as Slack sent it, only its ``&amp;`` turned back to ``&``
  (a link's URL), so what the grammar reads as a token still ends at its own ``>``. The
  command and the mention texts are journalled already turned back.
- The asker is identified by Slack user id through ``core.identity("slack", id, name)``; what
  they may do is the core's decision, never the adapter's.
- Answers are ephemeral unless the core marks a message as an announcement
  (``Message.ephemeral=False``).
- An Events API delivery has one effect however often it arrives: with a journal, the mention's
  entry (keyed by ``event_id``) is the durable dedupe, written only as the work is accepted and
  closed once answered; without one, ``dedupe`` (see its module).
- A failure inside the core is logged and answered with a short ephemeral error, never a stack.
- Given an ``http_session`` (owned and closed by the caller), answers and Web API calls reuse its
  pooled keep-alive connections; the serve process passes a ``Responder(pooled=True)`` that
  owns one. Without either, Bolt opens a connection per answer, which costs several times the
  whole ack path under load (see ``bench/chat.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import acks
from bot.messages import (
    VOTE_ACTION,
    CommandCore,
    CommandJournal,
    Message,
    answer_then_close,
    parse_vote_action,
)
from bot.slack.blocks import render_blocks
from bot.slack.dedupe import InMemoryDedupe, SlackDedupe, event_key

log = logging.getLogger(__name__)

COMMAND = "/charter"
_LEADING_MENTIONS = re.compile(r"^\s*(?:<@[A-Z0-9]+(?:\|[^>]*)?>\s*)+")
_LEADING_COMMAND = re.compile(r"^/?charter\b\s*", re.IGNORECASE)
_SLACK_TOKEN = re.compile(r"<[^<>]*>")

FAILED = Message.text_only("Sorry, that failed on our side. It has been logged; try again.", False)
ANSWER_TIMEOUT = 10.0  # seconds; under the journal's 30 s lease (bot.chat.LEASE)
WORKING = "Working on it…"  # a slash command's interim ack when its journal write is slow


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_text(text: str) -> str:
    """Slack's text as the person typed it: entities turned back outside Slack's own ``<…>``
    tokens, which are kept (see the module rules)."""
    parts: list[str] = []
    end = 0
    for token in _SLACK_TOKEN.finditer(text):
        parts.append(_unescape(text[end : token.start()]))
        parts.append(token.group(0).replace("&amp;", "&"))
        end = token.end()
    parts.append(_unescape(text[end:]))
    return "".join(parts)


def mention_text(text: str) -> str:
    """The command in an ``@charterbot …`` message: leading mentions and ``/charter`` removed,
    then the rest as typed (``plain_text``)."""
    command = _LEADING_COMMAND.sub("", _LEADING_MENTIONS.sub("", text), count=1)
    return plain_text(command).strip()


async def run_core(
    core: CommandCore, text: str, user_id: str, display: str, *, what: str, channel: str = ""
) -> Message:
    """Identify the Slack user and run ``text``; a crash becomes an ephemeral error message."""
    try:
        actor = replace(await core.identity("slack", user_id, display), channel=channel)
        return await core.run(text, actor)
    except Exception:
        log.exception("slack %s failed (user %s)", what, user_id)
        return FAILED


def make_client(
    bot_token: str, api_url: str | None = None, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Web API client; ``api_url`` (``SLACK_API_URL``) redirects it, e.g. to a stand-in.
    A 429 is retried after ``Retry-After`` (twice at most) instead of failing the answer."""
    return fit_client(AsyncWebClient(token=bot_token), api_url, session)


def fit_client(
    client: AsyncWebClient, api_url: str | None, session: aiohttp.ClientSession | None
) -> AsyncWebClient:
    """``client`` as :func:`make_client` makes one: redirected, retrying 429s, on ``session``."""
    if api_url:
        client.base_url = api_url
    retry: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    client.retry_handlers = retry
    client.session = session
    return client


class Responder:
    """Answers on a request's response_url with one POST on a pooled keep-alive session.

    ``session`` is the caller's (the caller closes it); with ``pooled=True`` and no session the
    responder opens its own on first use (inside the serving loop) and ``aclose`` closes it.
    Without either, Bolt's ``respond()`` answers (a new connection per answer)."""

    def __init__(self, session: aiohttp.ClientSession | None, *, pooled: bool = False) -> None:
        self.session = session
        self._owns = pooled and session is None

    async def __call__(self, respond: Any, body: dict[str, Any], payload: dict[str, Any]) -> None:
        """Answer ``payload``; a TimeoutError after ``ANSWER_TIMEOUT``."""
        async with asyncio.timeout(ANSWER_TIMEOUT):
            await self._answer(respond, body, payload)

    async def _answer(self, respond: Any, body: dict[str, Any], payload: dict[str, Any]) -> None:
        url = body.get("response_url")
        if not isinstance(url, str) or not url or (self.session is None and not self._owns):
            await respond(**payload)
            return
        if self.session is None:
            self.session = aiohttp.ClientSession()
        # A plain POST: slack_sdk's webhook client would rebuild its proxy and user-agent
        # settings for every answer, which costs more than the rest of our answer path.
        async with self.session.post(url, json=payload) as response:
            if response.status != 200:
                text = await response.text()
                log.warning("slack response_url answered %s: %s", response.status, text[:200])

    async def aclose(self) -> None:
        if self._owns and self.session is not None:
            await self.session.close()
            self.session = None


def build_slack_app(
    core: CommandCore,
    *,
    signing_secret: str | None,
    bot_token: str,
    api_url: str | None = None,
    process_before_response: bool = False,
    dedupe: SlackDedupe | None = None,
    http_session: aiohttp.ClientSession | None = None,
    responder: Responder | None = None,
    journal: CommandJournal | None = None,
) -> AsyncApp:
    """A Bolt ``AsyncApp`` with the ``/charter`` command, ``@mentions`` and vote buttons.

    ``signing_secret=None`` builds a Socket Mode app that no HTTP request can reach (see
    ``socket_mode_only``); an empty secret is refused."""
    if signing_secret is not None and not signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is empty: Slack requests could not be verified")
    if not bot_token:
        raise ValueError("SLACK_BOT_TOKEN is empty: set it to the app's xoxb- bot token")
    app = AsyncApp(
        # Never Bolt's fallback to the environment, and never a stand-in secret: without a
        # secret, Bolt's verification (which skips Socket Mode) would check HMACs keyed with "".
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        # The token alone: given a client, Bolt still reads SLACK_BOT_TOKEN from the
        # environment, and warns on every start that it is unused. Its own client is then
        # fitted as make_client's would be.
        token=bot_token,
        process_before_response=process_before_response,
    )
    fit_client(app.client, api_url, http_session)
    if signing_secret is None:
        app.use(socket_mode_only)
    answer_on = responder or Responder(http_session)
    register_listeners(app, core, dedupe or InMemoryDedupe(), answer_on, journal)
    return app


async def socket_mode_only(req: AsyncBoltRequest, next: Any) -> BoltResponse | None:
    """Global middleware of an app without a signing secret: only Socket Mode envelopes (the
    socket is authenticated by the app-level token) reach the listeners; any other request is
    unverifiable and refused with 401, whoever routes it to the app."""
    if req.mode != "socket_mode":
        log.warning("slack request outside Socket Mode refused: no SLACK_SIGNING_SECRET is set")
        return BoltResponse(status=401, body={"error": "invalid request"})
    await next()
    return None


def command_entry(command: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The journal key (Slack's ``trigger_id``) and what is needed to run and answer it later."""
    fields = ("text", "user_id", "user_name", "channel_id", "response_url")
    entry = {name: str(command.get(name, "")) for name in fields}
    entry["text"] = plain_text(entry["text"])
    key = str(command.get("trigger_id") or "") or "|".join(entry.values())
    return key, entry


def click_entry(body: dict[str, Any], text: str) -> tuple[str, dict[str, str]]:
    """A vote button click as a journal entry: the command it runs and where to answer it
    (its response_url, without replacing the message that holds the buttons)."""
    user = body.get("user") or {}
    entry = {
        "text": text,
        "user_id": str(user.get("id", "")),
        "user_name": str(user.get("username") or user.get("name") or ""),
        "channel_id": "",
        "response_url": str(body.get("response_url", "")),
        "replace_original": "false",
    }
    actions = body.get("actions") or [{}]
    key = str(body.get("trigger_id") or "") or f"{entry['user_id']}|{actions[0].get('action_ts')}"
    return key, entry


def mention_entry(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The journal key of an ``@mention`` (its ``event_id``, kept across Slack's retries) and
    what running it and answering it in its thread needs, now or after a crash."""
    event = body.get("event") or {}
    entry = {
        "text": mention_text(str(event.get("text", ""))),
        "user_id": str(event.get("user", "")),
        "user_name": str(event.get("username", "")),
        "channel_id": str(event.get("channel", "")),
        "thread_ts": str(event.get("thread_ts") or event.get("ts") or ""),
    }
    return event_key(body), entry


def is_mention(entry: dict[str, str]) -> bool:
    """A mention's entry is answered in its thread (``chat.postMessage``), not on a URL."""
    return "thread_ts" in entry


async def run_entry(core: CommandCore, entry: dict[str, str], *, what: str) -> dict[str, Any]:
    """Run a journal entry's command (live, or replayed after a crash) and build its answer:
    a mention's as a post in its thread, the others' for the response_url (a vote click's
    leaving the message that holds the buttons in place)."""
    answer = await run_core(
        core,
        entry["text"],
        entry["user_id"],
        entry["user_name"],
        what=what,
        channel=entry["channel_id"],
    )
    if is_mention(entry):
        thread = {"channel": entry["channel_id"], "thread_ts": entry["thread_ts"] or None}
        return render_blocks(answer).for_post() | thread
    payload = render_blocks(answer).for_respond()
    if entry.get("replace_original") == "false":
        payload |= {"replace_original": False}
    return payload


async def post_answer(client: AsyncWebClient, payload: dict[str, Any]) -> None:
    """Post a mention's answer in its thread (a 429 is retried by the client)."""
    await client.chat_postMessage(**payload)


async def replay_entry(
    core: CommandCore, answer_on: Responder, entry: dict[str, str], client: AsyncWebClient
) -> None:
    """Run a journalled command a crash stranded and answer it as it would have been: on its
    response_url, or in its mention's thread through ``client``."""

    async def no_fallback(**_: Any) -> None:
        log.warning("replayed command has no response_url; its answer is dropped")

    payload = await run_entry(core, entry, what="replayed command")
    if is_mention(entry):
        await post_answer(client, payload)
    else:
        await answer_on(no_fallback, entry, payload)


async def _accept(
    journal: CommandJournal | None,
    ack: Any,
    key: str,
    entry: dict[str, str],
    interim: dict[str, Any],
) -> bool:
    """Journal the entry and ack: after the write, or with ``interim`` at the budget while
    it goes on (see the module rules); True once it is recorded, False when it failed."""
    recording = acks.Recording(journal, "slack", key, entry)
    if await recording.within():
        await ack()
        return await recording.durable()
    log.warning("slack %s: journal write slow; acknowledged before it ended", key)
    await ack(**interim)
    return await recording.durable()


def _mention_gate(
    journal: CommandJournal | None, dedupe: SlackDedupe
) -> Callable[[dict[str, Any], Any], Awaitable[BoltResponse | None]]:
    """The listener middleware that lets a mention through once it is journalled (or, with
    no journal, first seen)."""

    async def accept_mention(body: dict[str, Any], next: Any) -> BoltResponse | None:
        # Listener middleware: Bolt runs it before it acks the event, so the mention is
        # journalled (durable) before Slack hears it arrived. A redelivery of one already
        # journalled is acked without a second run; the journal's replay answers it if a
        # crash stranded it. No interim ack here, however slow the write: an event is acked
        # by the HTTP status alone, and Slack's retry of one it timed out (same event_id) is
        # deduped by the journal, so the write can safely outlast the 3 s.
        key, entry = mention_entry(body)
        if journal is not None:
            new = await journal.record("slack", key, entry)
        else:
            new = not await dedupe.seen(key)
        if not new:
            log.info("slack event %s already handled; ignoring redelivery", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    return accept_mention


def register_listeners(
    app: AsyncApp,
    core: CommandCore,
    dedupe: SlackDedupe,
    answer_on: Responder,
    journal: CommandJournal | None = None,
) -> None:
    """Attach the three listeners to ``app``."""

    @app.command(COMMAND)
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        # Durable before acknowledged: a crash after the ack cannot lose the command (the
        # journal's owner replays it and answers on its response_url).
        # Slack never redelivers a slash command, so the journal is for crash recovery only:
        # a key seen before (a client reusing a trigger id) still runs.
        key, entry = command_entry(command)
        if await _accept(journal, ack, key, entry, interim={"text": WORKING}):
            reply = answer_on(respond, command, await run_entry(core, entry, what="command"))
            await answer_then_close(journal, "slack", key, reply)
        else:
            await answer_on(respond, command, render_blocks(acks.NOT_RECORDED).for_respond())

    @app.event("app_mention", middleware=[_mention_gate(journal, dedupe)])
    async def on_mention(body: dict[str, Any], client: AsyncWebClient) -> None:
        key, entry = mention_entry(body)
        payload = await run_entry(core, entry, what="mention")
        await answer_then_close(journal, "slack", key, post_answer(client, payload))

    @app.action(VOTE_ACTION)  # vote:<n>:<approve|reject|abstain>, ASCII digits only
    async def on_vote(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        parsed = parse_vote_action(action.get("action_id", ""))
        if parsed is None:  # the listener's pattern and the parser disagree: a bug, not input
            await ack()
            log.error("vote button with unparseable action id %r", action.get("action_id"))
            return
        number, choice = parsed
        key, entry = click_entry(body, f"vote {number} {choice}")
        # durable before accepted, as a command is; a slow write gets an empty ack (a click's
        # ack shows nothing, and the message with the buttons stays as it is)
        if await _accept(journal, ack, key, entry, interim={}):
            payload = await run_entry(core, entry, what="vote button")
            await answer_then_close(journal, "slack", key, answer_on(respond, body, payload))
        else:
            failed = render_blocks(acks.NOT_RECORDED).for_respond() | {"replace_original": False}
            await answer_on(respond, body, failed)
