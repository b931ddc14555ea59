"""The composition root: the only module that knows every concrete class.

``build`` turns settings into a ready ``Runtime`` (charter loaded and adopted, database
migrated, service and transports wired); ``Runtime.background`` runs the loops that only the
leader runs (inbox worker, deadlines, relays, pollers). A platform whose credentials are absent
is not started, and the log says so. After a start and on becoming leader, voting closes wait
until GitHub intake has caught up (``IntakeGate``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from bot import (
    audit_witness,
    broadcast,
    chat,
    dashboard_install,
    meetings_service,
    rollouts,
    subscribe_tokens,
)
from bot.charter_adoption import refuse_other_charter
from bot.charter_file import example_charter_path, read_charter
from bot.clock import Clock, SystemClock
from bot.github import handler as github_handler
from bot.github.events import CommentEvent, IssueEvent
from bot.github.poll_checks import CheckReader
from bot.github.poll_releases import WEBHOOK_SETTLE, ReleaseReader
from bot.github.receiver import GitHubReceiver
from bot.github.reconcile import Reconciler
from bot.leader import Leadership, campaign, leadership_for
from bot.metrics import METRICS
from bot.pipeline import InboxWorker
from bot.ports import GitHubGateway
from bot.service import Governance
from bot.settings import SettingError, Settings
from charter.lifecycle import OPEN_STATES
from charter.load import CharterInvalid, LoadedCharter, load_charter
from charter.model import Charter, keeping
from charter.stage_amendments import moves, passed_new
from storage import (
    audit,
    charters,
    inbox,
    migrate,
    proposals as repo,
    rollouts as rollout_store,
    state,
)
from storage.db import make_engine, read_scope, session_scope
from storage.models.core import InboxRow

log = logging.getLogger("charterbot")

Loop = Callable[[datetime], Awaitable[int]]


def paced(step: Loop, every: timedelta) -> Loop:
    """``step`` run at most once per ``every``: the loops also wake whenever an event is stored
    or a decision is made, and a poll of GitHub on each of those would be wasted calls."""
    next_at: datetime | None = None

    async def run(now: datetime) -> int:
        nonlocal next_at
        if next_at is not None and now < next_at:
            return 0
        next_at = now + every
        return await step(now)

    return run


# How long a stop waits for the leader's loops to finish the step each is in.
STOP_GRACE = 10.0

# How long voting closes wait, after a start or on becoming leader, for GitHub intake to catch
# up (IntakeGate): a poll or reconcile pass over a busy repository fits well inside it; GitHub
# unreachable or rate-limited then delays a decision by minutes, not for as long as it lasts.
INTAKE_CATCH_UP_LIMIT = timedelta(minutes=10)
# The inbox sources the worker processes: webhook deliveries (and recovered ones), and polling.
GITHUB_SOURCES = ("github", "poll")


class CatchUp(StrEnum):
    WAITING = "waiting"
    CAUGHT_UP = "caught-up"
    GAVE_UP = "gave-up"


def catch_up(behind: int | None, waited: timedelta, limit: timedelta) -> CatchUp:
    """Where intake stands for voting closes held since a start: caught up once GitHub was
    read once (``behind`` is not None) and the inbox holds nothing stored by then still to
    process (``behind`` == 0); given up once ``limit`` has been waited without that; else
    waiting."""
    if behind == 0:
        return CatchUp.CAUGHT_UP
    return CatchUp.GAVE_UP if waited >= limit else CatchUp.WAITING


class IntakeGate:
    """Whether voting closes may fire now (``Governance.closes_may_fire``).

    Rule: after this process starts or becomes leader (``close``), no voting close fires until
    GitHub intake has caught up once — a complete poll in poll mode, a complete reconcile pass
    in webhook mode with the hook id (``fetched``), nothing to fetch in webhook mode without it
    — and the inbox holds no GitHub delivery stored by then that is still to be processed. A
    vote cast before a deadline while the bot was down is then counted before the deadline is
    judged, instead of the tick (a local step) beating the GitHub round trips. Other timers
    (review ends, meetings, rollouts) do not wait. If intake has not caught up within ``limit``
    (GitHub unreachable, rate-limited, a delivery failing), closes fire anyway, with a warning
    saying why. With GitHub off the gate is never closed.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        fetches: Literal["poll", "reconcile"] | None,
        limit: timedelta = INTAKE_CATCH_UP_LIMIT,
    ) -> None:
        self._engine, self._clock = engine, clock
        self._fetches, self._limit = fetches, limit
        self._since: datetime | None = None  # closed since; None: open
        self._through: int | None = None  # inbox rows up to this id must be processed first
        self._why = ""

    @property
    def is_open(self) -> bool:
        return self._since is None

    def close(self) -> None:
        """Hold voting closes until intake has caught up (at start, and on becoming leader)."""
        self._since = self._clock.now()
        self._through = None if self._fetches else self._last_row()
        self._why = f"no complete GitHub {self._fetches} yet" if self._fetches else ""
        log.info("voting closes wait until GitHub intake has caught up")

    def fetched(self) -> None:
        """A complete poll or reconcile pass: what it stored is processed before closes fire."""
        if self._since is not None and self._through is None:
            self._through = self._last_row()

    def failed(self, why: str) -> None:
        """A poll or reconcile pass that did not complete, and why (for the warning)."""
        if self._since is not None and self._through is None:
            self._why = why

    def __call__(self, now: datetime) -> bool:
        since = self._since
        if since is None:
            return True
        behind = None if self._through is None else self._behind(self._through)
        verdict = catch_up(behind, now - since, self._limit)
        if verdict is CatchUp.WAITING:
            return False
        self._since = None
        if verdict is CatchUp.CAUGHT_UP:
            log.info("GitHub intake caught up: voting closes fire")
            return True
        why = self._why if behind is None else f"{behind} GitHub deliveries still to process"
        log.warning(
            "GitHub intake has not caught up within %s (%s): voting closes fire anyway, and"
            " votes cast before a deadline that arrive later are refused",
            self._limit,
            why,
        )
        return True

    def _last_row(self) -> int:
        with read_scope(self._engine) as session:
            return session.exec(select(sa.func.max(col(InboxRow.id)))).one() or 0

    def _behind(self, through: int) -> int:
        """GitHub deliveries up to ``through`` not processed yet (failed ones aside: they wait
        for an operator)."""
        stmt = (
            select(sa.func.count())
            .select_from(InboxRow)
            .where(col(InboxRow.id) <= through)
            .where(col(InboxRow.processed_at).is_(None))
            .where(col(InboxRow.attempts) < inbox.MAX_ATTEMPTS)
            .where(col(InboxRow.source).in_(GITHUB_SOURCES))
        )
        with read_scope(self._engine) as session:
            return session.exec(stmt).one()


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    loaded: LoadedCharter
    gov: Governance
    receiver: GitHubReceiver
    worker: InboxWorker
    leadership: Leadership
    clock: Clock
    gateway: GitHubGateway | None = None
    reconciler: Reconciler | None = None  # catches up on failed webhook deliveries
    checks: CheckReader | None = None  # reads the check runs rollout gates wait on
    releases: ReleaseReader | None = None  # reads the clients' releases that report readiness
    intake: IntakeGate | None = None  # holds voting closes until GitHub intake caught up
    relays: list[Loop] = field(default_factory=list)
    # Called each time this process becomes leader, before the leader's loops start.
    on_lead: list[Callable[[], None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    demo: bool = False
    ingest_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest")
    )

    @property
    def is_leader(self) -> bool:
        return self.leadership.is_leader

    async def store_delivery(
        self, source: str, key: str, event: str, body: bytes, *, same_body: bool = False
    ) -> bool:
        """Store a delivery in the inbox; ``same_body``: raise ``inbox.KeyReused`` for a stored
        key with another body (a webhook's delivery id names one event)."""

        def write() -> bool:
            with session_scope(self.engine, urgent=True) as session:
                return inbox.accept(
                    session,
                    source=source,
                    key=key,
                    event=event,
                    body=body,
                    now=self.clock.now(),
                    same_body=same_body,
                )

        # Its own threads: an acknowledgement must not queue behind the worker's and relays'
        # jobs in the default pool (GitHub gives up after 10 s; we aim for milliseconds).
        loop = asyncio.get_running_loop()
        new = await loop.run_in_executor(self.ingest_pool, write)
        METRICS.deliveries.labels(source=source, result="accepted" if new else "duplicate").inc()
        return new

    async def store_and_wake(self, source: str, key: str, event: str, body: bytes) -> bool:
        """Store a delivery found by the runtime itself, and wake the worker for it."""
        new = await self.store_delivery(source, key, event, body)
        if new:
            self.wake.set()
        return new

    # -- the leader's loops -------------------------------------------------------------------

    async def background(self) -> None:
        """Run until ``stop``: the leadership campaign and, while leader, the work loops."""
        loops: list[asyncio.Task[None]] = []

        def on_change(leader: bool) -> None:
            METRICS.leader.set(1 if leader else 0)
            if leader and not loops:
                for hook in self.on_lead:
                    hook()
                loops.extend(self._start_loops())
            elif not leader:
                for task in loops:
                    task.cancel()
                loops.clear()

        try:
            await campaign(self.leadership, on_change, stop=self.stop)
        finally:
            await self._wind_down(loops)

    async def _wind_down(self, loops: list[asyncio.Task[None]]) -> None:
        """Stop the loops after the step each is in. A step runs in a thread, which cancelling
        its task does not stop: it would go on writing after the caller disposed of the engine
        (on PostgreSQL, into a pool nobody closes). A loop still busy after ``STOP_GRACE``
        seconds is cancelled all the same."""
        self.wake.set()  # a loop waiting for its next step sees the stop at once
        if not loops:
            return
        try:
            _, late = await asyncio.wait(loops, timeout=STOP_GRACE)
            for task in late:
                log.warning("%s still busy %g s after the stop", task.get_name(), STOP_GRACE)
        finally:  # cancelled while waiting, too: no loop outlives background()
            for task in loops:
                task.cancel()
            for task in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _start_loops(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self._loop(name, step, every), name=f"{name} loop")
            for name, step, every in self.loop_specs()
        ]

    def loop_specs(self) -> list[tuple[str, Loop, float]]:
        """The leader's loops: (name, step, seconds between steps)."""
        loops: list[tuple[str, Loop, float]] = [
            ("inbox", self._process_inbox, 1.0),
            ("deadlines", self._tick, self.settings.tick_seconds),
        ]
        loops += [(f"relay-{i}", relay, 1.0) for i, relay in enumerate(self.relays)]
        if self.gateway is not None and self.settings.github_mode == "poll":
            every = self.settings.github_poll_seconds
            loops.append(("poll", paced(self._poll, timedelta(seconds=every)), every))
        if self.reconciler is not None and self.settings.github_mode == "webhook":
            every = self.settings.github_reconcile_seconds
            step = paced(self._reconcile, timedelta(seconds=every))
            loops.append(("reconcile", step, every))
        if self.checks is not None and self.settings.github_mode == "webhook":
            # Poll mode reads them on each poll; here on the reconcile interval, hook id or not.
            every = self.settings.github_reconcile_seconds
            loops.append(
                ("github-checks", paced(self._read_checks, timedelta(seconds=every)), every)
            )
        if self.releases is not None and self.settings.github_mode == "webhook":
            every = self.settings.github_reconcile_seconds  # as the checks, for the same reason
            step = paced(self._read_releases, timedelta(seconds=every))
            loops.append(("github-releases", step, every))
        if self.gateway is not None and self.settings.github_oauth_client_id:
            loops.append(("device-flow", self._device_flows, 5.0))
        return loops

    async def _loop(self, name: str, step: Loop, every: float) -> None:
        while not self.stop.is_set():
            try:
                await step(self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop failed; retrying", name)
            if self.stop.is_set():
                break
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=every)

    async def _process_inbox(self, now: datetime) -> int:
        return await asyncio.to_thread(self.worker.process_pending, now)

    async def _tick(self, now: datetime) -> int:
        return await asyncio.to_thread(self.gov.tick, now)

    async def _device_flows(self, now: datetime) -> int:
        return await self.gov.identity_links.poll_device_flows(now)

    async def _reconcile(self, now: datetime) -> int:
        """One reconcile pass; a complete one lets the intake gate watch the inbox drain."""
        assert self.reconciler is not None
        try:
            recovered = await self.reconciler.run_once(now)
        except Exception as exc:
            self._intake_failed(f"GitHub reconcile failed: {type(exc).__name__}: {exc}")
            raise
        if self.reconciler.incomplete:  # held or stopped early: missed votes may be unread
            self._intake_failed(self.reconciler.incomplete)
        elif self.intake is not None:
            self.intake.fetched()
        return recovered

    async def _read_checks(self, now: datetime) -> int:
        """One pass of the check reader (bot.github.poll_checks). Check runs hold up no voting
        close, so a failure here is logged and leaves the intake gate alone."""
        if self.checks is None:
            return 0
        try:
            return await self.checks.run_once(now)
        except Exception:
            log.exception("reading check runs from GitHub failed; retried next pass")
            return 0

    async def _read_releases(self, now: datetime) -> int:
        """One pass of the release reader (bot.github.poll_releases). Releases hold up no
        voting close, so a failure here is logged and leaves the intake gate alone."""
        if self.releases is None:
            return 0
        try:
            return await self.releases.run_once(now)
        except Exception:
            log.exception("reading releases from GitHub failed; retried next pass")
            return 0

    def _intake_failed(self, why: str) -> None:
        if self.intake is not None:
            self.intake.failed(why)

    async def _poll(self, now: datetime) -> int:
        """One poll of GitHub; its deliveries go to the inbox. A complete one lets the intake
        gate watch the inbox drain (IntakeGate)."""
        from bot.github.poller import Poller, PollState
        from bot.github.ratelimit import RateLimitHeld

        assert self.gateway is not None
        with session_scope(self.engine) as session:
            saved = state.get(session, "github-poll")
        current = PollState.from_json(saved) if saved else PollState()
        try:
            result = await Poller(self.gateway).poll(current)
        except RateLimitHeld as waiting:  # GitHub asked the token to wait: poll again after
            log.info("github poll skipped: %s", waiting)
            self._intake_failed(f"GitHub poll held by its rate limit: {waiting}")
            return 0
        except Exception as exc:
            self._intake_failed(f"GitHub poll failed: {type(exc).__name__}: {exc}")
            raise
        stored = 0
        for delivery in result.deliveries:
            event = delivery.event
            if not isinstance(event, IssueEvent | CommentEvent):
                continue
            body = github_handler.encode_polled(event)
            stored += await self.store_delivery(
                "poll", delivery.delivery_id, delivery.event_name, body
            )
        with session_scope(self.engine) as session:
            state.put(session, "github-poll", result.state.to_json(), now)
        if self.intake is not None:
            self.intake.fetched()
        stored += await self._read_checks(now)  # after the intake: they hold up no close
        stored += await self._read_releases(now)
        if stored:
            self.wake.set()
        return stored


