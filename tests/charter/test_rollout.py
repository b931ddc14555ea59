"""Rollout decisions: a five-client campaign end to end, then each rule on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

import pytest

from charter.effects import Announce, Audit, Reply, SyncTracking
from charter.gates import GateFacts, GoNoGo
from charter.incidents import declare, resolve
from charter.prerequisites import minimums
from charter.risk import Assessment
from charter.rollout import (
    ReadyReport,
    Rollout,
    RolloutDecision,
    advance,
    inventory,
    matrix,
    pause,
    record_check,
    ref_matches,
    report_ready,
    resume,
    rollback,
    start,
)
from tests.charter.rollout_support import CLIENTS, T0, H, check, reference, report, sha

CHARTER = reference()
D = timedelta(days=1)
LOW_RISK = GateFacts(risk=Assessment(3, 4))


E = TypeVar("E")


def of(effects: Sequence[object], kind: type[E]) -> list[E]:
    return [e for e in effects if isinstance(e, kind)]


def reply(decision: RolloutDecision) -> Reply:
    (answer,) = of(decision.effects, Reply)
    return answer


def report_all(
    rollout: Rollout, stage: str, at: datetime, clients: Sequence[str] = CLIENTS
) -> Rollout:
    for i, client in enumerate(clients):
        rollout = report_ready(rollout, CHARTER, report(client, stage, at + i * H)).rollout
    return rollout


def green(rollout: Rollout, stage: str, at: datetime, clients: Sequence[str] = CLIENTS) -> Rollout:
    found = CHARTER.stage(stage)
    assert found is not None
    for client in clients:
        for name in found.require_checks:
            rollout = record_check(rollout, check(client, stage, name, "success", at))
    return rollout


def test_campaign_five_clients_through_three_stages() -> None:
    """Five clients go staging → canary → production: gates refuse with exact reasons, a
    coordinator overrides, a sev1 incident pauses two rollouts, one client is rolled back and
    rejoins (restarting the soak clock), and the last advance completes the rollout."""
    rollout = start(42, CLIENTS, T0).rollout
    other = start(43, ("aurora", "dorado"), T0).rollout

    # Staging counts as entered only when the fifth client has reported.
    rollout = report_all(rollout, "staging", T0, CLIENTS[:4])
    assert rollout.stage_index == -1
    early = advance(rollout, CHARTER, LOW_RISK, T0 + 4 * H, by="ines-coord")
    assert reply(early) == Reply("#42 has not entered staging yet (waiting for eridanus)", ok=False)
    entered = report_ready(rollout, CHARTER, report("eridanus", "staging", T0 + 5 * H))
    rollout = entered.rollout
    assert (rollout.stage_index, rollout.stage_entered_at) == (0, {"staging": T0 + 5 * H})
    (announce,) = of(entered.effects, Announce)
    assert announce.title == "#42 entered staging"
    assert matrix(rollout, CHARTER).text() in announce.text

    # Canary: cirrus has not reported, dorado's interop run failed, staging soaked 41h of 72h.
    rollout = report_all(
        rollout, "canary", T0 + 10 * H, ("aurora", "borealis", "dorado", "eridanus")
    )
    rollout = green(rollout, "canary", T0 + 20 * H, ("aurora", "borealis", "eridanus"))
    rollout = record_check(
        rollout, check("dorado", "canary", "interop-matrix", "failure", T0 + 20 * H)
    )
    refused = advance(rollout, CHARTER, LOW_RISK, T0 + 46 * H, by="ines-coord")
    assert refused.rollout is rollout
    assert reply(refused) == Reply(
        "#42 cannot advance to canary:\n"
        "- require_ready: cirrus has not reported a release for canary\n"
        "- soak: staging has run 41h of 72h with every client on it (31h to go)\n"
        "- require_checks: cirrus has no reported release for canary to check; "
        f"interop-matrix on dorado@{sha('dorado', 'canary')} concluded failure",
        ok=False,
    )

    # Fixed, but the soak still has 12h to go: a maintainer may not override, a coordinator may.
    rollout = report_ready(rollout, CHARTER, report("cirrus", "canary", T0 + 50 * H)).rollout
    rollout = green(rollout, "canary", T0 + 55 * H, ("cirrus", "dorado"))
    now = T0 + 65 * H
    assert reply(
        advance(
            rollout,
            CHARTER,
            LOW_RISK,
            now,
            by="emeka-cirrus",
            override_reason="ship it",
            to="canary",
        )
    ) == Reply("only coordinators may override a failing gate (#42 → canary)", ok=False)
    overridden = advance(
        rollout, CHARTER, LOW_RISK, now, by="ines-coord",
        override_reason="testnet fork deadline", may_override=True, to="canary",
    )  # fmt: skip
    rollout = overridden.rollout
    assert rollout.stage_index == 1
    assert rollout.stage_entered_at["canary"] == now
    assert [o.gates for o in rollout.overrides] == [("soak",)]
    (audit,) = [a for a in of(overridden.effects, Audit) if a.kind == "gate-overridden"]
    assert audit.payload == {
        "stage": "canary",
        "reason": "testnet fork deadline",
        "by": "ines-coord",
        "failing": ["soak: staging has run 60h of 72h with every client on it (12h to go)"],
    }
    (announce,) = of(overridden.effects, Announce)
    assert announce.title == "#42 advanced to canary by override"
    assert announce.text.startswith("OVERRIDE by ines-coord: testnet fork deadline\n")
    assert announce.text.endswith(matrix(rollout, CHARTER).text())

    # A sev1 naming dorado pauses both rollouts dorado is in; a paused rollout does not advance.
    sev1 = declare(
        CHARTER, id="INC-7", severity="sev1", summary="dorado forks on canary", by="kofi-sec",
        now=now + 2 * H, clients=("dorado",), rollouts=(rollout, other),
    )  # fmt: skip
    assert sev1.pause == (42, 43)
    rollout = pause(rollout, "INC-7", "INC-7: dorado forks on canary", CHARTER).rollout
    other = pause(other, "INC-7", "INC-7: dorado forks on canary", CHARTER).rollout
    assert rollout.paused
    assert other.paused
    assert reply(advance(rollout, CHARTER, LOW_RISK, now + 3 * H, by="ines-coord")) == Reply(
        "#42 is paused; it advances once every hold is lifted:\n- INC-7: dorado forks on canary"
        " — lifted when incident INC-7 is resolved (`/charter incident resolve #INC-7`)",
        ok=False,
    )

    # dorado rolls back to staging: the rollout goes back to staging with it (canary's soak
    # clock stops), and canary is entered again only by `advance`, every gate asked anew.
    back = rollback(
        rollout, CHARTER, "consensus fork", "ines-coord", now + 4 * H, clients=["dorado"]
    )
    rollout = back.rollout
    assert (rollout.position("dorado"), rollout.stage_index) == (0, 0)
    assert "canary" not in rollout.stage_entered_at
    assert reply(back) == Reply("rolled back dorado canary → staging")
    rejoined_at = now + 30 * H
    fixed = report("dorado", "canary", rejoined_at, version="1.4.1")
    rollout = report_ready(rollout, CHARTER, fixed).rollout
    assert "canary" not in rollout.stage_entered_at  # reporting alone does not re-enter it
    rollout = record_check(
        rollout,
        replace(
            check("dorado", "canary", "interop-matrix", "success", rejoined_at),
            head_sha=fixed.ref or "",
        ),
    )
    assert [r.version for r in inventory(rollout)["dorado"]["canary"]] == ["1.4.0", "1.4.1"]

    resolved = resolve(CHARTER, sev1.incident, "patched in 1.4.1", "kofi-sec", rejoined_at)
    rollout = resume(rollout, CHARTER, "ines-coord", incident_id="INC-7").rollout
    assert not rollout.paused
    rollout = advance(rollout, CHARTER, LOW_RISK, rejoined_at, by="ines-coord").rollout
    assert rollout.stage_entered_at["canary"] == rejoined_at

    # Production: every gate passes after 14 days on canary with every client, and completes.
    rollout = report_all(rollout, "production", rejoined_at + D)
    rollout = green(rollout, "production", rejoined_at + 2 * D)
    facts = replace(
        LOW_RISK,
        incidents=(resolved.incident,),
        go_no_go=(GoNoGo(42, "production", "go", "jonas-coord", rejoined_at + 13 * D),),
    )
    assert reply(advance(rollout, CHARTER, facts, rejoined_at + 13 * D, by="ines-coord")) == Reply(
        "#42 cannot advance to production:\n"
        "- soak: canary has run 13d of 14d with every client on it (1d to go; counted since"
        " dorado's 1.4.1 replaced 1.4.0)",
        ok=False,
    )
    done = advance(rollout, CHARTER, facts, rejoined_at + 14 * D, by="ines-coord")
    rollout = done.rollout
    assert (rollout.stage_index, rollout.completed_at) == (2, rejoined_at + 14 * D)
    assert [a.kind for a in of(done.effects, Audit)] == ["stage-entered", "rollout-completed"]
    assert [a.title for a in of(done.effects, Announce)] == [
        "#42 advanced to production",
        "#42 rollout completed",
    ]


# -- start and reports ------------------------------------------------------------------


def test_start_opens_a_pending_rollout() -> None:
    """A rollout starts pending, every affected client off every stage, and is audited."""
    decision = start(42, ("aurora", "dorado"), T0, confidential=True)
    assert decision.rollout == Rollout(
        42, ("aurora", "dorado"), T0, positions={"aurora": -1, "dorado": -1}, confidential=True
    )
    assert decision.effects == (
        Audit("rollout-started", "rollout:42", {"clients": ["aurora", "dorado"]}),
        SyncTracking(42),
    )


@pytest.mark.parametrize("clients", [(), ("aurora", "aurora")])
def test_start_needs_distinct_clients(clients: tuple[str, ...]) -> None:
    """A rollout needs one or more distinct affected clients."""
    with pytest.raises(ValueError, match="one or more distinct clients"):
        start(42, clients, T0)


@pytest.mark.parametrize(
    ("stage_index", "sent", "text"),
    [
        (-1, report("zephyr", "staging", T0),
         "zephyr is not in the rollout of #42 (aurora, dorado)"),
        (-1, report("aurora", "canary", T0),
         "#42 is at pending: report for staging or earlier, not canary"),
        (0, report("aurora", "production", T0),
         "#42 is at staging: report for canary or earlier, not production"),
    ],
    ids=["stranger", "too-far-from-pending", "too-far-from-staging"],
)  # fmt: skip
def test_report_ready_refusals(stage_index: int, sent: ReadyReport, text: str) -> None:
    """Reports come from the rollout's clients, for a stage no further than current + 1."""
    rollout = replace(start(42, ("aurora", "dorado"), T0).rollout, stage_index=stage_index)
    decision = report_ready(rollout, CHARTER, sent)
    assert decision == RolloutDecision(rollout, (Reply(text, ok=False),))


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (
            report("aurora", "devnet", T0),
            "unknown stage 'devnet'; the charter's stages are staging, canary, production",
        ),
        (
            report("aurora", "staging", T0, version=" "),
            "a readiness report needs the released version",
        ),
    ],
)
def test_report_ready_rejects_impossible_input(sent: ReadyReport, message: str) -> None:
    """A stage the charter does not know, or a report without a version, is an error."""
    with pytest.raises(ValueError, match=message):
        report_ready(start(42, CLIENTS, T0).rollout, CHARTER, sent)


