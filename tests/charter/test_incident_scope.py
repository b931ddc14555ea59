"""Widening an open incident's scope: what is added, what pauses, what is refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from charter.effects import Announce, Audit, Reply, SyncTracking
from charter.incident_facts import Incident, IncidentDecision, TimelineEntry
from charter.incident_scope import add_scope, describe
from charter.incidents import declare, resolve
from charter.model import Charter
from charter.rollout import Rollout
from tests.charter.rollout_support import CLIENTS, T0, H, reference, reference_data

CHARTER = reference()


def rollout(proposal: int, clients: Sequence[str], **changes: object) -> Rollout:
    return replace(Rollout(proposal, tuple(clients), T0), **changes)  # type: ignore[arg-type]


ACTIVE = (
    rollout(42, ("aurora", "borealis")),
    rollout(43, ("cirrus", "dorado")),
    rollout(44, ("dorado",)),
    rollout(45, ("eridanus",), completed_at=T0),  # done: nothing to pause
    rollout(46, ("borealis",), pauses=(("INC-7", "held at start"),)),  # held already
)


def incident(severity: str = "sev1", **named: object) -> Incident:
    """INC-7, naming #42 (and whatever ``named`` says instead)."""
    scope = {"proposals": (42,)} | named
    return declare(
        CHARTER, id="INC-7", severity=severity, summary="fork on canary", by="kofi-sec",
        now=T0, rollouts=ACTIVE, **scope,  # type: ignore[arg-type]
    ).incident  # fmt: skip


def added(before: Incident, *, charter: Charter = CHARTER, **what: Any) -> IncidentDecision:
    return add_scope(charter, before, by="ines-coord", now=T0 + H, rollouts=ACTIVE, **what)


@pytest.mark.parametrize(
    ("severity", "named", "what", "proposals", "clients", "pause"),
    [
        ("sev1", {}, {"proposals": (43,)}, (42, 43), (), (43,)),
        ("sev1", {}, {"proposals": (43, 44, 43)}, (42, 43, 44), (), (43, 44)),
        ("sev1", {}, {"clients": ("dorado",)}, (42,), ("dorado",), (43, 44)),
        ("sev1", {}, {"proposals": (43,), "clients": ("dorado",)}, (42, 43), ("dorado",), (43, 44)),
        ("sev1", {}, {"proposals": (50,)}, (42, 50), (), ()),  # no rollout yet: named only
        ("sev1", {}, {"proposals": (45,)}, (42, 45), (), ()),  # completed: nothing to pause
        ("sev1", {}, {"proposals": (46,)}, (42, 46), (), ()),  # held by it already
        # borealis names #42 (named before: never paused anew) and #46 (held already)
        ("sev1", {}, {"clients": ("borealis",)}, (42,), ("borealis",), ()),
        ("sev1", {"proposals": (), "clients": ("cirrus",)}, {"proposals": (44,)},
         (44,), ("cirrus",), (44,)),
        ("sev2", {}, {"proposals": (43,)}, (42, 43), (), ()),  # below pause_on_incident
        ("sev3", {}, {"clients": ("dorado",)}, (42,), ("dorado",), ()),
    ],
    ids=[
        "proposal", "proposals-once", "client", "both", "no-rollout", "completed", "held",
        "client-of-named", "to-clients-only", "sev2", "sev3",
    ],
)  # fmt: skip
def test_adding_names_more_and_pauses_what_is_newly_named(
    severity: str,
    named: dict[str, object],
    what: dict[str, Any],
    proposals: tuple[int, ...],
    clients: tuple[str, ...],
    pause: tuple[int, ...],
) -> None:
    """The scope grows by what is new; at pause_on_incident or worse the active rollouts it
    newly names pause at once, none it named before and none it holds already."""
    decision = added(incident(severity, **named), **what)
    assert (decision.incident.proposals, decision.incident.clients) == (proposals, clients)
    assert decision.pause == pause


def test_adding_records_audits_announces_and_syncs() -> None:
    before = incident()
    decision = added(before, proposals=(43, 50), clients=("cirrus",))
    entry = TimelineEntry(T0 + H, "ines-coord", "scope added: #43, #50, cirrus", "scope")
    assert decision.incident == replace(
        before, proposals=(42, 43, 50), clients=("cirrus",), timeline=(*before.timeline, entry)
    )
    assert decision.effects == (
        Audit(
            "incident-scope-added",
            "incident:INC-7",
            {"proposals": [43, 50], "clients": ["cirrus"], "pause": [43]},
        ),
        Announce(
            kind="incident",
            title="Incident INC-7 (sev1) now also concerns #43, #50, cirrus",
            text="fork on canary\nConcerns: #42, #43, #50, cirrus. Added by ines-coord."
            " Rollouts paused: #43.",
            clients=("cirrus",),
            severity="sev1",
            data={"incident": "INC-7", "proposals": [42, 43, 50], "paused": [43]},
        ),
        SyncTracking(43),
        SyncTracking(50),
    )


def test_what_was_named_already_is_said_once() -> None:
    """Partly new: the new part is added, the reply names the rest; nothing new: a reply
    only (not an error), the incident unchanged, nothing audited or announced."""
    before = incident(clients=("dorado",))
    partly = added(before, proposals=(42, 43), clients=("dorado",))
    assert partly.incident.proposals == (42, 43)
    assert partly.effects[-1] == Reply(
        "Incident #INC-7 already names proposal #42 and client dorado."
    )
    nothing = added(before, proposals=(42,), clients=("dorado",))
    assert nothing.incident is before and nothing.pause == ()
    assert nothing.effects == (
        Reply("Incident #INC-7 already names proposal #42 and client dorado; nothing added."),
    )


