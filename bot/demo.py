"""The demo campaign ``charterbot serve --demo`` seeds on a fresh database (its script, the
steps and their data: ``bot.demo_script``).

Rules:
- Nothing is written to tables directly. GitHub activity is replayed as webhook deliveries,
  stored with ``Runtime.store_delivery`` exactly as ``/github/webhook`` stores them and processed
  by an inbox worker; chat activity runs through ``Governance.run_sync`` as console commands.
- Time travels: the campaign unfolds from 30 days ago to now on its own ``Governance`` with a
  fixed clock; between steps the clock stops at every deadline that falls due (``tick``), so
  reviews end, votes close and soak clocks run at the times the charter says.
- Only a fresh database is seeded (no proposal and no stored delivery); the data is marked as
  demo data: state key ``demo`` = true and an audit entry ``demo-seeded``.
- The script is written for the bundled example charter: a charter without what it uses (a
  client, a login, a track, a stage; ``bot.demo_script.unfit``) raises ``DemoFailed`` naming
  all of it before the seed writes anything (:func:`unfit_for_demo`; the command line asks
  before it even opens the database).
- A step that the bot refuses raises ``DemoFailed``: the campaign is part of the product and
  must stay valid against the rules.
- The campaign runs through many transactions (as the real traffic does), so a refused step
  leaves the part played so far. The seed marks its start (state key ``demo-seeding``) before
  its first step: a database marked so but never marked ``demo`` is half-seeded, and asking to
  seed it again raises ``DemoFailed`` saying so and what to do, instead of serving the part
  silently as if it were the demo (:func:`seed_if_empty`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import rollouts
from bot.charter_file import example_charter_path
from bot.clock import FixedClock
from bot.demo_script import iso, play, proposal_body, unfit
from bot.github.handler import processor
from bot.messages import Actor, plain_text
from bot.pipeline import InboxWorker
from bot.service import Governance
from charter.load import LoadedCharter
from charter.text import join_and
from storage import audit, inbox, proposals as repo, state
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("charterbot.demo")

DEMO_KEY = "demo"
SEEDING_KEY = "demo-seeding"  # when a seed started; with no DEMO_KEY, it stopped part-way
_START_AGAIN = "remove the database (or give another one) and run --demo again"
SPAN = timedelta(days=30)


class DemoFailed(RuntimeError):
    """A campaign step was refused: the demo no longer fits the rules."""


def is_demo(rt: Runtime) -> bool:
    with session_scope(rt.engine) as session:
        return bool(state.get(session, DEMO_KEY, False))


def is_fresh(rt: Runtime) -> bool:
    with session_scope(rt.engine) as session:
        return not repo.listing(session, limit=1) and inbox.counts(session)["total"] == 0


def half_seeded(rt: Runtime) -> str | None:
    """When the seed that stopped part-way in this database started (None: none did)."""
    with session_scope(rt.engine) as session:
        started = state.get(session, SEEDING_KEY)
        done = state.get(session, DEMO_KEY, False)
    return None if started is None or done else str(started)


def unfit_for_demo(loaded: LoadedCharter) -> str | None:
    """Why the demo cannot be played under ``loaded``: all it lacks of what the script uses,
    and what to do (None when it fits)."""
    lacks = unfit(loaded.charter)
    if not lacks:
        return None
    example = example_charter_path()
    return (
        f"the demo needs the bundled example charter ({example}): {loaded.source} has"
        f" {join_and(lacks)}. Run --demo with the example charter (--charter {example}, or"
        " leave CHARTERBOT_CHARTER unset), or run without --demo"
    )


def seed_if_empty(rt: Runtime) -> bool:
    """Seed the campaign when the database is fresh; True when it did. A charter the script
    does not fit, or a database a failed seed left half-seeded, raises ``DemoFailed`` saying
    so (see the module rules)."""
    if not is_fresh(rt):
        started = half_seeded(rt)
        if started is not None:
            raise DemoFailed(
                f"this database holds part of a demo campaign: the seed started at {started}"
                f" was stopped by a refused step; {_START_AGAIN}"
            )
        return False
    if (why := unfit_for_demo(rt.loaded)) is not None:
        raise DemoFailed(why)
    _run(seed(rt))
    return True


def _run(coro: Any) -> None:
    """Run ``coro`` to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:
        asyncio.run(coro)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="demo-seed")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def seed(rt: Runtime) -> None:
    end = rt.clock.now()
    start = (end - SPAN).replace(minute=0, second=0, microsecond=0)
    campaign = Campaign(rt, start)
    with session_scope(rt.engine) as session:
        state.put(session, SEEDING_KEY, f"{end:%Y-%m-%d %H:%M} UTC", end)
    try:
        await play(campaign)
    except DemoFailed as error:
        raise DemoFailed(
            f"{error}\nThe database now holds part of the campaign: {_START_AGAIN}"
        ) from error
    campaign.until(end)
    with session_scope(rt.engine) as session:
        state.put(session, DEMO_KEY, True, end)
        audit.append(
            session,
            actor="charterbot",
            kind="demo-seeded",
            subject="demo",
            payload={"from": start.isoformat(), "to": end.isoformat(), "note": "demo data"},
            charter_version=rt.loaded.charter.version,
            at=end,
        )
    rt.gov.on_change()
    log.info("demo campaign seeded: %d proposals", campaign.issues)