def test_a_report_never_moves_a_client_down() -> None:
    """Reporting a new staging build keeps a client that is on canary on canary (and restarts
    staging's soak: charter.soak)."""
    rollout = report_all(start(42, CLIENTS, T0).rollout, "staging", T0)
    rollout = report_ready(rollout, CHARTER, report("aurora", "canary", T0 + D)).rollout
    decision = report_ready(
        rollout, CHARTER, report("aurora", "staging", T0 + 2 * D, version="1.4.2")
    )
    assert decision.rollout.position("aurora") == 1
    assert decision.effects[0] == Audit(
        "ready-reported",
        "rollout:42",
        {"client": "aurora", "stage": "staging", "version": "1.4.2",
         "ref": sha("aurora", "staging", "1.4.2"), "notes": "", "by": "aurora-bot"},
    )  # fmt: skip
    assert decision.effects[-1] == Reply(
        "recorded aurora 1.4.2@1530d36812e0 for staging; aurora's staging soak restarts: 1.4.2"
        " replaces 1.4.0"
    )
    assert decision.rollout.stage_entered_at == {"staging": T0 + 2 * D}


def test_a_late_report_completes_an_overridden_last_stage() -> None:
    """Entering the last stage by override with a client missing completes when it reports."""
    rollout = Rollout(
        42, ("aurora", "dorado"), T0, stage_index=1,
        positions={"aurora": 2, "dorado": 1}, stage_entered_at={"staging": T0, "canary": T0},
    )  # fmt: skip
    entered = advance(
        rollout,
        CHARTER,
        GateFacts(),
        T0 + D,
        by="ines-coord",
        override_reason="x",
        may_override=True,
        to="production",
    )
    assert (entered.rollout.stage_index, entered.rollout.completed_at) == (2, None)
    assert "production" not in entered.rollout.stage_entered_at
    assert reply(advance(entered.rollout, CHARTER, GateFacts(), T0 + D, by="ines-coord")) == Reply(
        "#42 is on its last stage; it completes once all are on it (waiting for dorado)", ok=False
    )
    done = report_ready(entered.rollout, CHARTER, report("dorado", "production", T0 + 2 * D))
    assert done.rollout.completed_at == T0 + 2 * D
    assert [a.kind for a in of(done.effects, Audit)] == ["ready-reported", "rollout-completed"]
    assert reply(advance(done.rollout, CHARTER, GateFacts(), T0 + 3 * D, by="ines-coord")) == Reply(
        "#42 has completed its rollout", ok=False
    )


