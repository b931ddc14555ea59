"""Seats and the tally, against the reference charter's four tracks.

Reference tracks: protocol-change (5 client seats, quorum 1.0, approval 1.0, confirm 24h,
voting 5d); feature-flag (5 seats, quorum 0.6 → 3 seats, approval 0.66, lazy consensus 5d,
voting 3d); security-patch (5 clients + 3 council seats, quorum 0.5 → 4, approval 0.5, council
veto, voting 48h); charter-amendment (5 clients + 2 coordinators, quorum 0.75 → 6, approval
0.75, voting 7d).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from charter.model import Charter
from charter.votes import (
    Choice,
    LazyVotes,
    Outcome,
    Tally,
    UnknownRole,
    Vote,
    may_vote,
    seats,
    seats_of,
    tally,
    veto_holders,
)

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
REF = Charter.model_validate(
    yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENTS = ["alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus"]
COUNCIL = ["kofi-sec", "lena-sec", "mateo-sec"]
COORDS = ["ines-coord", "jonas-coord"]


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def v(voter: str, choice: str, hours: float, reason: str = "") -> Vote:
    return Vote(voter, Choice(choice), reason, h(hours))


def all_(voters: list[str], choice: str, hours: float = 1) -> list[Vote]:
    return [v(who, choice, hours + i) for i, who in enumerate(voters)]


def run(
    track: str,
    votes: list[Vote],
    at: float,
    concerns: tuple[str, ...] = (),
    charter: Charter = REF,
) -> Tally:
    rules = charter.tracks[track]
    return tally(
        rules,
        charter,
        votes,
        h(at),
        voting_opened_at=T0,
        voting_closes_at=T0 + rules.voting,
        open_concerns=concerns,
    )


def with_track(track: str, **changes: object) -> Charter:
    new = REF.tracks[track].model_copy(update=changes)
    return REF.model_copy(update={"tracks": {**REF.tracks, track: new}})


# -- seats -----------------------------------------------------------------------------------

CLIENT_SEATS = [f"client:{c}" for c in ("aurora", "borealis", "cirrus", "dorado", "eridanus")]


@pytest.mark.parametrize(
    ("track", "ids"),
    [
        ("protocol-change", CLIENT_SEATS),
        ("feature-flag", CLIENT_SEATS),
        ("security-patch", CLIENT_SEATS + [f"role:security-council:{m}" for m in COUNCIL]),
        ("charter-amendment", CLIENT_SEATS + [f"role:coordinators:{m}" for m in COORDS]),
    ],
)
def test_seats_follow_the_electorate(track: str, ids: list[str]) -> None:
    """`clients` gives one seat per client; a role gives one seat per member, in order."""
    assert [s.id for s in seats(REF.tracks[track], REF)] == ids


def test_a_client_seat_is_held_by_all_its_maintainers() -> None:
    """A client seat is labelled with the client's name and cast by any of its maintainers."""
    aurora = seats(REF.tracks["feature-flag"], REF)[0]
    assert (aurora.label, aurora.kind, aurora.members) == (
        "Aurora",
        "client",
        ("alice-aurora", "bob-aurora"),
    )
    council = seats(REF.tracks["security-patch"], REF)[5]
    assert (council.label, council.kind, council.members) == (
        "kofi-sec (security-council)",
        "role",
        ("kofi-sec",),
    )


@pytest.mark.parametrize(
    ("login", "track", "held"),
    [
        ("bob-aurora", "feature-flag", ["client:aurora"]),
        ("BOB-Aurora", "feature-flag", ["client:aurora"]),  # logins compare case-insensitively
        ("kofi-sec", "feature-flag", []),
        ("kofi-sec", "security-patch", ["role:security-council:kofi-sec"]),
        ("ines-coord", "charter-amendment", ["role:coordinators:ines-coord"]),
        ("mallory", "charter-amendment", []),
    ],
)
def test_seats_of(login: str, track: str, held: list[str]) -> None:
    """seats_of lists the seats a login holds on a track, empty for non-voters."""
    table = seats(REF.tracks[track], REF)
    assert [s.id for s in seats_of(login, table)] == held
    assert may_vote(login, REF.tracks[track], REF) is bool(held)


