"""The rollout commands, GitHub events and incidents, one rule at a time (SQLite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from bot import rollouts
from bot.service import Governance
from bot.web import fast_views
from charter.lifecycle import State
from charter.proposal import Decision
from storage import (
    dashboard_rollouts,
    incidents as incident_store,
    migrate,
    rollout_reports as report_store,
    rollouts as store,
)
from storage.db import make_engine, session_scope
from storage.models.audit import AuditEntry
from storage.models.rollouts import CheckResultRow, FlagRow
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    EXAMPLE_PREREQUISITES,
    MAINTAINER,
    H,
    World,
    form,
    person,
)

SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}


@pytest.fixture(scope="module")
def accepted_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """#1 accepted (every client, feature flag fee_market_v2); #3 still in review — built once
    through the real path, then copied for each test (a copy of the file is a fresh database)."""
    path = tmp_path_factory.mktemp("accepted") / "charterbot.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
        world = World(engine)
        world.accept(1, form(flag="`fee_market_v2`"))
        world.open_issue(3, form(), "Still in review")
    finally:
        engine.dispose()  # checkpoints the WAL into the file
    return path, world.clock.now()


@pytest.fixture
def accepted(accepted_template: tuple[Path, datetime], tmp_path: Path) -> Iterator[World]:
    template, now = accepted_template
    shutil.copyfile(template, tmp_path / "charterbot.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'charterbot.db'}")
    world = World(engine)
    world.clock.set(now)
    yield world
    engine.dispose()


def decide(world: World, n: int) -> None:
    """Accept a proposal through ``Governance.apply`` (what closing the vote does), for a track
    whose voters cannot all reach it from the console."""
    stored = world.gov.load(n)
    assert stored is not None
    moved = replace(stored.proposal, state=State.ACCEPTED, decided_at=world.clock.now())
    with session_scope(world.engine) as session:
        world.gov.apply(session, Decision(moved), "charterbot", world.clock.now())


def audit_count(world: World, kind: str) -> int:
    with session_scope(world.engine) as session:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == kind)
        return int(session.exec(stmt).one())


def staging_for_all(world: World, n: int = 1) -> None:
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready {n} {client} staging 1.0.0 {SHA[client][:10]}")


@pytest.mark.parametrize(
    ("login", "text", "expected"),
    [
        (None, "ready 1 aurora staging 1.0", "run /charter link"),
        ("carmen-borealis", "ready 1 aurora staging 1.0", "Only maintainers of aurora"),
        ("alice-aurora", "ready 1 aurora nowhere 1.0", "unknown stage 'nowhere'"),
        ("alice-aurora", "ready 1 aurora canary 1.0", "#1 is at pending: report for staging"),
        ("alice-aurora", "ready 99 aurora staging 1.0", "There is no proposal #99."),
        ("alice-aurora", "ready 3 aurora staging 1.0", "#3 is review; a rollout starts once"),
        (COORDINATOR, "ready 1 nowhere staging 1.0", "nowhere is not in the rollout of #1"),
        (COORDINATOR, "advance 1", "#1 has not entered staging yet"),
        (COORDINATOR, "advance 1 to producton", "'producton' (did you mean 'production'?)"),
        ("alice-aurora", 'advance 1 --override "because"', "Only members of coordinators"),
        ("alice-aurora", 'rollback 1 "bad"', "may roll back every client at once"),
        (COORDINATOR, 'rollback 1 "bad"', "not on any stage yet; nothing to roll back"),
        (COORDINATOR, 'flag nothing off "x"', "No accepted proposal registers a feature flag"),
        ("alice-aurora", 'flag fee_market_v2 off "x"', "Only coordinators and the security"),
        (COUNCIL, 'incident declare sev9 "x"', "unknown severity 'sev9'"),
        (COUNCIL, 'incident declare sev2 "x" for 77', "There is no proposal #77."),
        (COUNCIL, "incident update it got worse", "There is no open incident"),
        (COUNCIL, "incident role #5 lead bob", "There is no incident #5."),
        (COUNCIL, "incident resolve", "There is no open incident"),
        (COORDINATOR, "advance 99", "There is no proposal #99."),
        (COORDINATOR, 'rollback 99 "x"', "There is no proposal #99."),
    ],
)
def test_a_refused_command_changes_nothing_but_the_audit_log(
    accepted: World, login: str | None, text: str, expected: str
) -> None:
    """A refusal says why, records ``command-refused`` and leaves the rollout as it was."""
    before = audit_count(accepted, "command-refused")
    with session_scope(accepted.engine) as session:
        rollout_before = store.load_rollout(session, 1, accepted.gov.charter)
    assert expected in accepted.refused(login, text)
    assert audit_count(accepted, "command-refused") == before + 1
    with session_scope(accepted.engine) as session:
        assert store.load_rollout(session, 1, accepted.gov.charter) == rollout_before
        assert incident_store.incidents(session) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rollout 99", "There is no proposal #99."),
        ("rollout 3", "#3 is review; a rollout starts once it is accepted."),
        ("inventory 99", "There is no proposal #99."),
        ("inventory 1", "No release has been reported for #1 yet."),
        ("inventory", "No release has been reported for every rollout yet."),
    ],
)
def test_reads_answer_plainly(accepted: World, text: str, expected: str) -> None:
    """Reading commands need no login and say plainly when there is nothing to show."""
    assert expected in accepted.run(None, text).lines[0][0]


def test_accepting_opens_the_rollout_and_registers_the_flag_per_client(accepted: World) -> None:
    """An accepted proposal gets a pending rollout of its clients and one flag entry per client."""
    with session_scope(accepted.engine) as session:
        rollout = store.load_rollout(session, 1, accepted.gov.charter)
        rows = sorted((r.client, r.name, r.state) for r in session.exec(select(FlagRow)).all())
    assert rollout is not None
    assert rollout.clients == CLIENTS
    assert rollout.stage_index == -1
    assert rows == [(c, "fee_market_v2", "on") for c in CLIENTS]


def test_staging_entered_moves_the_proposal_to_rolling_out(accepted: World) -> None:
    """Accepted → rolling-out exactly when the last client reports for the first stage."""
    for client in CLIENTS[:4]:
        accepted.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0")
        assert accepted.state(1) is State.ACCEPTED
    accepted.ok(MAINTAINER["eridanus"], "ready 1 eridanus staging 1.0.0")
    assert accepted.state(1) is State.ROLLING_OUT
    assert audit_count(accepted, "proposal-state-changed") == 1


def test_a_full_rollback_rolls_the_proposal_back_and_closes_it(accepted: World) -> None:
    """When a rollback leaves no client on any stage, the proposal is rolled-back (final)."""
    staging_for_all(accepted)
    said = accepted.ok(COORDINATOR, 'rollback 1 "fee market bug found in review"')
    assert "aurora staging → pending" in said
    assert accepted.state(1) is State.ROLLED_BACK
    refusal = accepted.refused(MAINTAINER["aurora"], "ready 1 aurora staging 1.0.1")
    assert "rolled back from every stage" in refusal
    assert "rolled back from every stage" in accepted.refused(COORDINATOR, "advance 1")


def test_a_partial_rollback_keeps_the_proposal_rolling_out(accepted: World) -> None:
    """A maintainer may roll back their own client; the others keep their stage."""
    staging_for_all(accepted)
    said = accepted.ok(MAINTAINER["cirrus"], 'rollback 1 cirrus "heap growth on devnet"')
    assert said == "rolled back cirrus staging → pending"
    assert accepted.state(1) is State.ROLLING_OUT
    shown = accepted.ok(None, "rollout 1").splitlines()
    assert [line for line in shown if line.startswith("cirrus:")] == [
        "cirrus: staging 1.0.0@3333333333 (2026-06-09T11:00Z) (rolled back)"
        " · canary — · production —"
    ]


@pytest.mark.parametrize(
    ("repo_client", "body", "recorded", "refused_why"),
    [
        ("aurora", "Notes\n\ncharterbot: ready 1 staging\n", True, None),
        ("aurora", "CharterBot: Ready #1 Staging", True, None),
        ("aurora", "just a release", False, None),
        ("aurora", "charterbot: ready 99 staging", False, "There is no proposal #99."),
        ("aurora", "charterbot: ready 1 canary", False, "#1 is at pending"),
        (None, "charterbot: ready 1 staging", False, None),
    ],
)
def test_a_release_in_a_client_repository_reports_readiness(
    accepted: World, repo_client: str | None, body: str, recorded: bool, refused_why: str | None
) -> None:
    """Only a published release in a client's repository with the ready line reports; a line
    that cannot apply is recorded as refused, with the reason."""
    if repo_client is None:
        accepted.deliver("release", _foreign_release(accepted, body))
    else:
        accepted.release(repo_client, "v4.2.0", body, "github-actions[bot]")
    with session_scope(accepted.engine) as session:
        reports = report_store.ready_reports(session, proposal=1)
        refusals = session.exec(
            select(AuditEntry.payload).where(AuditEntry.kind == "release-report-refused")
        ).all()
    assert [(r.client, r.version, r.ref) for _, r in reports] == (
        [("aurora", "v4.2.0", "v4.2.0")] if recorded else []
    )
    assert [refused_why in payload for payload in refusals] == ([True] if refused_why else [])


def _foreign_release(world: World, body: str) -> dict[str, object]:
    from tests.bot.rollouts.conftest import webhook

    payload = webhook("release", "published")
    payload["release"]["body"] = body
    return payload


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([("check_run", "success")], "PASS require_checks"),
        ([("check_run", "failure")], "interop-matrix on aurora@"),
        ([("check_run", "success"), ("check_run", None)], "has not concluded yet"),
        ([("workflow_run", "cancelled")], "concluded cancelled"),
        ([], "interop-matrix has not run on aurora@"),
    ],
)
def test_check_results_feed_the_canary_gate(
    accepted: World, events: list[tuple[str, str | None]], expected: str
) -> None:
    """The latest event of a check on the reported commit decides its part of the gate."""
    staging_for_all(accepted)
    for client in CLIENTS:
        accepted.ok(MAINTAINER[client], f"ready 1 {client} canary 1.1.0 {SHA[client][:8]}")
        if client != "aurora":
            accepted.check(client, SHA[client], "interop-matrix")
    for kind, conclusion in events:
        accepted.later(H)  # a re-run starts after the run before it
        accepted.check("aurora", SHA["aurora"], "interop-matrix", conclusion, kind=kind)
    assert expected in accepted.ok(None, "rollout 1")


def test_check_events_from_other_repositories_are_ignored(accepted: World) -> None:
    """Only a client's repository can vouch for a client's build; suites are named by their app."""
    from tests.bot.rollouts.conftest import webhook

    accepted.deliver("check_run", webhook("check_run", "completed"))  # Codertocat/Hello-World
    suite = webhook("check_suite", "completed")
    suite["repository"]["full_name"] = "meridian-net/Dorado"  # repository names ignore case
    accepted.deliver("check_suite", suite)
    with session_scope(accepted.engine) as session:
        rows = [(r.repo, r.name, r.kind) for r in session.exec(select(CheckResultRow)).all()]
    app = suite["check_suite"]["app"]["name"]  # the app's name stands for the suite
    assert rows == [("meridian-net/dorado", app, "check_suite")]


def test_an_incident_pauses_only_the_rollouts_it_names(sqlite_engine: Engine) -> None:
    """A sev1 naming a client pauses the rollouts that client is in, and no other."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora", "borealis")))
    world.accept(2, form(clients=("cirrus", "dorado")), title="Second change")
    said = world.ok(COUNCIL, 'incident declare sev1 "borealis forks" clients borealis')
    assert said.endswith("Incident #1 declared (sev1). Paused: #1.")
    with session_scope(sqlite_engine) as session:
        paused = {r.proposal: r.paused for r in store.rollouts(session, world.gov.charter)}
    assert paused == {1: True, 2: False}