def test_an_incident_about_everything_is_not_narrowed() -> None:
    before = incident(proposals=())
    decision = added(before, proposals=(43,))
    assert decision.incident is before and decision.pause == ()
    assert decision.effects == (
        Reply("Incident #INC-7 names nothing, so it concerns everything already; nothing added."),
    )


def test_a_resolved_incident_is_refused() -> None:
    closed = resolve(CHARTER, incident(), "fixed", "kofi-sec", T0).incident
    decision = added(closed, proposals=(43,))
    assert decision.incident is closed and decision.pause == ()
    assert decision.effects == (
        Reply("incident INC-7 was resolved at 2026-03-02 09:00 UTC", ok=False),
    )


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ({}, "name the proposals or clients to add to the incident"),
        ({"clients": ("zephyr", "aurora")}, "unknown client\\(s\\) zephyr; use aurora, borealis"),
        ({"proposals": (43,), "clients": ("zephyr",)}, "unknown client\\(s\\) zephyr"),
    ],
    ids=["nothing", "unknown-client", "unknown-client-with-proposal"],
)
def test_impossible_input_is_an_error(what: dict[str, Any], message: str) -> None:
    """Checked before anything else, even on a resolved incident: it can never be right."""
    closed = resolve(CHARTER, incident(), "fixed", "kofi-sec", T0).incident
    for target in (incident(), closed):
        with pytest.raises(ValueError, match=message):
            added(target, **what)


def test_without_a_pause_point_nothing_pauses() -> None:
    data = reference_data()
    del data["rollout"]["pause_on_incident"]
    charter = Charter.model_validate(data)
    decision = added(incident(), charter=charter, proposals=(43,), clients=CLIENTS)
    assert decision.pause == ()
    assert decision.incident.clients == CLIENTS


@pytest.mark.parametrize(
    ("proposals", "clients", "said"),
    [
        ((3,), (), "proposal #3"),
        ((3, 4), (), "proposals #3 and #4"),
        ((), ("aurora",), "client aurora"),
        ((1, 2, 3), ("aurora", "borealis"),
         "proposals #1, #2 and #3 and clients aurora and borealis"),
        ((), (), ""),
    ],
    ids=["proposal", "proposals", "client", "both", "nothing"],
)  # fmt: skip
def test_replies_say_proposal_and_client(
    proposals: tuple[int, ...], clients: tuple[str, ...], said: str
) -> None:
    """A reply never writes a bare "#3" next to "Incident #3": it says what each one is."""
    assert describe(proposals, clients) == said


_REFUSED = (
    "Incident #INC-7 is public and proposal #43 is confidential and not disclosed yet; naming it"
    " would hide the incident from the public from now on, so nothing was added. Declare a"
    " separate confidential incident for it instead:"
    ' /charter incident declare <sev> "<summary>" for 43'
    " — or disclose it first (/charter disclose 43), then add it."
)
_REFUSED_TWO = (
    "Incident #INC-7 is public and proposals #43 and #44 are confidential and not disclosed yet;"
    " naming them would hide the incident from the public from now on, so nothing was added."
    " Declare a separate confidential incident for them instead: /charter incident declare <sev>"
    ' "<summary>" for 43,44 — or disclose them first (/charter disclose 43 and'
    " /charter disclose 44), then add them."
)


@pytest.mark.parametrize(
    ("what", "embargoed", "confidential", "refusal"),
    [
        ({"proposals": (43,)}, (43,), False, _REFUSED),
        ({"proposals": (43,), "clients": ("cirrus",)}, (43,), False, _REFUSED),  # nothing added
        ({"proposals": (50, 43, 44)}, (43, 44), False, _REFUSED_TWO),
        ({"proposals": (43,)}, (43,), True, None),  # confidential already: may name more
        ({"proposals": (43,)}, (44,), False, None),  # 44 is not named
        ({"proposals": (42,)}, (42,), False, None),  # named already: nothing new, said so
    ],
    ids=["one", "with-client", "two", "confidential-already", "other-embargo", "named-already"],
)  # fmt: skip
def test_a_public_incident_stays_public(
    what: dict[str, Any], embargoed: tuple[int, ...], confidential: bool, refusal: str | None
) -> None:
    """Naming an undisclosed confidential proposal in a public incident is refused, whole,
    saying what to do instead; a confidential incident may name it."""
    before = incident()
    decision = added(before, embargoed=embargoed, confidential=confidential, **what)
    if refusal is None:
        assert all(not isinstance(e, Reply) or e.ok for e in decision.effects)
        return
    assert decision.incident is before and decision.pause == ()
    assert decision.effects == (Reply(refusal, ok=False),)


@pytest.mark.parametrize(
    ("what", "embargoed", "pause", "hold"),
    [
        ({"clients": ("dorado",)}, (43,), (44,), (43,)),  # its client added: held quietly
        ({"clients": ("dorado",)}, (43, 44), (), (43, 44)),
        ({"proposals": (43,), "clients": ("dorado",)}, (), (43, 44), ()),  # none embargoed
    ],
    ids=["one", "both", "public"],
)
def test_adding_a_client_holds_its_embargoed_rollouts_quietly(
    what: dict[str, Any], embargoed: tuple[int, ...], pause: tuple[int, ...], hold: tuple[int, ...]
) -> None:
    """A public incident stays public when a client of an embargoed rollout is added: that
    rollout is held (``hold``), and the addition's audit entry and news name only ``pause``."""
    decision = added(incident(), embargoed=embargoed, **what)
    assert (decision.pause, decision.hold) == (pause, hold)
    audit, announce, *_ = decision.effects
    assert isinstance(audit, Audit) and audit.payload["pause"] == list(pause)
    assert isinstance(announce, Announce)
    assert announce.data.get("paused", []) == list(pause)
    assert all(f"#{n}" not in announce.text for n in hold)
