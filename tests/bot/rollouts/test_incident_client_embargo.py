"""A public incident stays public when it names, by a client, a rollout under embargo: declared
for that client, widened to it (``incident add``) or raised to pause it; so does one naming
nothing (it concerns everything: a network-wide sev1), declared or raised. The embargoed rollout
is held all the same, worded as a rollout that starts under the incident is held; the hold is
told only where the embargoed proposal may be seen, its audit entries are withheld from the
public export with the proposal, and resolving lifts it. The incident's news, page and audit
entries name only public things, its post-incident review draft too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from bot.web.queries import withheld
from storage.dashboard_queries import confidential_incidents, named_numbers, secrets
from storage.db import session_scope
from storage.models.audit import AuditEntry
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form
from tests.bot.rollouts.test_incident_at_start import pauses
from tests.bot.rollouts.test_incident_confidentiality import PUBLIC, _channels
from tests.bot.rollouts.test_rollout_commands import decide

EMEKA = MAINTAINER["cirrus"]  # may not see the embargoed aurora fix #2
HELD = (("1", "incident 1 (sev1): aurora nodes crash"),)


def embargo(world: World) -> None:
    """#1 (public, borealis) and #2 (a security patch for aurora, undisclosed) under way."""
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")


def public_audit(world: World) -> list[dict[str, Any]]:
    """The audit entries the public export shows in full (not withheld)."""
    with session_scope(world.engine) as session:
        shown = secrets(session)
        rows = session.exec(select(AuditEntry)).all()
        return [
            {"kind": r.kind, "subject": r.subject, "payload": json.loads(r.payload)}
            for r in rows
            if not withheld(r, shown)
        ]


def incident_news(world: World) -> list[dict[str, Any]]:
    return [a for a in world.outbox("announce") if a["kind"] == "incident"]


@pytest.mark.parametrize(
    ("steps", "paused"),
    [
        (['incident declare sev1 "aurora nodes crash" clients aurora'], "#2"),
        (
            ['incident declare sev1 "aurora nodes crash" for 1', "incident add #1 clients aurora"],
            "#2",
        ),
        (
            [
                'incident declare sev3 "aurora nodes crash" clients aurora',
                'incident severity #1 sev1 "worse"',
            ],
            "#2",
        ),
        (['incident declare sev1 "aurora nodes crash"'], "#1, #2"),  # names nothing
        (
            ['incident declare sev3 "aurora nodes crash"', 'incident severity #1 sev1 "worse"'],
            "#1, #2",
        ),
    ],
    ids=[
        "declared-for-its-client",
        "its-client-added",
        "raised",
        "everything",
        "everything-raised",
    ],
)
def test_a_public_incident_naming_an_embargoed_rollouts_client_stays_public(
    world: World, steps: list[str], paused: str
) -> None:
    embargo(world)
    for step in steps:
        said = world.ok(COUNCIL, step)
    assert said.endswith(f"Paused: {paused}.")  # the council may see #2: its reply names it
    assert pauses(world, 2) == HELD
    with session_scope(world.engine) as session:
        assert confidential_incidents(session) == set()
        assert "1" not in secrets(session).incidents  # the public /incidents page lists it
    assert world.ok(EMEKA, "incident update #1 restarts help") == "Update added to incident #1."
    news = incident_news(world)
    assert news and all(not a["confidential"] and _channels(world, a) == PUBLIC for a in news)
    assert all("#2" not in a["text"] and 2 not in a["data"].get("paused", []) for a in news)
    [hold] = world.announced("#2 rollout paused")
    assert hold["confidential"] and _channels(world, hold) == []
    shown = public_audit(world)
    assert [e for e in shown if e["kind"] == "rollout-paused"] == [
        e for e in shown if e["kind"] == "rollout-paused" and e["subject"] == "rollout:1"
    ]
    for entry in shown:
        assert entry["subject"] not in ("rollout:2", "proposal:2")
        for key in ("proposals", "pause", "paused"):
            assert 2 not in named_numbers(entry["payload"].get(key, []))

    resolved = world.ok(COUNCIL, "incident resolve #1 fixed").splitlines()
    assert "#2 resumed" in resolved
    assert pauses(world, 2) == ()
    assert all(not a["confidential"] for a in incident_news(world))
    [review] = world.outbox("create-issue")
    assert "rollout:2" not in review["body"]
    assert not any(e["subject"] == "rollout:2" for e in public_audit(world))


def test_a_public_reviews_draft_leaves_out_a_rollout_held_as_it_started(world: World) -> None:
    """The review draft of a public incident is a public issue: the audit lines of the embargoed
    rollout it held from its start are not in it (the rollout's own log stays withheld)."""
    world.ok(COORDINATOR, 'incident declare sev1 "aurora nodes crash" clients aurora')
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    assert pauses(world, 2) == HELD
    world.ok(COUNCIL, "incident resolve #1 fixed")
    [review] = world.outbox("create-issue")
    assert "(incident:1)" in review["body"]
    assert "rollout:2" not in review["body"]


def test_a_confidential_incident_still_lists_its_embargoed_holds_in_its_private_review(
    world: World,
) -> None:
    """An incident that names the embargoed #2 by number is confidential: its review draft goes
    to private channels and lists #2's entries."""
    embargo(world)
    world.ok(COUNCIL, 'incident declare sev1 "aurora nodes crash" for 2')
    world.ok(COUNCIL, "incident resolve #1 fixed")
    assert world.outbox("create-issue") == []
    [draft] = [a for a in incident_news(world) if a["title"].startswith("Post-incident review")]
    assert draft["confidential"] and "(rollout:2)" in draft["text"]
