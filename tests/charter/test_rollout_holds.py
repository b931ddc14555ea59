"""What holds a rollout before a stage: a pause holds the first stage's entry and the
completion until the last hold is lifted; the form's prerequisites hold the first stage until a
release meeting them is reported, or a coordinator overrides them with ``advance``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest

from charter.effects import Announce, Audit, Reply
from charter.gates import GateFacts
from charter.prerequisites import Minimum, minimums
from charter.rollout import (
    Override,
    ReadyReport,
    Rollout,
    advance,
    override_holds,
    pause,
    report_ready,
    resume,
    start,
)
from tests.charter.rollout_support import CLIENTS, T0, H, reference, report

CHARTER = reference()
D = timedelta(days=1)
NEEDS = minimums("aurora >= 4.2")
HOLD = "INC-1 (sev1): chain halt"


def kinds(effects: tuple[object, ...]) -> list[str]:
    return [e.kind for e in effects if isinstance(e, Audit)]


def last_reply(effects: tuple[object, ...]) -> Reply:
    return [e for e in effects if isinstance(e, Reply)][-1]


def pending(*, paused: bool, aurora: str = "4.2", needs: Mapping[str, Minimum] = NEEDS) -> Rollout:
    """Every client but eridanus has reported for staging (aurora ``aurora``)."""
    rollout = start(42, CLIENTS, T0).rollout
    if paused:
        rollout = pause(rollout, "INC-1", HOLD, CHARTER).rollout
    for client in CLIENTS[:-1]:
        version = aurora if client == "aurora" else "1.0"
        sent = report(client, "staging", T0 + H, version=version)
        rollout = report_ready(rollout, CHARTER, sent, needs).rollout
    return rollout


def on_last(*, paused: bool) -> Rollout:
    """Production entered by override with dorado missing."""
    rollout = Rollout(
        42, ("aurora", "dorado"), T0, stage_index=2, positions={"aurora": 2, "dorado": 1},
        stage_entered_at={"staging": T0, "canary": T0},
    )  # fmt: skip
    return pause(rollout, "INC-1", HOLD, CHARTER).rollout if paused else rollout


# -- a pause holds entry and completion ---------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "sent", "stage_index", "completed", "audits", "said"),
    [
        (pending(paused=True), report("eridanus", "staging", T0 + 2 * H), -1, False,
         ["ready-reported"],
         "recorded eridanus 1.4.0@5c5c254466a2 for staging; #42 is paused (INC-1 (sev1): chain"
         " halt): it enters staging once resumed"),
        (pending(paused=False), report("eridanus", "staging", T0 + 2 * H), 0, False,
         ["ready-reported", "stage-entered"], "recorded eridanus 1.4.0@5c5c254466a2 for staging"),
        (pending(paused=True, aurora="4.1"), report("eridanus", "staging", T0 + 2 * H), -1,
         False, ["ready-reported"], "recorded eridanus 1.4.0@5c5c254466a2 for staging"),
        (on_last(paused=True), report("dorado", "production", T0 + 2 * H), 2, False,
         ["ready-reported"],
         "recorded dorado 1.4.0@279b2e2ef095 for production; #42 is paused (INC-1 (sev1): chain"
         " halt): it completes once resumed"),
        (on_last(paused=False), report("dorado", "production", T0 + 2 * H), 2, True,
         ["ready-reported", "rollout-completed"],
         "recorded dorado 1.4.0@279b2e2ef095 for production"),
        (pending(paused=True), report("aurora", "staging", T0 + 2 * H, version="4.3"), -1,
         False, ["ready-reported"], "recorded aurora 4.3@459a65cfbb7b for staging"),
    ],
    ids=["paused-first-stage", "first-stage", "paused-below-minimum", "paused-last-stage",
         "last-stage", "paused-nothing-waits"],
)  # fmt: skip
def test_a_paused_rollout_neither_enters_its_first_stage_nor_completes(
    before: Rollout,
    sent: ReadyReport,
    stage_index: int,
    completed: bool,
    audits: list[str],
    said: str,
) -> None:
    """The report is recorded and the client is on the stage, but what it would set off waits
    for the pause to be lifted, and the reply says so."""
    decision = report_ready(before, CHARTER, sent, NEEDS)
    after = decision.rollout
    assert (after.stage_index, after.completed_at is not None) == (stage_index, completed)
    assert ("staging" in after.stage_entered_at) is (stage_index >= 0)
    assert kinds(decision.effects) == audits
    assert last_reply(decision.effects) == Reply(said)


RESUMED_AT = T0 + D


@pytest.mark.parametrize(
    ("before", "now", "needs", "stage_index", "completed", "audits"),
    [
        (pending(paused=True, aurora="4.2"), RESUMED_AT, NEEDS, 0, None,
         ["rollout-resumed", "stage-entered"]),
        (pending(paused=True, aurora="4.1"), RESUMED_AT, NEEDS, -1, None, ["rollout-resumed"]),
        (pending(paused=True, aurora="4.2"), None, NEEDS, -1, None, ["rollout-resumed"]),
        (on_last(paused=True), RESUMED_AT, {}, 2, None, ["rollout-resumed"]),
    ],
    ids=["enters-first-stage", "still-below-minimum", "without-now", "nothing-waited"],
)  # fmt: skip
def test_resuming_does_what_waited(
    before: Rollout,
    now: datetime | None,
    needs: Mapping[str, Minimum],
    stage_index: int,
    completed: datetime | None,
    audits: list[str],
) -> None:
    """Lifting the last hold (``now`` given) enters the first stage when every client reported
    a release meeting its minimum; the stage's clock starts then."""
    if before.stage_index == -1:
        sent = report("eridanus", "staging", T0 + 2 * H)
        before = report_ready(before, CHARTER, sent, needs).rollout
    decision = resume(before, CHARTER, "ines-coord", incident_id="INC-1", now=now, minimums=needs)
    after = decision.rollout
    assert (after.stage_index, after.completed_at, after.paused) == (stage_index, completed, False)
    assert kinds(decision.effects) == audits
    if stage_index == 0:
        assert after.stage_entered_at == {"staging": RESUMED_AT}