def test_duplicate_electorate_entries_give_one_seat_each() -> None:
    """Naming `clients` twice (or a member twice) does not double any seat."""
    charter = with_track("feature-flag", electorate=("clients", "clients"))
    assert len(seats(charter.tracks["feature-flag"], charter)) == 5


@pytest.mark.parametrize(
    ("field", "value"), [("electorate", ("clients", "auditors")), ("veto", ("auditors",))]
)
def test_unknown_role_is_reported_in_words(field: str, value: tuple[str, ...]) -> None:
    """A track naming an undefined role fails with the role's name and the roles defined."""
    charter = with_track("feature-flag", **{field: value})
    with pytest.raises(UnknownRole, match=f"track's {field} names role 'auditors'.*coordinators"):
        run("feature-flag", [], 1, charter=charter)


def test_veto_holders_are_the_members_of_veto_roles() -> None:
    """veto_holders maps lower-cased logins of every veto role's members to the role."""
    assert veto_holders(REF.tracks["security-patch"], REF) == dict.fromkeys(
        COUNCIL, "security-council"
    )
    assert veto_holders(REF.tracks["feature-flag"], REF) == {}


# -- votes -----------------------------------------------------------------------------------


def test_vote_needs_a_timezone_and_a_known_choice() -> None:
    """A naive time or an unknown choice is refused when the vote is built; strings convert."""
    with pytest.raises(ValueError, match="has no timezone"):
        Vote("alice-aurora", Choice.APPROVE, "", datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="'maybe' is not a valid Choice"):
        Vote("alice-aurora", "maybe", "", T0)  # type: ignore[arg-type]
    assert Vote("alice-aurora", "abstain", "", T0).choice is Choice.ABSTAIN  # type: ignore[arg-type]


# -- the tally: outcome table ----------------------------------------------------------------

FF_CLOSE = 72  # feature-flag voting closes after 3d
SP_CLOSE = 48
CA_CLOSE = 168
PC_CLOSE = 120

