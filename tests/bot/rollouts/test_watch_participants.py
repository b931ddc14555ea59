"""Who counts as having answered a proposal in review (``no-maintainer-response``), and the
activation target as the watchdogs read it (bot.rollout_watch).

The reference charter escalates a proposal in review for 3d with no comment or vote from any
client maintainer. Every sign of a maintainer taking part that the system records counts:
concerns raised or resolved, commands about the proposal (refused ones too: the maintainer
spoke up), GitHub comments, votes. The author keeping their own issue (opening it, editing its
form, applied or refused) does not.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.rollout_watch import participants, snapshot
from charter.concerns import Concern
from charter.lifecycle import State
from charter.proposal import Proposal
from charter.votes import Choice, Vote
from storage.db import session_scope
from storage.rollout_record import Act
from tests.bot.rollouts.conftest import (
    COORDINATOR,
    MAINTAINER,
    START,
    D,
    H,
    World,
    form,
    webhook,
)
from tests.paths import reference_charter_text

AUTHOR = MAINTAINER["aurora"]  # alice-aurora, a client maintainer, opens every proposal here
OTHER = MAINTAINER["borealis"]  # carmen-borealis
QUIET = "with no comment or vote from any client maintainer"


def issue(world: World, action: str, body: str, *, sender: str = AUTHOR) -> None:
    """An ``issues`` delivery for #1 by its author (the sender is who acted, as on GitHub)."""
    payload = copy.deepcopy(webhook("issues", "opened"))
    payload["action"] = action
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"].update(number=1, title="Raise the gas target", body=body)
    payload["issue"]["user"]["login"] = AUTHOR
    payload["issue"]["labels"] = [{"name": world.gov.charter.github.proposal_label}]
    payload["issue"]["updated_at"] = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["sender"]["login"] = sender
    if action == "edited":
        payload["changes"] = {"body": {"from": "before"}}
    world.deliver("issues", payload)


def comment(world: World, login: str, body: str) -> None:
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = 1
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=4242, body=body, created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = login
    payload["sender"]["login"] = login
    world.deliver("issue_comment", payload)


def _edit_applied(w: World) -> None:
    w.later(H)
    issue(w, "edited", form(likelihood=3))


def _edit_refused(w: World) -> None:  # a track change in review is refused (audited)
    w.later(H)
    issue(w, "edited", form(track="feature-flag"))


def _concern_resolved(w: World) -> None:
    w.ok(OTHER, "concern 1 gas-limit: too high for our devnets")
    w.ok(OTHER, "resolve 1 gas-limit")


Step = Callable[[World], object]


@pytest.mark.parametrize(
    ("act", "escalates"),
    [
        (lambda w: None, True),
        (_edit_applied, True),
        (_edit_refused, True),
        (lambda w: w.refused(AUTHOR, "withdraw 2"), True),  # about another proposal
        (lambda w: w.ok(COORDINATOR, "concern 1 scope: needs a spec"), True),
        (lambda w: w.run(None, "concern 1 scope: needs a spec"), True),  # not linked to a login
        (lambda w: w.ok(OTHER, "concern 1 gas-limit: too high for our devnets"), False),
        (_concern_resolved, False),
        (lambda w: w.refused(OTHER, "approve 1 ship it"), False),  # voting is not open yet
        (lambda w: w.refused(OTHER, "withdraw 1"), False),  # only the author or a coordinator
        (lambda w: comment(w, OTHER, "Looks fine for borealis."), False),
    ],
    ids=[
        "silence",
        "author-edits-form",
        "author-edit-refused",
        "author-command-about-another-proposal",
        "coordinator-concern",
        "unlinked-chat-user",
        "maintainer-concern",
        "maintainer-concern-resolved",
        "maintainer-vote-refused-in-review",
        "maintainer-withdraw-refused",
        "maintainer-github-comment",
    ],
)
def test_any_recorded_maintainer_participation_silences_the_escalation(
    sqlite_engine: Engine, act: Step, escalates: bool
) -> None:
    """After 3d 1h in review, coordinators hear of #1 only if no client maintainer took part in
    it in any way the system records; the author keeping the issue is not taking part."""
    world = World(sqlite_engine)
    issue(world, "opened", form())
    assert world.state(1) is State.REVIEW
    act(world)
    assert world.state(1) is State.REVIEW
    world.later(3 * D + H)
    world.tick()
    fired = [n for n in world.outbox("notify") if QUIET in n["text"]]
    assert [n["roles"] for n in fired] == ([["coordinators"]] if escalates else [])


