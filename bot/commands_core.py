"""The proposal commands, run inside the service's transaction.

Each command: load the proposal it names → authorize (one ``authorize_command`` for all
commands) → the pure decision → ``Governance.apply`` → a ``Message``. Commands owned by other
areas go to the handler registered for their type.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.chat_views import listing_message, proposal_message, todo_message
from bot.messages import Actor, Message, ours
from bot.views import OPEN_STATES
from charter import commands as c
from charter.activation import move_activation
from charter.authz import Role, roles_for
from charter.grammar import help_lines
from charter.model import Charter
from charter.proposal import Decision
from charter.proposal_concerns import raise_concern, resolve_concern
from charter.proposal_transitions import withdraw
from charter.proposal_votes import cast_vote
from charter.rollout_facts import Rollout
from charter.seats import may_vote
from charter.todo import awaiting
from storage import (
    audit,
    feedback as feedback_store,
    meetings,
    proposals as repo,
    rollouts as rollout_store,
)

if TYPE_CHECKING:
    from bot.service import Governance

_PROPOSAL_COMMANDS = (c.CastVote, c.RaiseConcern, c.ResolveConcern, c.Withdraw, c.MoveActivation)


def execute(
    gov: Governance, session: Session, command: Any, actor: Actor, now: datetime
) -> Message:
    if isinstance(command, c.ListProposals):
        items = repo.listing(
            session, states=[s.value for s in OPEN_STATES], include_confidential=True
        )
        visible = [s for s in items if _visible(gov, s, actor)]
        return replace(listing_message(visible, gov.charter, now), more=gov.page("/proposals"))
    if isinstance(command, c.Show | c.Status):
        return _show(gov, session, command.n, actor, now)
    if isinstance(command, _PROPOSAL_COMMANDS):
        return _decide(gov, session, command, actor, now)
    if isinstance(command, c.Link):
        return gov.identity_links.start(session, actor, now)
    if isinstance(command, c.WhoAmI):
        return _whoami(gov, actor)
    if isinstance(command, c.Todo):
        return _todo(gov, session, actor, now)
    if isinstance(command, c.Help):
        return _help(command.topic, comment=actor.surface == "github")
    if isinstance(command, c.Disclose):
        return _disclose(gov, session, command, actor, now)
    handler = gov.handler_for(command)
    if handler is not None:
        precheck = gov.precheck_for(command)
        early = precheck(gov, session, command, actor, now) if precheck is not None else None
        refusal = early or gov.authorize(session, command, actor, now, proposal=None)
        return refusal or handler(gov, session, command, actor, now)
    name = type(command).__name__
    return Message.text_only(f"'{name}' is not enabled in this deployment of charterbot.", ok=False)


def _visible(gov: Governance, stored: repo.Stored, actor: Actor) -> bool:
    """Confidential proposals are seen, until disclosed, by coordinators, the security council
    and everyone who holds a seat or a veto on their track (they must be able to vote)."""
    rules = gov.rules_for(stored.proposal)
    track = rules.tracks.get(stored.proposal.track)
    if track is None or not track.confidential or stored.disclosed:
        return True
    if gov.may_see_confidential(actor):
        return True
    return actor.login is not None and may_vote(actor.login, track, rules)


def _load(gov: Governance, session: Session, n: int | None, actor: Actor) -> repo.Stored | Message:
    if n is None:
        return Message.text_only("Say which proposal, e.g. `/charter show 42`.", ok=False)
    stored = repo.load(session, n, for_update=True)
    if stored is None or not _visible(gov, stored, actor):
        return Message.text_only(f"There is no proposal #{n}.", ok=False)
    return stored


def _show(gov: Governance, session: Session, n: int | None, actor: Actor, now: datetime) -> Message:
    stored = _load(gov, session, n, actor)
    if isinstance(stored, Message):
        return stored
    # Listed like its concerns: whoever may see the proposal may see who was asked about it.
    asked = feedback_store.open_for(session, stored.proposal.number)
    return proposal_message(stored, gov.rules_for(stored.proposal), now, asked, actor.login)


def _decide(
    gov: Governance, session: Session, command: Any, actor: Actor, now: datetime
) -> Message:
    stored = _load(gov, session, command.n, actor)
    if isinstance(stored, Message):
        return stored
    p = stored.proposal
    refusal = gov.authorize(session, command, actor, now, proposal=p)
    if refusal is not None:
        return refusal
    login = actor.login or ""
    via = actor.surface if actor.surface != "system" else "github"
    rules = gov.rules_for(p)  # the charter version the proposal was opened under
    decision: Decision
    # An input that settles the outcome leaves the close to the timer, which waits the grace
    # for votes cast before it that are still on their way
    # (charter.proposal_transitions.close_if_settled).
    grace = gov.vote_grace
    if isinstance(command, c.CastVote):
        decision = cast_vote(p, rules, login, command.choice, command.reason, now, via, grace=grace)
    elif isinstance(command, c.RaiseConcern):
        decision = raise_concern(p, rules, login, command.name, command.text, now)
    elif isinstance(command, c.ResolveConcern):
        coordinator = gov.is_coordinator(actor)
        decision = resolve_concern(
            p, rules, login, command.name, now, may_resolve_any=coordinator, grace=grace
        )
    elif isinstance(command, c.MoveActivation):
        decision = move_activation(p, rules, command.target, command.reason, login, now)
    else:
        decision = withdraw(p, rules, login, gov.is_coordinator(actor), now)
    outcome = gov.apply(session, decision, actor, now)
    text = "\n".join(r.text for r in outcome.replies) or "Done."
    ok = all(r.ok for r in outcome.replies)
    return Message.text_only(text, ok=ok)


def _whoami(gov: Governance, actor: Actor) -> Message:
    if actor.login is None:
        return Message(
            lines=(
                ours(
                    "You are not linked to a GitHub login, so you can read but not act. "
                    + unlinked_remedy(actor.surface)
                ),
            )
        )
    client = gov.charter.client_of(actor.login)
    # A client's maintainer is named once, with the client: "maintainer of Borealis".
    roles = [
        f"{role} of {client.name}" if client and role == Role.MAINTAINER else role
        for role in sorted(roles_for(actor, gov.charter))
    ]
    return Message.text_only(f"You are {actor.login} ({', '.join(roles)}).")


def _todo(gov: Governance, session: Session, actor: Actor, now: datetime) -> Message:
    """What awaits the asker among the open proposals they may see, each judged by the charter
    version it was opened under, with the feedback asked of them there."""
    if actor.login is None:
        return Message(
            lines=(
                ours(
                    "You are not linked to a GitHub login, so no seat or concern is yours yet. "
                    + unlinked_remedy(actor.surface)
                ),
            )
        )
    items = repo.listing(session, states=[s.value for s in OPEN_STATES], include_confidential=True)
    mine = [(s.proposal, gov.rules_for(s.proposal)) for s in items if _visible(gov, s, actor)]
    asked = feedback_store.open_asking(session, actor.login)
    under_way = _rollouts_seen(gov, session)
    return todo_message(awaiting(mine, actor.login, now, asked, under_way), actor.login)


def _rollouts_seen(gov: Governance, session: Session) -> list[tuple[Rollout, str, Charter]]:
    """The rollouts under way with their proposal's title, whose drills owed :mod:`charter.todo`
    lists. Only the maintainers of a client in a rollout are owed a drill of it, and those see
    it even while it is confidential (:func:`bot.rollout_steps.visible`), so nobody else's ``todo``
    names it."""
    under_way: list[tuple[Rollout, str, Charter]] = []
    for rollout in rollout_store.rollouts(session, gov.charter, active_only=True):
        stored = repo.load(session, rollout.proposal)
        if stored is not None:
            under_way.append((rollout, stored.proposal.title, gov.charter))
    return under_way


def unlinked_remedy(surface: str) -> str:
    """How someone acting as no login comes to act as one, where they are: in chat they prove
    their login (``/charter link``); the console acts as whichever login it was started with."""
    if surface == "console":
        return "Start the console with `--as LOGIN` to act as a GitHub login."
    return "Run `/charter link` to prove which login is yours."


def _help(topic: str | None, *, comment: bool) -> Message:
    """``help [topic]`` in the form of the surface asked on: a GitHub comment gets the comment
    forms (``/vote approve``), chat the ``/charter`` ones; a group topic lists its commands."""
    lines = help_lines(topic, comment=comment)
    if topic:
        return Message.text_only("\n".join(lines))
    return Message(title="charterbot commands", lines=tuple((line,) for line in lines))


def _disclose(
    gov: Governance, session: Session, command: c.Disclose, actor: Actor, now: datetime
) -> Message:
    stored = _load(gov, session, command.n, actor)
    if isinstance(stored, Message):
        return stored
    refusal = gov.authorize(session, command, actor, now, proposal=stored.proposal)
    if refusal is not None:
        return refusal
    p = stored.proposal
    track = gov.rules_for(p).tracks.get(p.track)
    if track is None or not track.confidential:  # public from the start: nothing to record
        return Message.text_only(
            f"#{p.number} is not confidential; there is nothing to disclose.", ok=False
        )
    if stored.disclosed:
        return Message.text_only(f"#{p.number} is already disclosed.")
    disclosed = repo.Stored(p, stored.intake_problems, True, stored.extra)
    repo.save(session, disclosed, gov.rules_for(p), now)
    audit.append(
        session,
        actor=actor,
        kind="proposal-disclosed",
        subject=p.subject,
        payload={"by": actor.login},
        charter_version=gov.charter.version,
        at=now,
    )
    meetings.publish_adhoc(session, p.number)  # its go/no-go calls are no longer private
    gov.queue_sync(session, p.number, now)
    return Message.text_only(f"#{p.number} is disclosed; announcements now reach every channel.")