OUTCOMES = [
    # (id, track, votes, hours after opening, open concerns, outcome, reason contains)
    ("before-open", "feature-flag", [], -1, (), Outcome.PENDING, "voting opens 2026-03-02 09:00"),
    (
        "open-waiting",
        "feature-flag",
        all_(CLIENTS[:2], "approve"),
        20,
        (),
        Outcome.PENDING,
        "voting open until 2026-03-05 09:00 UTC; 2 of 5 seats have voted",
    ),
    (
        "quorum-exactly-met",
        "feature-flag",
        all_(CLIENTS[:3], "approve"),
        FF_CLOSE,
        (),
        Outcome.ACCEPTED,
        "voting closed with quorum (3 of 5 seats) and approval 3/3 (100%)",
    ),
    (
        "approval-two-thirds-meets-0.66",
        "feature-flag",
        [*all_(CLIENTS[:2], "approve"), v("emeka-cirrus", "reject", 5)],
        FF_CLOSE,
        (),
        Outcome.ACCEPTED,
        "approval 2/3 (66.67%) meets the required 66%",
    ),
    (
        "approval-half-below-0.66",
        "feature-flag",
        [
            v("alice-aurora", "approve", 1),
            v("carmen-borealis", "reject", 2),
            v("emeka-cirrus", "abstain", 3),
        ],
        FF_CLOSE,
        (),
        Outcome.REJECTED,
        "voting closed; approval 1/2 (50%) is below the required 66%",
    ),
    (
        "only-abstain-is-not-approval",
        "feature-flag",
        all_(CLIENTS[:3], "abstain"),
        FF_CLOSE,
        (),
        Outcome.REJECTED,
        "no seat approved or rejected (approval 66% required)",
    ),
    (
        "approval-exactly-at-0.75",
        "charter-amendment",
        [*all_(CLIENTS[:3], "approve"), v(CLIENTS[3], "reject", 9), *all_(COORDS, "abstain", 10)],
        CA_CLOSE,
        (),
        Outcome.ACCEPTED,
        "quorum (6 of 7 seats) and approval 3/4 (75%) meets the required 75%",
    ),
    (
        "quorum-one-short-expires",
        "charter-amendment",
        all_(CLIENTS, "approve"),
        CA_CLOSE,
        (),
        Outcome.EXPIRED,
        "voting closed without quorum: 5 of 7 seats voted, 6 needed",
    ),
    (
        "security-quorum-half-exactly",
        "security-patch",
        [*all_(CLIENTS[:2], "approve"), *all_(CLIENTS[2:4], "reject", 5)],
        SP_CLOSE,
        (),
        Outcome.ACCEPTED,
        "quorum (4 of 8 seats) and approval 2/4 (50%)",
    ),
    (
        "replaced-vote-counts-once",
        "feature-flag",
        [
            v("alice-aurora", "approve", 1),
            v("carmen-borealis", "reject", 1),
            v("emeka-cirrus", "reject", 1),
            v("dmitri-borealis", "approve", 2),  # Borealis' other maintainer replaces its reject
        ],
        FF_CLOSE,
        (),
        Outcome.ACCEPTED,
        "approval 2/3",
    ),
    (
        "non-voters-ignored",
        "feature-flag",
        [*all_(CLIENTS[:3], "approve"), v("mallory", "reject", 5), v("ines-coord", "reject", 6)],
        FF_CLOSE,
        (),
        Outcome.ACCEPTED,
        "approval 3/3",
    ),
    (
        "veto-rejects-at-once",
        "security-patch",
        [*all_(CLIENTS, "approve"), v("lena-sec", "approve", 6), v("kofi-sec", "reject", 7)],
        8,
        (),
        Outcome.REJECTED,
        "vetoed by kofi-sec (security-council)",
    ),
    (
        "veto-withdrawn-by-later-vote",
        "security-patch",
        [*all_(CLIENTS, "approve"), v("kofi-sec", "reject", 7), v("kofi-sec", "approve", 8)],
        SP_CLOSE,
        (),
        Outcome.ACCEPTED,
        "approval 6/6",
    ),
    (
        "all-voted-approve-closes-early",
        "charter-amendment",
        all_(CLIENTS + COORDS, "approve"),
        10,
        (),
        Outcome.ACCEPTED,
        "every seat has voted; approval 7/7 (100%) meets the required 75%",
    ),
    (
        "all-voted-reject-closes-at-once",
        "charter-amendment",
        [*all_(CLIENTS, "approve"), *all_(COORDS, "reject", 8)],
        10,
        (),
        Outcome.REJECTED,
        "every seat has voted; approval 5/7 (71.43%) is below the required 75%",
    ),
    (
        "all-voted-but-concern-open",
        "charter-amendment",
        all_(CLIENTS + COORDS, "approve"),
        10,
        ("abi-break",),
        Outcome.PENDING,
        "every seat has voted; unresolved concerns: abi-break",
    ),
    (
        "closed-with-concerns",
        "feature-flag",
        all_(CLIENTS[:3], "approve"),
        FF_CLOSE,
        ("abi-break", "docs"),
        Outcome.REJECTED,
        "closed with unresolved concerns: abi-break, docs",
    ),
    (
        "confirm-not-yet-held",
        "protocol-change",
        all_(CLIENTS, "approve"),  # the last seat votes at h5
        28,
        (),
        Outcome.PENDING,
        "every seat has voted; the approving outcome must hold until 2026-03-03 14:00 UTC",
    ),
    (
        "confirm-held",
        "protocol-change",
        all_(CLIENTS, "approve"),
        29,
        (),
        Outcome.ACCEPTED,
        "every seat has voted and the approving outcome held for 1d",
    ),
    (
        "abstain-counts-towards-quorum",
        "protocol-change",
        [*all_(CLIENTS[:4], "approve"), v(CLIENTS[4], "abstain", 5)],
        29,
        (),
        Outcome.ACCEPTED,
        "held for 1d",
    ),
    (
        "confirm-restarts-after-a-flip",
        "protocol-change",
        [
            *all_(CLIENTS, "approve"),
            v("bob-aurora", "reject", 10),
            v("alice-aurora", "approve", 12),
        ],
        29,
        (),
        Outcome.PENDING,
        "must hold until 2026-03-03 21:00 UTC",
    ),
    (
        "confirm-held-after-the-flip",
        "protocol-change",
        [
            *all_(CLIENTS, "approve"),
            v("bob-aurora", "reject", 10),
            v("alice-aurora", "approve", 12),
        ],
        36,
        (),
        Outcome.ACCEPTED,
        "held for 1d",
    ),
    (
        "flip-to-reject-must-hold-too",
        "protocol-change",
        [*all_(CLIENTS, "approve"), v("bob-aurora", "reject", 10)],
        11,
        (),
        Outcome.PENDING,
        "every seat has voted; the rejecting outcome must hold until 2026-03-03 19:00 UTC",
    ),
    (
        "flip-to-reject-held-rejects",
        "protocol-change",
        [*all_(CLIENTS, "approve"), v("bob-aurora", "reject", 10)],
        34,
        (),
        Outcome.REJECTED,
        "every seat has voted and the rejecting outcome held for 1d",
    ),
    (
        "a-concern-does-not-hold-up-a-rejecting-outcome",
        "charter-amendment",
        [*all_(CLIENTS, "approve"), *all_(COORDS, "reject", 8)],
        10,
        ("abi-break",),
        Outcome.REJECTED,
        "every seat has voted; approval 5/7 (71.43%) is below the required 75%",
    ),
    (
        "confirm-not-needed-at-close",
        "protocol-change",
        all_(CLIENTS, "approve", PC_CLOSE - 6),
        PC_CLOSE,
        (),
        Outcome.ACCEPTED,
        "voting closed with quorum (5 of 5 seats)",
    ),
    (
        "lazy-consensus-running",
        "feature-flag",
        all_(CLIENTS[:2], "approve"),
        FF_CLOSE,
        (),
        Outcome.PENDING,
        "quorum was missed; lazy consensus until 2026-03-10 09:00 UTC unless someone rejects",
    ),
    (
        "lazy-consensus-passes",
        "feature-flag",
        all_(CLIENTS[:2], "approve"),
        FF_CLOSE + 120,
        (),
        Outcome.ACCEPTED,
        "lazy consensus: no reject in the 5d after voting closed",
    ),
    (
        "lazy-consensus-late-reject",
        "feature-flag",
        [*all_(CLIENTS[:2], "approve"), v("emeka-cirrus", "reject", FF_CLOSE + 30)],
        FF_CLOSE + 31,
        (),
        Outcome.REJECTED,
        "quorum was missed and lazy consensus failed: rejected by emeka-cirrus",
    ),
    (
        "lazy-consensus-standing-reject",
        "feature-flag",
        [v("alice-aurora", "approve", 1), v("carmen-borealis", "reject", 2)],
        FF_CLOSE,
        (),
        Outcome.REJECTED,
        "lazy consensus failed: rejected by carmen-borealis",
    ),
    (
        "lazy-consensus-late-approve-changes-nothing",
        "feature-flag",
        [*all_(CLIENTS[:2], "approve"), v("emeka-cirrus", "approve", FF_CLOSE + 1)],
        FF_CLOSE + 2,
        (),
        Outcome.PENDING,
        "lazy consensus until",
    ),
    (
        "lazy-consensus-ends-with-concerns",
        "feature-flag",
        all_(CLIENTS[:2], "approve"),
        FF_CLOSE + 120,
        ("rollback-plan",),
        Outcome.REJECTED,
        "closed with unresolved concerns: rollback-plan",
    ),
    (
        "no-votes-no-lazy-expires",
        "security-patch",
        [],
        SP_CLOSE,
        (),
        Outcome.EXPIRED,
        "0 of 8 seats voted, 4 needed",
    ),
]


