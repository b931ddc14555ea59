"""``incident add`` widens an open incident's scope, end to end: a newly named rollout pauses
at once (sev1, the reference charter's pause_on_incident), resolving lifts every hold, the new
scope reaches the incident's store and timeline, and a confidential proposal added to a public
incident is refused (the incident stays public) while a confidential incident may name it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.messages import plain_text
from bot.relay_fanout import announcement
from charter.subscriptions import recipients
from storage import audit, audit_query, incidents as incident_store, rollouts as store
from storage.dashboard_queries import confidential_incidents, secrets
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form, webhook
from tests.bot.rollouts.test_retrospective_incidents import complete, incidents
from tests.bot.rollouts.test_rollout_commands import audit_count, decide


def pauses(world: World, n: int) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
    assert rollout is not None
    return rollout.pauses


def started(world: World, *numbers: int) -> None:
    """Accepted proposals with active rollouts, each of its own client."""
    for n, client in zip(numbers, ("aurora", "borealis", "cirrus"), strict=False):
        world.accept(n, form(clients=(client,)))
        world.ok(MAINTAINER[client], f"ready {n} {client} staging 1.0.0 {client[0] * 40}")


def test_adding_a_proposal_pauses_it_and_resolving_lifts_both(world: World) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev1 "fork on canary" for 1')
    assert pauses(world, 1) == (("1", "incident 1 (sev1): fork on canary"),)
    assert pauses(world, 2) == ()
    said = world.ok(COORDINATOR, "incident add for #2")
    assert said == "Incident #1 now also concerns proposal #2. Paused: #2."
    assert pauses(world, 2) == (("1", "incident 1 (sev1): fork on canary"),)
    assert len(world.announced("#2 rollout paused")) == 1
    [news] = world.announced("now also concerns #2")
    assert news["data"]["proposals"] == [1, 2] and news["data"]["paused"] == [2]
    assert audit_count(world, "incident-scope-added") == 1
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
    assert incident is not None and incident.proposals == (1, 2)
    assert incident.timeline[-1].kind == "scope"
    said = world.ok(COORDINATOR, "incident resolve patched")
    assert pauses(world, 1) == () and pauses(world, 2) == ()
    assert "#1 resumed" in said and "#2 resumed" in said
    [review] = world.outbox("create-issue")  # the review's timeline shows the addition
    assert "[scope] @ines-coord: scope added: #2" in review["body"]


def test_adding_a_client_pauses_its_rollouts(world: World) -> None:
    started(world, 1, 2, 3)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    said = world.ok(COORDINATOR, "incident add #1 clients cirrus")
    assert said == "Incident #1 now also concerns client cirrus. Paused: #3."
    assert [bool(pauses(world, n)) for n in (1, 2, 3)] == [True, False, True]


def test_in_a_comment_the_issue_is_what_is_added(world: World) -> None:
    """``/incident add #1`` on issue #2 names #2 in incident 1, as a chat command would."""
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = 2
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=7_100_001, body="/incident add #1", created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = payload["sender"]["login"] = COORDINATOR
    world.deliver("issue_comment", payload)
    assert pauses(world, 2) == (("1", "incident 1 (sev1): fork"),)
    assert len(world.announced("Incident 1 (sev1) now also concerns #2")) == 1


@pytest.mark.parametrize(
    ("severity", "paused"), [("sev1", True), ("sev2", False)], ids=["at-pause", "below-pause"]
)
def test_only_an_incident_at_pause_on_incident_pauses_what_it_adds(
    world: World, severity: str, paused: bool
) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, f'incident declare {severity} "slow blocks" for 1')
    world.ok(COORDINATOR, "incident add for 2")
    assert bool(pauses(world, 2)) is paused


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("incident add for 1", "Incident #1 already names proposal #1; nothing added."),
        ("incident add for 9", "There is no proposal #9."),
        ("incident add clients zeta", "unknown client(s) zeta; use aurora, borealis"),
        ("incident add #7 for 2", "There is no incident #7."),
    ],
    ids=["already-named", "unknown-proposal", "unknown-client", "unknown-incident"],
)
def test_what_adds_nothing(world: World, command: str, reply: str) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    message = world.run(COORDINATOR, command)
    assert reply in plain_text(message)
    assert message.ok is (command == "incident add for 1")  # a no-op is not an error
    assert pauses(world, 2) == ()
    assert audit_count(world, "incident-scope-added") == 0


def test_a_resolved_incident_is_not_widened(world: World) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    world.ok(COORDINATOR, "incident resolve done")
    said = world.refused(COORDINATOR, "incident add #1 for 2")
    assert "incident 1 was resolved at" in said
    assert pauses(world, 2) == ()


def test_with_several_open_it_asks_which(world: World) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev2 "fork" for 1')
    world.ok(COORDINATOR, 'incident declare sev3 "peers drop" clients borealis')
    said = world.refused(COORDINATOR, "incident add for 2")
    assert "Several incidents are open (#1 (sev2: fork), #2 (sev3: peers drop))" in said


