"""``rollout pause|resume``: holding a rollout by hand, through the real service and store.

Rules proven here (the rules themselves: charter.rollout.pause/resume, charter.authz):
- Coordinators, the security council and the maintainers of a client in that rollout may pause
  it, with a reason; a maintainer of another client, a contributor or an unlinked person may
  not. Only coordinators may resume. Every refusal says who may, and records only a
  ``command-refused`` entry.
- A pause is audited (who, why), announced, and queues a tracking sync; ``rollout <n>`` still
  shows the rollout, now with the hold. A second hand pause is refused: no second audit entry
  or announcement.
- A hand resume lets what waited happen (the first stage entered, the rollout completed: the
  proposal follows), and lifts only the hand hold: an incident's stays until it is resolved,
  and the reply says what still holds the rollout.
- The comment form (``/rollout pause "<reason>"`` on the issue) and the Discord subcommand
  (``/charter rollout pause``) reach the same command; a comment is answered with a reply.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from charter.lifecycle import State
from storage import audit, identities, migrate, outbox, rollouts as store
from storage.db import make_engine, session_scope
from storage.models.audit import AuditEntry
from storage.models.core import OutboxRow
from tests.bot.discord.clients import logged_in
from tests.bot.discord.wire import USER_ID, command, option
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form, webhook
from tests.standins.discord_server import APP_ID, DiscordStandIn

IN_ROLLOUT = ("aurora", "borealis")
ALICE, CARMEN, EMEKA = MAINTAINER["aurora"], MAINTAINER["borealis"], MAINTAINER["cirrus"]
OUTSIDER = "zoe-contrib"
_IDS = count(7_300_001)


@pytest.fixture(scope="module")
def accepted_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """#1 accepted, its rollout of aurora and borealis pending; built once through the real
    path, then copied for each test."""
    path = tmp_path_factory.mktemp("hand-holds") / "charterbot.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
        world = World(engine)
        world.accept(1, form(clients=IN_ROLLOUT))
    finally:
        engine.dispose()
    return path, world.clock.now()


@pytest.fixture
def world(accepted_template: tuple[Path, datetime], tmp_path: Path) -> Iterator[World]:
    template, now = accepted_template
    shutil.copyfile(template, tmp_path / "charterbot.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'charterbot.db'}")
    w = World(engine)
    w.clock.set(now)
    yield w
    engine.dispose()


def audits(world: World, kind: str) -> list[dict[str, Any]]:
    with session_scope(world.engine) as session:
        rows = session.exec(select(AuditEntry.payload).where(AuditEntry.kind == kind)).all()
    return [audit.payload_of(row) for row in rows]


def pauses(world: World) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, 1, world.gov.charter)
    assert rollout is not None
    return rollout.pauses


def report_staging(world: World) -> None:
    for client in IN_ROLLOUT:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0")


def comment(world: World, body: str, author: str) -> list[str]:
    """``body`` commented on issue #1 by ``author``; the bodies of the bot's replies."""
    before = len(world.outbox("comment"))
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = 1
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=next(_IDS), body=body, created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = author
    payload["sender"]["login"] = author
    world.deliver("issue_comment", payload)
    return [str(c["body"]) for c in world.outbox("comment")[before:]]


# -- who may --------------------------------------------------------------------------------------

PAUSE = 'rollout pause 1 "devnet forks at block 1200"'


@pytest.mark.parametrize(
    ("login", "text", "expected"),
    [
        (EMEKA, PAUSE, "in this rollout (aurora and borealis) may pause it; cirrus is not in it."),
        (OUTSIDER, PAUSE, "coordinators (ines-coord and jonas-coord), the security council and"),
        (None, PAUSE, "run /charter link first"),
        (ALICE, "rollout resume 1", "Only members of coordinators (ines-coord and jonas-coord)"
         " may resume a rollout; ask one of them."),
        (COUNCIL, 'rollout resume 1 "fixed"', "may resume a rollout; ask one of them"),
        (COORDINATOR, "rollout pause 1", "Give the reason for the pause."),
        (COORDINATOR, 'rollout pause 99 "x"', "There is no proposal #99."),
    ],
)  # fmt: skip
def test_who_may_not_pause_or_resume_is_told_who_may(
    world: World, login: str | None, text: str, expected: str
) -> None:
    """A refusal changes nothing: the hold stays as it was, only the refusal is recorded."""
    world.ok(COORDINATOR, 'rollout pause 1 "release freeze"')
    refused = len(audits(world, "command-refused"))
    assert expected in world.refused(login, text)
    assert pauses(world) == (("", "held by ines-coord: release freeze"),)
    assert len(audits(world, "rollout-paused")) == 1
    assert audits(world, "rollout-resumed") == []
    parse_error = text in ("rollout pause 1",)  # refused before the service, unrecorded
    assert len(audits(world, "command-refused")) == refused + (0 if parse_error else 1)


