"""Catching up on webhook deliveries GitHub failed to make (webhook mode).

GitHub never retries a failed delivery by itself: whatever happened while the bot was down,
unreachable or too slow to answer would be lost. With ``CHARTERBOT_GITHUB_HOOK_ID`` set (the
repository webhook's id), the leader checks the webhook's recent deliveries every
``CHARTERBOT_GITHUB_RECONCILE_SECONDS``.

Rules:
- Only deliveries with an id above the last one checked are considered (the watermark, kept in
  ``kv_state``); the first check looks at what GitHub still lists (at most
  ``bot.ports.MAX_HOOK_DELIVERIES``).
- An event is missed when none of its listed attempts succeeded (2xx) and the inbox does not
  hold its ``X-GitHub-Delivery`` GUID. The bot then fetches that delivery over the
  authenticated API, which carries the payload GitHub tried to send, and stores it in the inbox
  under the same GUID, oldest first, exactly as if it had arrived. A later redelivery by hand is
  then a duplicate, acknowledged and dropped.
- The watermark moves only after every missed event is stored, so a crash repeats the check,
  and the inbox's uniqueness on (source, key) makes the repeat harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine

from bot.ports import GitHubGateway, HookDeliverySummary
from storage import inbox, state
from storage.db import read_scope, session_scope

log = logging.getLogger("charterbot.github.reconcile")

WATERMARK = "github-reconcile"
SOURCE = "github"  # the webhook receiver's inbox source: the same GUID is the same event

Store = Callable[[str, str, str, bytes], Awaitable[bool]]


def missed(
    listed: Sequence[HookDeliverySummary], stored: Collection[str]
) -> list[HookDeliverySummary]:
    """The events among ``listed`` (newest first) that never arrived: no successful attempt
    and not in the inbox; one attempt per event, oldest first."""
    arrived = {d.guid for d in listed if d.succeeded} | set(stored)
    result: list[HookDeliverySummary] = []
    for attempt in reversed(listed):
        if attempt.guid not in arrived:
            arrived.add(attempt.guid)
            result.append(attempt)
    return result


class Reconciler:
    def __init__(self, engine: Engine, gateway: GitHubGateway, hook_id: int, store: Store):
        self._engine = engine
        self._gateway = gateway
        self._hook_id = hook_id
        self._store = store

    async def run_once(self, now: datetime) -> int:
        """Store every missed event since the last check; returns how many were stored."""
        with read_scope(self._engine) as session:
            after = int(state.get(session, WATERMARK, 0))
        listed = await self._gateway.list_hook_deliveries(self._hook_id, after)
        if not listed:
            return 0
        with read_scope(self._engine) as session:
            stored = inbox.known_keys(session, SOURCE, [d.guid for d in listed])
        recovered = 0
        for attempt in missed(listed, stored):
            delivery = await self._gateway.get_hook_delivery(self._hook_id, attempt.id)
            body = json.dumps(delivery.payload, separators=(",", ":")).encode()
            recovered += await self._store(SOURCE, delivery.guid, delivery.event, body)
        with session_scope(self._engine) as session:
            state.put(session, WATERMARK, max(d.id for d in listed), now)
        if recovered:
            log.warning(
                "recovered %d webhook deliveries GitHub failed to make (hook %s)",
                recovered,
                self._hook_id,
            )
        return recovered