def test_an_incident_below_the_pause_threshold_pauses_nothing(accepted: World) -> None:
    """A sev2 is announced but pauses no rollout (the charter pauses at sev1)."""
    said = accepted.ok(COUNCIL, 'incident declare sev2 "slow blocks" for 1')
    assert said.endswith("Incident #1 declared (sev2).")
    said = accepted.ok(COUNCIL, 'incident declare sev1 "review bot down" for 3')  # no rollout yet
    assert said.endswith("Incident #2 declared (sev1).")
    assert accepted.announced("Incident 1 (sev2) declared")
    assert not accepted.announced("rollout paused")


def test_raising_an_incident_to_sev1_pauses_and_resolving_resumes(sqlite_engine: Engine) -> None:
    """An incident declared sev3 pauses nothing; raised to sev1 it pauses the rollouts it
    names, at once; lowered again they stay paused; resolving it resumes them."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora", "borealis")))
    world.accept(2, form(clients=("cirrus", "dorado")), title="Second change")
    world.ok(COUNCIL, 'incident declare sev3 "borealis peers drop" clients borealis')

    def paused() -> dict[int, bool]:
        with session_scope(sqlite_engine) as session:
            return {r.proposal: r.paused for r in store.rollouts(session, world.gov.charter)}

    assert paused() == {1: False, 2: False}
    said = world.ok(COUNCIL, "incident severity sev1 borealis forks at block 1200")
    assert said.endswith("Incident #1 is now sev1. Paused: #1.")
    assert paused() == {1: True, 2: False}
    assert world.announced("Incident 1 raised to sev1")
    assert world.ok(COUNCIL, "incident severity #1 sev3 contained").endswith("is now sev3.")
    assert paused() == {1: True, 2: False}
    said = world.ok(COUNCIL, "incident severity #1 sev1 spreading again")
    assert said.endswith("Incident #1 is now sev1.")  # #1 was still paused: nothing new
    assert world.ok(COUNCIL, "incident severity #1 sev3 contained again").endswith("sev3.")
    assert "already sev3" in world.refused(COUNCIL, "incident severity sev3")
    assert "unknown severity 'sev0'" in world.refused(COUNCIL, "incident severity sev0")
    assert world.refused("mallory", "incident severity sev1")
    world.ok(COUNCIL, "incident resolve patched")
    assert paused() == {1: False, 2: False}
    with session_scope(sqlite_engine) as session:
        incident = incident_store.load_incident(session, 1)
    assert incident is not None and incident.severity == "sev3"
    assert [e.kind for e in incident.timeline] == [
        "declared",
        "severity",
        "severity",
        "severity",
        "severity",
        "resolved",
    ]


def test_a_coordinator_moves_the_activation_target(accepted: World) -> None:
    """After acceptance the target moves by command (a coordinator, with a reason), is shown in
    the proposal's view, announced and audited; one still in review is moved by its form."""
    before = accepted.gov.load(1)
    assert before is not None and before.proposal.fields["activation"] == "2027-03-04T14:00Z"
    refused = accepted.refused(MAINTAINER["aurora"], 'activation 1 2027-04-01T14:00Z "slipped"')
    assert "Only coordinators may move an activation target." in refused
    said = accepted.ok(COORDINATOR, 'activation 1 2027-04-01T14:00Z "borealis needs two weeks"')
    assert said == "#1's activation target is now 2027-04-01T14:00Z (was 2027-03-04T14:00Z)."
    after = accepted.gov.load(1)
    assert after is not None and after.proposal.fields["activation"] == "2027-04-01T14:00Z"
    assert accepted.announced("#1 activation moved to 2027-04-01T14:00Z")
    assert "its author edits the issue form" in accepted.refused(
        COORDINATOR, 'activation 3 epoch 412000 "early"'
    )
    with session_scope(accepted.gov.engine) as session:
        kinds = session.exec(select(AuditEntry.kind).where(AuditEntry.subject == "proposal:1"))
        assert "activation-moved" in set(kinds.all())


