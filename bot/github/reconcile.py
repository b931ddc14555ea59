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
  and the inbox's uniqueness on (source, key) makes the repeat harmless. It stays behind the
  last ``SETTLING`` minutes (attempts in progress may be listed later with lower ids), and
  below an event whose fetch failed for a reason that may pass (a rate limit, a server error),
  so the next check retries it, up to ``MAX_TRIES`` times; an event GitHub no longer has,
  refuses (4xx) or sends malformed is logged and skipped, so it cannot hold up the others.
- GitHub's rate limit holds the reconciler too: the throttle it shares with the relays makes no
  call until GitHub's wait is over (``bot.github.ratelimit``). A check it held back ends
  quietly and is tried at the next interval; a fetch it held back was never made, so it does
  not count as one of the event's ``MAX_TRIES``.
- The leader runs a check at most once per ``CHARTERBOT_GITHUB_RECONCILE_SECONDS``, though its
  loops also wake whenever an event is stored (``bot.runtime.paced``, as for polling).
- Only the charter repository's webhook is checked. Check runs in the clients' repositories
  that a rollout gate waits on are read on the same interval by ``bot.github.poll_checks``
  (with or without a hook id), so one missed while the bot was down is caught up too; so are
  their releases, by ``bot.github.poll_releases``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.github.ratelimit import RateLimitHeld
from bot.github.wire import WireFormatError
from bot.ports import (
    MAX_HOOK_DELIVERIES,
    GitHubError,
    GitHubGateway,
    GitHubNotFound,
    GitHubRateLimited,
    HookDeliverySummary,
)
from storage import inbox, state
from storage.db import read_scope, session_scope

log = logging.getLogger("charterbot.github.reconcile")

WATERMARK = "github-reconcile"
SOURCE = "github"  # the webhook receiver's inbox source: the same GUID is the same event
SETTLING = timedelta(minutes=5)  # attempts this recent may still be joined by lower ids
MAX_TRIES = 5  # fetches of one delivery that fail for a passing reason before it is skipped

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
    def __init__(
        self,
        engine: Engine,
        gateway: GitHubGateway,
        hook_id: int,
        store: Store,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._hook_id = hook_id
        self._store = store
        self._failures: dict[int, int] = {}  # delivery id -> failed fetches so far
        # Why the last pass did not see everything GitHub failed to deliver (held by the rate
        # limit, or a fetch that failed and is retried next pass); "" when it did.
        self.incomplete = ""

    async def run_once(self, now: datetime) -> int:
        """Check once; returns how many missed events were stored (see ``incomplete``)."""
        self.incomplete = ""
        with read_scope(self._engine) as session:
            after = int(state.get(session, WATERMARK, 0))
        try:
            listed = await self._gateway.list_hook_deliveries(self._hook_id, after)
        except RateLimitHeld as waiting:  # GitHub asked us to wait: the next check tries again
            log.info("webhook deliveries not checked: %s", waiting)
            self.incomplete = f"GitHub reconcile held by its rate limit: {waiting}"
            return 0
        if len(listed) >= MAX_HOOK_DELIVERIES:
            log.warning(
                "more than %d new webhook deliveries: only the newest are checked", len(listed)
            )
        if not listed:
            return 0
        with read_scope(self._engine) as session:
            stored = inbox.known_keys(session, SOURCE, [d.guid for d in listed])
        recovered, held = await self._recover(missed(listed, stored))
        # Attempts still in progress may be listed later with lower ids: the watermark stays
        # behind the last few minutes (re-checking them is cheap; the inbox drops repeats).
        settled = [d.id for d in listed if d.delivered_at <= now - SETTLING]
        mark = min([max(settled, default=after), *held])
        if mark > after:
            with session_scope(self._engine) as session:
                state.put(session, WATERMARK, mark, now)
        if recovered:
            log.warning(
                "recovered %d webhook deliveries GitHub failed to make (hook %s)",
                recovered,
                self._hook_id,
            )
        return recovered

    async def _recover(self, attempts: list[HookDeliverySummary]) -> tuple[int, list[int]]:
        """Fetch and store each missed event, oldest first. One GitHub will not give (gone,
        malformed) is logged and skipped; on any other failure the pass stops, and the
        watermark is held below it (the second value) so the next pass retries it."""
        recovered = 0
        for attempt in attempts:
            try:
                delivery = await self._gateway.get_hook_delivery(self._hook_id, attempt.id)
            except (GitHubNotFound, WireFormatError) as error:
                self._give_up(attempt, error)
                continue
            except GitHubError as error:
                passing = isinstance(error, GitHubRateLimited) or not 400 <= error.status < 500
                held = isinstance(error, RateLimitHeld)  # not fetched at all: not a try
                tries = self._failures.get(attempt.id, 0) + (0 if held else 1)
                if not passing or tries >= MAX_TRIES:
                    self._give_up(attempt, error)
                    continue
                self._failures[attempt.id] = tries
                self.incomplete = f"recovering webhook delivery {attempt.id} failed: {error}"
                log.warning(
                    "recovering webhook delivery %s failed (try %d of %d), retried next time: %s",
                    attempt.id,
                    tries,
                    MAX_TRIES,
                    error,
                )
                return recovered, [attempt.id - 1]
            body = json.dumps(delivery.payload, separators=(",", ":")).encode()
            recovered += await self._store(SOURCE, delivery.guid, delivery.event, body)
        return recovered, []

    def _give_up(self, attempt: HookDeliverySummary, error: Exception) -> None:
        self._failures.pop(attempt.id, None)
        log.error(
            "webhook delivery %s (%s, %s) cannot be recovered, skipped: %s",
            attempt.id,
            attempt.guid,
            attempt.event,
            error,
        )
