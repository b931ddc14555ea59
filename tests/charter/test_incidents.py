"""Incidents: declaring pauses named rollouts, roles brief privately, the timeline only grows,
and resolution schedules a review drafted from the record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from charter.effects import Announce, Audit, Reply
from charter.incident_facts import (
    DirectMessage,
    Incident,
    IncidentDecision,
    TimelineEntry,
    is_open,
    names,
)
from charter.incident_holds import quietly_held
from charter.incident_reviews import review_at, review_issue_body
from charter.incidents import assign_role, declare, reclassify, resolve, update
from charter.model import Charter
from charter.rollout import Rollout
from tests.charter.rollout_support import CLIENTS, T0, H, reference, reference_data

CHARTER = reference()


def variant(section: str, **changes: object) -> Charter:
    data = reference_data()
    data[section] = {**data[section], **changes}
    return Charter.model_validate(data)


def rollout(proposal: int, clients: Sequence[str], *, done: bool = False) -> Rollout:
    return Rollout(proposal, tuple(clients), T0, completed_at=T0 if done else None)


ACTIVE = (
    rollout(42, CLIENTS),
    rollout(43, ("aurora", "dorado")),
    rollout(44, ("aurora", "borealis")),
    rollout(45, CLIENTS, done=True),
)


def declared(severity: str = "sev1", **named: object) -> IncidentDecision:
    return declare(
        CHARTER, id="INC-7", severity=severity, summary="dorado forks on canary",
        by="kofi-sec", now=T0, rollouts=ACTIVE, **named,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("severity", "named", "pause"),
    [
        ("sev1", {"proposals": (42,)}, (42,)),
        ("sev1", {"clients": ("dorado",)}, (42, 43)),
        ("sev1", {}, (42, 43, 44)),
        ("sev1", {"proposals": (50,)}, ()),  # named for the record; nothing to pause
        ("sev1", {"proposals": (44,), "clients": ("dorado",)}, (42, 43, 44)),
        ("sev2", {"proposals": (42,)}, ()),
        ("sev3", {}, ()),
    ],
    ids=["proposal", "client", "nothing-named", "no-rollout-yet", "both", "sev2", "sev3"],
)
def test_declare_pauses_every_named_rollout_at_sev1(
    severity: str, named: dict[str, object], pause: tuple[int, ...]
) -> None:
    """At pause_on_incident or worse, every active rollout the incident names pauses at once
    (naming a client names its rollouts; naming nothing names all); milder ones pause none."""
    assert declared(severity, **named).pause == pause


def test_declare_without_pause_point_pauses_nothing() -> None:
    """A charter without pause_on_incident never pauses on declaration."""
    data = reference_data()
    del data["rollout"]["pause_on_incident"]
    charter = Charter.model_validate(data)
    decision = declare(charter, id="INC-1", severity="sev1", summary="x", by="kofi-sec", now=T0)
    assert decision.pause == ()


def test_declare_records_and_announces() -> None:
    """Declaring opens the timeline, audits, and announces with the severity and the pauses."""
    decision = declared(clients=("dorado",))
    assert decision.incident == Incident(
        id="INC-7", severity="sev1", summary="dorado forks on canary", proposals=(),
        clients=("dorado",), declared_by="kofi-sec", declared_at=T0,
        timeline=(
            TimelineEntry(T0, "kofi-sec", "declared sev1: dorado forks on canary", "declared"),
        ),
    )  # fmt: skip
    assert is_open(decision.incident)
    assert decision.effects == (
        Audit(
            "incident-declared",
            "incident:INC-7",
            {"severity": "sev1", "summary": "dorado forks on canary", "proposals": [],
             "clients": ["dorado"], "pause": [42, 43]},
        ),
        Announce(
            kind="incident",
            title="Incident INC-7 (sev1) declared",
            text="dorado forks on canary\nConcerns: dorado. Declared by kofi-sec. "
            "Rollouts paused: #42, #43.",
            clients=("dorado",),
            severity="sev1",
            data={"incident": "INC-7", "proposals": [], "paused": [42, 43]},
        ),
    )  # fmt: skip
    (announce,) = declared("sev3").effects[1:]
    assert isinstance(announce, Announce)
    assert "paused" not in announce.data
    assert announce.text == "dorado forks on canary\nConcerns: everything. Declared by kofi-sec."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"severity": "sev4"}, "unknown severity 'sev4'; use one of sev1, sev2, sev3"),
        ({"clients": ("zephyr",)}, "unknown client\\(s\\) zephyr; use aurora, borealis"),
        ({"summary": "  "}, "an incident summary must not be empty"),
        ({"id": ""}, "an incident id must not be empty"),
    ],
)
def test_declare_rejects_impossible_input(changes: dict[str, object], message: str) -> None:
    """Severity and clients must be the charter's; id and summary must be written."""
    args: dict[str, object] = {
        "id": "INC-1",
        "severity": "sev2",
        "summary": "x",
        "by": "k",
        "now": T0,
    }
    with pytest.raises(ValueError, match=message):
        declare(CHARTER, **(args | changes))  # type: ignore[arg-type]


