"""A public call's agenda (a public GitHub issue) leaves out a confidential incident — one that
names or pauses an undisclosed security patch — and a failing gate it blocks names it only as
"a confidential incident"; a private call's agenda lists it, and an ordinary incident is listed
on both."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.meetings_agenda import agenda_for
from bot.meetings_lookup import resolve
from charter.meetings import AdhocMeeting
from storage.db import session_scope
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    MAINTAINER,
    World,
    form,
    person,
)
from tests.bot.rollouts.test_rollout_commands import decide

SECRET = "embargoed gossip exploit CVE-2026-0001"
ORDINARY = "flaky devnet peering"


def public_agenda(world: World, now: datetime) -> str:
    with session_scope(world.engine) as session:
        found = resolve(session, world.gov, "core-sync", now, person(COORDINATOR))
        assert not isinstance(found, str)
        return agenda_for(session, world.gov.charter, *found, now).body_markdown


def private_agenda(world: World, now: datetime) -> str:
    call = AdhocMeeting(
        "council-huddle",
        "Council huddle",
        now + timedelta(days=1),
        timedelta(hours=1),
        private=True,
    )
    with session_scope(world.engine) as session:
        return agenda_for(session, world.gov.charter, call, call.occurrence(), now).body_markdown


def test_the_public_agenda_leaves_a_confidential_incident_out(sqlite_engine: Engine) -> None:
    world = World(sqlite_engine)
    world.accept(1, form())
    for i, c in enumerate(CLIENTS):
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {f'{i + 1:x}' * 10}")
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "rollout 2")
    world.ok(COUNCIL, f'incident declare sev1 "{SECRET}" for 2 clients aurora')
    world.ok(COUNCIL, f'incident declare sev3 "{ORDINARY}"')
    now = world.clock.now()
    public = public_agenda(world, now)
    assert SECRET not in public
    assert f"sev3 2: {ORDINARY}" in public
    assert "a confidential incident (sev1) is open" in public  # #1's canary gate
    private = private_agenda(world, now)
    assert f"sev1 1: {SECRET}" in private and f"sev3 2: {ORDINARY}" in private
