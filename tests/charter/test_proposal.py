"""Decisions on a proposal: each returns the new proposal and the effects to carry out."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.concerns import Concern
from charter.deadlines import due, next_due_at
from charter.effects import Announce, Audit, Comment, Reply, SetLabels, SyncTracking
from charter.lifecycle import Event, IllegalTransition, State
from charter.model import Charter
from charter.proposal import (
    Decision,
    IncompleteRecord,
    NotDue,
    Proposal,
    UnknownTrack,
    named_clients,
    settled_note,
    tally_of,
    voting_opened_by,
)
from charter.proposal_concerns import raise_concern, resolve_concern
from charter.proposal_transitions import close_if_due, enter_review, open_voting, withdraw
from charter.proposal_votes import cast_vote, recompute_votes
from charter.votes import Choice, Outcome, Vote

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
REF = Charter.model_validate(
    yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENTS = ["alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus"]


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def prop(track: str = "feature-flag", state: State = State.VOTING, **kw: Any) -> Proposal:
    """A proposal #7 by bob-aurora; in voting, voting opened at T0."""
    stamps: dict[str, Any] = {}
    if state is not State.DRAFT:
        stamps["entered_review_at"] = T0 - REF.tracks[track].review
    if state not in (State.DRAFT, State.REVIEW):
        stamps["voting_opened_at"] = T0
    return Proposal(
        7, "Enable blob gossip", "bob-aurora", track, state, {"summary": "x"}, 3, h(-500),
        **{**stamps, **kw},
    )  # fmt: skip


def votes(*specs: tuple[str, str, float]) -> tuple[Vote, ...]:
    return tuple(Vote(who, Choice(c), "", h(at)) for who, c, at in specs)


def kinds(decision: Decision) -> list[str]:
    """Effect types in order, with the audit kind or announce kind: 'Audit:vote-cast'."""
    out = []
    for e in decision.effects:
        extra = getattr(e, "kind", None)
        out.append(f"{type(e).__name__}:{extra}" if extra else type(e).__name__)
    return out


def refused(decision: Decision, before: Proposal, why: str) -> None:
    assert decision.proposal == before
    assert kinds(decision) == ["Audit:command-refused", "Reply"]
    audit, reply = decision.effects
    assert isinstance(audit, Audit)
    assert isinstance(reply, Reply)
    assert reply == Reply(text=audit.payload["why"], ok=False)
    assert why in reply.text, reply.text


# -- review and voting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("track", "confidential"),
    [("protocol-change", False), ("feature-flag", False), ("security-patch", True)],
)
def test_enter_review(track: str, confidential: bool) -> None:
    """A valid draft enters review now; it is audited, labelled, tracked and announced."""
    d = enter_review(prop(track, State.DRAFT), REF, T0)
    assert (d.proposal.state, d.proposal.entered_review_at) == (State.REVIEW, T0)
    assert d.effects[0] == Audit(
        "review-started",
        "proposal:7",
        {"event": "intake-valid", "from": "draft", "to": "review", "at": T0.isoformat(),
         "charter_version": 3},
    )  # fmt: skip
    assert d.effects[1:3] == (SetLabels(7, ("charter:review",)), SyncTracking(7))
    announce = d.effects[3]
    assert isinstance(announce, Announce)
    assert announce.kind == "proposal-opened"
    assert (announce.proposal, announce.track, announce.confidential) == (7, track, confidential)
    assert len(d.effects) == 4


def test_enter_review_only_from_draft() -> None:
    """A proposal already past draft cannot enter review again."""
    with pytest.raises(IllegalTransition, match="a voting proposal cannot take 'intake-valid'"):
        enter_review(prop(), REF, T0)


def test_unknown_track_is_named() -> None:
    """A proposal whose track the charter lacks fails with the known tracks listed."""
    stray = Proposal(7, "t", "bob-aurora", "nope", State.DRAFT, {}, 3, T0)
    with pytest.raises(UnknownTrack, match="names track 'nope'; tracks: protocol-change"):
        enter_review(stray, REF, T0)


def test_open_voting_when_review_has_ended() -> None:
    """Voting opens once review is over, counted from the actual opening; it is announced."""
    p = prop("feature-flag", State.REVIEW)
    with pytest.raises(NotDue, match="review of #7 runs until 2026-03-02 09:00 UTC"):
        open_voting(p, REF, h(-1))
    d = open_voting(p, REF, h(3))
    assert (d.proposal.state, d.proposal.voting_opened_at) == (State.VOTING, h(3))
    assert kinds(d) == [
        "Audit:voting-opened",
        "SetLabels",
        "SyncTracking",
        "Announce:voting-opened",
    ]
    announce = d.effects[3]
    assert isinstance(announce, Announce)
    assert announce.text == "5 seats may vote until 2026-03-05 12:00 UTC (quorum 60%)"