def test_releases_below_the_forms_prerequisites_warn_and_hold_the_stage(
    sqlite_engine: Engine,
) -> None:
    """The example form asks aurora >= 4.2, borealis >= 1.19, …: a lower release is recorded
    with a warning, and the stage is not entered (staging waits, canary's prerequisites gate
    fails, on the dashboard too) until a release meets it."""
    world = World(sqlite_engine)
    world.accept(1, form(prerequisites=EXAMPLE_PREREQUISITES))
    good = {"aurora": "4.2.1", "borealis": "1.19.0", "cirrus": "25.1", "dorado": "3.0.2",
            "eridanus": "0.9.4"}  # fmt: skip
    said = world.ok(MAINTAINER["aurora"], "ready 1 aurora staging 4.1.0")
    assert said.endswith(
        "warning: 4.1.0 does not meet the proposal's prerequisite aurora >= 4.2; staging is not"
        " entered until a release that does is reported"
    )
    for client, version in good.items():
        if client != "aurora":
            world.ok(MAINTAINER[client], f"ready 1 {client} staging {version}")
    assert world.state(1) is State.ACCEPTED  # every client reported, aurora's is too old
    assert "warning" not in world.ok(MAINTAINER["aurora"], "ready 1 aurora staging 4.2.1")
    assert world.state(1) is State.ROLLING_OUT
    world.ok(MAINTAINER["aurora"], "ready 1 aurora canary 4.1.5")
    refusal = world.refused(COORDINATOR, "advance 1")
    assert "- prerequisites: aurora 4.1.5 does not meet aurora >= 4.2" in refusal.splitlines()
    with session_scope(sqlite_engine) as session:
        pairs = fast_views._paired(
            session, dashboard_rollouts.unfinished_rollouts(session, world.gov.charter)
        )
        [(_, _, target, gates)] = fast_views.gated(world.gov, session, pairs, world.clock.now())
    assert target == "canary"
    assert ("prerequisites", False) in [(g.gate, g.passed) for g in gates]
    world.ok(MAINTAINER["aurora"], "ready 1 aurora canary 4.2.2")
    assert "does not meet" not in world.refused(COORDINATOR, "advance 1")  # soak, checks hold it


