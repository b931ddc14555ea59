"""What incident commands accept: a proposal the declarer may not see is one that does not
exist (a hidden confidential rollout can be neither confirmed nor paused by naming it), and a
role holder given as a chat mention is the GitHub login that chat user linked."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.messages import Actor, plain_text
from storage import incidents as incident_store, rollouts as store
from storage.db import session_scope
from tests.bot.mentions import LINKED, UNLINKED, link
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form
from tests.bot.rollouts.test_rollout_commands import decide


@pytest.fixture
def embargoed(sqlite_engine: Engine) -> World:
    """The security patch #2 for aurora accepted and started; dorado may not see it."""
    world = World(sqlite_engine)
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "rollout 2")
    return world


def pauses(world: World, n: int) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
        assert rollout is not None
        return rollout.pauses


def test_a_hidden_proposal_is_answered_as_a_missing_one(embargoed: World) -> None:
    outsider = MAINTAINER["dorado"]
    missing = embargoed.refused(outsider, 'incident declare sev1 "probe" for 99')
    hidden = embargoed.refused(outsider, 'incident declare sev1 "probe" for 2')
    assert missing == "error: There is no proposal #99."
    assert hidden == "error: There is no proposal #2."
    assert pauses(embargoed, 2) == ()
    with session_scope(embargoed.engine) as session:
        assert incident_store.incidents(session) == []


@pytest.mark.parametrize("login", [MAINTAINER["aurora"], COUNCIL], ids=["its-client", "council"])
def test_who_may_see_the_proposal_may_name_it(embargoed: World, login: str) -> None:
    said = embargoed.ok(login, 'incident declare sev1 "exploit seen" for 2')
    assert said.endswith("Paused: #2.")
    assert [key for key, _ in pauses(embargoed, 2)] == ["1"]


def run(world: World, text: str, surface: str) -> tuple[bool, str]:
    actor = Actor(login=COUNCIL, surface=surface, surface_id="U0KOFI", display="Kofi")
    message = world.gov.run_sync(text, actor)
    return message.ok, plain_text(message)


@LINKED
def test_a_mention_is_the_login_its_user_linked(world: World, surface: str, user: str) -> None:
    link(world.engine, "slack", "U0BOB", world.clock.now())
    link(world.engine, "discord", "417", world.clock.now())
    world.ok(COUNCIL, 'incident declare sev2 "peering storm"')
    ok, said = run(world, f"incident role lead {user}", surface)
    assert ok, said
    assert said == "bob-borealis is now lead for incident 1"
    assert world.outbox("direct-message")[-1]["login"] == "bob-borealis"
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
        assert incident is not None
        assert incident.roles == {"lead": "bob-borealis"}


@UNLINKED
def test_a_mention_without_a_link_is_refused(world: World, surface: str, user: str) -> None:
    link(world.engine, "slack", "U0BOB", world.clock.now())
    world.ok(COUNCIL, 'incident declare sev2 "peering storm"')
    ok, said = run(world, f"incident role lead {user}", surface)
    assert not ok
    assert said == (
        "error: The person you mentioned has not linked a GitHub login here, so the role cannot "
        "be given to them: name their GitHub login instead"
        " (/charter incident role lead @their-login), "
        "or ask them to run /charter link first."
    )
    assert world.outbox("direct-message") == []
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
        assert incident is not None and incident.roles == {}