@pytest.mark.parametrize(
    ("holds", "completed"),
    [(("INC-1",), RESUMED_AT), (("INC-1", "INC-2"), None)],
    ids=["last-hold", "another-hold-left"],
)
def test_a_held_completion_happens_when_the_last_hold_is_lifted(
    holds: tuple[str, ...], completed: datetime | None
) -> None:
    rollout = on_last(paused=False)
    for key in holds:
        rollout = pause(rollout, key, f"{key}: halt", CHARTER).rollout
    rollout = report_ready(rollout, CHARTER, report("dorado", "production", T0 + H)).rollout
    assert rollout.completed_at is None
    decision = resume(rollout, CHARTER, "kofi-sec", incident_id="INC-1", now=RESUMED_AT)
    assert decision.rollout.completed_at == completed
    assert ("rollout-completed" in kinds(decision.effects)) is (completed is not None)


# -- the prerequisites hold the first stage; advance may override them ----------------------------


def all_reported(aurora: str = "4.1", *, paused: bool = False) -> Rollout:
    rollout = pending(paused=paused, aurora=aurora)
    return report_ready(rollout, CHARTER, report("eridanus", "staging", T0 + 2 * H), NEEDS).rollout


NOW = T0 + 9 * H


@pytest.mark.parametrize(
    ("before", "reason", "may", "said", "stage_index"),
    [
        (all_reported(), None, False,
         Reply("#42 cannot advance to staging:\n- prerequisites: aurora 4.1 does not meet"
               " aurora >= 4.2", ok=False), -1),
        (all_reported(), "aurora 4.1 is fine on devnets", True,
         Reply("#42 advanced to staging by override"), 0),
        (all_reported(), "trust me", False,
         Reply("only coordinators may override a failing gate (#42 → staging)", ok=False), -1),
        (pending(paused=False, aurora="4.1"), "x", True,
         Reply("#42 has not entered staging yet (waiting for eridanus)", ok=False), -1),
        (all_reported(paused=True), "x", True,
         Reply("#42 is paused; it advances once every hold is lifted:\n- INC-1 (sev1): chain"
               " halt — lifted when incident INC-1 is resolved"
               " (`/charter incident resolve #INC-1`)",
               ok=False), -1),
    ],
    ids=["held", "override", "not-permitted", "someone-missing", "paused"],
)  # fmt: skip
def test_advance_enters_a_first_stage_held_only_by_the_prerequisites(
    before: Rollout, reason: str | None, may: bool, said: Reply, stage_index: int
) -> None:
    """With every client reported and only the prerequisites failing, ``advance`` names the
    clients whose release is too low, and a permitted override enters the stage (audited)."""
    assert before.stage_index == -1
    facts = GateFacts(minimums=NEEDS)
    decision = advance(
        before, CHARTER, facts, NOW, by="ines-coord", override_reason=reason, may_override=may,
        to="staging",
    )  # fmt: skip
    assert last_reply(decision.effects) == said
    assert decision.rollout.stage_index == stage_index
    if stage_index == 0:
        assert decision.rollout.overrides == (
            Override("staging", "aurora 4.1 is fine on devnets", "ines-coord", NOW,
                     ("prerequisites",)),
        )  # fmt: skip
        assert decision.rollout.stage_entered_at == {"staging": NOW}
        assert kinds(decision.effects) == ["gate-overridden", "stage-entered"]
    else:
        assert decision.rollout == before