def test_missing_timestamps_are_reported() -> None:
    """A stored record lacking the timestamp its state needs fails in words."""
    with pytest.raises(IncompleteRecord, match="#7 is review but has no entered_review_at"):
        open_voting(prop(state=State.REVIEW, entered_review_at=None), REF, T0)
    with pytest.raises(IncompleteRecord, match="#7 is voting but has no voting_opened_at"):
        tally_of(prop(voting_opened_at=None), REF, T0)


# -- votes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "voter", "now", "why"),
    [
        (prop(state=State.DRAFT), "alice-aurora", h(1), "voting on #7 has not opened yet"),
        (prop(state=State.REVIEW), "alice-aurora", h(1), "voting on #7 has not opened yet"),
        (prop(state=State.ACCEPTED), "alice-aurora", h(1), "#7 is closed (accepted)"),
        (prop(state=State.WITHDRAWN), "alice-aurora", h(1), "#7 is closed (withdrawn)"),
        # Cast during review, reaching the bot after voting opened (a late webhook, a poll):
        # refused as it would have been on time, not recorded for a tally that ignores it.
        (prop(), "alice-aurora", h(-1), "voting on #7 has not opened yet"),
        (prop(voting_opened_at=None), "alice-aurora", h(1), "voting on #7 has not opened yet"),
        (
            prop(),
            "kofi-sec",
            h(1),
            "kofi-sec is not a voter for the feature-flag track (electorate: clients)",
        ),
        (
            prop("charter-amendment"),
            "mallory",
            h(1),
            "mallory is not a voter for the charter-amendment track (electorate: clients, "
            "coordinators)",
        ),
    ],
)
def test_cast_vote_refusals(p: Proposal, voter: str, now: datetime, why: str) -> None:
    """Votes are refused before voting opens (by the vote's own time), on closed proposals and
    from non-voters."""
    refused(cast_vote(p, REF, voter, "approve", "", now), p, why)


@pytest.mark.parametrize(
    ("p", "now", "state", "why"),
    [
        (
            prop("security-patch", votes=votes(("lena-sec", "reject", 1))),
            h(2),
            State.REJECTED,
            "voting on #7 has closed: vetoed by lena-sec (security-council)",
        ),
        (
            prop("charter-amendment"),
            h(168),
            State.EXPIRED,
            "voting on #7 has closed: voting closed without quorum",
        ),
    ],
)
def test_input_after_the_outcome_settled_is_refused_and_left_to_the_timer(
    p: Proposal, now: datetime, state: State, why: str
) -> None:
    """Once the votes (or the clock) settled the outcome, a vote, a concern, a resolution or a
    withdrawal (by the author, or a coordinator) is refused and changes nothing; the timer
    closes the proposal as it stood when it settled (the bot waits a grace for votes cast in
    time, which a late one must not cut short)."""
    for d in (
        cast_vote(p, REF, "alice-aurora", "approve", "", now),
        raise_concern(p, REF, "alice-aurora", "gas", "too high", now),
        resolve_concern(p, REF, "alice-aurora", "gas", now),
        withdraw(p, REF, "bob-aurora", False, now),
        withdraw(p, REF, "ines-coord", True, now),
    ):
        assert d.proposal == p
        assert kinds(d) == ["Audit:command-refused", "Reply"]
        reply = d.effects[1]
        assert isinstance(reply, Reply) and not reply.ok and why in reply.text
    assert due(p, REF, now) is not None
    assert close_if_due(p, REF, now).proposal.state is state


def test_cast_vote_records_the_vote() -> None:
    """A seat holder's vote is appended and audited with its seats; the voter gets a reply."""
    p = prop()
    d = cast_vote(p, REF, "Bob-Aurora", "approve", "tested on devnet", h(2), via="slack")
    vote = Vote("Bob-Aurora", Choice.APPROVE, "tested on devnet", h(2), "slack")
    assert d.proposal == replace(p, votes=(vote,))
    assert kinds(d) == ["Audit:vote-cast", "Announce:vote", "SyncTracking", "Reply"]
    assert d.effects[0] == Audit(
        "vote-cast",
        "proposal:7",
        {"voter": "Bob-Aurora", "choice": "approve", "reason": "tested on devnet",
         "via": "slack", "seats": ["client:aurora"], "at": h(2).isoformat()},
    )  # fmt: skip
    assert d.effects[3] == Reply("Recorded approve on #7 for Aurora.")


def test_a_later_vote_replaces_the_earlier() -> None:
    """Voting again is allowed while voting is open; the tally counts the later vote."""
    p = cast_vote(prop(), REF, "alice-aurora", "reject", "", h(1)).proposal
    p = cast_vote(p, REF, "bob-aurora", Choice.APPROVE, "", h(2)).proposal
    assert len(p.votes) == 2
    assert tally_of(p, REF, h(3)).standing["client:aurora"].choice is Choice.APPROVE


