"""Who may run which chat command, through the real service: every command × every role.

The roles are the reference charter's people: an unlinked chat user (anonymous), a linked
login the charter does not name (contributor), a client maintainer (carmen-borealis, Borealis),
a security-council member (kofi-sec) and a coordinator (ines-coord).

Rules proven here, by ``Governance.run_sync`` against a migrated store whose proposals came in
through the GitHub event handler:
- Each command is allowed exactly for the roles in ``TABLE`` (charter/authz.py's rules,
  written out by hand so a change to either shows up here).
- A refusal says why and what would allow it: the reply is authz's reason, and the same reason
  is appended to the audit log as one ``command-refused`` entry by the refused actor.
- An allowed command is never answered with an authorization refusal (a handler may still
  decline for other reasons, e.g. "there is no rollout yet").
- A command whose area is not installed (no handler registered) changes nothing and says so;
  its cells are skipped, and run as soon as the area is installed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.messages import Actor, Message, plain_text
from bot.runtime import Runtime
from bot.settings import Settings
from charter import commands as c
from charter.authz import authorize_command
from charter.grammar import parse_chat
from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import START, open_issue, valid_body

A, C, M, S, K = "anonymous", "contributor", "maintainer", "security-council", "coordinator"
ROLES = (A, C, M, S, K)
LOGINS = {
    A: None,
    C: "zoe-contributor",
    M: "carmen-borealis",
    S: "kofi-sec",
    K: "ines-coord",
}
EVERYONE = frozenset(ROLES)
LINKED = frozenset({C, M, S, K})
STAFF = frozenset({M, S, K})
COUNCIL = frozenset({S, K})
AUTHOR = "alice-aurora"  # wrote every proposal; none of the five roles above

# command text ({n}: a fresh proposal in its voting window; {a}: a charter-amendment one)
TABLE: list[tuple[str, frozenset[str]]] = [
    ("proposals", EVERYONE),
    ("show {n}", EVERYONE),
    ("status {n}", EVERYONE),
    ("help vote", EVERYONE),
    ("whoami", EVERYONE),
    ("todo", EVERYONE),
    ("link", EVERYONE),
    ("rollout {n}", EVERYONE),
    ("inventory {n}", EVERYONE),
    ("meetings", EVERYONE),
    ("subscriptions", EVERYONE),
    ("confirm abc123", EVERYONE),
    ("vote {n} approve looks right", frozenset({M})),  # protocol-change: client seats only
    ("reject {n} too risky", frozenset({M})),
    ("vote {a} approve", frozenset({M, K})),  # charter-amendment: clients and coordinators
    ("concern {n} perf: slows sync", STAFF),
    ("resolve {n} perf", STAFF),
    ("feedback {n} @emeka-cirrus gas numbers?", STAFF),  # who may vote or raise a concern
    ("withdraw {n}", frozenset({K})),  # the author or a coordinator
    ("disclose {n}", COUNCIL),
    ("ready {n} borealis staging v1.2.3", frozenset({M, K})),  # Borealis's maintainer
    ("ready {n} aurora staging v1.2.3", frozenset({K})),
    ("drill {n} borealis staging recovered 12m", frozenset({M, K})),  # its maintainer, override
    ("drill {n} aurora staging failed no resync", frozenset({K})),
    ("drill schedule {n} borealis staging in 2 days", frozenset({M, K})),
    ("drill schedule {n} aurora staging in 2 days", frozenset({K})),
    ("advance {n}", STAFF),
    ('advance {n} --override "gate is flaky"', frozenset({K})),  # rollout.override_roles
    ('rollout pause {n} "devnet forks"', frozenset({M, S, K})),  # then only its clients' (rollouts)
    ("rollout resume {n}", frozenset({K})),  # rollout.override_roles
    ('rollback {n} "bad release"', COUNCIL),
    ('rollback {n} borealis "bad release"', STAFF),
    ('flag fast-sync on "testing"', COUNCIL),
    ('activation {n} epoch 412000 "slipped"', frozenset({K})),
    ('incident declare sev2 "nodes crash" for {n}', STAFF),
    ("incident role lead @kofi-sec", STAFF),
    ("incident update #1 looking into it", STAFF),
    ("incident severity #1 sev3 contained", STAFF),
    ("incident resolve #1 fixed", STAFF),
    ("incident add #1 clients aurora", STAFF),
    ('meeting schedule "Go/no-go" 2026-12-20 15:00 for {n}', STAFF),
    ("meeting cancel core-sync", STAFF),
    ("meeting move core-sync 2026-12-24 15:00", STAFF),
    ("meeting decide ship it", frozenset({K})),
    ("meeting action @carmen-borealis write notes", STAFF),
    ("agenda add core-sync discuss the gas target", LINKED),
    ("subscribe me", LINKED),
    ("subscribe here", STAFF),  # announcements into a shared channel
    ("unsubscribe", LINKED),
]
VOTING_AT = START + timedelta(days=7, seconds=1)  # review (7d) is over for every proposal


@dataclass
class World:
    rt: Runtime
    protocol: Iterator[int]  # fresh protocol-change proposals, in voting
    amendment: Iterator[int]  # fresh charter-amendment proposals, in voting


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One store with a fresh proposal for every cell that names one, all in voting."""
    path: Path = tmp_path_factory.mktemp("authz") / "charterbot.db"
    rt = build(Settings(database_url=f"sqlite:///{path}"), clock=FixedClock(VOTING_AT))
    cells = sum(len(ROLES) for text, _ in TABLE if "{n}" in text)
    amendments = sum(len(ROLES) for text, _ in TABLE if "{a}" in text)
    amendment_body = valid_body(**{"protocol-change": "charter-amendment"})
    for number in range(1, cells + 1):
        open_issue(rt, number, valid_body())
    for number in range(cells + 1, cells + amendments + 1):
        open_issue(rt, number, amendment_body)
    rt.gov.tick(VOTING_AT)
    states = {s.proposal.track + ":" + s.proposal.state.value for s in rt.gov.listing()}
    assert states == {"protocol-change:voting", "charter-amendment:voting"}, states
    yield World(rt, iter(range(1, cells + 1)), itertools.count(cells + 1))
    rt.engine.dispose()


