"""Through the real service: once the production go/no-go call is cancelled by hand and none
replaces it, the go/no-go gate's failing reason says so and names the commands that go on
(those of the cancel's reply) — in `rollout <n>` and the dashboard's gate rows; a call
scheduled again brings the plain reason back. A confidential rollout's private call is named
only to those who may see the rollout: the public dashboard never names it."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from bot.messages import plain_text
from bot.web import fast_views
from bot.web.queries import Reader
from charter.lifecycle import State
from storage import proposals as repo, rollouts as rollout_store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, D, H, World, form
from tests.bot.rollouts.test_go_no_go_cancel import (
    CALL,
    listed,
    row,
    scheduled_on_canary,
    with_meetings,
)
from tests.bot.rollouts.test_rollback_gates import PAIR, green, ready, ready_for_canary

PLAIN = "go/no-go: no decision recorded for production"
HAND = (
    f"{PLAIN}; its call {CALL} was cancelled by hand and none replaces it: a coordinator may"
    f" hold it again (/charter meeting schedule {CALL} <when>), or the override roles advance"
    ' past it (/charter advance 1 to production --override "<where and what was decided>")'
)


def gate_line(shown: str) -> str:
    """The go/no-go line of a `rollout <n>` reply."""
    [found] = [ln.strip() for ln in shown.splitlines() if "go/no-go:" in ln]
    return found


def dashboard_reasons(world: World) -> list[str]:
    """The go/no-go reasons of every rollout on the public dashboard: the proposal page, the
    overview's failing gates and the rollouts page (built in batches)."""
    now = world.clock.now()
    found = []
    view = Reader(world.gov, now).proposal(1)
    if view is not None:
        found += [g["reason"] for g in view["rollout"]["gates"] if g["gate"] == "go_no_go"]
    for _, bad in fast_views.overview(world.gov, now)["failing"]:
        found += [g["reason"] for g in bad if g["gate"] == "go_no_go"]
    views, _, _ = fast_views.rollouts_page(world.gov, now, 1)
    for v in views:
        found += [g["reason"] for g in v["gates"] if g["gate"] == "go_no_go"]
    return found


def token_of(reply: str) -> str:
    found = re.search(r"/charter confirm (\S+)", reply)
    assert found is not None, reply
    return found.group(1)


def test_the_gate_says_the_call_was_cancelled_by_hand_until_one_is_scheduled_again(
    sqlite_engine: Engine,
) -> None:
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {PLAIN}"
    world.ok(COORDINATOR, f"meeting cancel {CALL}")
    for _ in range(3):  # the ticks past the soak's end store no call in its place
        world.later(D)
        world.tick()
        assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {HAND}"
    assert gate_line(world.ok(None, "rollout 1")) == f"FAIL {HAND}"  # a public rollout
    assert f"- {HAND}\n" in world.refused(COORDINATOR, "advance 1") + "\n"  # the refusal too
    reasons = dashboard_reasons(world)
    assert len(reasons) == 3 and all(f"its call {CALL} was cancelled by hand" in r for r in reasons)
    preview = world.ok(COORDINATOR, f"meeting schedule {CALL} in 2 days")
    assert "Scheduled" in world.ok(COORDINATOR, f"confirm {token_of(preview)}")
    assert f"{CALL}-2" in listed(world)
    assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {PLAIN}"
    assert not [r for r in dashboard_reasons(world) if "cancelled by hand" in r]


def test_a_call_cancelled_by_hand_no_longer_stands_once_the_soak_restarts(
    sqlite_engine: Engine,
) -> None:
    """After the cancel, borealis is rolled back below canary and canary is entered again: a
    new soak, for which the bot stores a new call when it nears its end, so the reason is the
    plain one again (the cancelled call was for the earlier soak)."""
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    world.ok(COORDINATOR, f"meeting cancel {CALL}")
    assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {HAND}"
    world.later(H)
    world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "fee bug"')
    ready(world, "borealis", "canary", "1.0.1", "c" * 40)
    green(world, "borealis", "canary", "c" * 40)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {PLAIN}"
    world.later(12 * D + 2 * H)
    world.tick()
    assert f"{CALL}-2" in listed(world)


def confidential_cancelled(world: World) -> None:
    """An undisclosed security patch #1 on canary, its private production call cancelled by a
    coordinator in chat."""
    world.open_issue(1, form(track="security-patch", clients=PAIR), "Embargoed fix")
    world.later(H)
    world.tick()
    for login in (*MAINTAINER.values(), COUNCIL):
        if world.state(1) is State.VOTING:
            world.ok(login, "approve 1 ship it")
    world.later(49 * H)  # the 48h vote closes
    world.tick()
    assert world.state(1) is State.ACCEPTED
    ready_for_canary(world)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    world.later(12 * D + 2 * H)
    world.tick()
    assert row(world).private
    world.ok(COORDINATOR, f"meeting cancel {CALL}")


def test_a_private_call_is_named_only_to_those_who_may_see_the_rollout(
    sqlite_engine: Engine,
) -> None:
    """A coordinator's `rollout 1` names the private call; the public sees neither the rollout
    nor the call, and the dashboard's batch of gates would not name a private call even for a
    rollout it were given."""
    world = with_meetings(World(sqlite_engine))
    confidential_cancelled(world)
    assert gate_line(world.ok(COORDINATOR, "rollout 1")) == f"FAIL {HAND}"
    hidden = plain_text(world.run(None, "rollout 1"))
    assert CALL not in hidden and "cancelled by hand" not in hidden
    now = world.clock.now()
    assert dashboard_reasons(world) == []
    assert CALL not in repr(fast_views.overview(world.gov, now))
    with session_scope(world.engine) as session:
        stored = repo.load(session, 1)
        rollout = rollout_store.load_rollout(session, 1, world.gov.charter)
        assert stored is not None and rollout is not None
        [(_, _, _, gates)] = fast_views.gated(world.gov, session, [(stored, rollout)], now)
    assert [g.reason for g in gates if g.gate == "go_no_go"] == [PLAIN]


def test_a_private_call_of_a_disclosed_rollout_is_not_named(sqlite_engine: Engine) -> None:
    """Disclosing the patch makes its calls public (``meetings.publish_adhoc``); a call still
    marked private is kept out of the reason everyone may now read."""
    world = with_meetings(World(sqlite_engine))
    confidential_cancelled(world)
    world.ok(COUNCIL, "disclose 1")
    assert gate_line(world.ok(None, "rollout 1")) == f"FAIL {HAND}"
    with session_scope(world.engine) as session:
        call = session.get(AdhocMeetingRow, CALL)
        assert call is not None
        call.private = True
    assert gate_line(world.ok(None, "rollout 1")) == f"FAIL {PLAIN}"
    assert not [r for r in dashboard_reasons(world) if "cancelled by hand" in r]