@pytest.mark.parametrize(
    ("earlier", "voter", "said"),
    [
        ((), "bob-aurora", "Recorded approve on #7 for Aurora."),
        ((("bob-aurora", "reject"),), "Bob-Aurora", "Recorded approve on #7 for Aurora."),
        (
            (("alice-aurora", "reject"),),
            "bob-aurora",
            "Recorded approve on #7 for Aurora. It replaces alice-aurora's reject for Aurora.",
        ),
        ((("carmen-borealis", "reject"),), "bob-aurora", "Recorded approve on #7 for Aurora."),
        (
            (("alice-aurora", "approve"),),
            "bob-aurora",
            "Recorded approve on #7 for Aurora. It agrees with alice-aurora's approve for Aurora.",
        ),
    ],
    ids=["first", "own-earlier", "colleague", "other-seat", "colleague-same-way"],
)
def test_a_vote_says_whose_vote_for_its_seat_it_replaces(
    earlier: tuple[tuple[str, str], ...], voter: str, said: str
) -> None:
    """The latest vote of a seat counts: a colleague's vote it displaces is named."""
    p = prop()
    for login, choice in earlier:
        p = cast_vote(p, REF, login, choice, "", h(1)).proposal
    assert cast_vote(p, REF, voter, "approve", "", h(2)).effects[3] == Reply(said)


def test_veto_holder_without_seat_votes_as_veto() -> None:
    """A veto holder without a seat may vote; the reply says it counts as a veto."""
    charter = REF.model_copy(
        update={"tracks": {**REF.tracks, "feature-flag": REF.tracks["feature-flag"].model_copy(
            update={"veto": ("coordinators",)})}}
    )  # fmt: skip
    d = cast_vote(prop(), charter, "ines-coord", "approve", "", h(1))
    assert d.effects[-1] == Reply("Recorded approve on #7 for veto.")


def test_a_settling_vote_closes_at_once() -> None:
    """The vote that settles the outcome (the last seat approving) closes in the same step."""
    voters = [*CLIENTS[:4], "ines-coord", "jonas-coord"]
    p = prop("charter-amendment", votes=votes(*((w, "approve", 1) for w in voters)))
    d = cast_vote(p, REF, "hana-eridanus", "approve", "", h(5))
    assert (d.proposal.state, d.proposal.outcome, d.proposal.decided_at) == (
        State.ACCEPTED, Outcome.ACCEPTED, h(5),
    )  # fmt: skip
    assert kinds(d) == [
        "Audit:vote-cast", "Announce:vote", "SyncTracking", "Reply",
        "Audit:proposal-decided", "SetLabels", "SyncTracking", "Announce:decision", "Comment",
    ]  # fmt: skip


def test_a_veto_on_a_confidential_track_rejects_quietly() -> None:
    """A council veto rejects at once; every announcement of the track is confidential."""
    d = cast_vote(prop("security-patch"), REF, "mateo-sec", "reject", "exploit", h(1))
    assert d.proposal.state is State.REJECTED
    announcements = [e for e in d.effects if isinstance(e, Announce)]
    assert [a.kind for a in announcements] == ["vote", "decision"]
    assert all(a.confidential for a in announcements)


# -- concerns ---------------------------------------------------------------------------------

ABI = Concern("abi", "breaks the ABI", "carmen-borealis", h(1))


def test_raise_concern() -> None:
    """An open proposal takes a concern; it is audited and tracked, and the raiser told."""
    d = raise_concern(prop(state=State.REVIEW), REF, "carmen-borealis", "abi", "breaks", h(1))
    assert d.proposal.concerns == (Concern("abi", "breaks", "carmen-borealis", h(1)),)
    assert kinds(d) == ["Audit:concern-raised", "SyncTracking", "Reply"]
    assert d.effects[2] == Reply("Concern 'abi' is open; #7 cannot pass until resolved.")


@pytest.mark.parametrize(
    ("p", "name", "why"),
    [
        (prop(state=State.REJECTED), "abi", "#7 is closed (rejected); concerns can no longer"),
        (prop(concerns=(ABI,)), "ABI", "concern 'abi' is already open"),
    ],
)
def test_raise_concern_refusals(p: Proposal, name: str, why: str) -> None:
    """Concerns are refused on closed proposals and when the name is already open."""
    refused(raise_concern(p, REF, "alice-aurora", name, "text", h(2)), p, why)


def test_resolve_concern() -> None:
    """The raiser resolves a concern; it is audited and tracked."""
    d = resolve_concern(prop(concerns=(ABI,)), REF, "carmen-borealis", "abi", h(2))
    assert d.proposal.concerns == (replace(ABI, resolved_by="carmen-borealis", resolved_at=h(2)),)
    assert kinds(d) == ["Audit:concern-resolved", "SyncTracking", "Reply"]