@pytest.mark.parametrize(
    "login",
    [COORDINATOR, COUNCIL, ALICE, CARMEN],
    ids=["coordinator", "council", "aurora", "borealis"],
)
def test_a_coordinator_or_a_maintainer_in_the_rollout_pauses_it(world: World, login: str) -> None:
    """The pause is audited with who and why, announced, synced, and shown by ``rollout 1``;
    reports still count, but nothing they would set off happens, and advance is refused."""
    with session_scope(world.engine) as session:
        for row in session.exec(select(OutboxRow).where(OutboxRow.kind == "sync-github")).all():
            outbox.mark_sent(session, row, world.clock.now(), None)
    said = world.ok(login, PAUSE)
    assert said.startswith(
        "#1 paused: devnet forks at block 1200. #1 does not enter its first stage (staging) until"
    )
    assert audits(world, "rollout-paused") == [
        {"incident": None, "reason": "devnet forks at block 1200", "by": login}
    ]
    [shout] = world.announced("#1 rollout paused")
    assert shout["text"].startswith(f"Paused by hand by {login}: devnet forks at block 1200\n")
    assert [s["proposal"] for s in world.outbox("sync-github")] == [1, 1]  # the sent one, a new one
    assert f"Paused: held by {login}: devnet forks at block 1200" in world.ok(None, "rollout 1")
    report_staging(world)
    assert world.state(1) is State.ACCEPTED  # staging waits for the resume
    assert world.refused(COORDINATOR, "advance 1") == (
        "error: #1 is paused; it advances once every hold is lifted:\n- held by"
        f" {login}: devnet forks at block 1200 — a member of coordinators lifts it with"
        " `/charter rollout resume 1`"
    )


def test_pausing_twice_by_hand_is_answered_and_recorded_once(world: World) -> None:
    """The second hold is refused whoever asks, naming the first and how it is lifted."""
    world.ok(ALICE, PAUSE)
    said = world.refused(COORDINATOR, 'rollout pause 1 "and a freeze"')
    assert said == (
        "error: #1 is already paused by hand (held by alice-aurora: devnet forks at block 1200);"
        " a member of coordinators lifts it with `/charter rollout resume 1`."
    )
    assert len(audits(world, "rollout-paused")) == 1
    assert len(world.announced("rollout paused")) == 1
    assert pauses(world) == (("", "held by alice-aurora: devnet forks at block 1200"),)


# -- resuming -------------------------------------------------------------------------------------


def test_a_resume_enters_the_stage_that_waited(world: World) -> None:
    """Every client reported staging while paused; the resume enters it, and the proposal
    starts rolling out, each step recorded and announced."""
    world.ok(ALICE, PAUSE)
    report_staging(world)
    said = world.ok(COORDINATOR, 'rollout resume 1 "fork explained: a devnet config bug"')
    assert said == "#1 resumed; it entered staging"
    assert pauses(world) == ()
    assert world.state(1) is State.ROLLING_OUT
    assert audits(world, "rollout-resumed") == [
        {
            "incident": None,
            "by": COORDINATOR,
            "still_paused": False,
            "reason": "fork explained: a devnet config bug",
        }
    ]
    assert [a["stage"] for a in audits(world, "stage-entered")] == ["staging"]
    [shout] = world.announced("#1 rollout resumed")
    assert shout["text"].startswith("Resumed by ines-coord: fork explained: a devnet config bug")
    assert world.announced("#1 entered staging")


