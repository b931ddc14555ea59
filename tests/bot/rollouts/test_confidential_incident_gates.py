"""A public rollout blocked by a confidential incident (one that names or pauses an undisclosed
security patch) says "a confidential incident (<severity>) is open" in its gate reason
everywhere that reason goes — the `rollout` reply (open to unlinked users), a refused
`/advance` answered on the public GitHub issue, the audit entries the public dashboard's
timeline shows, an override's public announcement, and the dashboard's gates — never the
incident's number or summary. An ordinary incident is quoted as before."""

from __future__ import annotations

import copy
from typing import Any

from bot.relay_fanout import announcement
from bot.web import fast_views
from bot.web.queries import Reader
from charter.subscriptions import recipients
from storage import dashboard_rollouts
from storage.db import session_scope
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    MAINTAINER,
    World,
    form,
    webhook,
)
from tests.bot.rollouts.test_rollout_commands import decide

SECRET = "embargoed gossip exploit CVE-2026-0001"
SAID = "a confidential incident (sev2) is open"
SAID_ON_DASHBOARD = "a confidential incident is open"
SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}


def comment(world: World, n: int, body: str, author: str, cid: int) -> None:
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = n
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=cid, body=body, created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = author
    payload["sender"]["login"] = author
    world.deliver("issue_comment", payload)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def blocked(world: World, summary: str, *, about_the_patch: bool) -> None:
    """Public #1 on staging for every client; the embargoed patch #2 for aurora accepted and
    started; a sev2 incident about aurora (blocking #1's canary) that also names #2 or not."""
    world.accept(1, form())
    for c in CLIENTS:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {SHA[c][:10]}")
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "rollout 2")
    target = "for 2 clients aurora" if about_the_patch else "for 1"
    world.ok(COUNCIL, f'incident declare sev2 "{summary}" {target}')


def test_a_confidential_incident_is_not_quoted_by_a_public_rollouts_gates(world: World) -> None:
    blocked(world, SECRET, about_the_patch=True)
    shown = world.ok(None, "rollout 1")  # anyone, even an unlinked chat user
    assert f"FAIL block_on_incident: {SAID}" in lines(shown)
    assert SECRET not in shown
    # a refused /advance on the public issue is answered there
    before = len(world.outbox("comment"))
    comment(world, 1, "/advance", MAINTAINER["borealis"], 7_200_001)
    (reply,) = world.outbox("comment")[before:]
    assert (
        SECRET not in reply["body"]
        and "a confidential incident \\(sev2\\) is open" in (reply["body"])
    )
    world.ok(COORDINATOR, 'advance 1 to canary --override "ship anyway"')
    (override,) = world.announced("by override")
    channels = [d.channel for d in recipients(announcement(override), world.gov.charter, [])]
    assert "core-discord" in channels  # public
    assert f"- block_on_incident: {SAID}" in override["text"] and SECRET not in override["text"]
    view = Reader(world.gov, world.clock.now()).proposal(1)
    assert view is not None
    kinds = {e["kind"] for e in view["timeline"] if "a confidential incident" in e["payload"]}
    assert {"command-refused", "gate-overridden", "stage-entered"} <= kinds
    assert not [e["kind"] for e in view["timeline"] if SECRET in e["payload"]]


def test_the_dashboard_still_says_only_a_confidential_incident(world: World) -> None:
    """The dashboard's rule is stricter (no number, severity or summary): its gate reason stays
    "a confidential incident is open"."""
    blocked(world, SECRET, about_the_patch=True)
    view = Reader(world.gov, world.clock.now()).proposal(1)
    assert view is not None
    reasons = {g["gate"]: g["reason"] for g in view["rollout"]["gates"]}
    assert reasons["block_on_incident"] == "a confidential incident is open"
    # the overview's failing gates and the rollouts page, built in batches, agree
    [(head, bad)] = fast_views.overview(world.gov, world.clock.now())["failing"]
    assert head["proposal"] == 1
    assert {"gate": "block_on_incident", "passed": False, "reason": SAID_ON_DASHBOARD} in bad
    with session_scope(world.engine) as session:
        pairs = fast_views._paired(
            session, dashboard_rollouts.unfinished_rollouts(session, world.gov.charter)
        )
        [page] = fast_views.rollout_views(world.gov, session, pairs, world.clock.now())
    assert page["gates"] == view["rollout"]["gates"]


def test_the_patchs_own_gates_do_not_quote_it_either(world: World) -> None:
    """Gate text can be repeated in public (an announcement, the audit log), so even those who
    may see the confidential rollout read only the wording."""
    blocked(world, SECRET, about_the_patch=True)
    world.ok(MAINTAINER["aurora"], "ready 2 aurora staging 1.0.1")
    shown = world.ok(COUNCIL, "rollout 2")
    assert "FAIL block_on_incident: a confidential incident (sev2) is open" in lines(shown)
    assert SECRET not in shown


def test_an_ordinary_incident_is_quoted(world: World) -> None:
    blocked(world, "aurora forks on canary", about_the_patch=False)
    shown = world.ok(None, "rollout 1")
    said = "FAIL block_on_incident: incident 1 (sev2) is open: aurora forks on canary"
    assert said in lines(shown)
    view = Reader(world.gov, world.clock.now()).proposal(1)
    assert view is not None
    reasons = {g["gate"]: g["reason"] for g in view["rollout"]["gates"]}
    assert reasons["block_on_incident"] == "incident 1 (sev2) is open: aurora forks on canary"