@pytest.mark.parametrize(
    ("p", "by", "any_", "why"),
    [
        (prop(state=State.EXPIRED, concerns=(ABI,)), "carmen-borealis", False, "are final"),
        (prop(concerns=(ABI,)), "alice-aurora", False, "only carmen-borealis"),
    ],
)
def test_resolve_concern_refusals(p: Proposal, by: str, any_: bool, why: str) -> None:
    """Only the raiser or a coordinator resolves, and only on an open proposal."""
    refused(resolve_concern(p, REF, by, "abi", h(2), may_resolve_any=any_), p, why)


def test_resolving_the_last_concern_can_settle_the_outcome() -> None:
    """When every seat approved and only a concern held it, resolving it accepts at once."""
    voters = [*CLIENTS, "ines-coord", "jonas-coord"]
    p = prop("charter-amendment", votes=votes(*((w, "approve", 1) for w in voters)),
             concerns=(ABI,))  # fmt: skip
    d = resolve_concern(p, REF, "ines-coord", "abi", h(3), may_resolve_any=True)
    assert d.proposal.state is State.ACCEPTED
    assert "Audit:proposal-decided" in kinds(d)


# -- an input that settles the outcome, with a grace ------------------------------------------

GRACE = timedelta(seconds=90)
SEATS = [*CLIENTS, "ines-coord", "jonas-coord"]  # charter-amendment: 5 clients + 2 coordinators
COUNCIL = ["kofi-sec", "lena-sec", "mateo-sec"]  # security-patch: 5 clients + 3 council seats


def _approved(track: str, voters: list[str], **kw: Any) -> Proposal:
    return prop(track, votes=votes(*((w, "approve", 1) for w in voters)), **kw)


def _last_seat(p: Proposal, grace: timedelta) -> Decision:
    return cast_vote(p, REF, SEATS[-1], "approve", "", h(5), grace=grace)


def _veto(p: Proposal, grace: timedelta) -> Decision:
    return cast_vote(p, REF, "kofi-sec", "reject", "exploit", h(5), grace=grace)


def _last_concern(p: Proposal, grace: timedelta) -> Decision:
    return resolve_concern(p, REF, "carmen-borealis", "abi", h(5), grace=grace)


def _last_council_seat(p: Proposal, grace: timedelta) -> Decision:
    return cast_vote(p, REF, "mateo-sec", "approve", "", h(5), via="slack", grace=grace)


@pytest.mark.parametrize(
    ("p", "settle", "outcome"),
    [
        (_approved("charter-amendment", SEATS[:-1]), _last_seat, Outcome.ACCEPTED),
        (prop("security-patch"), _veto, Outcome.REJECTED),
        (_approved("charter-amendment", SEATS, concerns=(ABI,)), _last_concern, Outcome.ACCEPTED),
    ],
    ids=["last-seat", "veto", "last-concern"],
)
def test_with_a_grace_an_input_that_settles_leaves_the_close_to_the_timer(
    p: Proposal, settle: Any, outcome: Outcome
) -> None:
    """Without a grace the input closes the proposal at once. With one, the input is recorded
    and the proposal stays in voting; its author is told the outcome and when it is recorded;
    the timer's instant is the input's own (it fires a grace later), where it closes it."""
    assert settle(p, timedelta(0)).proposal.outcome is outcome
    d = settle(p, GRACE)
    assert d.proposal.state is State.VOTING and d.proposal != p
    assert "Audit:proposal-decided" not in kinds(d)
    assert d.effects[-1] == Reply(settled_note(p, outcome, GRACE))
    assert next_due_at(d.proposal, REF) == h(5)
    closed = close_if_due(d.proposal, REF, h(5))
    assert (closed.proposal.state, closed.proposal.decided_at) == (State(outcome.value), h(5))


def test_the_settled_note() -> None:
    """It promises the least delay only: after a start the bot also waits for its intake."""
    assert settled_note(prop(), Outcome.ACCEPTED, GRACE) == (
        "Voting on #7 is settled (accepted); the decision is recorded once votes cast before it"
        " have arrived (at least 90 s)."
    )


