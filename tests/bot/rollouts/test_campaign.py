"""A full campaign: five clients carried through staging, canary and production, with every
gate enforced and every exception recorded, on SQLite and PostgreSQL.

#1 (protocol-change, all five clients) goes all the way; #2 (feature-flag, three clients, risk
4 × 5 = 20 above the charter's 15) needs an override to leave staging; #3 sits in review with no
maintainer response. A sev1 incident naming #1 and #2 pauses both at once.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine
from sqlmodel import select

from bot import rollouts
from charter.lifecycle import State
from storage import audit, rollouts as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    MAINTAINER,
    D,
    H,
    World,
    form,
)


def sha(client: str, stage: str, build: int = 1) -> str:
    return hashlib.sha256(f"{client}/{stage}/{build}".encode()).hexdigest()[:40]


def report(world: World, n: int, client: str, stage: str, version: str, build: int = 1) -> str:
    ref = sha(client, stage, build)[:12]  # abbreviated, as people type it
    return world.ok(MAINTAINER[client], f"ready {n} {client} {stage} {version} {ref} build {build}")


def kinds(world: World) -> list[str]:
    with session_scope(world.engine) as session:
        return [e.kind for e in session.exec(select(AuditEntry).order_by(AuditEntry.seq)).all()]


def notifications(world: World) -> list[str]:
    return [n["text"] for n in world.outbox("notify")]


def test_five_clients_through_three_stages(engine: Engine) -> None:
    """Every gate is enforced, every exception (override, incident, rollback) is recorded and
    announced, the watchdogs fire once per condition, and the audit chain verifies."""
    world = World(engine)
    libraries = "libp2p >= 0.53"  # names no client: the prerequisites gate does not apply
    world.accept(1, form(prerequisites=libraries))
    world.accept(
        2,
        form(
            track="feature-flag",
            clients=CLIENTS[:3],
            flag="fee_market_v2",
            likelihood=4,
            impact=5,
            prerequisites=libraries,
        ),
    )
    world.open_issue(3, form(), "Quiet proposal")
    assert world.state(3) is State.REVIEW

    # -- staging: four report by command, eridanus by a GitHub release ------------------------
    refusal = world.refused(COORDINATOR, "advance 1")
    assert "#1 has not entered staging yet (waiting for aurora, borealis" in refusal
    for client in CLIENTS[:4]:
        report(world, 1, client, "staging", "1.0.0")
    assert world.state(1) is State.ACCEPTED  # staging counts as entered only with everyone on it
    world.release(
        "eridanus", "v0.9.3", "Fee market change.\ncharterbot: ready 1 staging\n", "hana-eridanus"
    )
    assert world.state(1) is State.ROLLING_OUT
    entered = world.announced("#1 entered staging")
    assert len(entered) == 1
    # announced with the matrix; the release's tag, its version and ref both, named once
    assert "eridanus | v0.9.3" in entered[0]["text"]
    assert "v0.9.3@" not in entered[0]["text"]

    # -- canary gates: a missing report, soak, checks not run / failed ------------------------
    for client in CLIENTS[:4]:
        report(world, 1, client, "canary", "1.1.0")
    refusal = world.refused(COORDINATOR, "advance 1")
    # each failing gate named once, as `rollout 1` lists them
    assert "\n- require_ready: eridanus has not reported a release for canary\n" in refusal
    assert "\n- soak: staging has run 0h of 72h with every client on it (72h to go)" in refusal
    report(world, 1, "eridanus", "canary", "1.1.0")
    for client in CLIENTS:
        conclusion = "failure" if client == "dorado" else "success"
        kind = "workflow_run" if client in ("dorado", "eridanus") else "check_run"
        world.check(client, sha(client, "canary"), "interop-matrix", conclusion, kind=kind)
    world.later(72 * H)
    refusal = world.refused(COORDINATOR, "advance 1")
    failing = [line for line in refusal.splitlines() if line.startswith("- ")]
    assert failing == [
        f"- require_checks: interop-matrix on dorado@{sha('dorado', 'canary')[:12]} concluded"
        " failure"
    ]
    world.check("dorado", sha("dorado", "canary"), "interop-matrix", "success", kind="workflow_run")
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    assert world.announced("#1 advanced to canary")[0]["text"].count("interop-matrix=success") == 5

    # -- watchdogs: each condition notifies once --------------------------------------------
    assert world.tick() >= 1
    assert world.tick() == 0
    quiet = [t for t in notifications(world) if t.startswith("#3 has been in review")]
    assert len(quiet) == 1

    # -- #2: staging for three clients, then an override of the risk gate ----------------------
    world.later(14 * D)
    world.tick()
    world.tick()
    late = [t for t in notifications(world) if "#2 was accepted" in t]
    assert len(late) == 1
    assert not [t for t in notifications(world) if "#1 was accepted" in t]
    for client in CLIENTS[:3]:
        report(world, 2, client, "staging", "2.0.0-flag")
    assert world.state(2) is State.ROLLING_OUT
    for client in CLIENTS[:3]:
        report(world, 2, client, "canary", "2.0.0-flag")
        world.check(client, sha(client, "canary"), "interop-matrix", "success")
    world.later(73 * H)
    refusal = world.refused(COORDINATOR, "advance 2")
    failing = [line for line in refusal.splitlines() if line.startswith("- ")]
    assert failing == [
        "- risk: likelihood 4 × impact 5 = 20 is above 15; advancing past staging needs an override"
        " by coordinators"
    ]
    assert "may override" in world.refused(
        MAINTAINER["aurora"], 'advance 2 to canary --override "trust me"'
    )
    assert "by override" in world.ok(
        COORDINATOR, 'advance 2 to canary --override "risk reviewed on the call"'
    )
    overridden = world.announced("#2 advanced to canary by override")
    assert "OVERRIDE by ines-coord: risk reviewed on the call" in overridden[0]["text"]

    # -- a sev1 incident pauses both rollouts at once ---------------------------------------
    said = world.ok(COUNCIL, 'incident declare sev1 "state root mismatch on canary" for 1,2')
    assert "Paused: #1, #2." in said
    assert len(world.announced("rollout paused")) == 2
    assert "is paused" in world.refused(COORDINATOR, "advance 1")
    world.ok(COUNCIL, f"incident role lead {MAINTAINER['dorado']}")
    brief = world.outbox("direct-message")
    assert brief[0]["login"] == MAINTAINER["dorado"]
    assert brief[0]["text"].startswith("You are the lead for incident 1 (sev1)")
    world.ok(MAINTAINER["dorado"], "incident update dorado's canary build mis-orders fee updates")
    world.later(6 * H)
    resolved = world.ok(MAINTAINER["dorado"], "incident resolve fixed in dorado 1.1.1")
    assert "#1 resumed" in resolved
    assert "#2 resumed" in resolved
    review = [i for i in world.outbox("create-issue") if i["key"] == "incident-review:1"]
    assert "state root mismatch on canary" in review[0]["body"]

    # -- a rollback of one client, then back on canary --------------------------------------
    rolled = world.ok(MAINTAINER["dorado"], 'rollback 1 dorado "1.1.0 mis-orders fee updates"')
    assert "dorado canary → staging" in rolled
    report(world, 1, "dorado", "canary", "1.1.1", build=2)
    world.check("dorado", sha("dorado", "canary", 2), "interop-matrix", "success")
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")  # re-entry runs gates

    # -- production: soak of 14 days, two checks, the go/no-go call ---------------------------
    for client in CLIENTS:
        report(world, 1, client, "production", "1.2.0")
        for name in ("interop-matrix", "differential-fuzz"):
            world.check(client, sha(client, "production"), name, "success")
    world.later(7 * D)
    refusal = world.refused(COORDINATOR, "advance 1")
    assert (
        "soak: canary has run 7d of 14d with every client on it (7d to go; counted since dorado's"
        " 1.1.1 replaced 1.1.0)"
    ) in refusal
    assert "go/no-go: no decision recorded for production" in refusal
    world.later(7 * D)
    with session_scope(engine) as session:
        rollouts.record_go_no_go(
            world.gov,
            session,
            proposal=1,
            stage="production",
            decision="go",
            by=COORDINATOR,
            now=world.clock.now(),
        )
    assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")
    assert world.state(1) is State.COMPLETED
    retro = [i for i in world.outbox("create-issue") if i["key"] == "retrospective:1"]
    assert len(retro) == 1
    body = retro[0]["body"]
    assert "| dorado |" in body
    assert "incident 1 (sev1)" in body
    assert "dorado by fatima-dorado" in body  # the rollback
    assert "stage-entered" in body  # the decision timeline

    # -- the record ------------------------------------------------------------------------------
    recorded = kinds(world)
    for kind in (
        "rollout-started",
        "ready-reported",
        "stage-entered",
        "gate-overridden",
        "incident-declared",
        "rollout-paused",
        "incident-role-assigned",
        "incident-resolved",
        "rollout-resumed",
        "rollout-rolled-back",
        "go-no-go-recorded",
        "escalation-fired",
        "rollout-completed",
        "proposal-state-changed",
        "command-refused",
    ):
        assert kind in recorded, kind
    with session_scope(engine) as session:
        assert audit.verify(session).ok
        assert store.load_rollout(session, 2, world.gov.charter).stage_index == 1  # type: ignore[union-attr]