def test_assign_role_briefs_the_assignee_privately() -> None:
    """A role goes to one login (replacing the holder), who gets their brief as a direct message."""
    incident = declared().incident
    first = assign_role(CHARTER, incident, "lead", "ines-coord", "kofi-sec", T0 + H)
    second = assign_role(CHARTER, first.incident, "lead", "jonas-coord", "kofi-sec", T0 + 2 * H)
    assert second.incident.roles == {"lead": "jonas-coord"}
    assert [e.text for e in second.incident.timeline[1:]] == [
        "ines-coord is lead",
        "jonas-coord is lead",
    ]
    assert first.effects == (
        Audit("incident-role-assigned", "incident:INC-7", {"role": "lead", "login": "ines-coord"}),
        DirectMessage(
            "ines-coord",
            "You are the lead for incident INC-7 (sev1): dorado forks on canary\n"
            "Assigned by kofi-sec. Post updates with /charter incident update.",
        ),
        Reply("ines-coord is now lead for incident INC-7"),
    )


@pytest.mark.parametrize(
    ("charter", "role", "login", "message"),
    [
        (CHARTER, "captain", "ines-coord",
         "unknown incident role 'captain'; roles: lead, comms, scribe"),
        (variant("incidents", roles=[]), "lead", "ines-coord",
         "unknown incident role 'lead'; roles: none \\(the charter defines no roles\\)"),
        (CHARTER, "lead", " ", "the assignee's login must not be empty"),
    ],
)  # fmt: skip
def test_assign_role_rejects_impossible_input(
    charter: Charter, role: str, login: str, message: str
) -> None:
    """Only the charter's incident roles can be assigned, to a named login."""
    with pytest.raises(ValueError, match=message):
        assign_role(charter, declared().incident, role, login, "kofi-sec", T0)


def test_update_appends_and_corrections_are_new_entries() -> None:
    """The timeline is append-only, also after resolution: a correction is one more entry."""
    incident = declared().incident
    first = update(incident, "rolled dorado back", "ines-coord", T0 + H)
    done = resolve(CHARTER, first.incident, "fixed in 1.4.1", "ines-coord", T0 + 3 * H).incident
    fixed = update(done, "correction: rolled back at 10:30, not 10:00", "ines-coord", T0 + 4 * H)
    assert fixed.incident.timeline[: len(done.timeline)] == done.timeline
    assert [e.kind for e in fixed.incident.timeline] == ["declared", "update", "resolved", "update"]
    assert first.effects == (
        Audit("incident-updated", "incident:INC-7", {"text": "rolled dorado back"}),
        Announce(
            kind="incident", title="Incident INC-7 update", text="rolled dorado back\n— ines-coord",
            severity="sev1", data={"incident": "INC-7", "proposals": []},
        ),
    )  # fmt: skip
    with pytest.raises(ValueError, match="an update must not be empty"):
        update(incident, "", "ines-coord", T0)


def test_resolve_schedules_the_review_and_drafts_it() -> None:
    """Resolution schedules the review review_within later and drafts it from the record."""
    incident = assign_role(
        CHARTER, declared().incident, "lead", "ines-coord", "kofi-sec", T0
    ).incident
    decision = resolve(CHARTER, incident, "patched", "ines-coord", T0 + 90 * H, ["audit #1"])
    assert decision.review_due_at == T0 + 90 * H + 5 * 24 * H
    assert decision.incident.resolved_at == T0 + 90 * H
    assert not is_open(decision.incident)
    assert decision.review_body == review_issue_body(decision.incident, ["audit #1"])
    assert decision.effects[0] == Audit(
        "incident-resolved",
        "incident:INC-7",
        {"resolution": "patched", "review_due_at": "2026-03-11T03:00:00+00:00"},
    )
    announce = decision.effects[1]
    assert isinstance(announce, Announce)
    assert announce.text == "patched Post-incident review due 2026-03-11 03:00 UTC."
    again = resolve(CHARTER, decision.incident, "again", "ines-coord", T0 + 100 * H)
    assert again == IncidentDecision(
        decision.incident, (Reply("incident INC-7 was resolved at 2026-03-06 03:00 UTC", ok=False),)
    )
    assert assign_role(CHARTER, decision.incident, "comms", "x", "y", T0).effects == again.effects