@pytest.mark.parametrize(
    ("p", "settle"),
    [
        (_approved("security-patch", [*CLIENTS, *COUNCIL[:2]]), _last_council_seat),
        (_approved("security-patch", [*CLIENTS, *COUNCIL], concerns=(ABI,)), _last_concern),
    ],
    ids=["last-seat", "last-concern"],
)
def test_a_veto_cast_before_the_settling_input_but_arriving_after_it_rejects(
    p: Proposal, settle: Any
) -> None:
    """A council reject rejects whatever the tally. Cast an hour before the input that
    settled an approval (a chat vote filling the last seat, a resolved concern) and arriving
    after it (a GitHub comment in flight), it is judged as the proposal stood when it was cast
    — the outcome still open then — and recorded; the timer then rejects."""
    settled = settle(p, GRACE).proposal
    assert due(settled, REF, h(5)) is Event.VOTING_CLOSED_PASS
    veto = cast_vote(settled, REF, "kofi-sec", "reject", "exploitable", h(4), grace=GRACE)
    assert "Audit:vote-cast" in kinds(veto)
    assert veto.effects[-1] == Reply(settled_note(p, Outcome.REJECTED, GRACE))
    assert next_due_at(veto.proposal, REF) == h(4)
    closed = close_if_due(veto.proposal, REF, h(5))
    assert (closed.proposal.state, closed.proposal.outcome) == (State.REJECTED, Outcome.REJECTED)


# -- withdrawal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "actor", "coordinator", "announced"),
    [
        (State.DRAFT, "bob-aurora", False, []),  # never announced: nobody to tell
        (State.REVIEW, "BOB-AURORA", False, ["Announce:decision"]),
        (State.VOTING, "ines-coord", True, ["Announce:decision"]),
    ],
)
def test_withdraw(state: State, actor: str, coordinator: bool, announced: list[str]) -> None:
    """The author or a coordinator withdraws an open proposal; it is final, audited, and
    announced (titled like every decision) if the proposal was announced, from review on."""
    d = withdraw(prop(state=state), REF, actor, coordinator, h(1))
    assert (d.proposal.state, d.proposal.withdrawn_by, d.proposal.decided_at) == (
        State.WITHDRAWN, actor, h(1),
    )  # fmt: skip
    assert kinds(d) == [
        "Audit:proposal-withdrawn", "SetLabels", "SyncTracking", *announced, "Comment", "Reply",
    ]  # fmt: skip
    assert [e.title for e in d.effects if isinstance(e, Announce)] == [
        "#7 Enable blob gossip: withdrawn" for _ in announced
    ]
    assert d.effects[-2] == Comment(7, f"#7 Enable blob gossip was withdrawn by {actor}.",
                                    key="withdrawn:7")  # fmt: skip


@pytest.mark.parametrize(
    ("state", "actor", "why"),
    [
        (State.VOTING, "alice-aurora", "only the author (bob-aurora) or a coordinator"),
        (State.ACCEPTED, "bob-aurora", "#7 is already accepted"),
    ],
)
def test_withdraw_refusals(state: State, actor: str, why: str) -> None:
    """Others may not withdraw, and a closed proposal cannot be withdrawn."""
    p = prop(state=state)
    refused(withdraw(p, REF, actor, False, h(1)), p, why)


# -- closing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "now"),
    [
        (prop(state=State.REVIEW), h(100)),
        (prop(state=State.ACCEPTED), h(100)),
        (prop(votes=votes(("alice-aurora", "approve", 1))), h(10)),
    ],
)
def test_close_if_due_does_nothing_until_settled(p: Proposal, now: datetime) -> None:
    """Outside voting, or while the outcome is pending, closing changes nothing."""
    assert close_if_due(p, REF, now) == Decision(p)


@pytest.mark.parametrize(
    ("p", "state", "outcome", "event"),
    [
        (
            prop(votes=votes(*((w, "approve", 1) for w in CLIENTS[:3]))),
            State.ACCEPTED, Outcome.ACCEPTED, "voting-closed-pass",
        ),
        (
            prop(votes=votes(*((w, "abstain", 1) for w in CLIENTS[:3]))),
            State.REJECTED, Outcome.REJECTED, "voting-closed-fail",
        ),
        (prop("charter-amendment"), State.EXPIRED, Outcome.EXPIRED, "voting-closed-no-quorum"),
    ],
)  # fmt: skip
def test_close_if_due_records_the_decision(
    p: Proposal, state: State, outcome: Outcome, event: str
) -> None:
    """At close the decision is stored, audited with the tally and charter version, announced,
    labelled and commented on once."""
    now = h(200)
    d = close_if_due(p, REF, now)
    assert (d.proposal.state, d.proposal.outcome, d.proposal.decided_at) == (state, outcome, now)
    assert kinds(d) == [
        "Audit:proposal-decided", "SetLabels", "SyncTracking", "Announce:decision", "Comment",
    ]  # fmt: skip
    audit, labels, _, announce, comment = d.effects
    expected = tally_of(p, REF, now)
    assert isinstance(audit, Audit)
    assert audit.payload["event"] == event
    assert audit.payload["outcome"] == outcome.value
    assert audit.payload["reason"] == expected.reason
    assert audit.payload["tally"] == expected.summary()
    assert audit.payload["charter_version"] == 3
    assert labels == SetLabels(7, (f"charter:{state.value}",))
    assert isinstance(announce, Announce)
    assert announce.text == expected.reason
    assert isinstance(comment, Comment)
    assert comment.key == "decision:7"
    assert comment.body.startswith(f"**Decision: {outcome.value}.** {expected.reason[0].upper()}")
    assert "Charter version 3." in comment.body