# -- advance ----------------------------------------------------------------------------


def staged(at: datetime = T0) -> Rollout:
    return report_all(
        start(42, ("aurora", "dorado"), at).rollout, "staging", at, ("aurora", "dorado")
    )


def test_advance_with_every_gate_passing_needs_no_override() -> None:
    """All gates green: the rollout advances; an unneeded override reason is not recorded."""
    rollout = report_all(staged(), "canary", T0 + D, ("aurora", "dorado"))
    rollout = green(rollout, "canary", T0 + D, ("aurora", "dorado"))
    decision = advance(
        rollout,
        CHARTER,
        LOW_RISK,
        T0 + 4 * D,
        by="jonas-coord",
        override_reason="just in case",
        to="canary",
    )
    assert (decision.rollout.stage_index, decision.rollout.overrides) == (1, ())
    assert [type(e).__name__ for e in decision.effects] == [
        "Audit",
        "Announce",
        "SyncTracking",
        "Reply",
    ]
    (announce,) = of(decision.effects, Announce)
    assert announce.text.startswith("All gates passed; advanced by jonas-coord.\n\nRollout of #42")
    assert announce.data == {"stage": "canary", "paused": False}


def test_an_override_needs_a_written_reason() -> None:
    """An override with a blank reason is an error, not a silent pass."""
    with pytest.raises(ValueError, match="an override needs a written reason"):
        advance(
            staged(),
            CHARTER,
            LOW_RISK,
            T0,
            by="ines-coord",
            override_reason="  ",
            may_override=True,
        )