def test_advance_enters_the_first_stage_when_nothing_holds_it_any_more() -> None:
    """Held by a minimum the facts no longer name (the form was edited), ``advance`` enters."""
    decision = advance(all_reported(), CHARTER, GateFacts(), NOW, by="ines-coord")
    assert last_reply(decision.effects) == Reply("#42 advanced to staging")
    assert decision.rollout.overrides == ()


# -- holds by hand: one at a time, lifted by hand, never an incident's ----------------------------

FREEZE = "held by jonas-coord: release freeze"


def held(*keys: str) -> Rollout:
    """#42 pending with every client but eridanus reported; held by ``keys`` ("" by hand)."""
    rollout = pending(paused=False, needs={})
    for key in keys:
        if key:
            rollout = pause(rollout, key, f"{key}: halt", CHARTER).rollout
        else:
            rollout = pause(rollout, None, "release freeze", CHARTER, by="jonas-coord").rollout
    return rollout


def announced(effects: tuple[object, ...]) -> list[tuple[str, str]]:
    return [(e.title, e.text.split("\n\n")[0]) for e in effects if isinstance(e, Announce)]


def effect_kinds(effects: tuple[object, ...]) -> list[str]:
    return [type(e).__name__ for e in effects]


STOPS = (
    "#42 does not enter its first stage (staging) until a member of coordinators lifts it with"
    " `/charter rollout resume 42`."
)


@pytest.mark.parametrize(
    ("before", "pauses", "effects", "said"),
    [
        (held(), (("", FREEZE),), ["Audit", "Announce", "SyncTracking", "Reply"],
         Reply(f"#42 paused: release freeze. {STOPS}")),
        (held("INC-1"), (("INC-1", "INC-1: halt"), ("", FREEZE)),
         ["Audit", "Announce", "SyncTracking", "Reply"],
         Reply(f"#42 paused: release freeze. {STOPS}")),
        (held(""), (("", FREEZE),), ["Reply"],
         Reply("#42 is already paused by hand (held by jonas-coord: release freeze); a member of"
               " coordinators lifts it with `/charter rollout resume 42`.", ok=False)),
    ],
    ids=["first-hold", "beside-an-incident", "twice-by-hand"],
)  # fmt: skip
def test_a_rollout_is_paused_by_hand_once(
    before: Rollout, pauses: tuple[tuple[str, str], ...], effects: list[str], said: Reply
) -> None:
    """A hand hold is audited, announced and synced, and says who placed it; a second one is
    refused, naming the first and how to lift it, with nothing recorded or announced."""
    decision = pause(before, None, "release freeze", CHARTER, by="jonas-coord")
    assert decision.rollout.pauses == pauses
    assert effect_kinds(decision.effects) == effects
    assert last_reply(decision.effects) == said
    if said.ok:
        [audit] = [e for e in decision.effects if isinstance(e, Audit)]
        assert audit.payload == {"incident": None, "reason": "release freeze", "by": "jonas-coord"}
        assert announced(decision.effects) == [
            ("#42 rollout paused", f"Paused by hand by jonas-coord: release freeze\n{STOPS}")
        ]