def test_resolve_without_review_window() -> None:
    """Without review_within no review is scheduled, but the draft is still written."""
    charter = variant("incidents", review_within=None)
    decision = resolve(charter, declared().incident, "patched", "ines-coord", T0 + H)
    assert decision.review_due_at is None
    assert decision.effects[0] == Audit(
        "incident-resolved", "incident:INC-7", {"resolution": "patched", "review_due_at": None}
    )
    assert decision.review_body.startswith("# Post-incident review: incident INC-7 (sev1)")


def test_review_issue_body_is_built_from_timeline_and_audit() -> None:
    """The draft review lists the facts, the timeline and the decision log, then empty sections."""
    incident = declared().incident
    incident = update(incident, "rolled dorado back", "ines-coord", T0 + H).incident
    assert review_issue_body(incident, ()) == "\n".join(
        [
            "# Post-incident review: incident INC-7 (sev1)",
            "",
            "**Summary:** dorado forks on canary",
            "**Declared:** 2026-03-02 09:00 UTC by @kofi-sec",
            "**Duration:** still open",
            "**Roles:** none assigned",
            "**Resolution:** —",
            "",
            "## Timeline (UTC)",
            "",
            "- 2026-03-02 09:00 [declared] @kofi-sec: declared sev1: dorado forks on canary",
            "- 2026-03-02 10:00 [update] @ines-coord: rolled dorado back",
            "",
            "## Decision log",
            "",
            "- (no audit entries)",
            "",
            "## What went well",
            "",
            "## What went wrong",
            "",
            "## Actions",
            "",
        ]
    )
    resolved = resolve(CHARTER, incident, "ok", "ines-coord", T0 + 150 * H / 60).incident
    body = review_issue_body(resolved, ["#1 incident-declared", "#2 rollout-paused"])
    assert "**Duration:** 2h 30m" in body
    assert "- #1 incident-declared\n- #2 rollout-paused\n" in body


@pytest.mark.parametrize(
    ("proposals", "clients", "proposal", "rollout_clients", "expected"),
    [
        ((), (), 42, ("aurora",), True),
        ((42,), (), 42, ("aurora",), True),
        ((7,), (), 42, ("aurora",), False),
        ((), ("dorado",), 42, ("aurora", "dorado"), True),
        ((), ("dorado",), 42, ("aurora",), False),
    ],
)
def test_names(
    proposals: tuple[int, ...],
    clients: tuple[str, ...],
    proposal: int,
    rollout_clients: tuple[str, ...],
    expected: bool,
) -> None:
    """An incident concerns a proposal it names, one sharing a named client, or (none named) all."""
    incident = Incident("I", "sev2", "s", proposals, clients, "k", T0)
    assert names(incident, proposal, rollout_clients) is expected


@pytest.mark.parametrize(
    ("before", "after", "named", "pause", "verb"),
    [
        ("sev3", "sev1", {"clients": ("dorado",)}, (42, 43), "raised"),
        ("sev2", "sev1", {"proposals": (44,)}, (44,), "raised"),
        ("sev3", "sev2", {}, (), "raised"),  # worse, but not yet the pause point
        ("sev1", "sev3", {}, (), "lowered"),  # what it paused stays paused until it is resolved
    ],
)
def test_reclassify(
    before: str, after: str, named: dict[str, object], pause: tuple[int, ...], verb: str
) -> None:
    """Raised to pause_on_incident from below it, an incident pauses what it names, as a
    declaration at that severity would; the change is on the timeline, audited and announced."""
    incident = declared(before, **named).incident
    decision = reclassify(CHARTER, incident, after, "validators lost", "kofi-sec", T0 + H, ACTIVE)
    assert decision.pause == pause
    assert decision.incident.severity == after
    entry = decision.incident.timeline[-1]
    assert (entry.kind, entry.text) == ("severity", f"severity {before} → {after}: validators lost")
    audit, announce = decision.effects
    assert isinstance(audit, Audit) and audit.kind == "incident-severity-changed"
    assert audit.payload == {
        "from": before,
        "to": after,
        "reason": "validators lost",
        "pause": list(pause),
    }
    assert isinstance(announce, Announce)
    assert announce.title == f"Incident INC-7 {verb} to {after}"