# -- recomputing votes ------------------------------------------------------------------------


def test_recompute_votes_replaces_them_in_time_order() -> None:
    """Votes recomputed from edited history replace the stored ones, sorted by time, audited."""
    p = prop(votes=votes(("alice-aurora", "approve", 1)))
    fresh = votes(("emeka-cirrus", "reject", 3), ("alice-aurora", "reject", 2))
    d = recompute_votes(p, REF, fresh, h(4))
    assert d.proposal.votes == (fresh[1], fresh[0])
    assert kinds(d) == ["Audit:votes-recomputed", "Announce:vote", "Announce:vote", "SyncTracking"]
    assert d.effects[0] == Audit(
        "votes-recomputed",
        "proposal:7",
        {
            "before": 1,
            "after": 2,
            "changes": [
                _change("alice-aurora", ["client:aurora"], "approve", "reject", "changed"),
                _change("emeka-cirrus", ["client:cirrus"], None, "reject", "added"),
            ],
        },
    )


def _change(
    voter: str, seats: list[str], old: str | None, new: str | None, what: str, **kw: Any
) -> dict[str, object]:
    return {
        "voter": voter, "seats": seats, "from": old, "to": new, "change": what, "reason": "",
        "comment": None, **kw,
    }  # fmt: skip


_ABSTAIN = Vote("alice-aurora", Choice.ABSTAIN, "changed my mind", h(2))
_REWORDED = Vote("alice-aurora", Choice.REJECT, "too risky", h(1))
_ALICE = ("alice-aurora", ["client:aurora"])
RECAST = [
    (
        "edited to another choice",
        votes(("alice-aurora", "reject", 1), ("emeka-cirrus", "approve", 1.5)),
        (*votes(("emeka-cirrus", "approve", 1.5)), _ABSTAIN),
        [_change(*_ALICE, "reject", "abstain", "changed", reason="changed my mind", comment="41")],
        ["alice-aurora changed their vote on #7 from reject to abstain"],
    ),
    (
        "command line dropped or comment deleted",
        votes(("alice-aurora", "reject", 1), ("emeka-cirrus", "approve", 1.5)),
        votes(("emeka-cirrus", "approve", 1.5)),
        [_change(*_ALICE, "reject", None, "removed", comment="41")],
        ["alice-aurora withdrew their reject vote on #7"],
    ),
    (
        "a colleague's vote stands again",
        votes(("bob-aurora", "reject", 1), ("alice-aurora", "approve", 1.5)),
        votes(("bob-aurora", "reject", 1)),
        [_change(*_ALICE, "approve", None, "removed", comment="41")],
        ["alice-aurora withdrew their approve vote on #7"],
    ),
    (
        "reason reworded",
        votes(("alice-aurora", "reject", 1)),
        (_REWORDED,),
        [_change(*_ALICE, "reject", "reject", "reworded", reason="too risky", comment="41")],
        [],
    ),
    (
        "an earlier, replaced vote dropped",
        votes(("alice-aurora", "reject", 1), ("alice-aurora", "approve", 1.5)),
        votes(("alice-aurora", "approve", 1.5)),
        [],
        [],
    ),
]


@pytest.mark.parametrize(
    ("recorded", "fresh", "changes", "titles"),
    [r[1:] for r in RECAST],
    ids=[r[0] for r in RECAST],
)
def test_recompute_votes_audits_and_announces_each_changed_stand(
    recorded: tuple[Vote, ...],
    fresh: tuple[Vote, ...],
    changes: list[dict[str, object]],
    titles: list[str],
) -> None:
    """An edited or deleted vote comment: the audit names each voter whose standing vote
    changed (seats, choice before and after, the comment), and each change is announced as a
    vote is; a reworded reason is audited only. The tally is the recomputed votes'."""
    d = recompute_votes(prop(votes=recorded), REF, fresh, h(3), comment="41")
    assert d.proposal.votes == fresh
    [audit] = [e for e in d.effects if isinstance(e, Audit)]
    assert audit.payload["changes"] == changes
    said = [e for e in d.effects if isinstance(e, Announce)]
    assert [a.title for a in said] == titles
    assert all(a.kind == "vote" and a.proposal == 7 for a in said)
    assert [a.text for a in said] == [c["reason"] for c in changes if c["change"] != "reworded"]