@pytest.mark.parametrize(
    ("at_start", "payload"),
    [
        (False, {"incident": "INC-1", "reason": HOLD}),
        (True, {"incident": "INC-1", "reason": HOLD, "at_start": True}),
    ],
    ids=["under-way", "at-start"],
)
def test_an_incidents_hold_placed_at_start_is_recorded_so(
    at_start: bool, payload: dict[str, object]
) -> None:
    """A hold placed as the rollout starts says so in its record (storage reads it: such a
    hold does not make the incident confidential); the hold itself is the same."""
    decision = pause(start(42, CLIENTS, T0).rollout, "INC-1", HOLD, CHARTER, at_start=at_start)
    assert decision.rollout.pauses == (("INC-1", HOLD),)
    [audit] = [e for e in decision.effects if isinstance(e, Audit)]
    assert audit.payload == payload


def test_a_hold_by_hand_says_how_it_is_lifted_when_no_role_may() -> None:
    """Without override roles (authz refuses such a pause) the text still reads."""
    rollout_conf = CHARTER.rollout.model_copy(update={"override_roles": ()})
    charter = CHARTER.model_copy(update={"rollout": rollout_conf})
    decision = pause(held(), None, "freeze", charter)
    assert decision.rollout.pauses == (("", "freeze"),)
    assert last_reply(decision.effects) == Reply(
        "#42 paused: freeze. #42 does not enter its first stage (staging) until"
        " `/charter rollout resume 42` lifts it."
    )


@pytest.mark.parametrize(
    ("stage_index", "stops"),
    [
        (-1, "does not enter its first stage (staging)"),
        (0, "does not advance past staging"),
        (1, "does not advance past canary"),
        (2, "does not complete"),  # production, the last stage
    ],
    ids=["pending", "staging", "canary", "last"],
)
def test_a_hold_by_hand_says_what_it_stops_where_the_rollout_is(
    stage_index: int, stops: str
) -> None:
    """A rollout on canary has entered its first stage: its hold stops the advance past it."""
    rollout = Rollout(42, ("aurora",), T0, stage_index=stage_index, positions={"aurora": 0})
    decision = pause(rollout, None, "freeze", CHARTER, by="jonas-coord")
    assert last_reply(decision.effects) == Reply(
        f"#42 paused: freeze. #42 {stops} until a member of coordinators lifts it with"
        " `/charter rollout resume 42`."
    )


STILL = (
    "#42: the hold by hand is lifted, but #42 is still paused: INC-1: halt. An incident's hold is"
    " lifted when the incident is resolved."
)