def load_settings_charter(settings: Settings) -> LoadedCharter:
    return read_charter(settings.charter or example_charter_path())


def unsigned_webhooks(settings: Settings) -> str | None:
    """What the server says at start when GitHub webhooks cannot be accepted: webhook mode
    without a secret refuses every delivery (bot.github.receiver), so GitHub's events would
    silently never arrive. None when the mode and secret are usable."""
    secret = settings.github_webhook_secret
    if settings.github_mode != "webhook" or (secret and secret.get_secret_value()):
        return None
    return (
        "CHARTERBOT_GITHUB_WEBHOOK_SECRET is not set: POST /github/webhook refuses every GitHub"
        " delivery (401) until it is; set it to the repository webhook's secret, or set"
        " CHARTERBOT_GITHUB_MODE to poll or off"
    )


class CharterVersionLowered(Exception):
    """The charter's version is below the one adopted last: refused at start (a lower version
    would reuse numbers proposals were already decided under)."""


class CharterMovesRollouts(Exception):
    """The charter's stages would move a rollout under way: refused at start
    (:mod:`charter.stage_amendments`)."""


def adopt_charter(
    engine: Engine, loaded: LoadedCharter, now: datetime, *, adopt_other: bool = True
) -> LoadedCharter:
    """Record the running charter (audit entry when its content is new, its text kept for its
    version) and return it answering for every earlier version the store kept, so proposals
    are decided by the version they were opened under (charter.proposal.rules_for). A version
    lower than the last adopted one raises :class:`CharterVersionLowered`; changed content
    under the same version is adopted with a warning. Without ``adopt_other`` (the console),
    content other than the adopted one's raises ``CharterNotAdopted`` (bot.charter_adoption).
    Stored rollouts that still keep stage indexes are rewritten with stage ids first
    (``storage.rollouts.keep_stage_ids``); stages that would move a rollout under way raise
    :class:`CharterMovesRollouts`."""
    version = loaded.charter.version
    with session_scope(engine) as session:
        # The audit lock first, as every appender takes it before the rows it then changes
        # (an incident command appends, then pauses rollouts): upgrading rollout rows first
        # and appending the adoption second was the opposite order, a deadlock on PostgreSQL
        # when a replica started while such a command ran.
        audit.lock(session)
        previous = charters.adopted_version(session)
        if previous is not None and version < previous:
            raise CharterVersionLowered(
                f"the charter {loaded.source} is version {version}, lower than version"
                f" {previous} adopted before: a charter's version only goes up (proposals are"
                f" decided by the version they were opened under); start with the v{previous}"
                f" charter, or raise charter.version above {previous} for an amendment"
            )
        if not adopt_other:
            refuse_other_charter(session, loaded)
        passed = _rollouts_stay(session, loaded, previous)
        if charters.adopt(session, loaded.sha256, version, loaded.source, now, loaded.text):
            log.info("adopted charter v%s (%s)", version, loaded.sha256[:12])
            for line in passed:
                log.warning("%s", line)
            if previous == version:
                log.warning(
                    "the charter's content changed but its version (%s) was not raised above"
                    " %s: proposals opened under v%s now follow the new text; raise"
                    " charter.version for an amendment",
                    version,
                    previous,
                    version,
                )
        kept = charters.version_texts(session)
    earlier: dict[int, Charter] = {}
    for number, text in kept.items():
        if number == version:
            continue
        try:
            earlier[number] = load_charter(text, f"charter v{number} (kept)").charter
        except CharterInvalid as exc:
            log.warning(
                "kept charter v%s no longer loads, its proposals follow v%s: %s",
                number,
                version,
                exc,
            )
    _warn_unkept(engine, version, earlier)
    return replace(loaded, charter=keeping(loaded.charter, earlier))