P = Proposal(
    number=1,
    title="t",
    author="Alice-Aurora",  # logins compare case-insensitively
    track="protocol-change",
    state=State.REVIEW,
    fields={},
    charter_version=3,
    created_at=START,
)
ALICE = "alice-aurora"
APPROVE = Vote("hana-eridanus", Choice.APPROVE, "", START)
RAISED = Concern("c", "x", "carmen-borealis", START)
RESOLVED = Concern("c", "x", "ines-coord", START, "fatima-dorado", START)  # by a coordinator


@pytest.mark.parametrize(
    ("proposal", "commenters", "acts", "expected"),
    [
        (P, (), (), ()),
        (P, ("emeka-cirrus",), (), ("emeka-cirrus",)),
        (replace(P, votes=(APPROVE,)), (), (), ("hana-eridanus",)),
        (replace(P, concerns=(RAISED,)), (), (), ("carmen-borealis",)),
        (replace(P, concerns=(RESOLVED,)), (), (), ("fatima-dorado", "ines-coord")),
        (P, (), (Act(ALICE, "proposal-opened"), Act(ALICE, "review-started")), ()),
        (P, (), (Act("alice-aurora", "proposal-edited-in-review"),), ()),
        (P, (), (Act("alice-aurora", "proposal-edited-after-voting"),), ()),
        (P, (), (Act("alice-aurora", "command-refused", "edit"),), ()),
        (P, (), (Act("alice-aurora", "command-refused", "CastVote"),), ("alice-aurora",)),
        (P, (), (Act("bob-aurora", "proposal-edited-in-review"),), ("bob-aurora",)),
        (P, (), (Act("carmen-borealis", "concern-raised"),), ("carmen-borealis",)),
        (P, (), (Act("slack:U123", "command-refused", "Withdraw"),), ("slack:U123",)),
    ],
    ids=[
        "nobody",
        "commenter",
        "voter",
        "concern-raiser",
        "concern-resolver",
        "author-opens",
        "author-edits",
        "author-edits-late",
        "author-edit-refused",
        "author-command-refused",
        "someone-else-edits",
        "audited-command",
        "unlinked-actor",
    ],
)  # fmt: skip
def test_participants_are_everyone_recorded_but_the_author_keeping_the_issue(
    proposal: Proposal,
    commenters: tuple[str, ...],
    acts: tuple[Act, ...],
    expected: tuple[str, ...],
) -> None:
    """``participants`` joins votes, comments, concerns and audited acts; the watchdogs then
    keep the client maintainers among them."""
    assert participants(proposal, commenters, acts) == expected


MOVED = reference_charter_text().replace("timezone: UTC ", "timezone: Europe/Berlin ", 1)


@pytest.mark.parametrize(
    ("charter_text", "typed", "stored", "at"),
    [
        (None, "2026-09-01T14:00", "2026-09-01T14:00Z", datetime(2026, 9, 1, 14, tzinfo=UTC)),
        (MOVED, "2026-09-01T14:00", "2026-09-01T12:00Z", datetime(2026, 9, 1, 12, tzinfo=UTC)),
        (MOVED, "2026-09-01T14:00Z", "2026-09-01T14:00Z", datetime(2026, 9, 1, 14, tzinfo=UTC)),
    ],
    ids=["bare-utc-charter", "bare-berlin-charter", "explicit-zone"],
)
def test_a_bare_activation_time_is_stored_in_utc_so_the_watchdogs_read_it_as_meant(
    sqlite_engine: Engine, charter_text: str | None, typed: str, stored: str, at: datetime
) -> None:
    """``activation`` reads a bare time in ``charter.timezone`` and stores UTC text with Z (the
    issue form refuses a bare time), so the watchdogs never see a bare time: they read the
    stored target without a zone and get the instant that was meant."""
    assert "timezone: UTC " in reference_charter_text()
    world = World(sqlite_engine, charter_text)
    world.accept(1, form())
    world.ok(COORDINATOR, f'activation 1 {typed} "devnet schedule"')
    loaded = world.gov.load(1)
    assert loaded is not None and loaded.proposal.fields["activation"] == stored
    with session_scope(sqlite_engine) as session:
        [status] = snapshot(world.gov, session).proposals
    assert status.activation_at == at
