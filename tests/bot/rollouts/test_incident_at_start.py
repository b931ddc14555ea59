"""A rollout that starts while an open incident at ``pause_on_incident`` (sev1) names it — by
number, by one of its clients, or by naming nothing — starts paused by that incident: audited
and announced as a declaration's pauses are. Its first stage waits, and is entered when the
incident is resolved. Such a hold on an embargoed rollout leaves a public incident public."""

from __future__ import annotations

import pytest

from charter.lifecycle import State
from storage import audit, audit_query, rollouts as store
from storage.dashboard_queries import confidential_incidents
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, H, World, form
from tests.bot.rollouts.test_rollout_commands import decide

PAIR = ("aurora", "borealis")
REASON = "incident 1 (sev1): chain halt on devnet"


def vote_through(world: World, n: int) -> None:
    """Review, vote and close an opened proposal: the rest of ``World.accept``."""
    track = world.gov.charter.tracks["protocol-change"]
    world.later(track.review + H)
    world.tick()
    for login in MAINTAINER.values():
        world.ok(login, f"approve {n} ok")
    world.later(track.confirm + H)  # type: ignore[operator]
    world.tick()
    assert world.state(n) is State.ACCEPTED


def pauses(world: World, n: int) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
        assert rollout is not None
        return rollout.pauses


def paused_records(world: World, n: int) -> list[dict[str, object]]:
    with session_scope(world.engine) as session:
        rows = audit_query.entries(session, subject=f"rollout:{n}", kind="rollout-paused")
        return [audit.payload_of(r.payload) for r in rows]


@pytest.mark.parametrize(
    ("declared", "held"),
    [
        ('incident declare sev1 "chain halt on devnet" for 1', True),
        ('incident declare sev1 "chain halt on devnet"', True),  # names everything
        ('incident declare sev1 "chain halt on devnet" clients borealis', True),
        ('incident declare sev1 "chain halt on devnet" clients cirrus', False),
        ('incident declare sev2 "chain halt on devnet" for 1', False),  # below sev1
    ],
    ids=["by-number", "everything", "its-client", "other-client", "below-sev1"],
)
def test_a_rollout_starting_during_an_incident_that_names_it_starts_paused(
    world: World, declared: str, held: bool
) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, declared)
    vote_through(world, 1)
    assert pauses(world, 1) == ((("1", REASON),) if held else ())
    started = {"incident": "1", "reason": REASON, "at_start": True}
    assert paused_records(world, 1) == ([started] if held else [])
    assert bool(world.announced("#1 rollout paused")) is held
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
    assert world.state(1) is (State.ACCEPTED if held else State.ROLLING_OUT)


def test_resolving_the_incident_lifts_the_hold_and_enters_the_first_stage(world: World) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, 'incident declare sev1 "chain halt on devnet"')
    vote_through(world, 1)
    for client in PAIR:
        said = world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
    assert said.endswith(f"#1 is paused ({REASON}): it enters staging once resumed")
    assert world.ok(COORDINATOR, "incident resolve fixed").splitlines()[:2] == [
        "Incident #1 resolved.",
        "#1 resumed; it entered staging",
    ]
    assert pauses(world, 1) == ()
    assert world.state(1) is State.ROLLING_OUT


def test_a_resolved_incident_holds_nothing(world: World) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, 'incident declare sev1 "chain halt on devnet" for 1')
    world.ok(COORDINATOR, "incident resolve fixed")
    vote_through(world, 1)
    assert pauses(world, 1) == ()


EMEKA = MAINTAINER["cirrus"]  # may not see an embargoed aurora fix


@pytest.mark.parametrize(
    "declared",
    [
        'incident declare sev1 "aurora nodes crash" clients aurora',
        'incident declare sev1 "aurora nodes crash"',  # names everything
    ],
    ids=["its-client", "everything"],
)
def test_a_public_incident_stays_public_when_an_embargoed_rollout_starts_held(
    world: World, declared: str
) -> None:
    """The embargoed #2 starts held by the public incident (its own rollout, withheld, says
    so); staff who may not see #2 still work on the incident, and nothing public changes."""
    world.ok(COORDINATOR, declared)
    assert world.ok(EMEKA, "incident update #1 restarts help") == "Update added to incident #1."
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    assert pauses(world, 2) == (("1", "incident 1 (sev1): aurora nodes crash"),)
    with session_scope(world.engine) as session:
        assert confidential_incidents(session) == set()
    assert world.ok(EMEKA, "incident update #1 still crashing") == "Update added to incident #1."
    assert world.ok(EMEKA, 'incident severity #1 sev2 "contained"') == "Incident #1 is now sev2."
    said = world.ok(EMEKA, 'incident severity #1 sev1 "back"')  # #2 is not paused anew
    assert said == "Incident #1 is now sev1."
    assert world.ok(COUNCIL, "incident resolve #1 fixed").splitlines()[:2] == [
        "Incident #1 resolved.",
        "#2 resumed",
    ]


