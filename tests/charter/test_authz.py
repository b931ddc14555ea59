"""Who may do what: every command against every kind of actor, under the reference charter."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from charter import commands as c
from charter.actors import Actor
from charter.authz import (
    COMMAND_PRIVILEGE,
    Privilege,
    Refusal,
    Role,
    authorize,
    authorize_command,
    required_privileges,
    roles_for,
)
from charter.load import load_charter
from charter.model import Charter
from tests.paths import reference_charter_text

CHARTER = load_charter(reference_charter_text()).charter

ANON = Actor(login=None, surface="discord", surface_id="80351110224678912")
CONTRIBUTOR = Actor(login="zoe-contrib")  # linked, no client, no charter role; the author
MAINTAINER = Actor(login="Alice-Aurora")  # aurora; logins compare case-insensitively
COUNCIL = Actor(login="kofi-sec")
COORDINATOR = Actor(login="ines-coord")
ACTORS = {"A": ANON, "C": CONTRIBUTOR, "M": MAINTAINER, "S": COUNCIL, "K": COORDINATOR}
ALL, LINKED, STAFF, COUNCIL_OR_COORD = "ACMSK", "CMSK", "MSK", "SK"

# (command, track, who may: letters from ACTORS)
CASES: list[tuple[c.Command, str, str]] = [
    (c.ListProposals(), "protocol-change", ALL),
    (c.Show(42), "protocol-change", ALL),
    (c.Status(42), "protocol-change", ALL),
    (c.Help("vote"), "protocol-change", ALL),
    (c.WhoAmI(), "protocol-change", ALL),
    (c.Todo(), "protocol-change", ALL),
    (c.Link(), "protocol-change", ALL),
    (c.ShowRollout(42), "protocol-change", ALL),
    (c.Inventory(None), "protocol-change", ALL),
    (c.Meetings(), "protocol-change", ALL),
    (c.Subscriptions(), "protocol-change", ALL),
    (c.Confirm("k3J9-x2"), "protocol-change", ALL),
    (c.CastVote(42, "approve"), "protocol-change", "M"),
    (c.CastVote(42, "approve"), "security-patch", "MS"),
    (c.CastVote(42, "reject"), "charter-amendment", "MK"),
    (c.RaiseConcern(42, "gas", "too high"), "protocol-change", STAFF),
    (c.ResolveConcern(42, "gas"), "protocol-change", STAFF),
    (c.RequestFeedback(42, ("bob-aurora",)), "protocol-change", STAFF),
    (c.RequestFeedback(42, ("kofi-sec",), "your view?"), "security-patch", STAFF),
    (c.Withdraw(42), "protocol-change", "CK"),
    (c.Disclose(42), "security-patch", COUNCIL_OR_COORD),
    (c.Ready(42, "aurora", "staging", "4.2.0"), "protocol-change", "MK"),
    (c.Ready(42, "borealis", "staging", "1.19"), "protocol-change", "K"),
    (c.Drill(42, "aurora", "canary", timedelta(minutes=12)), "protocol-change", "MK"),
    (c.Drill(42, "borealis", "canary", None, "no resync"), "protocol-change", "K"),
    (c.DrillSchedule(42, "aurora", "canary", "friday 15:00"), "protocol-change", "MK"),
    (c.DrillSchedule(42, "borealis", "canary", "in 2 days"), "protocol-change", "K"),
    (c.Advance(42), "protocol-change", STAFF),
    (c.Advance(42, "soak verified by hand"), "protocol-change", "K"),
    (c.PauseRollout(42, "freeze"), "protocol-change", STAFF),  # any maintainer until it is known
    (c.ResumeRollout(42), "protocol-change", "K"),
    (c.Rollback(42, ("aurora",), "bad"), "protocol-change", STAFF),
    (c.Rollback(42, ("aurora", "borealis"), "bad"), "protocol-change", COUNCIL_OR_COORD),
    (c.Rollback(42, (), "bad"), "protocol-change", COUNCIL_OR_COORD),
    (c.Flag("fast-sync", "off", "bug"), "protocol-change", COUNCIL_OR_COORD),
    (c.MoveActivation(42, "epoch 9", "slipped"), "protocol-change", "K"),
    (c.IncidentDeclare("sev1", "halt"), "protocol-change", STAFF),
    (c.IncidentRole(None, "lead", "kofi-sec"), "protocol-change", STAFF),
    (c.IncidentUpdate(1, "better"), "protocol-change", STAFF),
    (c.IncidentSeverity(1, "sev1"), "protocol-change", STAFF),
    (c.IncidentResolve(1), "protocol-change", STAFF),
    (c.IncidentAdd(1, (43,), ("aurora",)), "protocol-change", STAFF),
    (c.MeetingSchedule("Sync", "friday 15:00", timedelta(hours=1)), "protocol-change", STAFF),
    (c.MeetingCancel("12"), "protocol-change", STAFF),
    (c.MeetingMove("12", "monday"), "protocol-change", STAFF),
    (c.MeetingSchedule("go-no-go-7-production", "friday 15:00"), "protocol-change", "K"),
    (c.MeetingCancel("go-no-go-7-production@2026-06-15T10:00"), "protocol-change", "K"),
    (c.MeetingMove("GO-NO-GO-7-production-2", "monday"), "protocol-change", "K"),
    (c.MeetingSchedule("Go/no-go prep", "friday 15:00"), "protocol-change", STAFF),
    (c.MeetingDecide("go"), "protocol-change", "K"),
    (c.MeetingAction("bob", "notes"), "protocol-change", STAFF),
    (c.AgendaAdd("core-sync", "gas follow-up"), "protocol-change", LINKED),
    (c.Subscribe("me"), "protocol-change", LINKED),
    (c.Subscribe("email", "ops@example.org"), "protocol-change", LINKED),
    (c.Subscribe("here"), "protocol-change", STAFF),
    (c.Unsubscribe(3), "protocol-change", LINKED),
]


@pytest.mark.parametrize(("command", "track", "allowed"), CASES)
@pytest.mark.parametrize("who", list(ACTORS))
def test_every_command_for_every_role(
    command: c.Command, track: str, allowed: str, who: str
) -> None:
    """Each command is allowed exactly for the roles the charter's rules give it."""
    refusal = authorize_command(
        command, ACTORS[who], CHARTER, track=track, proposal_author="zoe-contrib"
    )
    if who in allowed:
        assert refusal is None
    else:
        assert isinstance(refusal, Refusal)
        assert refusal.reason.endswith(".")
        assert str(refusal) == refusal.reason


