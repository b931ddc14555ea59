"""One tracking message per proposal per chat channel, edited in place only when its text changes.

Rules:
- The channels: the Slack and Discord charter channels the proposal's ``proposal-opened``
  announcement goes to by the charter's ``announce`` table, routed exactly as announcements
  are (:func:`charter.subscriptions.recipients`, no subscriptions): a confidential proposal not
  yet disclosed reaches private channels only, and public ones once it is disclosed.
- A proposal that never left draft (never announced) has no tracking message anywhere.
- The card is a compact status from the proposal's view (:func:`bot.views.proposal_view`),
  rendered as Slack blocks and a Discord embed by the renderers ``show`` uses: state, tally and
  quorum, deadlines, open concerns, the rollout stage once rolling out, the issue and its page.
- ``sync-chat`` items (queued with ``sync-github`` by ``Governance.queue_sync``, coalesced per
  proposal by the key ``sync-chat:<n>:pending``) render the state current *at send time*;
  each channel's card is posted once and edited only when the sha256 of its rendered body
  differs from the stored one (``TrackingMessageRow``, surface ``slack:<channel>`` or
  ``discord:<channel>``).
- A card someone deleted (the edit answers message or channel gone) is forgotten and posted anew.
- Pacing is the broadcast relay's; a rate limit or transient error retries the item with the
  outbox's backoff (cards already current are not touched again); a permanent refusal fails it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from bot.chat_views import deadline_lines, votes_line
from bot.clock import Clock, SystemClock
from bot.discord.render import render as discord_render
from bot.github_web import GITHUB_WEB
from bot.messages import Line, Message
from bot.senders.base import SendResult
from bot.senders.pacing import Pacer
from bot.slack.blocks import render_blocks
from bot.views import proposal_view
from charter.effects import Announce
from charter.model import Charter
from charter.subscriptions import recipients
from storage import feedback as feedback_store, outbox, proposals as repo
from storage.db import session_scope
from storage.models.core import TrackingMessageRow
from storage.rollouts import load_rollout

KIND = "sync-chat"
PLATFORMS = ("slack", "discord")


class CardSender(Protocol):
    async def post_card(self, address: str, card: dict[str, Any], key: str) -> SendResult: ...

    async def edit_card(
        self, address: str, message_id: str, card: dict[str, Any]
    ) -> SendResult | None: ...


@dataclass(frozen=True)
class Card:
    surface: str  # "<platform>:<channel>"
    platform: str
    address: str
    body: dict[str, Any]
    digest: str
    known: tuple[str, str] | None  # the posted card's message id and body sha256


def status_message(view: dict[str, Any], stage: str | None, links: tuple[str, ...]) -> Message:
    """The card: the ``show`` lines that say where the proposal stands, and its links."""
    lines: list[Line] = [(f"{view['track']} · {view['state']}",), *deadline_lines(view)]
    if view["tally"] is not None:
        lines.append(votes_line(view["tally"]))
    open_concerns = sum(1 for c in view["concerns"] if not c["resolved"])
    lines.append((f"Open concerns: {open_concerns}",))
    if stage:
        lines.append((f"Rollout stage: {stage}",))
    lines.extend((link,) for link in links if link)
    title = f"#{view['number']} {view['title']}"
    return Message(title=title, lines=tuple(lines), ephemeral=False)


def rendered(platform: str, message: Message) -> dict[str, Any]:
    if platform == "slack":
        slack = render_blocks(message)
        return {"text": slack.text, "blocks": slack.blocks}
    return {"embeds": [discord_render(message).embed.to_dict()]}


def _stage(session: Session, number: int, charter: Charter) -> str | None:
    """The stage a rollout is in, once its first stage is entered."""
    rollout = load_rollout(session, number, charter)
    if rollout is None or rollout.stage_index < 0:
        return None
    return charter.rollout.stages[rollout.stage_index].id


def _card(session: Session, number: int, platform: str, address: str, message: Message) -> Card:
    surface = f"{platform}:{address}"
    body = rendered(platform, message)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    row = session.get(TrackingMessageRow, (number, surface))
    known = (row.message_id, row.body_sha256) if row is not None else None
    return Card(surface, platform, address, body, digest, known)


class ChatTracking:
    def __init__(
        self,
        engine: Engine,
        charter: Callable[[], Charter],
        senders: Mapping[str, Any],
        pacer: Callable[[], Pacer],
        *,
        public_url: str = "",
        github_web: str = GITHUB_WEB,
        clock: Clock | None = None,
    ) -> None:
        self.engine, self._charter, self.senders, self._pacer = engine, charter, senders, pacer
        self._public_url, self._github_web = public_url.rstrip("/"), github_web.rstrip("/")
        self.clock = clock or SystemClock()

    async def step(self, now: datetime | None = None) -> int:
        """Sync every due ``sync-chat`` item; returns how many were taken."""
        now = now or self.clock.now()
        due = await asyncio.to_thread(self._take, now)
        for row_id, number in due:
            await self._sync(row_id, number, now)
        return len(due)

    def _take(self, now: datetime) -> list[tuple[int, int]]:
        with session_scope(self.engine) as session:
            rows = [r for r in outbox.due(session, now=now, limit=200) if r.kind == KIND]
            taken = [(r.id or 0, int(outbox.payload(r)["proposal"])) for r in rows]
            for row_id, _number in taken:
                outbox.begin_attempt(session, row_id)  # frees the coalescing key
            return taken

    async def _sync(self, row_id: int, number: int, now: datetime) -> None:
        cards = await asyncio.to_thread(self._cards, number, now)
        results = [
            await self._one(row_id, number, c, now)
            for c in cards
            if c.known is None or c.known[1] != c.digest  # never edit an unchanged card
        ]
        await asyncio.to_thread(self._finish, row_id, results, now)

    def _cards(self, number: int, now: datetime) -> list[Card]:
        charter = self._charter()
        with session_scope(self.engine) as session:
            stored = repo.load(session, number)
            if stored is None or stored.proposal.entered_review_at is None:
                return []  # never announced: a draft has no tracking message
            view = proposal_view(stored, charter, now, feedback_store.open_for(session, number))
            stage = _stage(session, number, charter)
            message = status_message(view, stage, self._links(charter, number))
            opened = Announce(
                kind="proposal-opened", title="", text="", proposal=number,
                track=stored.proposal.track, confidential=view["confidential"],
            )  # fmt: skip
            dests = recipients(opened, charter, [], disclosed=stored.disclosed)
            wanted = [d for d in dests if d.platform in PLATFORMS and d.platform in self.senders]
            return [_card(session, number, d.platform, d.address, message) for d in wanted]

    def _links(self, charter: Charter, number: int) -> tuple[str, ...]:
        issue = f"{self._github_web}/{charter.github.repository}/issues/{number}"
        page = f"{self._public_url}/proposals/{number}" if self._public_url else ""
        return (issue, page)

    async def _one(self, row_id: int, number: int, card: Card, now: datetime) -> SendResult:
        """Edit the card in place, or post it (first time, or after it was deleted)."""
        sender: CardSender = self.senders[card.platform]
        pacer = self._pacer()
        await pacer.wait_destination(card.platform, card.surface)
        await pacer.wait_platform(card.platform)
        pacer.sending(card.platform, card.surface)
        result: SendResult | None = None
        if card.known is not None:
            result = await sender.edit_card(card.address, card.known[0], card.body)
        if result is None and card.known is not None:  # someone deleted it: forget it
            await asyncio.to_thread(self._forget, number, card.surface)
        if result is None:  # no card yet, or it was deleted: post a new one
            result = await sender.post_card(
                card.address, card.body, f"track.{row_id}.{card.surface}"
            )
        pacer.observe(card.platform, card.surface, result)
        if result.ok and result.message_id:
            await asyncio.to_thread(self._remember, number, card, result.message_id, now)
        return result

    def _forget(self, number: int, surface: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(TrackingMessageRow, (number, surface))
            if row is not None:
                session.delete(row)

    def _remember(self, number: int, card: Card, message_id: str, now: datetime) -> None:
        with session_scope(self.engine) as session:
            row = session.get(TrackingMessageRow, (number, card.surface)) or TrackingMessageRow(
                proposal=number, surface=card.surface, message_id=message_id,
                body_sha256=card.digest, updated_at=now,
            )  # fmt: skip
            row.message_id, row.body_sha256, row.updated_at = message_id, card.digest, now
            session.add(row)

    def _finish(self, row_id: int, results: list[SendResult], now: datetime) -> None:
        """Sent when every card is current; transient failures retry, permanent ones fail."""
        failed = [r for r in results if not r.ok]
        with session_scope(self.engine) as session:
            if not failed:
                outbox.finish(session, row_id, now)
            elif all(r.permanent for r in failed):
                error = "; ".join(r.error for r in failed)
                outbox.finish(session, row_id, now, error=error, counted=True)
            else:
                wait = max((r.retry_after or 0.0 for r in failed), default=0.0) or None
                error = "; ".join(r.error for r in failed)
                outbox.retry_later(session, row_id, now, error, wait, counted=True)