def test_incident_roles_updates_and_resolution(accepted: World) -> None:
    """Roles brief the assignee privately; with two incidents open the id is required; the
    timeline only grows; a resolved incident takes updates but no new roles."""
    accepted.ok(COUNCIL, 'incident declare sev3 "flaky devnet"')
    accepted.ok(COUNCIL, 'incident declare sev3 "flaky canary"')
    assert "Several incidents are open (#1 (sev3: flaky devnet)" in accepted.refused(
        COUNCIL, "incident role lead bob"
    )
    assert "unknown incident role 'boss'" in accepted.refused(COUNCIL, "incident role #1 boss bob")
    accepted.ok(COUNCIL, "incident role #1 scribe @lena-sec")
    assert accepted.outbox("direct-message") == [
        {
            "login": "lena-sec",
            "text": "You are the scribe for incident 1 (sev3): flaky devnet\nAssigned by kofi-sec."
            " Post updates with /charter incident update.",
        }
    ]
    accepted.ok(COUNCIL, "incident resolve #1 devnet node replaced")
    assert "was resolved at" in accepted.refused(COUNCIL, "incident resolve #1 again")
    assert "was resolved at" in accepted.refused(COUNCIL, "incident role #1 lead bob")
    assert "already" not in accepted.ok(COUNCIL, "incident update #1 correction: two nodes")
    with session_scope(accepted.engine) as session:
        incident = incident_store.load_incident(session, 1)
    assert incident is not None
    assert [e.kind for e in incident.timeline] == ["declared", "role", "resolved", "update"]
    review = accepted.outbox("create-issue")
    assert [i["key"] for i in review] == ["incident-review:1"]
    assert review[0]["title"] == "Post-incident review: incident 1 (sev3) — due 2026-06-14"
    assert review[0]["labels"] == ["post-incident-review"]