def actor(role: str) -> Actor:
    login = LOGINS[role]
    return Actor(login=login, surface="slack", surface_id=f"U0{role.upper()}", display=role)


def refusals(rt: Runtime, after: int) -> list[tuple[str, dict[str, str]]]:
    with session_scope(rt.engine) as session:
        found = audit_query.entries(session, kind="command-refused")
        return [(e.actor, audit.payload_of(e.payload)) for e in reversed(found) if e.seq > after]


def audit_head(rt: Runtime) -> int:
    with session_scope(rt.engine) as session:
        top = audit.head(session)
        return top[0] if top is not None else 0


def authz_reasons(world: World, command: c.Command, number: int | None) -> set[str]:
    """Every reason authz can give for ``command`` to any of the five roles."""
    stored = world.rt.gov.load(number) if number is not None else None
    reasons: set[str] = set()
    for role in ROLES:
        for track, author in ((None, None), (stored and stored.proposal.track, AUTHOR)):
            try:
                refusal = authorize_command(
                    command, actor(role), world.rt.gov.charter, track=track, proposal_author=author
                )
            except ValueError:  # a vote needs a track
                continue
            if refusal is not None:
                reasons.add(refusal.reason)
    return reasons


CELLS = [
    pytest.param(text, role, role in allowed, id=f"{text.split(' {')[0]}-{role}")
    for text, allowed in TABLE
    for role in ROLES
]


@pytest.mark.parametrize(("template", "role", "allowed"), CELLS)
def test_command_by_role(world: World, template: str, role: str, allowed: bool) -> None:
    """The command is allowed for exactly the roles in TABLE; a refusal is authz's reason,
    shown to the asker and appended once to the audit log as command-refused."""
    number = next(world.protocol) if "{n}" in template else None
    number = next(world.amendment) if "{a}" in template else number
    text = template.format(n=number, a=number)
    command = parse_chat(text)
    assert not isinstance(command, c.ParseError), command
    before = audit_head(world.rt)
    who = actor(role)

    reply: Message = world.rt.gov.run_sync(text, who, VOTING_AT)
    new = refusals(world.rt, before)
    reasons = authz_reasons(world, command, number)
    shown = plain_text(reply)
    assert "is not enabled in this deployment" not in shown, "every command has a handler"
    if allowed:
        assert not {p["why"] for _, p in new} & reasons, shown
        assert not reasons & {shown, shown.removeprefix("error: ")}, shown
        if isinstance(command, _SUCCEED_WHEN_ALLOWED):
            assert reply.ok and not new, shown
        return
    stored = world.rt.gov.load(number) if number is not None else None
    expected = authorize_command(
        command,
        who,
        world.rt.gov.charter,
        track=stored.proposal.track if stored and isinstance(command, _ON_PROPOSAL) else None,
        proposal_author=AUTHOR if stored and isinstance(command, _ON_PROPOSAL) else None,
    )
    assert expected is not None, f"authz allows {text!r} for {role}, the table does not"
    assert not reply.ok
    assert shown == "error: " + expected.reason
    assert expected.reason.endswith(".") and len(expected.reason) > 30  # says why, not "no"
    if role == A:
        assert "/charter link" in expected.reason
    assert new == [
        (
            f"slack:{who.surface_id}" if who.login is None else who.login,
            {"command": type(command).__name__, "surface": "slack", "why": expected.reason},
        )
    ]


# On a fresh proposal in voting these simply work once allowed.
_SUCCEED_WHEN_ALLOWED = (
    c.ListProposals,
    c.Show,
    c.WhoAmI,
    c.Link,
    c.CastVote,
    c.RaiseConcern,
    c.RequestFeedback,
)
# Commands the service authorizes against the proposal they name (track and author known).
_ON_PROPOSAL = (
    c.CastVote,
    c.RaiseConcern,
    c.ResolveConcern,
    c.RequestFeedback,
    c.Withdraw,
    c.Disclose,
)


def test_table_covers_every_chat_command() -> None:
    """Every command the chat grammar has (c.COMMAND_PRIVILEGE's keys) has a row."""
    from charter.authz import COMMAND_PRIVILEGE

    covered = {type(parse_chat(t.format(n=1, a=1))) for t, _ in TABLE}
    assert set(COMMAND_PRIVILEGE) <= covered, set(COMMAND_PRIVILEGE) - covered