@pytest.mark.parametrize(
    ("declared", "secret"),
    [
        ('incident declare sev1 "aurora nodes crash" clients aurora', False),
        ('incident declare sev1 "aurora nodes crash"', False),  # names everything
        ('incident declare sev1 "aurora nodes crash" for 2', True),  # names it by number
    ],
    ids=["its-client", "everything", "by-number"],
)
def test_a_later_pause_of_an_embargoed_rollout(world: World, declared: str, secret: bool) -> None:
    """An incident declared while the embargoed rollout runs, naming its client or naming
    nothing, holds it as if it had started under it, and stays public
    (test_incident_client_embargo); one that names it by number pauses it and is
    confidential."""
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, declared)
    with session_scope(world.engine) as session:
        assert confidential_incidents(session) == ({"1"} if secret else set())
    assert pauses(world, 2) == (
        (("1", "a confidential incident (sev1)"),)
        if secret
        else (("1", "incident 1 (sev1): aurora nodes crash"),)
    )
    probe = world.run(EMEKA, "incident update #1 probe")
    assert probe.ok is not secret


def audits(world: World, n: int, kind: str) -> list[dict[str, object]]:
    with session_scope(world.engine) as session:
        rows = audit_query.entries(session, subject=f"rollout:{n}", kind=kind)
        return [audit.payload_of(r.payload) for r in rows]


FIX = "it is the fix for incident 1"


def test_an_override_role_rolls_out_the_fix_for_the_open_incident(world: World) -> None:
    """A network-wide sev1 is open; its embargoed fix #2 starts held by it. A plain resume is
    refused, pointing at the override; a maintainer may not override; a coordinator's
    ``--override`` lifts the hold on #2 alone (audited with the reason, announced), #2 enters
    staging, and the incident stays open: it still holds #1 and blocks advancing #2 (unless
    overridden at advance)."""
    world.accept(1, form(clients=PAIR))
    world.ok(COUNCIL, 'incident declare sev1 "chain halt: aurora consensus bug"')
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    aurora = MAINTAINER["aurora"]
    world.ok(aurora, "ready 2 aurora staging 1.0.1 abcdef1")
    plain = world.refused(COORDINATOR, 'rollout resume 2 "it is the fix"')
    assert 'or on this rollout alone by `/charter rollout resume 2 --override "<reason>"`' in plain
    denied = world.refused(aurora, f'rollout resume 2 --override "{FIX}"')
    assert "may resume a rollout; ask one of them" in denied
    said = world.ok(COORDINATOR, f'rollout resume 2 --override "{FIX}"')
    assert said.startswith("#2 resumed; it entered staging; the incident stays open")
    assert pauses(world, 2) == ()
    assert pauses(world, 1) == (("1", "incident 1 (sev1): chain halt: aurora consensus bug"),)
    assert audits(world, 2, "rollout-resumed") == [
        {
            "incident": None,
            "incidents": ["1"],
            "by": COORDINATOR,
            "still_paused": False,
            "override": FIX,
        }
    ]
    [shout] = world.announced("#2 rollout resumed")
    assert str(shout["text"]).startswith(f"Resumed by {COORDINATOR} over ")
    assert f"Override: {FIX}" in str(shout["text"])
    assert world.state(2) is State.ROLLING_OUT
    world.ok(aurora, "ready 2 aurora canary 1.0.1 abcdef1")
    assert "incident" in world.refused(COORDINATOR, "advance 2 to canary")
    world.ok(COORDINATOR, f'advance 2 to canary --override "{FIX}"')
    resolved = world.ok(COUNCIL, "incident resolve #1 fixed").splitlines()
    assert resolved[:2] == ["Incident #1 resolved.", "#1 resumed"]