def _rollouts_stay(session: Session, loaded: LoadedCharter, previous: int | None) -> list[str]:
    """Refuse ``loaded`` when its stages would move a rollout under way (raise
    :class:`CharterMovesRollouts`, every problem with what to do); else the lines to log once
    it is adopted: new stages a rollout counts as passed, for it does not run there."""
    rewritten = rollout_store.keep_stage_ids(session, loaded.charter)
    if rewritten:
        log.info("rollouts %s now kept by stage id", ", ".join(f"#{n}" for n in rewritten))
    stages, problems, passed = loaded.charter.stage_ids, list[str](), list[str]()
    for n, where in rollout_store.placements(session, loaded.charter).items():
        problems += moves(n, where, stages)
        if new := passed_new(where, stages):
            stages_new = f"{', '.join(new)} (new in this charter)"
            passed.append(f"#{n} is already past {stages_new}: it does not run there")
    if problems:
        running = f"the v{previous} charter" if previous is not None else "the charter before"
        raise CharterMovesRollouts(
            f"the charter {loaded.source} (version {loaded.charter.version}) would move rollouts"
            " under way:\n" + "\n".join(f"- {p}" for p in problems) + "\nAn amendment may add"
            " stages anywhere, drop stages no rollout under way is on, and reorder stages that"
            " stay on the same side of every stage one is on (docs/charter-format.md,"
            f" Amendments); until these rollouts are done, start with {running}"
        )
    return passed