@pytest.mark.parametrize(
    ("track", "votes", "at", "concerns", "outcome", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in OUTCOMES],
)
def test_outcome(
    track: str,
    votes: list[Vote],
    at: float,
    concerns: tuple[str, ...],
    outcome: Outcome,
    reason: str,
) -> None:
    """Each row states one rule of charter.votes.tally (see its docstring) on the reference."""
    result = run(track, votes, at, concerns)
    assert (result.outcome, reason in result.reason) == (outcome, True), result.reason


# -- the tally: details ----------------------------------------------------------------------


def test_counts_and_standing_votes() -> None:
    """Counts are per seat; the later of two votes of one seat stands; one voice per seat."""
    votes = [
        v("alice-aurora", "reject", 1),
        v("bob-aurora", "approve", 2),
        v("carmen-borealis", "abstain", 3),
        v("emeka-cirrus", "approve", 4),
    ]
    result = run("feature-flag", votes, 10)
    assert (result.approve, result.reject, result.abstain, result.cast) == (2, 0, 1, 3)
    assert result.standing["client:aurora"].voter == "bob-aurora"
    assert (result.needed, result.quorum_met, result.approved, result.all_voted) == (
        3,
        True,
        True,
        False,
    )


def test_same_instant_votes_of_one_seat_follow_list_order() -> None:
    """Two votes of one seat at the same instant: the later in the list stands."""
    votes = [v("alice-aurora", "reject", 1), v("bob-aurora", "approve", 1)]
    assert run("feature-flag", votes, 2).standing["client:aurora"].choice is Choice.APPROVE


