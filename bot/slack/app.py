"""The Slack adapter: Bolt listeners that hand text to the command core and render its answer.

Rules:
- Slack wants an ack within 3 s. Every listener acks first (empty, so nothing is echoed) —
  a command or a vote click only once it is journalled (durable before acknowledged) — then
  asks the core, then answers through ``respond()`` (the request's response_url) or, for an
  ``@mention``, in the mention's thread. With ``process_before_response=False`` (the default,
  for a long-running server) Bolt returns the ack before the core is called at all.
- The asker is identified by Slack user id through ``core.identity("slack", id, name)``; what
  they may do is the core's decision, never the adapter's.
- Answers are ephemeral unless the core marks a message as an announcement
  (``Message.ephemeral=False``).
- An Events API delivery has one effect however often it arrives (see ``dedupe``).
- A failure inside the core is logged and answered with a short ephemeral error, never a stack.
- Given an ``http_session`` (owned and closed by the caller), answers and Web API calls reuse its
  pooled keep-alive connections; the serve process passes a ``Responder(pooled=True)`` that
  owns one. Without either, Bolt opens a connection per answer, which costs several times the
  whole ack path under load (see ``bench/chat.py``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

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

FAILED = Message.text_only("Sorry, that failed on our side. It has been logged; try again.", False)


def mention_text(text: str) -> str:
    """The command in an ``@charterbot …`` message: leading mentions and ``/charter`` removed."""
    return _LEADING_COMMAND.sub("", _LEADING_MENTIONS.sub("", text), count=1).strip()


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
    retry: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    if api_url:
        return AsyncWebClient(
            token=bot_token, base_url=api_url, retry_handlers=retry, session=session
        )
    return AsyncWebClient(token=bot_token, retry_handlers=retry, session=session)


class Responder:
    """Answers on a request's response_url with one POST on a pooled keep-alive session.

    ``session`` is the caller's (the caller closes it); with ``pooled=True`` and no session the
    responder opens its own on first use (inside the serving loop) and ``aclose`` closes it.
    Without either, Bolt's ``respond()`` answers (a new connection per answer)."""

    def __init__(self, session: aiohttp.ClientSession | None, *, pooled: bool = False) -> None:
        self.session = session
        self._owns = pooled and session is None

    async def __call__(self, respond: Any, body: dict[str, Any], payload: dict[str, Any]) -> None:
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
    signing_secret: str,
    bot_token: str,
    api_url: str | None = None,
    process_before_response: bool = False,
    dedupe: SlackDedupe | None = None,
    http_session: aiohttp.ClientSession | None = None,
    responder: Responder | None = None,
    journal: CommandJournal | None = None,
) -> AsyncApp:
    """A Bolt ``AsyncApp`` with the ``/charter`` command, ``@mentions`` and vote buttons."""
    if not signing_secret:
        raise ValueError("SLACK_SIGNING_SECRET is empty: Slack requests could not be verified")
    if not bot_token:
        raise ValueError("SLACK_BOT_TOKEN is empty: set it to the app's xoxb- bot token")
    app = AsyncApp(
        signing_secret=signing_secret,
        client=make_client(bot_token, api_url, http_session),
        process_before_response=process_before_response,
    )
    answer_on = responder or Responder(http_session)
    register_listeners(app, core, dedupe or InMemoryDedupe(), answer_on, journal)
    return app


def command_entry(command: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The journal key (Slack's ``trigger_id``) and what is needed to run and answer it later."""
    fields = ("text", "user_id", "user_name", "channel_id", "response_url")
    entry = {name: str(command.get(name, "")) for name in fields}
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


async def run_entry(core: CommandCore, entry: dict[str, str], *, what: str) -> dict[str, Any]:
    """Run a journal entry's command (live, or replayed after a crash) and build its answer for
    the response_url; a vote click's answer leaves the message holding the buttons in place."""
    answer = await run_core(
        core,
        entry["text"],
        entry["user_id"],
        entry["user_name"],
        what=what,
        channel=entry["channel_id"],
    )
    payload = render_blocks(answer).for_respond()
    if entry.get("replace_original") == "false":
        payload |= {"replace_original": False}
    return payload


async def replay_entry(core: CommandCore, answer_on: Responder, entry: dict[str, str]) -> None:
    """Run a journalled command a crash stranded and answer it on its response_url."""

    async def no_fallback(**_: Any) -> None:
        log.warning("replayed command has no response_url; its answer is dropped")

    await answer_on(no_fallback, entry, await run_entry(core, entry, what="replayed command"))


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
        if journal is not None:
            await journal.record("slack", key, entry)
        await ack()
        reply = answer_on(respond, command, await run_entry(core, entry, what="command"))
        await answer_then_close(journal, "slack", key, reply)

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any], say: Any) -> None:
        if await dedupe.seen(event_key(body)):
            log.info("slack event %s already handled; ignoring redelivery", event_key(body))
            return
        user = event.get("user", "")
        text = mention_text(event.get("text", ""))
        answer = await run_core(
            core,
            text,
            user,
            event.get("username", ""),
            what="mention",
            channel=event.get("channel", ""),
        )
        thread = event.get("thread_ts") or event.get("ts") or None
        await say(**render_blocks(answer).for_post(), thread_ts=thread)

    @app.action(VOTE_ACTION)  # vote:<n>:<approve|reject|abstain>, ASCII digits only
    async def on_vote(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        parsed = parse_vote_action(action.get("action_id", ""))
        if parsed is None:  # the listener's pattern and the parser disagree: a bug, not input
            await ack()
            log.error("vote button with unparseable action id %r", action.get("action_id"))
            return
        number, choice = parsed
        key, entry = click_entry(body, f"vote {number} {choice}")
        if journal is not None:  # durable before acknowledged, as a command is
            await journal.record("slack", key, entry)
        await ack()
        payload = await run_entry(core, entry, what="vote button")
        await answer_then_close(journal, "slack", key, answer_on(respond, body, payload))