def _warn_unkept(engine: Engine, version: int, earlier: dict[int, Charter]) -> None:
    """Open proposals whose version's text was never kept (opened before texts were kept, and
    the charter amended since) follow the running charter: say so once, at start."""
    with read_scope(engine) as session:
        open_ = repo.listing(session, states=[s.value for s in OPEN_STATES])
    unkept = sorted({s.proposal.charter_version for s in open_} - set(earlier) - {version})
    if unkept:
        numbers = ", ".join(
            f"#{s.proposal.number}" for s in open_ if s.proposal.charter_version in unkept
        )
        log.warning(
            "the text of charter version(s) %s was never kept: open proposals %s follow v%s",
            ", ".join(map(str, unkept)),
            numbers,
            version,
        )


class SchemaNotMigrated(Exception):
    """The schema is behind this code and the database user may not migrate it (a
    least-privilege application role): the owner has to run ``charterbot db upgrade``."""


# PostgreSQL's SQLSTATE for "permission denied" (insufficient_privilege).
_INSUFFICIENT_PRIVILEGE = "42501"


def _migrate(engine: Engine) -> None:
    try:
        migrate.upgrade(engine)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        user = engine.url.username or "this database user"
        try:
            at = migrate.current_revision(engine) or "nothing (empty)"
        except DBAPIError:
            at = "unknown"
        raise SchemaNotMigrated(
            f"the database schema is at {at}, this version of charterbot needs"
            f" {migrate.head_revision()}, and {user} may not change"
            " the schema: run `charterbot db upgrade` as the schema's owner (charterbot_owner in"
            f" deploy/postgres-roles.sql), then start again ({str(exc.orig).splitlines()[0]})"
        ) from None


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    gateway: GitHubGateway | None = None,
    migrate_db: bool = True,
    adopt_other: bool = True,
) -> Runtime:
    """The runtime for ``settings``; ``adopt_other`` False refuses a charter other than the
    database's instead of adopting it (:mod:`bot.charter_adoption`)."""
    clock = clock or SystemClock()
    loaded = load_settings_charter(settings)
    if settings.github_mode == "off":
        # Off means off: no gateway, relays, poller or reconciler, and no webhook endpoint.
        gateway = None
        log.info("GitHub is off (CHARTERBOT_GITHUB_MODE=off): no webhook endpoint, no API calls")
    elif gateway is None and settings.github_enabled:
        gateway = _github_gateway(settings, loaded, clock)
    if gateway is None and settings.github_mode == "poll":
        raise SettingError(
            "CHARTERBOT_GITHUB_MODE",
            "poll mode reads GitHub through its API and needs credentials: set"
            " CHARTERBOT_GITHUB_TOKEN or the GitHub App settings, or use webhook or off",
        )
    if gateway is None and settings.github_mode != "off":
        log.info(
            "GitHub API not configured (no token or App): tracking comments wait in the outbox"
        )
    engine = make_engine(settings.database_url)
    try:
        return _assemble(
            settings, engine, loaded, clock, gateway, migrate_db=migrate_db, adopt_other=adopt_other
        )
    except BaseException:  # a start that fails leaves no connection behind
        engine.dispose()
        raise