def test_the_kill_switch_is_broadcast_and_recorded(accepted: World) -> None:
    """``flag <name> off`` switches every registry entry off and tells operators (rollout
    announcement); ``on`` allows it back; both are audited."""
    said = accepted.ok(COORDINATOR, 'flag fee_market_v2 off "fee spikes on canary"')
    assert said.startswith("Feature flag fee_market_v2 is off for aurora, borealis")
    kill = accepted.announced("KILL SWITCH")
    assert kill[0]["kind"] == "rollout"
    assert "turn feature flag fee_market_v2 off on every node now" in kill[0]["text"]
    assert "fee spikes on canary" in kill[0]["text"]
    accepted.ok(COUNCIL, 'flag fee_market_v2 on "fixed in 1.1.1"')
    with session_scope(accepted.engine) as session:
        rows = {(r.state, r.changed_by, r.reason) for r in session.exec(select(FlagRow)).all()}
    assert rows == {("on", COUNCIL, "fixed in 1.1.1")}
    assert audit_count(accepted, "flag-switched") == 2


def test_a_rollout_opens_for_a_proposal_accepted_before_the_area_was_installed(
    sqlite_engine: Engine,
) -> None:
    """A proposal accepted without the rollout area gets its rollout on first use."""
    world = World(sqlite_engine)
    bare = Governance(world.engine, world.gov.loaded, world.clock)
    world.gov = bare
    world.accept(1, form(clients=("aurora",)))
    rollouts.install_on(bare)
    assert "aurora: staging —" in world.ok(None, "rollout 1")
    world.ok(MAINTAINER["aurora"], "ready 1 aurora staging 1.0.0")
    assert world.state(1) is State.ROLLING_OUT