@pytest.mark.parametrize("order", ["reject-first", "approve-first"])
def test_votes_at_the_same_instant_are_taken_together(order: str) -> None:
    """Votes cast at one instant change the course once, whatever their order in the list.

    With approval 0.8 and three approvals standing since h1, a reject and an approve at h10
    leave it approving (4/5); a reject alone (3/4) would have flipped it for no time at all,
    restarting the confirm period.
    """
    charter = with_track("feature-flag", approval=0.8, confirm=timedelta(hours=24))
    pair = [v("carmen-borealis", "reject", 10), v("emeka-cirrus", "approve", 10)]
    if order == "approve-first":
        pair.reverse()
    votes = [*all_(["alice-aurora", "fatima-dorado", "hana-eridanus"], "approve", 1), *pair]
    result = run("feature-flag", votes, 27, charter=charter)
    assert (result.held_since, result.outcome) == (h(3), Outcome.ACCEPTED)


def test_ignored_votes_say_why() -> None:
    """Non-voters, votes before opening and after closing are listed with a reason."""
    votes = [
        v("mallory", "approve", 1),
        v("alice-aurora", "approve", -2),
        v("carmen-borealis", "approve", CA_CLOSE + 1),
        v("emeka-cirrus", "approve", CA_CLOSE + 100),  # not cast yet at the moment of the tally
    ]
    result = run("charter-amendment", votes, CA_CLOSE + 2)
    assert [(i.vote.voter, i.why) for i in result.ignored] == [
        ("mallory", "mallory holds no seat on this track"),
        ("alice-aurora", "cast before voting opened"),
        ("carmen-borealis", "cast after voting closed"),
    ]
    assert result.cast == 0


def test_a_login_holding_two_seats_fills_both() -> None:
    """A coordinator who also maintains a client fills both seats with one vote."""
    charter = REF.model_copy(
        update={"roles": {**REF.roles, "coordinators": ("ines-coord", "Alice-Aurora")}}
    )
    result = run("charter-amendment", [v("alice-aurora", "approve", 1)], 2, charter=charter)
    assert sorted(result.standing) == ["client:aurora", "role:coordinators:alice-aurora"]


def test_veto_holder_without_a_seat_still_vetoes() -> None:
    """A veto role's member rejects with effect even when the track gives them no seat."""
    charter = with_track("feature-flag", veto=("coordinators",))
    votes = [*all_(CLIENTS, "approve"), v("Ines-Coord", "reject", 8)]
    result = run("feature-flag", votes, 9, charter=charter)
    assert (result.outcome, result.reason) == (
        Outcome.REJECTED,
        "vetoed by Ines-Coord (coordinators)",
    )
    assert result.vetoed_by == ("Ines-Coord",)
    assert result.ignored == ()
    assert may_vote("ines-coord", charter.tracks["feature-flag"], charter)


@pytest.mark.parametrize(
    ("votes", "reason"),
    [
        (
            [v("lena-sec", "reject", 2), v("kofi-sec", "reject", 2)],
            "vetoed by kofi-sec (security-council), lena-sec (security-council)",
        ),
        (
            [v("kofi-sec", "reject", 2), v("lena-sec", "reject", 2)],
            "vetoed by kofi-sec (security-council), lena-sec (security-council)",
        ),
        (
            [v("lena-sec", "reject", 1), v("kofi-sec", "reject", 2)],
            "vetoed by lena-sec (security-council), kofi-sec (security-council)",
        ),
        (  # lena first voted at 1 (approve), then vetoed: the order is who voted first
            [v("lena-sec", "approve", 1), v("kofi-sec", "reject", 2), v("lena-sec", "reject", 3)],
            "vetoed by lena-sec (security-council), kofi-sec (security-council)",
        ),
    ],
    ids=["same-moment", "same-moment-other-arrival", "earlier-first", "first-vote-counts"],
)
def test_vetoes_are_listed_in_the_order_their_holders_first_voted(
    votes: list[Vote], reason: str
) -> None:
    """Vetoes are named in the order their holders first voted; holders who first voted at the
    same moment by login, so the reason does not depend on which of them arrived first (found
    by the property test on the order of votes from different seats)."""
    result = run("security-patch", votes, 4)
    assert (result.outcome, result.reason) == (Outcome.REJECTED, reason)