@pytest.mark.parametrize(
    ("before", "reason", "pauses", "audits", "titles", "said"),
    [
        (held(""), "", (), ["rollout-resumed"], ["#42 rollout resumed"], Reply("#42 resumed")),
        (held("", "INC-1"), "freeze over", (("INC-1", "INC-1: halt"),), ["rollout-resumed"],
         ["#42 hold by hand lifted; still paused"], Reply(STILL)),
        (held("INC-1"), "", (("INC-1", "INC-1: halt"),), [], [],
         Reply("#42 is not paused by hand; it is held by INC-1: halt. An incident's hold is"
               " lifted when the incident is resolved (`/charter incident resolve #<id>`), or on"
               " this"
               ' rollout alone by `/charter rollout resume 42 --override "<reason>"`.', ok=False)),
        (held(), "", (), [], [], Reply("#42 is not paused", ok=False)),
    ],
    ids=["hand-only", "hand-and-incident", "incident-only", "not-paused"],
)  # fmt: skip
def test_a_resume_by_hand_lifts_only_the_hold_by_hand(
    before: Rollout,
    reason: str,
    pauses: tuple[tuple[str, str], ...],
    audits: list[str],
    titles: list[str],
    said: Reply,
) -> None:
    """An incident's hold stays until its incident is resolved; lifting the hand hold beside it
    is still recorded, announced (with what holds the rollout) and answered so."""
    decision = resume(before, CHARTER, "ines-coord", reason=reason, now=RESUMED_AT)
    assert decision.rollout.pauses == pauses
    assert kinds(decision.effects) == audits
    assert [title for title, _ in announced(decision.effects)] == titles
    assert last_reply(decision.effects) == said
    if audits:
        [audit] = [e for e in decision.effects if isinstance(e, Audit)]
        assert audit.payload == {
            "incident": None,
            "by": "ines-coord",
            "still_paused": bool(pauses),
            "reason": reason,
        }
        assert "SyncTracking" in effect_kinds(decision.effects)
    if reason:
        assert announced(decision.effects)[0][1] == (
            "Resumed by ines-coord: freeze over\nStill paused: INC-1: halt."
        )


@pytest.mark.parametrize(
    ("keys", "confidential", "held_by"),
    [
        (("INC-1",), (), "INC-1: halt"),
        (("INC-1",), ("INC-1",), "a confidential incident"),
        (("INC-1", "INC-2"), ("INC-2",), "INC-1: halt; a confidential incident"),
    ],
    ids=["public", "confidential", "one-of-two"],
)
def test_a_refused_resume_says_a_confidential_incident_by_no_more(
    keys: tuple[str, ...], confidential: tuple[str, ...], held_by: str
) -> None:
    """The refusal is recorded where the public reads it: a hold of an incident confidential
    now is not quoted, whatever its reason said when it was placed."""
    decision = resume(held(*keys), CHARTER, "ines-coord", confidential=confidential)
    assert last_reply(decision.effects).text.startswith(
        f"#42 is not paused by hand; it is held by {held_by}. "
    )
    lifting = resume(held(*keys), CHARTER, "x", incident_id="INC-9", confidential=confidential)
    assert last_reply(lifting.effects) == Reply(
        f"incident INC-9 does not hold #42 ({held_by})", ok=False
    )


@pytest.mark.parametrize(
    ("before", "sent", "said", "stage_index", "completed"),
    [
        (pending(paused=False, needs={}), report("eridanus", "staging", T0 + 2 * H),
         "#42 resumed; it entered staging", 0, None),
        (on_last(paused=False), report("dorado", "production", T0 + 2 * H),
         "#42 resumed; its rollout completed", 2, RESUMED_AT),
        (pending(paused=False, needs={}), None, "#42 resumed", -1, None),
    ],
    ids=["enters-first-stage", "completes", "nothing-waited"],
)  # fmt: skip
def test_a_resume_by_hand_lets_what_waited_happen_and_says_so(
    before: Rollout,
    sent: ReadyReport | None,
    said: str,
    stage_index: int,
    completed: datetime | None,
) -> None:
    """What the hand hold held back happens at the resume, and the reply names it."""
    rollout = pause(before, None, "freeze", CHARTER, by="jonas-coord").rollout
    if sent is not None:
        rollout = report_ready(rollout, CHARTER, sent).rollout
    decision = resume(rollout, CHARTER, "ines-coord", now=RESUMED_AT)
    assert (decision.rollout.stage_index, decision.rollout.completed_at) == (stage_index, completed)
    assert last_reply(decision.effects) == Reply(said)


# -- a proposal that has ended resumes nothing ------------------------------------------------

ENDED = "#42 has ended; its hold is lifted, and it does not resume"