@pytest.mark.parametrize(
    "p",
    [
        prop(votes=votes(("alice-aurora", "approve", 1))),
        prop(state=State.ACCEPTED, votes=votes(("alice-aurora", "approve", 1))),
    ],
)
def test_recompute_votes_changes_nothing_when_same_or_decided(p: Proposal) -> None:
    """Unchanged history is a no-op; a decided proposal's votes are part of the record."""
    assert recompute_votes(p, REF, votes(("alice-aurora", "approve", 1)), h(2)) == Decision(p)
    assert recompute_votes(p, REF, (), h(2)).proposal.votes == (
        () if p.state is State.VOTING else p.votes
    )


def test_recompute_votes_leaves_out_a_vote_cast_before_voting_opened() -> None:
    """A vote comment from review was refused then; an edit (which recomputes every vote)
    does not bring it in."""
    early, counted = votes(("alice-aurora", "approve", -1), ("carmen-borealis", "reject", 1))
    d = recompute_votes(prop(), REF, (early, counted), h(2))
    assert d.proposal.votes == (counted,)


@pytest.mark.parametrize(
    ("opened", "at", "result"),
    [(None, h(1), False), (T0, h(-1), False), (T0, T0, True), (T0, h(1), True)],
)
def test_voting_opened_by(opened: datetime | None, at: datetime, result: bool) -> None:
    assert voting_opened_by(prop(voting_opened_at=opened), at) is result


def test_recompute_votes_leaves_out_a_vote_cast_after_the_outcome_settled() -> None:
    """A veto settles the security patch; a vote cast after it was refused then, and an
    edit elsewhere (which recomputes every vote) does not bring it in."""
    p = prop("security-patch", votes=votes(("lena-sec", "reject", 1)))
    late = votes(("lena-sec", "reject", 1), ("alice-aurora", "approve", 2))
    assert recompute_votes(p, REF, late, h(3)) == Decision(p)


# A security patch every seat approved: the clients and two council members from GitHub at
# h(1), mateo-sec last from chat at h(2), which settled it (accepted), the close left to the
# timer. Then kofi-sec's vote comment is edited (a recast, dated by the edit) or deleted.
_EIGHT = (
    *votes(*((w, "approve", 1) for w in [*CLIENTS, *COUNCIL[:2]])),
    Vote("mateo-sec", Choice.APPROVE, "", h(2), "slack"),
)
_ALL_APPROVED = prop("security-patch", votes=_EIGHT)
_SEVEN = prop("security-patch", votes=_EIGHT[:-1])  # mateo-sec has not voted: still open
# Four clients approved a security patch at h(1): quorum (4 of 8) without every seat, so it
# settles when voting closes at h(48); carmen-borealis's comment is then edited or deleted.
_FOUR = prop("security-patch", votes=votes(*((w, "approve", 1) for w in CLIENTS[:4])))
# A feature flag two clients approved: no quorum at close (h(72)), so lazy consensus runs
# until h(192) and a reject may still be cast.
_LAZY = prop(
    "feature-flag", votes=votes(("alice-aurora", "approve", 1), ("carmen-borealis", "approve", 1))
)


def _edited(p: Proposal, voter: str, *now_reads: Vote) -> tuple[Vote, ...]:
    """``p``'s votes with ``voter``'s comment as it now reads (nothing: deleted)."""
    return (*(v for v in p.votes if v.voter != voter), *now_reads)


def _kofi(choice: str, at: float, reason: str = "") -> Vote:
    return Vote("kofi-sec", Choice(choice), reason, h(at))


def _carmen(choice: str, at: float) -> Vote:
    return Vote("carmen-borealis", Choice(choice), "", h(at))