def test_the_table_covers_every_command_class() -> None:
    """Every command class in commands.py has exactly one privilege and a row in the table."""
    classes = set(typing.get_args(c.Command))
    assert set(COMMAND_PRIVILEGE) == classes
    assert {type(command) for command, _, _ in CASES} == classes


@pytest.mark.parametrize(
    ("actor", "roles"),
    [
        (ANON, {Role.ANONYMOUS}),
        (CONTRIBUTOR, {Role.CONTRIBUTOR}),
        (MAINTAINER, {Role.MAINTAINER}),
        (COUNCIL, {Role.SECURITY_COUNCIL}),
        (COORDINATOR, {Role.COORDINATOR}),
    ],
)
def test_roles_for(actor: Actor, roles: set[str]) -> None:
    """Roles come from the charter: client maintainers and named charter roles."""
    assert roles_for(actor, CHARTER) == roles


def test_other_charter_roles_keep_their_names() -> None:
    """A charter role other than coordinators and security-council is reported by name."""
    roles = {**CHARTER.roles, "release-managers": ("alice-aurora", "rita-rel")}
    charter = CHARTER.model_copy(update={"roles": roles})
    assert roles_for(Actor("alice-aurora"), charter) == {Role.MAINTAINER, "release-managers"}
    assert roles_for(Actor("rita-rel"), charter) == {"release-managers"}
    # any charter role counts as staff
    assert authorize(Privilege.CONCERN, Actor("rita-rel"), charter) is None