def _assemble(
    settings: Settings,
    engine: Engine,
    loaded: LoadedCharter,
    clock: Clock,
    gateway: GitHubGateway | None,
    *,
    migrate_db: bool,
    adopt_other: bool,
) -> Runtime:
    subscribe_tokens.use_key(engine, settings.secret_key)
    if migrate_db:
        _migrate(engine)
    loaded = adopt_charter(engine, loaded, clock.now(), adopt_other=adopt_other)
    gov = Governance(engine, loaded, clock)
    gov.vote_grace = settings.vote_grace
    gov.public_url = settings.public_url.rstrip("/")
    gov.identity_links.gateway = gateway
    gov.identity_links.oauth_client_id = settings.github_oauth_client_id
    secret = settings.github_webhook_secret
    rt: Runtime
    receiver = GitHubReceiver(
        secret.get_secret_value().encode() if secret else None,
        store=lambda key, event, body: rt.store_delivery(
            "github", key, event, body, same_body=True
        ),
        on_stored=lambda: rt.wake.set(),
    )
    processor = github_handler.processor(gov)
    worker = InboxWorker(engine, dict.fromkeys(GITHUB_SOURCES, processor))
    rt = Runtime(
        settings=settings,
        engine=engine,
        loaded=loaded,
        gov=gov,
        receiver=receiver,
        worker=worker,
        leadership=leadership_for(engine),
        clock=clock,
        gateway=gateway,
    )
    gov.on_change = rt.wake.set
    if gateway is not None and settings.github_hook_id is not None:
        rt.reconciler = Reconciler(engine, gateway, settings.github_hook_id, rt.store_and_wake)
    elif gateway is not None and settings.github_mode == "webhook":
        log.info(
            "failed GitHub webhook deliveries are not recovered: set CHARTERBOT_GITHUB_HOOK_ID"
            " to the repository webhook's id to have them fetched and processed"
        )
    if gateway is not None:
        rt.checks = CheckReader(engine, gateway, lambda: gov.charter, rt.store_and_wake)
        # In webhook mode a release's own webhook comes first (see the module's rules).
        settle = WEBHOOK_SETTLE if settings.github_mode == "webhook" else timedelta(0)
        rt.releases = ReleaseReader(
            engine, gateway, lambda: gov.charter, rt.store_and_wake, settle=settle
        )
    if settings.github_mode != "off":
        _hold_closes_for_intake(rt)
    if gateway is not None:
        from bot.github.issues_relay import IssueRelay
        from bot.github.relay import GitHubRelay

        relay = GitHubRelay(engine, loaded.charter, gateway, settings.public_url, clock=clock)
        rt.relays.append(relay.run_once)
        issues = IssueRelay(engine, gateway, clock=clock, charter=loaded.charter)
        rt.relays.append(issues.run_once)
    _wire_areas(rt)
    return rt