def test_an_override_with_nobody_allowed_names_nobody() -> None:
    """Without override roles in the charter, the refusal says nobody may override."""
    charter = CHARTER.model_copy(
        update={"rollout": CHARTER.rollout.model_copy(update={"override_roles": ()})}
    )
    decision = advance(
        staged(), charter, LOW_RISK, T0, by="ines-coord", override_reason="x", to="canary"
    )
    assert reply(decision) == Reply(
        "only nobody may override a failing gate (#42 → canary)", ok=False
    )


# -- rollback ---------------------------------------------------------------------------


def test_rollback_of_every_client_moves_the_rollout_back() -> None:
    """By default every client goes back one stage, and the rollout follows the furthest."""
    rollout = report_all(staged(), "canary", T0 + D, ("aurora", "dorado"))
    rollout = advance(
        rollout,
        CHARTER,
        GateFacts(),
        T0 + D,
        by="ines-coord",
        override_reason="x",
        may_override=True,
        to="canary",
    ).rollout
    decision = rollback(rollout, CHARTER, "bad release", "ines-coord", T0 + 2 * D)
    assert decision.rollout.stage_index == 0
    assert decision.rollout.stage_entered_at == {"staging": T0 + H}
    assert decision.effects[0] == Audit(
        "rollout-rolled-back",
        "rollout:42",
        {"moves": {"aurora": ["canary", "staging"], "dorado": ["canary", "staging"]},
         "reason": "bad release", "by": "ines-coord"},
    )  # fmt: skip
    (announce,) = of(decision.effects, Announce)
    assert announce.title == "#42 rollback: aurora canary → staging, dorado canary → staging"
    cell = matrix(decision.rollout, CHARTER).cell("aurora", "canary")
    assert cell.text().endswith("(rolled back)")
    again = rollback(decision.rollout, CHARTER, "worse", "ines-coord", T0 + 3 * D)
    assert (again.rollout.stage_index, again.rollout.stage_entered_at) == (-1, {})