@pytest.mark.parametrize(
    ("privilege", "actor", "kwargs", "reason"),
    [
        (
            Privilege.GO_NO_GO_CALL,
            MAINTAINER,
            {},
            "Only coordinators may schedule, move or cancel a go/no-go call: its decision is a rollout gate's; ask one of them to.",
        ),
        (
            Privilege.VOTE,
            ANON,
            {"track": "protocol-change"},
            "You have not linked a GitHub login yet, so you can only read; run /charter link first, then try again.",
        ),
        (
            Privilege.VOTE,
            COORDINATOR,
            {"track": "protocol-change"},
            "You are not a voter for track protocol-change: its seats are one per client (aurora, borealis, cirrus, dorado and eridanus), cast by its maintainers.",
        ),
        (
            Privilege.VOTE,
            CONTRIBUTOR,
            {"track": "security-patch"},
            "You are not a voter for track security-patch: its seats are one per client (aurora, borealis, cirrus, dorado and eridanus), cast by its maintainers and one per member of security-council (kofi-sec, lena-sec and mateo-sec).",
        ),
        (
            Privilege.VOTE,
            MAINTAINER,
            {"track": "fast-track"},
            "There is no track fast-track in this charter.",
        ),
        (
            Privilege.CONCERN,
            CONTRIBUTOR,
            {},
            "Only client maintainers and holders of a charter role (coordinators and security-council) may raise a blocking concern; you can still comment on the proposal.",
        ),
        (
            Privilege.INCIDENT_MANAGE,
            CONTRIBUTOR,
            {},
            "Only client maintainers and holders of a charter role (coordinators and security-council) may manage an incident; tell one of them what you know.",
        ),
        (
            Privilege.INCIDENT_DECLARE,
            CONTRIBUTOR,
            {},
            "Only client maintainers and holders of a charter role (coordinators and security-council) may declare an incident; tell one of them what you see.",
        ),
        (
            Privilege.MEETING_SCHEDULE,
            CONTRIBUTOR,
            {},
            "Only client maintainers and holders of a charter role (coordinators and security-council) may schedule, move or cancel a meeting; ask one of them to.",
        ),
        (
            Privilege.SUBSCRIBE_CHANNEL,
            CONTRIBUTOR,
            {},
            "Only client maintainers and holders of a charter role (coordinators and security-council) may subscribe a shared channel; you can still subscribe yourself (/charter subscribe me).",
        ),
        (
            Privilege.WITHDRAW,
            MAINTAINER,
            {"proposal_author": "zoe-contrib"},
            "Only the proposal's author (zoe-contrib) or a coordinator may withdraw it.",
        ),
        (
            Privilege.WITHDRAW,
            MAINTAINER,
            {},
            "Only the proposal's author or a coordinator may withdraw it.",
        ),
        (
            Privilege.READY,
            MAINTAINER,
            {"client": "borealis"},
            "Only maintainers of borealis (carmen-borealis and dmitri-borealis) or a coordinator may report borealis.",
        ),
        (
            Privilege.READY,
            MAINTAINER,
            {"client": "zephyr"},
            "There is no client zephyr in this charter; the clients are aurora, borealis, cirrus, dorado and eridanus.",
        ),
        (
            Privilege.READY,
            COUNCIL,
            {},
            "Only client maintainers or a coordinator may report a client's release.",
        ),
        (
            Privilege.OVERRIDE,
            MAINTAINER,
            {},
            "Only members of coordinators may override a rollout gate.",
        ),
        (
            Privilege.ROLLBACK,
            MAINTAINER,
            {},
            "Only coordinators and the security council may roll back every client at once; a maintainer may roll back their own client.",
        ),
        (
            Privilege.ROLLBACK,
            MAINTAINER,
            {"client": "cirrus"},
            "Only maintainers of cirrus (emeka-cirrus) or coordinators and the security council may roll back cirrus.",
        ),
        (
            Privilege.FLAG,
            MAINTAINER,
            {},
            "Only coordinators and the security council may switch a feature flag.",
        ),
        (
            Privilege.DISCLOSE,
            CONTRIBUTOR,
            {},
            "Only coordinators and the security council may disclose a confidential proposal.",
        ),
        (Privilege.MEETING_DECIDE, COUNCIL, {}, "Only coordinators may record a meeting decision."),
    ],
)
def test_refusals_say_why(
    privilege: Privilege, actor: Actor, kwargs: dict[str, Any], reason: str
) -> None:
    """A refusal is a sentence naming the rule and who would be allowed."""
    assert authorize(privilege, actor, CHARTER, **kwargs) == Refusal(reason)


@pytest.mark.parametrize(
    ("privilege", "actor", "kwargs"),
    [
        (Privilege.READY, MAINTAINER, {}),  # any maintainer, when the client is not yet known
        (Privilege.READY, MAINTAINER, {"client": "AURORA".lower()}),
        (Privilege.ROLLBACK, MAINTAINER, {"client": "aurora"}),
        (Privilege.WITHDRAW, Actor("Zoe-Contrib"), {"proposal_author": "zoe-contrib"}),
        (Privilege.OVERRIDE, COORDINATOR, {}),
        (Privilege.LINK, ANON, {}),
        (Privilege.READ, ANON, {}),
    ],
)
def test_allowed(privilege: Privilege, actor: Actor, kwargs: dict[str, Any]) -> None:
    """The positive side of the narrower rules."""
    assert authorize(privilege, actor, CHARTER, **kwargs) is None