@pytest.mark.parametrize(
    ("p", "history", "now", "expected"),
    [
        pytest.param(
            _ALL_APPROVED, _edited(_ALL_APPROVED, "kofi-sec", _kofi("reject", 2.01)), h(2.01),
            _EIGHT, id="veto-recast-in-the-grace-after-settlement",
        ),
        pytest.param(
            _ALL_APPROVED, _edited(_ALL_APPROVED, "kofi-sec"), h(2.01), _EIGHT,
            id="deleted-in-the-grace-after-settlement",
        ),
        pytest.param(
            _FOUR, _edited(_FOUR, "carmen-borealis", _carmen("reject", 48.01)), h(48.01),
            _FOUR.votes, id="recast-after-the-deadline",
        ),
        pytest.param(
            _FOUR, _edited(_FOUR, "carmen-borealis"), h(48.01), _FOUR.votes,
            id="deleted-after-the-deadline",
        ),
        pytest.param(
            _ALL_APPROVED, _edited(_ALL_APPROVED, "kofi-sec", _kofi("approve", 1, "lgtm")),
            h(2.01), (*_EIGHT[:5], _EIGHT[6], _kofi("approve", 1, "lgtm"), _EIGHT[7]),
            id="reason-reworded-after-settlement-keeps-its-time",
        ),
        pytest.param(
            _SEVEN, _edited(_SEVEN, "kofi-sec", _kofi("reject", 1.5)), h(1.5),
            (*_EIGHT[:5], _EIGHT[6], _kofi("reject", 1.5)), id="recast-before-settlement",
        ),
        pytest.param(
            _SEVEN, _edited(_SEVEN, "kofi-sec"), h(1.5), (*_EIGHT[:5], _EIGHT[6]),
            id="deleted-before-settlement",
        ),
        pytest.param(
            _LAZY, _edited(_LAZY, "carmen-borealis", _carmen("reject", 73)), h(73),
            (_LAZY.votes[0], _carmen("reject", 73)), id="recast-during-lazy-consensus",
        ),
    ],
)  # fmt: skip
def test_recompute_votes_judges_a_change_when_it_was_made(
    p: Proposal, history: tuple[Vote, ...], now: datetime, expected: tuple[Vote, ...]
) -> None:
    """An edited or deleted vote comment changes the votes only as a vote then would: while
    the outcome is open (during lazy consensus too). Once it has settled (the last seat voted,
    or voting closed) and the timer has yet to record the close, a recast is refused and the
    vote cast before keeps counting, and a deletion (dated when the bot learns of it) withdraws
    nothing: the seat is never left empty, nor its earlier vote overturned. A reason reworded
    recasts nothing, so it keeps its time and applies."""
    d = recompute_votes(p, REF, history, now)
    assert d.proposal.votes == expected
    assert (d == Decision(p)) is (expected == p.votes)


def test_a_recast_refused_after_settlement_leaves_the_outcome_as_settled() -> None:
    """The repro: a council member's approve recast as a veto in the grace. The timer still
    closes the proposal accepted, as it stood when the last seat voted."""
    history = _edited(_ALL_APPROVED, "kofi-sec", _kofi("reject", 2.01))
    d = recompute_votes(_ALL_APPROVED, REF, history, h(2.01))
    closed = close_if_due(d.proposal, REF, h(2))
    assert closed.proposal.state is State.ACCEPTED
    # Recomputed again later (another comment edited), the record still holds.
    assert recompute_votes(d.proposal, REF, history, h(3)) == Decision(d.proposal)


def test_input_on_a_proposal_whose_track_is_gone_is_not_judged_settled() -> None:
    """A track the charter no longer has settles nothing: recomputed votes are kept and a
    concern is still taken (as before the settled check existed)."""
    p = replace(prop(), track="retired")
    fresh = votes(("alice-aurora", "approve", 1))
    assert recompute_votes(p, REF, fresh, h(2)).proposal.votes == fresh
    raised = raise_concern(p, REF, "alice-aurora", "gas", "too high", h(1))
    assert [c.name for c in raised.proposal.concerns] == ["gas"]


@pytest.mark.parametrize(
    ("clients", "named"),
    [
        (["dorado", "aurora", "fornax"], ("dorado", "aurora")),  # not a client: left out
        ([], ()),
        (None, ()),  # the form said nothing
        ("aurora", ()),  # not a list: nothing named
    ],
)
def test_named_clients(clients: object, named: tuple[str, ...]) -> None:
    assert named_clients(replace(prop(), fields={"clients": clients}), REF) == named


def test_a_vote_flipped_during_the_confirm_hold_restarts_it() -> None:
    """protocol-change: voting ends early once every seat has voted and the outcome has held
    for ``confirm`` (24h). One seat flipping to reject during the hold does not reject the
    proposal for good: the rejecting outcome must hold too, and flipping back restarts the
    approving hold; the timer then closes it when the hold is over."""
    p = prop("protocol-change", votes=votes(*((w, "approve", 1) for w in CLIENTS)))
    flipped = cast_vote(p, REF, "bob-aurora", "reject", "found a bug", h(10))
    assert flipped.proposal.state is State.VOTING
    assert due(flipped.proposal, REF, h(33)) is None
    back = cast_vote(flipped.proposal, REF, "alice-aurora", "approve", "fixed", h(12))
    assert back.proposal.state is State.VOTING
    assert due(back.proposal, REF, h(35)) is None
    closed = close_if_due(back.proposal, REF, h(36))
    assert (closed.proposal.state, closed.proposal.outcome) == (State.ACCEPTED, Outcome.ACCEPTED)


def test_a_rejecting_outcome_that_held_is_closed_by_the_timer() -> None:
    p = prop("protocol-change", votes=votes(*((w, "approve", 1) for w in CLIENTS)))
    flipped = cast_vote(p, REF, "bob-aurora", "reject", "found a bug", h(10)).proposal
    assert due(flipped, REF, h(34)) is not None
    closed = close_if_due(flipped, REF, h(34))
    assert (closed.proposal.state, closed.proposal.outcome) == (State.REJECTED, Outcome.REJECTED)