def test_rollback_reopens_a_completed_rollout() -> None:
    """Rolling a client back from the last stage makes the rollout incomplete again."""
    rollout = Rollout(42, ("aurora",), T0, stage_index=2, positions={"aurora": 2}, completed_at=T0)
    decision = rollback(rollout, CHARTER, "mainnet halt", "ines-coord", T0 + D)
    assert decision.rollout.completed_at is None
    assert decision.rollout.rollbacks[0].clients == ("aurora",)


@pytest.mark.parametrize(
    ("clients", "text"),
    [
        (["zephyr"], "zephyr not in the rollout of #42"),
        (["dorado"], "dorado not on any stage yet; nothing to roll back"),
    ],
)
def test_rollback_refusals(clients: list[str], text: str) -> None:
    """Only clients of this rollout that are on a stage can be rolled back."""
    rollout = report_ready(
        start(42, ("aurora", "dorado"), T0).rollout, CHARTER, report("aurora", "staging", T0)
    ).rollout
    decision = rollback(rollout, CHARTER, "why", "ines-coord", T0, clients=clients)
    assert decision == RolloutDecision(rollout, (Reply(text, ok=False),))


def test_rollback_needs_a_reason() -> None:
    """A rollback without a written reason is an error."""
    with pytest.raises(ValueError, match="a rollback needs a written reason"):
        rollback(staged(), CHARTER, "", "ines-coord", T0)


# -- pause and resume -------------------------------------------------------------------


def test_pause_and_resume_hold_per_incident() -> None:
    """Each incident holds the rollout once; it resumes (and is announced) when no hold is left."""
    first = pause(staged(), "INC-1", "INC-1: fork", CHARTER)
    assert [type(e).__name__ for e in first.effects] == ["Audit", "Announce", "SyncTracking"]
    assert pause(first.rollout, "INC-1", "INC-1: fork", CHARTER) == RolloutDecision(
        first.rollout, ()
    )
    both = pause(first.rollout, None, "holiday freeze", CHARTER).rollout
    assert both.pause_reason == "INC-1: fork; holiday freeze"

    partial = resume(both, CHARTER, "ines-coord", incident_id="INC-1")
    assert partial.rollout.pauses == (("", "holiday freeze"),)
    assert reply(partial) == Reply("#42 is still paused: holiday freeze")
    assert reply(resume(both, CHARTER, "ines-coord", incident_id="INC-9")) == Reply(
        "incident INC-9 does not hold #42 (INC-1: fork; holiday freeze)", ok=False
    )
    free = resume(partial.rollout, CHARTER, "ines-coord")
    assert not free.rollout.paused
    assert [type(e).__name__ for e in free.effects] == [
        "Audit",
        "Announce",
        "SyncTracking",
        "Reply",
    ]
    assert reply(resume(free.rollout, CHARTER, "ines-coord")) == Reply(
        "#42 is not paused", ok=False
    )


def test_pause_refusals() -> None:
    """A completed rollout cannot be paused; a pause needs a reason."""
    done = Rollout(42, ("aurora",), T0, stage_index=2, positions={"aurora": 2}, completed_at=T0)
    assert reply(pause(done, "INC-1", "fork", CHARTER)) == Reply(
        "#42 has completed its rollout; nothing to pause", ok=False
    )
    with pytest.raises(ValueError, match="a pause needs a written reason"):
        pause(staged(), "INC-1", " ", CHARTER)


# -- matrix -----------------------------------------------------------------------------


def test_matrix_text_shows_versions_refs_and_checks() -> None:
    """The matrix has a row per client and a column per stage: version@ref and check status."""
    rollout = start(42, ("aurora", "dorado"), T0).rollout
    for client in ("aurora", "dorado"):
        rollout = report_ready(rollout, CHARTER, report(client, "staging", T0, ref=None)).rollout
    rollout = report_ready(
        rollout, CHARTER, report("aurora", "canary", T0, ref="abcdef1234567890")
    ).rollout
    rollout = report_ready(rollout, CHARTER, report("dorado", "canary", T0, ref=None)).rollout
    rollout = record_check(rollout, check("aurora", "canary", "interop-matrix", None, T0))
    rollout = record_check(
        rollout,
        replace(
            check("aurora", "canary", "interop-matrix", None, T0), head_sha="abcdef1234567890ff"
        ),
    )
    canary = "1.4.0@abcdef123456 interop-matrix=running"  # the widest cell sets the width
    assert matrix(rollout, CHARTER).text() == (
        "Rollout of #42 — stage: staging\n"
        f"client | staging | {'canary'.ljust(len(canary))} | production\n"
        f"aurora | 1.4.0   | {canary} | —\n"
        f"dorado | 1.4.0   | {'1.4.0 interop-matrix=not run'.ljust(len(canary))} | —"
    )