def test_a_veto_holder_may_vote_even_outside_the_electorate() -> None:
    """Holding a veto on a track lets one cast the vote that carries it."""
    track = CHARTER.tracks["protocol-change"].model_copy(update={"veto": ("security-council",)})
    charter = CHARTER.model_copy(update={"tracks": {**CHARTER.tracks, "protocol-change": track}})
    assert authorize(Privilege.VOTE, COUNCIL, charter, track="protocol-change") is None


def test_a_charter_without_override_roles_refuses_every_override() -> None:
    """No override_roles means no one may override a gate, coordinators included."""
    rollout = CHARTER.rollout.model_copy(update={"override_roles": ()})
    charter = CHARTER.model_copy(update={"rollout": rollout})
    assert authorize(Privilege.OVERRIDE, COORDINATOR, charter) == Refusal(
        "This charter lets no one override a rollout gate."
    )


NO_OVERRIDES = CHARTER.model_copy(
    update={"rollout": CHARTER.rollout.model_copy(update={"override_roles": ()})}
)
NO_MEMBERS = CHARTER.model_copy(
    update={"rollout": CHARTER.rollout.model_copy(update={"override_roles": ("release-team",)})}
)
NO_ONE_HOLDS = "No rollout.override_roles has a member, so coordinators and the security council resume a rollout paused by hand; ask one of them."
HAND_OVER = "; tell one of them what you found."
NONE_MAY_RESUME = "This charter names no rollout.override_roles, so no one could resume a rollout paused by hand; declare an incident instead, which lifts when it is resolved."


@pytest.mark.parametrize(
    ("command", "actor", "clients", "charter", "reason"),
    [
        # pausing stops the line: the override roles, the council, the maintainers of its clients
        (c.PauseRollout(1, "x"), COORDINATOR, ("borealis",), CHARTER, None),
        (c.PauseRollout(1, "x"), MAINTAINER, ("aurora", "borealis"), CHARTER, None),
        (c.PauseRollout(1, "x"), MAINTAINER, None, CHARTER, None),  # before the rollout is loaded
        (
            c.PauseRollout(1, "x"),
            MAINTAINER,
            ("borealis", "cirrus"),
            CHARTER,
            "Only members of coordinators (ines-coord and jonas-coord), the security council and the maintainers of a client in this rollout (borealis and cirrus) may pause it; aurora is not in it. Tell one of them what you found.",
        ),
        (c.PauseRollout(1, "x"), COUNCIL, ("aurora",), CHARTER, None),  # may roll it all back
        (
            c.PauseRollout(1, "x"),
            CONTRIBUTOR,
            None,
            CHARTER,
            f"Only members of coordinators (ines-coord and jonas-coord), the security council and the maintainers of a client in the rollout may pause it{HAND_OVER}",
        ),
        (
            c.PauseRollout(1, "x"),
            ANON,
            None,
            CHARTER,
            "You have not linked a GitHub login yet, so you can only read; run /charter link first, then try again.",
        ),
        # a hold nobody could lift is never placed
        (c.PauseRollout(1, "x"), COORDINATOR, ("aurora",), NO_OVERRIDES, NONE_MAY_RESUME),
        (c.PauseRollout(1, "x"), MAINTAINER, ("aurora",), NO_OVERRIDES, NONE_MAY_RESUME),
        # resuming: the override roles only
        (c.ResumeRollout(1), COORDINATOR, ("aurora",), CHARTER, None),
        (
            c.ResumeRollout(1),
            MAINTAINER,
            ("aurora",),
            CHARTER,
            "Only members of coordinators (ines-coord and jonas-coord) may resume a rollout; ask one of them. A client's maintainers may pause a rollout, not resume it.",
        ),
        (
            c.ResumeRollout(1, "fixed"),
            COUNCIL,
            None,
            CHARTER,
            "Only members of coordinators (ines-coord and jonas-coord) may resume a rollout; ask one of them. A client's maintainers may pause a rollout, not resume it.",
        ),
        # a hold from an earlier charter, now with no override role: coordinators and council
        (c.ResumeRollout(1), COORDINATOR, None, NO_OVERRIDES, None),
        (c.ResumeRollout(1), COUNCIL, ("aurora",), NO_OVERRIDES, None),
        (c.ResumeRollout(1), COUNCIL, ("aurora",), NO_MEMBERS, None),
        (c.ResumeRollout(1), MAINTAINER, ("aurora",), NO_OVERRIDES, NO_ONE_HOLDS),
        (c.ResumeRollout(1), CONTRIBUTOR, None, NO_MEMBERS, NO_ONE_HOLDS),
    ],
)
def test_who_may_pause_and_resume_a_rollout_by_hand(
    command: c.Command,
    actor: Actor,
    clients: tuple[str, ...] | None,
    charter: Any,
    reason: str | None,
) -> None:
    """More may pause (the safe direction) than resume; a refusal names whom to ask."""
    refusal = authorize_command(command, actor, charter, rollout_clients=clients)
    assert refusal == (None if reason is None else Refusal(reason))