def test_a_confidential_rollout_is_hidden_from_people_outside_the_council(
    sqlite_engine: Engine,
) -> None:
    """Until disclosure, a security patch's rollout is 'no such proposal' to a contributor."""
    world = World(sqlite_engine)
    world.open_issue(1, form(track="security-patch"))
    decide(world, 1)
    assert "There is no proposal #1." in world.refused("outsider", "rollout 1")
    assert "There is no proposal #1." in world.refused("outsider", "inventory 1")
    assert "stage: pending" in world.ok(COUNCIL, "rollout 1")
    world.ok(MAINTAINER["aurora"], "ready 1 aurora staging 1.0.0")
    assert "aurora" not in world.ok("outsider", "inventory")
    assert "aurora" in world.ok(COUNCIL, "inventory")
    with session_scope(sqlite_engine) as session:
        assert store.load_rollout(session, 1, world.gov.charter).confidential  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("stage", "decision", "error"),
    [
        ("nowhere", "go", "unknown stage 'nowhere'"),
        ("production", "maybe", "is 'go' or 'no-go'"),
    ],
)
def test_go_no_go_rejects_what_can_never_be_right(
    accepted: World, stage: str, decision: str, error: str
) -> None:
    """A go/no-go record names a stage of the charter and says go or no-go."""
    with pytest.raises(ValueError, match=error), session_scope(accepted.engine) as session:
        rollouts.record_go_no_go(
            accepted.gov,
            session,
            proposal=1,
            stage=stage,
            decision=decision,
            by=COORDINATOR,
            now=accepted.clock.now(),
        )


def test_the_read_view_serves_the_dashboard_within_visibility(sqlite_engine: Engine) -> None:
    """``read_view`` gives the JSON view to those who may see the rollout, None to others."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora",)))
    world.open_issue(2, form(track="security-patch"), "Embargoed fix")
    decide(world, 2)
    view = rollouts.read_view(world.gov, 1, person(None))
    assert view is not None
    assert (view["proposal"], view["stage"], view["next_stage"]) == (1, "pending", "staging")
    assert view["gates"][0]["gate"] == "require_ready"
    assert rollouts.read_view(world.gov, 2, person("outsider")) is None
    assert rollouts.read_view(world.gov, 2, person(COUNCIL)) is not None
    assert rollouts.read_view(world.gov, 9, person(COUNCIL)) is None


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        (None, "PASS require_checks"),  # the run of the release's tag push
        ("main", "interop-matrix has not run on aurora@v1.1.0-aurora"),
    ],
)
def test_a_release_tag_is_checked_by_the_runs_of_that_tag(
    accepted: World, branch: str | None, expected: str
) -> None:
    """A client that reports by publishing a release names a tag, not a commit: the workflow
    run its tag push started (GitHub's head_branch = the tag) satisfies the required check;
    a run of another branch does not."""
    staging_for_all(accepted)
    for client in CLIENTS:
        tag = f"v1.1.0-{client}"
        accepted.release(client, tag, "charterbot: ready 1 canary", "github-actions[bot]")
        ran_for = tag if branch is None or client != "aurora" else branch
        accepted.check(
            client, SHA[client], "interop-matrix", kind="workflow_run", head_branch=ran_for
        )
    assert expected in accepted.ok(None, "rollout 1")