def test_inventory_lists_every_report_per_client_and_stage() -> None:
    """The inventory is the version history: every report, oldest first, per client and stage."""
    rollout = start(42, ("aurora", "dorado"), T0).rollout
    late = report("aurora", "staging", T0 + H, version="1.4.1")
    early = report("aurora", "staging", T0, version="1.4.0")
    rollout = replace(rollout, reports=(late, early))
    assert inventory(rollout) == {"aurora": {"staging": [early, late]}, "dorado": {}}


@pytest.mark.parametrize(
    ("ref", "head_sha", "head_branch", "matches"),
    [
        ("0123abcd" * 5, "0123abcd" * 5, None, True),  # the full sha
        ("0123AB", "0123abcd" * 5, None, True),  # an abbreviation, any case
        ("0123a", "0123abcd" * 5, None, False),  # too short to name a commit
        ("v1.1.0", "0123abcd" * 5, None, False),  # a tag, and the run names none
        ("v1.1.0", "0123abcd" * 5, "v1.1.0", True),  # the tag the run was started for
        ("V1.1.0", "0123abcd" * 5, "v1.1.0", False),  # tags match exactly
        ("v1.1.0", "0123abcd" * 5, "main", False),  # a run of another branch
        ("0123ab", "0123abcd" * 5, "main", True),  # the commit still names it
    ],
)
def test_a_reported_ref_names_a_commit_or_the_tag_a_run_was_for(
    ref: str, head_sha: str, head_branch: str | None, matches: bool
) -> None:
    assert ref_matches(ref, head_sha, head_branch) is matches


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("1.3.9", "recorded aurora 1.3.9@5864ca1e9d77 for staging; warning: 1.3.9 does not meet"
         " the proposal's prerequisite aurora >= 1.4; staging is not entered until a release that"
         " does is reported"),
        ("1.4.0", "recorded aurora 1.4.0@7a08c5a3c6c3 for staging"),
        # cannot be compared: no warning
        ("nightly-7", "recorded aurora nightly-7@b0a7e1fcc3c1 for staging"),
    ],
)  # fmt: skip
def test_a_release_below_the_prerequisite_is_recorded_with_a_warning(
    version: str, said: str
) -> None:
    rollout = start(42, CLIENTS, T0).rollout
    sent = report("aurora", "staging", T0, version=version)
    decision = report_ready(rollout, CHARTER, sent, minimums("aurora >= 1.4"))
    assert decision.rollout.position("aurora") == 0  # on staging all the same
    assert decision.effects[-1] == Reply(said)


@pytest.mark.parametrize(
    ("version", "ref", "said"),
    [
        ("1.4.0", "0123abcd" * 5, "recorded aurora 1.4.0@0123abcd0123 for staging"),  # a sha
        ("v1.4.0", "refs/tags/v1.4.0", "recorded aurora v1.4.0 for staging"),  # its own tag
        ("1.4.0", None, "recorded aurora 1.4.0 for staging"),  # no ref
    ],
)
def test_the_reply_names_the_release_as_views_do(version: str, ref: str | None, said: str) -> None:
    rollout = start(42, CLIENTS, T0).rollout
    sent = report("aurora", "staging", T0, version=version, ref=ref)
    assert report_ready(rollout, CHARTER, sent).effects[-1] == Reply(said)


def test_the_first_stage_waits_for_releases_meeting_the_prerequisites() -> None:
    """Every client on staging enters it, unless a release is below its minimum: then it
    waits for one that meets it. Below it on a stage already entered, the warning says so."""
    needs = minimums("aurora >= 1.4, borealis >= 2")
    rollout = start(42, CLIENTS, T0).rollout
    for i, client in enumerate(CLIENTS):
        rollout = report_ready(
            rollout, CHARTER, report(client, "staging", T0 + i * H), needs
        ).rollout
    assert rollout.stage_index == -1  # borealis 1.4.0 is below borealis >= 2
    fixed = report("borealis", "staging", T0 + 6 * H, version="2.0.1")
    rollout = report_ready(rollout, CHARTER, fixed, needs).rollout
    assert rollout.stage_index == 0
    again = report("borealis", "staging", T0 + 7 * H, version="1.9")
    said = report_ready(rollout, CHARTER, again, needs).effects[-1]
    assert isinstance(said, Reply) and said.text.endswith("report a release that does")