def test_an_override_role_without_members_reads_as_no_one() -> None:
    """A refusal naming whom to ask says "no one" for a role nobody holds."""
    charter = CHARTER.model_copy(update={"roles": {**CHARTER.roles, "coordinators": ()}})
    refusal = authorize(Privilege.PAUSE, CONTRIBUTOR, charter)
    assert refusal is not None and "coordinators (no one)" in refusal.reason


def test_a_role_electorate_with_no_members_is_described() -> None:
    """An electorate role with no members reads as "no one", and the staff list as "none"."""
    tracks = {**CHARTER.tracks}
    tracks["charter-amendment"] = tracks["charter-amendment"].model_copy(
        update={"electorate": ("coordinators",)}
    )
    charter = CHARTER.model_copy(update={"tracks": tracks, "roles": {"coordinators": ()}})
    refusal = authorize(Privilege.VOTE, MAINTAINER, charter, track="charter-amendment")
    assert refusal == Refusal(
        "You are not a voter for track charter-amendment: its seats are one per member of coordinators (no one)."
    )
    roleless = CHARTER.model_copy(update={"roles": {}})
    assert "charter role (none)" in str(authorize(Privilege.CONCERN, CONTRIBUTOR, roleless))


@dataclass(frozen=True)
class _Proposal:
    author: str
    track: str


def test_a_proposal_supplies_track_and_author() -> None:
    """Passing the proposal is the same as passing its track and author."""
    mine = _Proposal(author="zoe-contrib", track="security-patch")
    assert authorize(Privilege.WITHDRAW, CONTRIBUTOR, CHARTER, proposal=mine) is None
    assert authorize(Privilege.VOTE, COUNCIL, CHARTER, proposal=mine) is None
    other = _Proposal(author="someone-else", track="protocol-change")
    assert authorize_command(c.Withdraw(1), CONTRIBUTOR, CHARTER, proposal=other) is not None
    assert authorize_command(c.CastVote(1, "approve"), COUNCIL, CHARTER, proposal=other) is not None


def test_a_vote_needs_the_track() -> None:
    """Deciding a vote without the proposal's track is a programming error."""
    with pytest.raises(ValueError, match="track"):
        authorize(Privilege.VOTE, MAINTAINER, CHARTER)


@pytest.mark.parametrize(
    ("command", "privileges"),
    [
        (c.Advance(1), (Privilege.ADVANCE,)),
        (c.Advance(1, "why"), (Privilege.ADVANCE, Privilege.OVERRIDE)),
        (c.ResumeRollout(1, "why"), (Privilege.RESUME,)),
        (c.ResumeRollout(1, override_reason="fix"), (Privilege.RESUME, Privilege.OVERRIDE)),
        (c.Subscribe("me"), (Privilege.SUBSCRIBE,)),
        (c.Subscribe("here"), (Privilege.SUBSCRIBE, Privilege.SUBSCRIBE_CHANNEL)),
        (c.CastVote(1, "approve"), (Privilege.VOTE,)),
        (c.MeetingCancel("sync"), (Privilege.MEETING_SCHEDULE,)),
        (
            c.MeetingCancel(" go-no-go-7-canary"),
            (Privilege.MEETING_SCHEDULE, Privilege.GO_NO_GO_CALL),
        ),
    ],
)
def test_required_privileges(command: c.Command, privileges: tuple[Privilege, ...]) -> None:
    """Some forms of a command need a second privilege on top of their own."""
    assert required_privileges(command) == privileges


# -- author_may_vote: whether a proposal's author casts a seat's vote on it ---------------------


def _author_may_vote(may: bool, charter: Charter = CHARTER) -> Charter:
    """``charter`` with every track's ``author_may_vote`` set to ``may``."""
    tracks = {
        name: track.model_copy(update={"author_may_vote": may})
        for name, track in charter.tracks.items()
    }
    return charter.model_copy(update={"tracks": tracks})