def test_raised_again_it_does_not_pause_what_it_holds_already() -> None:
    """Lowered and raised again, an incident pauses only what it does not hold yet (#43 held
    as it started): neither its audit entry nor its announcement names a rollout twice."""
    incident = declared("sev3", clients=("dorado",)).incident
    held = (ACTIVE[0], replace(ACTIVE[1], pauses=(("INC-7", "held at start"),)), *ACTIVE[2:])
    decision = reclassify(CHARTER, incident, "sev1", "back", "kofi-sec", T0 + H, held)
    assert decision.pause == (42,)


def test_reclassify_refuses_what_cannot_change() -> None:
    incident = declared("sev2").incident
    with pytest.raises(ValueError, match="unknown severity 'sev9'"):
        reclassify(CHARTER, incident, "sev9", "", "kofi-sec", T0)
    same = reclassify(CHARTER, incident, "sev2", "", "kofi-sec", T0)
    assert same.incident == incident and same.effects == (
        Reply("incident INC-7 is already sev2", ok=False),
    )
    closed = resolve(CHARTER, incident, "fixed", "kofi-sec", T0).incident
    refused = reclassify(CHARTER, closed, "sev1", "", "kofi-sec", T0 + H)
    assert refused.incident == closed and not refused.pause
    assert [r.ok for r in refused.effects if isinstance(r, Reply)] == [False]


def test_reclassify_without_pause_point_or_reason() -> None:
    data = reference_data()
    del data["rollout"]["pause_on_incident"]
    charter = Charter.model_validate(data)
    incident = declared("sev3").incident
    decision = reclassify(charter, incident, "sev1", "  ", "kofi-sec", T0, ACTIVE)
    assert decision.pause == ()
    assert decision.incident.timeline[-1].text == "severity sev3 → sev1"


def _meetings(*series: tuple[str, str]) -> Charter:
    """The reference charter with meeting series of these (start, zone), in order."""
    data = reference_data()
    first = data["meetings"][0]
    data["meetings"] = [
        {**first, "id": f"call-{i}", "start": start, "timezone": zone}
        for i, (start, zone) in enumerate(series)
    ]
    return Charter.model_validate(data)


@pytest.mark.parametrize(
    ("charter", "due", "at", "zone"),
    [
        # the reference charter: core-sync first, 15:00 in Berlin (CEST in June: 13:00 UTC)
        (CHARTER, datetime(2026, 6, 14, 11, tzinfo=UTC), datetime(2026, 6, 14, 13, tzinfo=UTC),
         "Europe/Berlin"),
        (CHARTER, datetime(2026, 12, 3, 20, tzinfo=UTC), datetime(2026, 12, 3, 14, tzinfo=UTC),
         "Europe/Berlin"),  # on the due date, though hours before the due time (CET)
        (CHARTER, datetime(2026, 6, 14, 23, tzinfo=UTC), datetime(2026, 6, 15, 13, tzinfo=UTC),
         "Europe/Berlin"),  # 01:00 on the 15th in Berlin: the due date is Berlin's
        (_meetings(("2026-01-06T09:30", "America/New_York"), ("2026-01-08T15:00", "UTC")),
         datetime(2026, 6, 14, 11, tzinfo=UTC), datetime(2026, 6, 14, 13, 30, tzinfo=UTC),
         "America/New_York"),  # the first series counts, at its minute
        (_meetings(), datetime(2026, 6, 14, 11, tzinfo=UTC), datetime(2026, 6, 14, 15, tzinfo=UTC),
         "UTC"),  # no series: 15:00 UTC
    ],
    ids=["summer", "winter-before-due", "zone-date", "first-series", "no-series"],
)  # fmt: skip
def test_the_review_is_held_when_people_already_meet(
    charter: Charter, due: datetime, at: datetime, zone: str
) -> None:
    """The review call is on its due date, in the zone of the charter's first meeting series,
    at that series' time of day; without a series at 15:00 UTC."""
    assert review_at(charter, due) == (at, zone)