def test_a_contributor_may_not_add(world: World) -> None:
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    said = world.refused("zoe-contrib", "incident add for 2")
    assert said.endswith("may manage an incident; tell one of them what you know.")
    assert "comment on the proposal" not in said  # an incident command is not about one
    assert pauses(world, 2) == ()


PUBLIC = ["core-discord", "upgrades-slack", "operators-mail"]


def _channels(world: World, a: dict[str, Any]) -> list[str | None]:
    return [d.channel for d in recipients(announcement(a), world.gov.charter, [])]


def test_what_was_named_already_follows_what_was_added(world: World) -> None:
    """One sentence form for "already": after the news, never as a bare "#1"."""
    started(world, 1, 2)
    world.ok(COORDINATOR, 'incident declare sev2 "fork" for 1')
    said = world.ok(COORDINATOR, "incident add for 1,2 clients aurora")
    assert said.splitlines() == [
        "Incident #1 now also concerns proposal #2 and client aurora.",
        "Incident #1 already names proposal #1.",
    ]
    said = world.ok(COORDINATOR, "incident add clients aurora")
    assert said == "Incident #1 already names client aurora; nothing added."


def _embargoed(world: World) -> None:
    """#1 public (borealis), #2 an undisclosed security patch (aurora), both rolling out."""
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")


def _refusals(world: World) -> list[tuple[str, dict[str, object]]]:
    with session_scope(world.engine) as session:
        rows = audit_query.entries(session, kind="command-refused")
        return [(r.subject, audit.payload_of(r.payload)) for r in rows]


def test_a_public_incident_stays_public_when_asked_to_name_an_embargoed_patch(
    world: World,
) -> None:
    """Naming the undisclosed #2 in the public incident is refused, saying what to do instead:
    nothing is added or paused, its news and holds stay public, and the refusal is audited
    under #2 (withheld from the public log while #2 is), so nothing public ties the two.
    Someone who may not see #2 is told it does not exist."""
    _embargoed(world)
    world.ok(COUNCIL, 'incident declare sev1 "exploit seen on testnet" for 1')
    assert "There is no proposal #2." in world.refused(MAINTAINER["borealis"], "incident add for 2")
    said = world.refused(COUNCIL, "incident add #1 for 2 clients cirrus")
    assert said == (
        "error: Incident #1 is public and proposal #2 is confidential and not disclosed yet;"
        " naming it would hide the incident from the public from now on, so nothing was added."
        " Declare a separate confidential incident for it instead:"
        ' /charter incident declare <sev> "<summary>" for 2 — or disclose it first'
        " (/charter disclose 2), then add it."
    )
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
        assert confidential_incidents(session) == set()
        shown = secrets(session)
    assert incident is not None and (incident.proposals, incident.clients) == ((1,), ())
    assert pauses(world, 1) == (("1", "incident 1 (sev1): exploit seen on testnet"),)
    assert pauses(world, 2) == ()
    assert audit_count(world, "incident-scope-added") == 0
    subject, payload = _refusals(world)[0]  # the newest
    assert subject == "proposal:2" and payload["proposals"] == [2]
    assert "2" in {str(n) for n in shown.proposals}  # so the public log withholds it
    news = [a for a in world.outbox("announce") if a["kind"] == "incident"]
    assert [_channels(world, a) for a in news] == [PUBLIC]
    said = world.ok(COUNCIL, 'incident declare sev1 "exploit on testnet: the patch" for 2')
    assert said.startswith("Incident #2 declared (sev1).")


def test_a_confidential_incident_may_name_another_embargoed_patch(world: World) -> None:
    """An incident confidential already (it names the undisclosed #2) may name #3 too: its
    news stays on private channels, its holds say only "a confidential incident"."""
    _embargoed(world)
    world.open_issue(3, form(track="security-patch", clients=("cirrus",)), "Second fix")
    decide(world, 3)
    world.ok(COORDINATOR, "rollout 3")
    world.ok(COUNCIL, 'incident declare sev1 "exploit" for 2')
    said = world.ok(COUNCIL, "incident add for 3")
    assert said == "Incident #1 now also concerns proposal #3. Paused: #3."
    news = [a for a in world.outbox("announce") if a["kind"] == "incident"]
    assert [_channels(world, a) for a in news] == [[], []]
    for n in (2, 3):
        assert pauses(world, n) == (("1", "a confidential incident (sev1)"),)


def test_the_retrospective_lists_an_incident_that_named_it_later(world: World) -> None:
    """A sev2 (below pause_on_incident: it holds nothing) widened to #1 while #1 rolls out is
    listed in #1's retrospective, as one declared for #1 would be."""
    world.accept(1, form(clients=("aurora",)))
    world.accept(2, form(clients=("borealis",)))
    world.ok(COORDINATOR, 'incident declare sev2 "slow sync" for 2')
    world.ok(COORDINATOR, "incident add for 1")
    assert pauses(world, 1) == ()
    complete(world, 1)
    assert incidents(world, 1) == ["- incident 1 (sev2): slow sync"]