_BARRED = "You wrote this proposal, and track {} does not let a proposal's author cast a seat's vote on it (author_may_vote: false)"

# (track, voter, proposal author, refusal when author_may_vote is false; None: allowed)
AUTHOR_VOTES: list[tuple[str, str, str | None, str | None]] = [
    (
        "protocol-change",
        "Alice-Aurora",
        "alice-aurora",
        _BARRED.format("protocol-change") + "; another maintainer of aurora (bob-aurora) may.",
    ),
    ("protocol-change", "bob-aurora", "alice-aurora", None),
    (
        "protocol-change",
        "emeka-cirrus",
        "Emeka-Cirrus",
        _BARRED.format("protocol-change") + "; cirrus has no other maintainer to cast its seat.",
    ),
    ("protocol-change", "alice-aurora", None, None),
    ("security-patch", "kofi-sec", "kofi-sec", _BARRED.format("security-patch") + "."),
    ("security-patch", "lena-sec", "kofi-sec", None),
    ("charter-amendment", "ines-coord", "ines-coord", _BARRED.format("charter-amendment") + "."),
    (
        "charter-amendment",
        "carmen-borealis",
        "carmen-borealis",
        _BARRED.format("charter-amendment")
        + "; another maintainer of borealis (dmitri-borealis) may.",
    ),
]


@pytest.mark.parametrize(("track", "voter", "author", "barred"), AUTHOR_VOTES)
@pytest.mark.parametrize("may", [True, False], ids=["author-may-vote", "author-may-not"])
def test_whether_the_author_may_cast_a_seat_on_their_own_proposal(
    track: str, voter: str, author: str | None, barred: str | None, may: bool
) -> None:
    """With ``author_may_vote: true`` (the default) every voter may vote; with false the
    proposal's author may not (logins compare case-insensitively), and is told who may cast
    their client's seat instead. The same answer whichever way the author is given."""
    charter = _author_may_vote(may)
    actor = Actor(login=voter)
    refusal = authorize(Privilege.VOTE, actor, charter, track=track, proposal_author=author)
    expected = Refusal(barred) if barred is not None and not may else None
    assert refusal == expected
    command = c.CastVote(1, "approve")
    assert authorize_command(command, actor, charter, track=track, proposal_author=author) == (
        expected
    )
    if author is not None:
        proposal = _Proposal(author=author, track=track)
        assert authorize_command(command, actor, charter, proposal=proposal) == expected


def test_the_reference_charter_lets_an_author_cast_their_clients_seat() -> None:
    """By default (every track of the reference charter) an author who maintains a client
    casts its seat on their own proposal: protocol-change needs every client (quorum 1.0),
    and cirrus has one maintainer, who may well write a proposal."""
    assert all(track.author_may_vote for track in CHARTER.tracks.values())
    for who in ("alice-aurora", "emeka-cirrus"):
        vote = c.CastVote(1, "approve")
        mine = _Proposal(author=who, track="protocol-change")
        assert authorize_command(vote, Actor(login=who), CHARTER, proposal=mine) is None


def test_a_barred_author_outside_the_electorate_is_told_they_are_no_voter() -> None:
    """Not holding a seat comes first: the author who is no voter hears that, not the bar."""
    charter = _author_may_vote(False)
    refusal = authorize(
        Privilege.VOTE, CONTRIBUTOR, charter, track="protocol-change", proposal_author="zoe-contrib"
    )
    assert refusal is not None and refusal.reason.startswith("You are not a voter")


def test_a_barred_maintainer_voting_in_a_role_seat_is_not_sent_to_their_client() -> None:
    """On a track whose electorate has no client seats, a maintainer voting as a role member
    is not told to ask their client's other maintainers."""
    tracks = {**CHARTER.tracks}
    tracks["security-patch"] = tracks["security-patch"].model_copy(
        update={"electorate": ("security-council",), "author_may_vote": False}
    )
    council = (*CHARTER.roles["security-council"], "bob-aurora")
    roles = {**CHARTER.roles, "security-council": council}
    charter = CHARTER.model_copy(update={"tracks": tracks, "roles": roles})
    refusal = authorize(
        Privilege.VOTE,
        Actor(login="bob-aurora"),
        charter,
        track="security-patch",
        proposal_author="bob-aurora",
    )
    assert refusal == Refusal(_BARRED.format("security-patch") + ".")
