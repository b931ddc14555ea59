"""Governance: the one entry point every transport calls.

Every command and event runs the same path: parse → authorize → decide (pure, in ``charter``)
→ save + audit + outbox in one transaction → a transport-neutral reply. Transports translate at
the edge (GitHub payloads, Slack and Discord interactions, console lines) and call this.

Rules:
- A decision's effects are applied in the transaction that saves the proposal: ``Audit`` appends
  to the hash chain, ``Announce``/``Comment``/``Notify`` go to the outbox, ``SyncTracking`` and
  ``SetLabels`` queue one coalesced GitHub sync, ``Reply`` goes back to the caller; what an
  announcement carries, and when it is confidential, is bot.announcements'.
- A refused command changes nothing but an audit entry saying who tried what and why.
- Timers are derived from stored timestamps (``proposal.next_due_at``); ``tick`` fires what is
  due (bot.deadline_timers), so a deadline that passed while the bot was down fires at the next
  start, then runs the other areas' tick hooks.
- Commands other areas own (rollout, incidents, meetings, subscriptions) are routed to handlers
  registered with ``register``; an unregistered one gets an honest "not enabled here" reply.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot import announcements, commands_core, deadline_timers, feedback
from bot.clock import Clock
from bot.github_web import GITHUB_WEB, repo_page
from bot.identity import IdentityLinks
from bot.messages import Actor, Message
from bot.metrics import METRICS
from charter import commands as c
from charter.authz import Role, authorize_command, roles_for
from charter.effects import Announce, Audit, Comment, Effect, Notify, Reply, SetLabels, SyncTracking
from charter.feedback import Answer
from charter.grammar import parse_chat
from charter.lifecycle import is_open
from charter.load import LoadedCharter
from charter.model import Charter
from charter.proposal import Decision, Proposal, rules_for
from storage import audit, identities, outbox, proposals as repo
from storage.db import read_scope, session_scope

log = logging.getLogger("charterbot.service")

# A handler for a command owned by another area: (service, session, command, actor, now) -> Message
Handler = Callable[["Governance", Session, Any, Actor, datetime], Message]
# Run before authorization, same arguments: a refusal, or None to go on (Governance.register)
Precheck = Callable[["Governance", Session, Any, Actor, datetime], Message | None]
TickHook = Callable[["Governance", Session, datetime], int]
EventHandler = Callable[["Governance", Session, Any, datetime], None]
# Called after a proposal's state changed: (service, session, before, after, now)
StateListener = Callable[["Governance", Session, Proposal | None, Proposal, datetime], None]


@dataclass
class Outcome:
    """What applying a decision produced for the caller."""

    replies: list[Reply] = field(default_factory=list)


class Governance:
    def __init__(self, engine: Engine, loaded: LoadedCharter, clock: Clock) -> None:
        self.engine = engine
        self.loaded = loaded
        self.clock = clock
        self._handlers: dict[type, Handler] = {}
        self._prechecks: dict[type, Precheck] = {}
        self._event_handlers: dict[type, EventHandler] = {}
        self._tick_hooks: list[TickHook] = []
        self._state_listeners: list[StateListener] = []
        self.identity_links = IdentityLinks(self)
        self.on_change: Callable[[], None] = lambda: None  # wakes the relay and live views
        # How long a voting deadline waits for votes cast before it that are still on their way
        # (bot.settings deadline_grace); 0 decides at the deadline.
        self.vote_grace = timedelta(0)
        # Whether voting closes may fire at a moment: after a start, not before GitHub intake
        # has caught up (bot.intake_gate.IntakeGate); without a gate, always.
        self.closes_may_fire: Callable[[datetime], bool] = lambda now: True
        # The dashboard's address (bot.settings public_url): a chat answer cut to fit a
        # platform points there for the whole list; "" for none.
        self.public_url = ""
        # Whether public_url is only a guess: the console's, from its own HTTP settings, while
        # the server may listen elsewhere (bot.cli.console_cmd); links then say so.
        self.links_guessed = False
        # GitHub's web host (bot.github_web, from CHARTERBOT_GITHUB_API_URL): every link to an
        # issue, a release or a search starts there, github.com or an Enterprise Server.
        self.github_web = GITHUB_WEB

    @property
    def charter(self) -> Charter:
        return self.loaded.charter

    def page(self, path: str) -> str:
        """The dashboard page at ``path`` (``/rollouts``), where a chat answer cut to fit a
        platform can be read whole; "" when the dashboard's address is unknown."""
        return f"{self.public_url.rstrip('/')}{path}" if self.public_url else ""

    def github_page(self, path: str = "", repo: str | None = None) -> str:
        """A page of the charter repository (or ``repo``) on GitHub: ``/issues/7``, …"""
        return repo_page(self.github_web, repo or self.charter.github.repository, path)

    def rules_for(self, p: Proposal) -> Charter:
        """The charter that decides ``p``: the version it was opened under, when kept
        (charter.proposal.rules_for; bootstrap attaches the kept versions)."""
        return rules_for(p, self.charter)

    # -- extension points ----------------------------------------------------------------

    def register(
        self, command_type: type, handler: Handler, *, precheck: Precheck | None = None
    ) -> None:
        """Run ``command_type`` with ``handler``, after authorization. ``precheck`` runs before
        it and refuses what cannot work where it was typed, whoever typed it (``subscribe me``
        in the console): a refusal by role there would advise what fails there too."""
        self._handlers[command_type] = handler
        if precheck is not None:
            self._prechecks[command_type] = precheck

    def add_tick_hook(self, hook: TickHook) -> None:
        self._tick_hooks.append(hook)

    def add_state_listener(self, listener: StateListener) -> None:
        """Run ``listener`` in the same transaction whenever a proposal changes state."""
        self._state_listeners.append(listener)

    def register_event(self, event_type: type, handler: EventHandler) -> None:
        """Route inbound events of ``event_type`` (check runs, releases, …) to ``handler``."""
        self._event_handlers[event_type] = handler

    def dispatch_event(self, session: Session, event: object, now: datetime) -> None:
        handler = self._event_handlers.get(type(event))
        if handler is not None:
            handler(self, session, event, now)

    # -- applying decisions ----------------------------------------------------------------

    def apply(
        self, session: Session, decision: Decision, actor: Actor | str, now: datetime
    ) -> Outcome:
        """Save the proposal and carry out the decision's effects in ``session``'s transaction."""
        stored = repo.load(session, decision.proposal.number)
        base = stored or repo.Stored(decision.proposal)
        extra = dict(base.extra)
        rules = self.rules_for(decision.proposal)
        if decision.proposal.decided_at is not None and "decided_charter_version" not in extra:
            extra["decided_charter_version"] = rules.version  # the version that decided
        updated = replace(base, proposal=decision.proposal, extra=extra)
        repo.save(session, updated, rules, now)
        # Recorded under the version that decided: the proposal's own (its payload says so too).
        outcome = self.effects(
            session,
            decision.effects,
            actor,
            now,
            proposal=decision.proposal,
            charter_version=rules.version,
        )
        before = stored.proposal if stored is not None else None
        if before is None or before.state is not decision.proposal.state:
            for listener in self._state_listeners:
                listener(self, session, before, decision.proposal, now)
        return outcome

    def effects(
        self,
        session: Session,
        effects: Iterable[Effect],
        actor: Actor | str,
        now: datetime,
        *,
        proposal: Proposal | None = None,
        charter_version: int | None = None,
    ) -> Outcome:
        """Carry out ``effects`` in ``session``'s transaction. Audit entries record
        ``charter_version``, the version that decided (default: the running charter's)."""
        result = Outcome()
        version = self.charter.version if charter_version is None else charter_version
        for effect in effects:
            if isinstance(effect, Audit):
                audit.append(
                    session,
                    actor=actor,
                    kind=effect.kind,
                    subject=effect.subject,
                    payload=dict(effect.payload),
                    charter_version=version,
                    at=now,
                )
            elif isinstance(effect, Announce):
                announcements.announce(self, session, effect, now)
            elif isinstance(effect, SyncTracking | SetLabels):
                self.queue_sync(session, effect.proposal, now)
            elif isinstance(effect, Comment):
                key = f"comment:{effect.key}" if effect.key else None
                payload = {"proposal": effect.proposal, "body": effect.body}
                outbox.enqueue(session, kind="comment", payload=payload, now=now, key=key)
            elif isinstance(effect, Notify):
                payload = {"roles": list(effect.roles), "text": effect.text}
                key = f"notify:{effect.key}"
                outbox.enqueue(session, kind="notify", payload=payload, now=now, key=key)
            elif isinstance(effect, Reply):
                result.replies.append(effect)
            else:  # areas turn their own effect types into these before calling here
                raise TypeError(f"not a charter effect: {effect!r}")
        self.on_change()
        return result

    def queue_sync(self, session: Session, number: int, now: datetime) -> None:
        """Queue one coalesced sync of the GitHub tracking comment and one of the chat tracking
        messages (bot.chat_tracking); each relay renders the state current at send time."""
        for kind in ("sync-github", "sync-chat"):
            key = f"{kind}:{number}:pending"
            outbox.enqueue(session, kind=kind, payload={"proposal": number}, now=now, key=key)

    # -- timers ------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> int:
        """Fire every due deadline, then run every tick hook; returns how many things changed.

        Each hook runs in its own transaction, and one that fails does not keep the others from
        running (a stored row one hook cannot handle must not starve meeting reminders,
        watchdogs or the audit witness): its transaction rolls back, it is logged, and the tick
        raises the first failure once every hook had its turn, so the loop reports it."""
        now = now or self.clock.now()
        fired = 0
        with read_scope(self.engine) as session:
            numbers = repo.due(session, now, self.vote_grace)
        closes = bool(numbers) and self.closes_may_fire(now)
        for number in numbers:
            with session_scope(self.engine) as session:
                fired += deadline_timers.fire(self, session, number, now, closes=closes)
        failed: Exception | None = None
        for hook in self._tick_hooks:
            try:
                with session_scope(self.engine) as session:
                    fired += hook(self, session, now)
            except Exception as error:
                log.exception("tick hook %s failed", getattr(hook, "__qualname__", hook))
                failed = failed or error
        if failed is not None:
            raise failed
        return fired

    # -- commands ---------------------------------------------------------------------------

    async def run(self, text: str, actor: Actor) -> Message:
        """Parse and run one chat/console command (what follows ``/charter``)."""
        if isinstance(parse_chat(text), c.Link):
            started = await self.identity_links.start_device_flow(actor, self.clock.now())
            if started is not None:
                return started
        return await asyncio.to_thread(self.run_sync, text, actor)

    def run_sync(self, text: str, actor: Actor, now: datetime | None = None) -> Message:
        parsed = parse_chat(text)
        if isinstance(parsed, c.ParseError):
            METRICS.commands.labels(outcome="parse-error").inc()
            return Message.text_only(f"{parsed.message}\nUsage: {parsed.usage}", ok=False)
        now = now or self.clock.now()
        ids = {"command_id": uuid.uuid4().hex[:16], "surface": actor.surface}
        with session_scope(self.engine) as session:
            message = self.execute(session, parsed, actor, now)
        outcome = "ok" if message.ok else "refused"
        METRICS.commands.labels(outcome=outcome).inc()
        log.info("%s by %s: %s", type(parsed).__name__, actor.name, outcome, extra=ids)
        return message

    def execute(self, session: Session, command: Any, actor: Actor, now: datetime) -> Message:
        """Authorize and run one parsed command inside ``session``'s transaction. A vote or a
        concern taken answers the actor's feedback request on that proposal (bot.feedback)."""
        if isinstance(command, c.RequestFeedback):
            return feedback.request(self, session, command, actor, now).message
        message = commands_core.execute(self, session, command, actor, now)
        if message.ok and isinstance(command, c.CastVote | c.RaiseConcern) and command.n:
            how = Answer.VOTE if isinstance(command, c.CastVote) else Answer.CONCERN
            feedback.answered(self, session, command.n, actor, how, now)
        return message

    def handler_for(self, command: object) -> Handler | None:
        return self._handlers.get(type(command))

    def precheck_for(self, command: object) -> Precheck | None:
        return self._prechecks.get(type(command))

    def refuse(
        self, session: Session, actor: Actor, command: object, why: str, now: datetime
    ) -> Message:
        """A refused command changes nothing but an audit entry; the reply says why."""
        payload = {"command": type(command).__name__, "why": why, "surface": actor.surface}
        audit.append(
            session,
            actor=actor,
            kind="command-refused",
            subject=_subject_of(command),
            payload=payload,
            charter_version=self.charter.version,
            at=now,
        )
        return Message.text_only(why, ok=False)

    def authorize(
        self,
        session: Session,
        command: object,
        actor: Actor,
        now: datetime,
        *,
        proposal: Proposal | None,
        rollout_clients: Collection[str] | None = None,
    ) -> Message | None:
        """None when ``actor`` may run ``command``; else the refusal, audited. A command acting
        on a rollout passes its clients (``rollout_clients``) once it is loaded."""
        refusal = authorize_command(
            command,  # type: ignore[arg-type]
            actor,
            # Who holds a role is the running charter's; a vote's seats are the proposal's own
            # version's (the version it was opened under).
            self.rules_for(proposal)
            if proposal is not None and isinstance(command, c.CastVote)
            else self.charter,
            track=proposal.track if proposal else None,
            proposal_author=proposal.author if proposal else None,
            rollout_clients=rollout_clients,
        )
        return (
            None if refusal is None else self.refuse(session, actor, command, refusal.reason, now)
        )

    def is_coordinator(self, actor: Actor) -> bool:
        return Role.COORDINATOR in roles_for(actor, self.charter)

    def may_see_confidential(self, actor: Actor) -> bool:
        roles = roles_for(actor, self.charter)
        return bool({Role.COORDINATOR, Role.SECURITY_COUNCIL} & roles)

    # -- reads --------------------------------------------------------------------------------

    def load(self, number: int) -> repo.Stored | None:
        with read_scope(self.engine) as session:
            return repo.load(session, number)

    def listing(
        self, *, states: Sequence[str] = (), include_confidential: bool = False
    ) -> list[repo.Stored]:
        with read_scope(self.engine) as session:
            return repo.listing(session, states=states, include_confidential=include_confidential)

    # -- CommandCore for chat transports ----------------------------------------------------

    async def identity(self, surface: str, surface_id: str, display: str) -> Actor:
        def lookup() -> Actor:
            with read_scope(self.engine) as session:
                row = identities.lookup(session, surface, surface_id)
                login = row.login if row is not None else None
            return Actor(login=login, surface=surface, surface_id=surface_id, display=display)

        return await asyncio.to_thread(lookup)

    async def open_proposals(self, prefix: str) -> list[tuple[int, str]]:
        def query() -> list[tuple[int, str]]:
            items = self.listing(include_confidential=False)
            open_first = sorted(
                items, key=lambda s: (not is_open(s.proposal.state), -s.proposal.number)
            )
            return [
                (s.proposal.number, s.proposal.title)
                for s in open_first
                if str(s.proposal.number).startswith(prefix.lstrip("#"))
                or prefix.lower() in s.proposal.title.lower()
            ][:25]

        return await asyncio.to_thread(query)


def _subject_of(command: object) -> str:
    n = getattr(command, "n", None)
    return f"proposal:{n}" if isinstance(n, int) else "charter"


__all__ = ["Governance", "Handler", "Outcome"]