@pytest.mark.parametrize(
    ("keys", "incident", "ended", "pauses", "titles", "said", "stage_index"),
    [
        (("INC-1",), "INC-1", True, (), [], ENDED, -1),
        (("INC-1", "INC-2"), "INC-1", True, (("INC-2", "INC-2: halt"),), [], ENDED, -1),
        (("",), None, True, (), [], ENDED, -1),
        (("INC-1",), "INC-1", False, (), ["#42 rollout resumed", "#42 entered staging"],
         "#42 resumed; it entered staging", 0),
    ],
    ids=["its-last-hold", "another-still-holds", "by-hand", "not-ended"],
)  # fmt: skip
def test_lifting_a_hold_from_an_ended_proposal_is_silent(
    keys: tuple[str, ...],
    incident: str | None,
    ended: bool,
    pauses: tuple[tuple[str, str], ...],
    titles: list[str],
    said: str,
    stage_index: int,
) -> None:
    """A proposal rolled back for good (or withdrawn…) resumes nothing: its hold is lifted and
    audited as such, but nothing is announced, nothing that waited happens, and the reply does
    not say it resumed; an ongoing one resumes and enters what waited."""
    rollout = report_ready(held(*keys), CHARTER, report("eridanus", "staging", T0 + 2 * H)).rollout
    decision = resume(rollout, CHARTER, "ines-coord", incident_id=incident, now=RESUMED_AT,
                      ended=ended)  # fmt: skip
    assert decision.rollout.pauses == pauses
    assert decision.rollout.stage_index == stage_index
    assert [title for title, _ in announced(decision.effects)] == titles
    assert last_reply(decision.effects) == Reply(said)
    assert "SyncTracking" in effect_kinds(decision.effects)
    audit = next(e for e in decision.effects if isinstance(e, Audit))
    assert audit.kind == "rollout-resumed"
    assert audit.payload.get("ended", False) is ended


# -- an override lifts the incidents' holds on one rollout ---------------------------------------

OVERRIDE = "it is the fix for INC-1"


@pytest.mark.parametrize(
    ("keys", "held_by", "said"),
    [
        (("INC-1",), "INC-1: halt", "#42 resumed; it entered staging; the incident stays open"),
        (("INC-1", "", "INC-2"), f"INC-1: halt; {FREEZE}; INC-2: halt",
         "#42 resumed; it entered staging; the incidents stay open"),
    ],
    ids=["one-incident", "two-and-by-hand"],
)  # fmt: skip
def test_an_override_lifts_every_hold_and_lets_what_waited_happen(
    keys: tuple[str, ...], held_by: str, said: str
) -> None:
    """Audited with its reason and the incidents, announced; the incidents stay open (their
    gates still apply at advance), and what waited happens, as at any resume."""
    rollout = report_ready(held(*keys), CHARTER, report("eridanus", "staging", T0 + 2 * H)).rollout
    decision = override_holds(rollout, CHARTER, "ines-coord", f" {OVERRIDE} ", now=RESUMED_AT)
    assert decision.rollout.pauses == ()
    assert decision.rollout.stage_index == 0
    [audit, *_] = [e for e in decision.effects if isinstance(e, Audit)]
    assert (audit.kind, audit.payload) == (
        "rollout-resumed",
        {
            "incident": None,
            "incidents": [k for k in keys if k],
            "by": "ines-coord",
            "still_paused": False,
            "override": OVERRIDE,
        },
    )
    assert announced(decision.effects)[0] == (
        "#42 rollout resumed",
        f"Resumed by ines-coord over {held_by}.\nOverride: {OVERRIDE}",
    )
    assert last_reply(decision.effects) == Reply(
        f"{said}, and its gates still apply at `/charter advance 42`"
        " (`--override` there passes them)"
    )


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ((), "#42 is not paused"),
        (("",), "no incident holds #42; `/charter rollout resume 42` lifts its hold by hand"),
    ],
    ids=["not-paused", "by-hand-only"],
)
def test_an_override_with_no_incident_hold_is_refused(keys: tuple[str, ...], said: str) -> None:
    before = held(*keys)
    decision = override_holds(before, CHARTER, "ines-coord", OVERRIDE)
    assert decision == type(decision)(before, (Reply(said, ok=False),))


def test_an_override_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="an override needs a written reason"):
        override_holds(held("INC-1"), CHARTER, "ines-coord", "  ")