def test_a_track_without_seats_never_meets_quorum() -> None:
    """With no seats, quorum is never met and nobody has 'all voted'."""
    charter = REF.model_copy(update={"roles": {**REF.roles, "coordinators": ()}})
    charter = charter.model_copy(
        update={
            "tracks": {
                "t": REF.tracks["charter-amendment"].model_copy(
                    update={"electorate": ("coordinators",)}
                )
            }
        }
    )
    result = run("t", [], CA_CLOSE, charter=charter)
    assert (result.quorum_met, result.all_voted, result.outcome) == (False, False, Outcome.EXPIRED)


def test_confirm_and_lazy_times_are_exposed() -> None:
    """The tally tells when confirm ends (held since the last flip) and when lazy consensus ends."""
    confirming = run("protocol-change", all_(CLIENTS, "approve"), 10)
    assert (confirming.held_since, confirming.confirm_until) == (h(5), h(29))
    lazy = run("feature-flag", all_(CLIENTS[:1], "approve"), FF_CLOSE)
    assert (lazy.confirm_until, lazy.lazy_until) == (None, h(FF_CLOSE + 120))


def test_summary_is_json_safe() -> None:
    """The summary goes into the audit log, so it serialises as JSON and names every number."""
    result = run("feature-flag", all_(CLIENTS[:3], "approve"), FF_CLOSE)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["outcome"] == "accepted"
    assert (summary["seats"], summary["cast"], summary["approve"], summary["needed"]) == (
        5,
        3,
        3,
        3,
    )
    assert summary["standing"]["client:aurora"] == {
        "voter": "alice-aurora",
        "choice": "approve",
        "at": "2026-03-02T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("votes", "at", "counts", "lazy", "outcome"),
    [
        # one approve by the close (quorum missed), then an approve and a reject: the numbers
        # stay those at the close, which quorum and approval were judged on
        (
            [
                v("alice-aurora", "approve", 1),
                v("carmen-borealis", "approve", FF_CLOSE + 1),
                v("emeka-cirrus", "reject", FF_CLOSE + 48),
            ],
            FF_CLOSE + 49,
            (1, 0, 0, 1, False, True),
            LazyVotes(approve=1, reject=1),
            Outcome.REJECTED,
        ),
        # a seat that changes its vote during lazy consensus: counted at the close as it stood
        (
            [v("alice-aurora", "approve", 1), v("alice-aurora", "abstain", FF_CLOSE + 1)],
            FF_CLOSE + 2,
            (1, 0, 0, 1, False, True),
            LazyVotes(abstain=1),
            Outcome.PENDING,
        ),
        # before the close every vote so far is counted, and none is late
        (
            all_(CLIENTS[:3], "approve"),
            FF_CLOSE - 1,
            (3, 0, 0, 3, True, True),
            LazyVotes(),
            Outcome.PENDING,
        ),
        (
            all_(CLIENTS[:3], "approve"),
            FF_CLOSE,
            (3, 0, 0, 3, True, True),
            LazyVotes(),
            Outcome.ACCEPTED,
        ),
    ],
)
def test_counts_are_those_at_voting_close_and_lazy_votes_apart(
    votes: list[Vote],
    at: float,
    counts: tuple[int, int, int, int, bool, bool],
    lazy: LazyVotes,
    outcome: Outcome,
) -> None:
    """Quorum and approval are judged on the votes at voting close, and reported so: the
    counts never say quorum was met beside a reason saying it was missed. Votes during lazy
    consensus stand in the seat matrix (``standing``) and are counted apart."""
    t = run("feature-flag", votes, at)
    assert (t.approve, t.reject, t.abstain, t.cast, t.quorum_met, t.approved) == counts
    assert t.lazy_votes == lazy
    assert t.lazy_votes.cast == lazy.approve + lazy.reject + lazy.abstain
    assert t.outcome is outcome
    assert {s.voter for s in t.standing.values()} == {vote.voter for vote in votes}
    assert t.summary()["lazy_votes"] == lazy.summary()
