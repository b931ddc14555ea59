"""The composition root: the only module that knows every concrete class.

``build`` turns settings into a ready :class:`bot.runtime.Runtime` (charter loaded and adopted,
database migrated, service and transports wired); ``Runtime.background`` runs the loops that
only the leader runs (inbox worker, deadlines, relays, pollers). A platform whose credentials
are absent is not started, and the log says so. After a start and on becoming leader, voting
closes wait until GitHub intake has caught up (:class:`bot.intake_gate.IntakeGate`).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bot import (
    audit_witness,
    broadcast,
    chat,
    dashboard_install,
    meetings_service,
    rollouts,
    subscribe_tokens,
)
from bot.charter_adoption import adopt_charter
from bot.charter_file import example_charter_path, read_charter
from bot.clock import Clock, SystemClock
from bot.github import handler as github_handler
from bot.github.poll_checks import CheckReader
from bot.github.poll_releases import WEBHOOK_SETTLE, ReleaseReader
from bot.github.receiver import GitHubReceiver
from bot.github.reconcile import Reconciler
from bot.github_web import default_web_url
from bot.intake_gate import GITHUB_SOURCES, IntakeGate
from bot.leader import leadership_for
from bot.pipeline import InboxWorker
from bot.ports import GitHubGateway
from bot.runtime import Runtime
from bot.service import Governance
from bot.settings import SettingError, Settings
from charter.load import LoadedCharter
from charter.model import Charter
from storage import migrate
from storage.db import make_engine

log = logging.getLogger("charterbot")


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
    gov = _governance(settings, engine, loaded, clock, gateway)
    secret = settings.github_webhook_secret
    rt: Runtime
    receiver = GitHubReceiver(
        secret.get_secret_value().encode() if secret else None,
        store=lambda key, event, body: rt.store_delivery(
            "github", key, event, body, same_body=True
        ),
        on_stored=lambda: rt.wake.set(),
        repositories=lambda: _read_repositories(gov.charter),
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
    if gateway is not None:
        _github_readers(rt, gateway)
    if settings.github_mode != "off":
        _hold_closes_for_intake(rt)
    if gateway is not None:
        _github_relays(rt, gateway)
    _wire_areas(rt)
    return rt


def _read_repositories(charter: Charter) -> tuple[str, ...]:
    """The repositories GitHub events are read from: the charter's (proposals) and its
    clients' (releases, checks); a ping from any other names a hook on the wrong one."""
    clients = (cl.repository for cl in charter.clients if cl.repository)
    return (charter.github.repository, *clients)


def _governance(
    settings: Settings,
    engine: Engine,
    loaded: LoadedCharter,
    clock: Clock,
    gateway: GitHubGateway | None,
) -> Governance:
    """The governance service, configured from ``settings``."""
    gov = Governance(engine, loaded, clock)
    gov.vote_grace = settings.vote_grace
    gov.public_url = settings.public_url.rstrip("/")
    gov.github_web = default_web_url(settings.github_api_url)
    gov.identity_links.gateway = gateway
    gov.identity_links.oauth_client_id = settings.github_oauth_client_id
    return gov


def _github_readers(rt: Runtime, gateway: GitHubGateway) -> None:
    """What fetches from GitHub besides deliveries: the reconciler of failed webhook
    deliveries (with a hook id), and the check and release readers."""
    settings, gov = rt.settings, rt.gov
    if settings.github_hook_id is not None:
        rt.reconciler = Reconciler(rt.engine, gateway, settings.github_hook_id, rt.store_and_wake)
    elif settings.github_mode == "webhook":
        log.info(
            "failed GitHub webhook deliveries are not recovered: set CHARTERBOT_GITHUB_HOOK_ID"
            " to the repository webhook's id to have them fetched and processed"
        )
    rt.checks = CheckReader(rt.engine, gateway, lambda: gov.charter, rt.store_and_wake)
    # In webhook mode a release's own webhook comes first (see the module's rules).
    settle = WEBHOOK_SETTLE if settings.github_mode == "webhook" else timedelta(0)
    rt.releases = ReleaseReader(
        rt.engine, gateway, lambda: gov.charter, rt.store_and_wake, settle=settle
    )


def _github_relays(rt: Runtime, gateway: GitHubGateway) -> None:
    """The relays that write to GitHub: tracking comments, and issues."""
    from bot.github.issues_relay import IssueRelay
    from bot.github.relay import GitHubRelay

    charter, clock = rt.loaded.charter, rt.clock
    relay = GitHubRelay(rt.engine, charter, gateway, rt.settings.public_url, clock=clock)
    rt.relays.append(relay.run_once)
    issues = IssueRelay(rt.engine, gateway, clock=clock, charter=charter)
    rt.relays.append(issues.run_once)


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