def test_a_resume_completes_the_rollout_that_waited(world: World) -> None:
    """On the last stage, the last client's report waits for the resume; then the rollout
    completes, the proposal is completed and its retrospective is drafted."""
    report_staging(world)
    for stage in ("canary", "production"):
        for client in IN_ROLLOUT if stage == "canary" else IN_ROLLOUT[:1]:
            world.ok(MAINTAINER[client], f"ready 1 {client} {stage} 1.1.0")
        world.ok(COORDINATOR, f'advance 1 to {stage} --override "drill: gates waived"')
    world.ok(CARMEN, PAUSE)
    said = world.ok(CARMEN, "ready 1 borealis production 1.1.0")
    assert said.endswith("it completes once resumed")
    assert world.state(1) is State.ROLLING_OUT
    assert world.ok(COORDINATOR, "rollout resume 1") == "#1 resumed; its rollout completed"
    assert world.state(1) is State.COMPLETED
    assert [i["key"] for i in world.outbox("create-issue")] == ["retrospective:1"]


def test_a_resume_by_hand_leaves_an_incidents_hold(world: World) -> None:
    """The hand hold is lifted (recorded, announced), the reply says the incident still
    holds the rollout; a second resume is refused; resolving the incident resumes it."""
    world.ok(ALICE, PAUSE)
    world.ok(COUNCIL, 'incident declare sev1 "chain halt" for 1')
    report_staging(world)
    said = world.ok(COORDINATOR, "rollout resume 1")
    assert said == (
        "#1: the hold by hand is lifted, but #1 is still paused: incident 1 (sev1): chain halt."
        " An incident's hold is lifted when the incident is resolved."
    )
    assert pauses(world) == (("1", "incident 1 (sev1): chain halt"),)
    assert audits(world, "rollout-resumed")[-1]["still_paused"] is True
    assert world.announced("#1 hold by hand lifted; still paused")
    assert world.state(1) is State.ACCEPTED
    again = world.refused(COORDINATOR, "rollout resume 1")
    assert "#1 is not paused by hand; it is held by incident 1 (sev1): chain halt." in again
    assert "#1 resumed; it entered staging" in world.ok(COUNCIL, "incident resolve patched")
    assert world.state(1) is State.ROLLING_OUT


def test_a_resume_of_a_rolled_back_proposal_is_refused_as_a_pause_is(world: World) -> None:
    """Rolled back for good while held by hand: nothing of it resumes, so a resume is refused
    with the pause's words, changes nothing and announces nothing."""
    report_staging(world)
    world.ok(ALICE, PAUSE)
    world.ok(COORDINATOR, 'rollback 1 "abandon"')
    assert world.state(1) is State.ROLLED_BACK
    gone = "#1 was rolled back from every stage; a new proposal is needed to retry."
    assert gone in world.refused(COORDINATOR, PAUSE)
    assert gone in world.refused(COORDINATOR, 'rollout resume 1 "nothing to hold"')
    assert len(pauses(world)) == 1
    assert audits(world, "rollout-resumed") == []
    assert world.announced("#1 rollout resumed") == []


# -- other doors ----------------------------------------------------------------------------------


def test_the_comment_form_pauses_and_resumes_the_issues_rollout(world: World) -> None:
    """On the issue the proposal is the issue; each command is answered with a reply."""
    [paused] = comment(world, '/rollout pause "devnet forks at block 1200"', ALICE)
    assert "#1 paused: devnet forks at block 1200." in paused
    assert pauses(world) == (("", "held by alice-aurora: devnet forks at block 1200"),)
    [refused] = comment(world, "/rollout resume", ALICE)
    assert "may resume a rollout; ask one of them" in refused
    [resumed] = comment(world, '/rollout resume "fixed"', COORDINATOR)
    assert "#1 resumed" in resumed
    assert pauses(world) == ()
    [shown] = comment(world, "/rollout", ALICE)  # still the status
    assert "stage: pending" in shown


async def test_the_discord_subcommand_pauses_the_rollout(
    world: World, discord_api: DiscordStandIn
) -> None:
    """``/charter rollout pause`` runs as the linked login and answers ephemerally."""
    with session_scope(world.engine) as session:
        identities.link(
            session,
            surface="discord",
            surface_id=USER_ID,
            login=CARMEN,
            method="comment-code",
            now=world.clock.now(),
        )
    async with logged_in(world.gov, discord_api.api_url) as client:
        options = [option("number", 1), option("reason", "borealis forks on devnet")]
        client._connection.parse_interaction_create(command("rollout pause", options))
        [followup] = await discord_api.wait_for("POST", f"/webhooks/{APP_ID}/A_UNIQUE_TOKEN")
    assert followup.json["flags"] & 64
    assert "#1 paused: borealis forks on devnet." in json.dumps(followup.json["embeds"])
    assert pauses(world) == (("", "held by carmen-borealis: borealis forks on devnet"),)