class Campaign:
    """Replays GitHub events and console commands on a clock that starts in the past."""

    def __init__(self, rt: Runtime, start: datetime) -> None:
        self.rt = rt
        self.start = start
        self.clock = FixedClock(start)
        self.gov = Governance(rt.engine, rt.loaded, self.clock)
        rollouts.install_on(self.gov)  # its commands: ready, advance, incident, …
        self.worker = InboxWorker(rt.engine, {"github": processor(self.gov)})
        self.repo = rt.loaded.charter.github.repository
        self.label = rt.loaded.charter.github.proposal_label
        self.issues = 0
        self._ids = itertools.count(1)
        self._comments = itertools.count(7_000_001)

    # -- time ---------------------------------------------------------------------------------

    def day(self, days: float) -> None:
        self.until(self.start + timedelta(days=days))

    def until(self, at: datetime) -> None:
        """Move the clock to ``at``, stopping at every deadline on the way (fired in order)."""
        for _ in range(500):
            with session_scope(self.rt.engine) as session:
                due = repo.next_deadline(session, self.gov.vote_grace)
            if due is None or due > at:
                break
            self.clock.set(max(self.clock.now(), due))
            if not self.gov.tick(self.clock.now()):
                break
        self.clock.set(max(self.clock.now(), at))
        self.gov.tick(self.clock.now())

    # -- GitHub -------------------------------------------------------------------------------

    async def deliver(self, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        await self.rt.store_delivery("github", f"demo-{next(self._ids):04d}", event, body)
        self.worker.process_pending(self.clock.now())

    async def issue(self, title: str, author: str, **form: Any) -> int:
        self.issues += 1
        payload = {
            "action": "opened",
            "issue": {
                "number": self.issues,
                "title": title,
                "body": proposal_body(**form),
                "user": {"login": author},
                "labels": [{"name": self.label}],
                "state": "open",
                "updated_at": iso(self.clock.now()),
            },
            "repository": {"full_name": self.repo},
            "sender": {"login": author},
        }
        await self.deliver("issues", payload)
        return self.issues

    async def comment(self, number: int, body: str, author: str) -> None:
        at = iso(self.clock.now())
        payload = {
            "action": "created",
            "issue": {"number": number},
            "comment": {
                "id": next(self._comments),
                "body": body,
                "user": {"login": author},
                "created_at": at,
                "updated_at": at,
            },
            "repository": {"full_name": self.repo},
            "sender": {"login": author},
        }
        await self.deliver("issue_comment", payload)

    async def release(self, client_repo: str, tag: str, body: str, author: str) -> None:
        payload = {
            "action": "published",
            "release": {"tag_name": tag, "body": body, "author": {"login": author}},
            "repository": {"full_name": client_repo},
            "sender": {"login": author},
        }
        await self.deliver("release", payload)

    async def check(self, client_repo: str, name: str, sha: str, conclusion: str) -> None:
        payload = {
            "action": "completed",
            "check_run": {
                "name": name,
                "head_sha": sha,
                "status": "completed",
                "conclusion": conclusion,
                "html_url": f"https://github.com/{client_repo}/runs/{next(self._ids)}",
            },
            "repository": {"full_name": client_repo},
            "sender": {"login": "github-actions[bot]"},
        }
        await self.deliver("check_run", payload)

    # -- chat ---------------------------------------------------------------------------------

    def console(self, login: str, text: str) -> None:
        actor = Actor(login=login, surface="console", surface_id=login, display=login)
        message = self.gov.run_sync(text, actor, now=self.clock.now())
        if not message.ok:
            raise DemoFailed(f"demo step {text!r} as {login} refused: {plain_text(message)}")