@pytest.mark.parametrize(
    ("named", "embargoed", "pause", "hold"),
    [
        ({"clients": ("dorado",)}, (43,), (42,), (43,)),  # by its client: held quietly
        ({"clients": ("dorado",)}, (), (42, 43), ()),  # nothing embargoed
        ({"proposals": (43,), "clients": ("dorado",)}, (43,), (42, 43), ()),  # named by number
        ({}, (43,), (42, 44), (43,)),  # names everything (a network-wide fork): held quietly
        ({}, (), (42, 43, 44), ()),  # names everything, nothing embargoed
        ({}, (42, 44, 45), (43,), (42, 44)),  # names everything: #45 done, not held
        ({"proposals": (43,)}, (43, 44), (43,), ()),  # names #43 only: #44 is not concerned
        ({"clients": ("aurora",)}, (42, 44, 45), (43,), (42, 44)),  # #45 done: not held
        ({"clients": ("aurora",), "severity": "sev2"}, (43,), (), ()),  # below the pause point
        ({"severity": "sev2"}, (43,), (), ()),  # names everything, below the pause point
    ],
    ids=[
        "by-client",
        "none-embargoed",
        "by-number",
        "everything",
        "everything-none-embargoed",
        "everything-several",
        "other-by-number",
        "several",
        "sev2",
        "everything-sev2",
    ],
)
def test_an_embargoed_rollout_named_by_its_client_is_held_quietly(
    named: dict[str, object],
    embargoed: tuple[int, ...],
    pause: tuple[int, ...],
    hold: tuple[int, ...],
) -> None:
    """An embargoed rollout the incident names by a client only, or concerns by naming nothing,
    is held (``hold``), not paused: neither the declaration's audit entry nor its announcement
    names or counts it."""
    scope = {k: v for k, v in named.items() if k != "severity"}
    decision = declared(str(named.get("severity", "sev1")), embargoed=embargoed, **scope)
    assert (decision.pause, decision.hold) == (pause, hold)
    audit, announce = decision.effects
    assert isinstance(audit, Audit) and audit.payload["pause"] == list(pause)
    assert isinstance(announce, Announce)
    assert announce.data.get("paused", []) == list(pause)
    assert all(f"#{n}" not in announce.text for n in hold)


@pytest.mark.parametrize(
    ("named", "proposal", "clients", "embargoed", "quiet"),
    [
        ({"clients": ("aurora",)}, 7, ("aurora",), (7,), True),
        ({"clients": ("aurora",)}, 7, ("aurora",), (), False),  # not embargoed
        ({"clients": ("aurora",), "proposals": (7,)}, 7, ("aurora",), (7,), False),  # by number
        ({}, 7, ("aurora",), (7,), True),  # names everything: a network-wide incident
        ({}, 7, ("aurora",), (), False),  # names everything, but it is not embargoed
        ({"proposals": (8,)}, 7, ("aurora",), (7,), False),  # names another proposal only
        ({"clients": ("borealis",)}, 7, ("aurora",), (7,), False),  # does not name it
    ],
    ids=[
        "by-client",
        "public",
        "by-number",
        "everything",
        "everything-public",
        "other",
        "other-client",
    ],
)
def test_quietly_held(
    named: dict[str, object],
    proposal: int,
    clients: tuple[str, ...],
    embargoed: tuple[int, ...],
    quiet: bool,
) -> None:
    incident = declared("sev1", **named).incident
    assert quietly_held(incident, rollout(proposal, clients), embargoed) is quiet


@pytest.mark.parametrize(
    ("named", "pause"),
    [({"clients": ("dorado",)}, (42,)), ({}, (42, 44))],
    ids=["its-client", "everything"],
)
def test_raised_to_pause_it_holds_an_embargoed_rollout_quietly(
    named: dict[str, object], pause: tuple[int, ...]
) -> None:
    """Raised past ``pause_on_incident``, an incident naming #43's client, or naming nothing,
    holds the embargoed #43 without naming it."""
    incident = declared("sev3", **named).incident
    decision = reclassify(
        CHARTER, incident, "sev1", "worse", "kofi-sec", T0 + H, ACTIVE, embargoed=(43,)
    )
    assert (decision.pause, decision.hold) == (pause, (43,))
    audit, announce = decision.effects
    assert isinstance(audit, Audit) and audit.payload["pause"] == list(pause)
    assert isinstance(announce, Announce) and "#43" not in announce.text
    assert announce.data.get("paused", []) == list(pause)