def _hold_closes_for_intake(rt: Runtime) -> None:
    """Voting closes wait for GitHub intake to catch up at start and each time this process
    becomes leader (IntakeGate): after what the poller or reconciler fetches, if either runs."""
    fetches: Literal["poll", "reconcile"] | None = None
    if rt.gateway is not None and rt.settings.github_mode == "poll":
        fetches = "poll"
    elif rt.reconciler is not None and rt.settings.github_mode == "webhook":
        fetches = "reconcile"
    rt.intake = IntakeGate(rt.engine, rt.clock, fetches)
    rt.gov.closes_may_fire = rt.intake
    rt.intake.close()
    rt.on_lead.append(rt.intake.close)


def _github_gateway(settings: Settings, loaded: LoadedCharter, clock: Clock) -> GitHubGateway:
    """The GitHub port from settings; App installation tokens are renewed by the runtime's
    clock (the same one deadlines use), so renewal is testable and consistent with it."""
    from bot.github.auth import auth_from_settings
    from bot.github.gateway import PyGithubGateway

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    try:
        auth = auth_from_settings(
            token=secret(settings.github_token),
            app_id=settings.github_app_id,
            private_key_pem=secret(settings.github_app_private_key),
            installation_id=settings.github_installation_id,
            clock=clock.now,
        )
    except ValueError as exc:  # Settings checks these first; this names anything it missed
        named = re.search(r"CHARTERBOT_GITHUB_[A-Z_]+", str(exc))
        name = named.group(0) if named else "CHARTERBOT_GITHUB_TOKEN"
        raise SettingError(name, str(exc)) from None
    return PyGithubGateway(loaded.charter.github.repository, auth, settings.github_api_url)


def _wire_areas(rt: Runtime) -> None:
    """Plug every area into the runtime: each module's ``install(rt)`` registers its commands,
    loops and routes (the audit witness: its tick hook and relay, with GitHub)."""
    for area in (rollouts, meetings_service, broadcast, chat, dashboard_install, audit_witness):
        area.install(rt)
