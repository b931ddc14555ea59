"""What awaits one person (charter.todo.awaiting), under the reference charter."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from charter.concerns import Concern
from charter.feedback import Answer, FeedbackRequest
from charter.lifecycle import State
from charter.todo import Task, awaiting
from tests.charter.test_proposal import REF, T0, h, prop, votes


def p7(**kw: Any) -> Any:
    return prop("protocol-change", **kw)


def only(items: Any, login: str, hours: float = 1) -> tuple[Task, ...]:
    return awaiting([(p, REF) for p in items], login, h(hours))


CLOSES = T0 + REF.tracks["protocol-change"].voting


@pytest.mark.parametrize(
    ("cast", "login", "expected"),
    [
        # nobody voted: each maintainer owes their client's vote
        ((), "alice-aurora", ("Aurora",)),
        ((), "hana-eridanus", ("Eridanus",)),
        # their own vote fills the seat
        ((("alice-aurora", "approve", 0.5),), "alice-aurora", None),
        # so does a colleague's: a seat's latest vote counts, whoever of its maintainers cast it
        ((("bob-aurora", "reject", 0.5),), "alice-aurora", None),
        # another client's vote leaves theirs open
        ((("carmen-borealis", "approve", 0.5),), "alice-aurora", ("Aurora",)),
        # a vote cast after `now` has not happened yet
        ((("alice-aurora", "approve", 2),), "alice-aurora", ("Aurora",)),
        # logins compare case-insensitively
        ((("ALICE-Aurora", "approve", 0.5),), "alice-aurora", None),
        # no seat on the track: nothing owed
        ((), "mallory", None),
    ],
)
def test_a_seat_without_a_vote_awaits_its_holders(
    cast: Any, login: str, expected: tuple[str, ...] | None
) -> None:
    tasks = only([p7(votes=votes(*cast))], login)
    if expected is None:
        assert tasks == ()
    else:
        assert tasks == (Task("vote", 7, "Enable blob gossip", CLOSES, expected),)


def test_a_settled_outcome_awaits_nobody() -> None:
    # a veto settles a security patch whatever the others do
    council = REF.roles["security-council"][0]
    vetoed = prop("security-patch", votes=votes((council, "reject", 0.5)))
    assert only([vetoed], "alice-aurora") == ()
    assert only([prop("security-patch")], "alice-aurora")[0].kind == "vote"


def test_a_council_member_owes_a_vote_for_their_seat_not_for_a_veto() -> None:
    council = REF.roles["security-council"][0]
    (task,) = only([prop("security-patch")], council)
    assert task.seats == (f"{council} (security-council)",)
    # protocol-change has no council seat: a veto right alone asks for nothing
    assert only([p7()], council) == ()


def test_under_lazy_consensus_the_deadline_is_its_end() -> None:
    flag = REF.tracks["feature-flag"]
    assert flag.lazy_consensus is not None
    late = (flag.voting + timedelta(hours=1)).total_seconds() / 3600
    (task,) = only([prop("feature-flag")], "alice-aurora", hours=late)
    assert task.due == T0 + flag.voting + flag.lazy_consensus


@pytest.mark.parametrize(
    ("concern", "login", "expected"),
    [
        (Concern("gas", "too high", "alice-aurora", h(0)), "alice-aurora", True),
        (Concern("gas", "too high", "Alice-Aurora", h(0)), "alice-aurora", True),
        (Concern("gas", "too high", "bob-aurora", h(0)), "alice-aurora", False),
        (Concern("gas", "x", "alice-aurora", h(0), "alice-aurora", h(0.5)), "alice-aurora", False),
    ],
)
def test_an_open_concern_awaits_its_raiser(concern: Concern, login: str, expected: bool) -> None:
    tasks = only([p7(concerns=(concern,), votes=votes(("alice-aurora", "approve", 0)))], login)
    assert [t for t in tasks if t.kind == "concern"] == (
        [Task("concern", 7, "Enable blob gossip", None, concern="gas")] if expected else []
    )


def test_a_raiser_without_a_seat_still_has_their_concern() -> None:
    raised = Concern("gas", "too high", "mallory", h(0))
    assert only([p7(concerns=(raised,))], "mallory")[0].kind == "concern"


def test_a_proposal_in_review_is_upcoming_for_seat_holders() -> None:
    review = p7(state=State.REVIEW, voting_opened_at=None)
    (task,) = only([review], "emeka-cirrus", hours=-1)
    assert task == Task("upcoming", 7, "Enable blob gossip", T0, ("Cirrus",))
    assert only([review], "mallory", hours=-1) == ()


@pytest.mark.parametrize("state", [State.ACCEPTED, State.REJECTED, State.WITHDRAWN])
def test_closed_proposals_await_nothing(state: State) -> None:
    raised = (Concern("gas", "too high", "alice-aurora", h(0)),)
    assert only([p7(state=state, concerns=raised)], "alice-aurora") == ()


def test_a_draft_asks_no_vote_but_keeps_its_concerns() -> None:
    raised = (Concern("gas", "too high", "alice-aurora", h(0)),)
    draft = p7(state=State.DRAFT, voting_opened_at=None, entered_review_at=None)
    assert [t.kind for t in only([draft], "alice-aurora")] == []
    assert [t.kind for t in only([replace(draft, concerns=raised)], "alice-aurora")] == ["concern"]


def test_a_track_the_charter_no_longer_has_is_left_out() -> None:
    assert only([replace(p7(), track="retired")], "alice-aurora") == ()


ASKED = FeedbackRequest(7, "mallory", "carmen-borealis", h(0.5), "check the blob math")


@pytest.mark.parametrize(
    ("request_", "login", "state", "expected"),
    [
        # an open request asking them, on an open proposal, waits on them with who asked
        (ASKED, "mallory", State.VOTING, True),
        (ASKED, "Mallory", State.VOTING, True),  # logins compare case-insensitively
        (ASKED, "mallory", State.DRAFT, True),
        (ASKED, "mallory", State.REVIEW, True),
        # someone else's request, or one on another proposal, is not theirs
        (ASKED, "zoe-contrib", State.VOTING, False),
        (replace(ASKED, proposal=8), "mallory", State.VOTING, False),
        # answered: nothing waits
        (replace(ASKED, answered_at=h(0.7), answered_how=Answer.COMMENT), "mallory",
         State.VOTING, False),
        # asked after `now`: not yet
        (replace(ASKED, asked_at=h(2)), "mallory", State.VOTING, False),
        # a closed proposal awaits nothing, though the request was never answered
        (ASKED, "mallory", State.ACCEPTED, False),
        (ASKED, "mallory", State.WITHDRAWN, False),
    ],
)  # fmt: skip
def test_feedback_asked_awaits_the_person_asked(
    request_: FeedbackRequest, login: str, state: State, expected: bool
) -> None:
    p = p7(state=state)
    tasks = awaiting([(p, REF)], login, h(1), asked=[request_])
    assert [t for t in tasks if t.kind == "feedback"] == (
        [
            Task(
                "feedback",
                7,
                "Enable blob gossip",
                None,
                asked_by="carmen-borealis",
                note="check the blob math",
            )
        ]
        if expected
        else []
    )


def test_feedback_on_a_track_the_charter_no_longer_has_is_left_out() -> None:
    retired = replace(p7(), track="retired")
    assert awaiting([(retired, REF)], "mallory", h(1), asked=[ASKED]) == ()


def test_votes_first_by_deadline_then_concerns_then_feedback_then_what_opens_next() -> None:
    mine = (Concern("gas", "too high", "alice-aurora", h(0)),)
    later = replace(p7(), number=9, voting_opened_at=T0 + timedelta(hours=5))
    sooner = replace(p7(), number=8, concerns=mine)
    review = replace(p7(state=State.REVIEW, voting_opened_at=None), number=3)
    asked = [
        FeedbackRequest(9, "alice-aurora", "carmen-borealis", h(1)),
        FeedbackRequest(3, "alice-aurora", "emeka-cirrus", h(2)),
    ]
    tasks = awaiting([(p, REF) for p in (review, later, sooner)], "alice-aurora", h(6), asked)
    assert [(t.kind, t.number) for t in tasks] == [
        ("vote", 8),
        ("vote", 9),
        ("concern", 8),
        ("feedback", 3),
        ("feedback", 9),
        ("upcoming", 3),
    ]


def _author_may_vote(may: bool) -> Any:
    """The reference charter with protocol-change's ``author_may_vote`` set to ``may``."""
    track = REF.tracks["protocol-change"].model_copy(update={"author_may_vote": may})
    return REF.model_copy(update={"tracks": {**REF.tracks, "protocol-change": track}})


# (author_may_vote, proposal author, login, state, task kinds awaiting the login)
AUTHOR_OWES: list[tuple[bool, str, str, State, list[str]]] = [
    # by default an author who holds a seat owes its vote on their own proposal
    (True, "bob-aurora", "bob-aurora", State.VOTING, ["vote"]),
    (True, "emeka-cirrus", "emeka-cirrus", State.REVIEW, ["upcoming"]),
    # barred: the author owes no vote there, nor sees one coming (case-insensitively)
    (False, "bob-aurora", "bob-aurora", State.VOTING, []),
    (False, "bob-aurora", "BOB-Aurora", State.VOTING, []),
    (False, "emeka-cirrus", "emeka-cirrus", State.VOTING, []),
    (False, "emeka-cirrus", "emeka-cirrus", State.REVIEW, []),
    # another maintainer of the author's client still casts its seat
    (False, "bob-aurora", "alice-aurora", State.VOTING, ["vote"]),
    (False, "bob-aurora", "alice-aurora", State.REVIEW, ["upcoming"]),
]


@pytest.mark.parametrize(("may", "author", "login", "state", "expected"), AUTHOR_OWES)
def test_an_author_barred_from_voting_owes_no_vote_on_their_own_proposal(
    may: bool, author: str, login: str, state: State, expected: list[str]
) -> None:
    stamps: dict[str, Any] = {"voting_opened_at": None} if state is State.REVIEW else {}
    p = replace(p7(state=state, **stamps), author=author)
    hours = -1 if state is State.REVIEW else 1
    tasks = awaiting([(p, _author_may_vote(may))], login, h(hours))
    assert [t.kind for t in tasks] == expected


def test_a_barred_author_still_has_their_concerns() -> None:
    raised = (Concern("gas", "too high", "bob-aurora", h(0)),)
    tasks = awaiting([(p7(concerns=raised), _author_may_vote(False))], "bob-aurora", h(1))
    assert [t.kind for t in tasks] == ["concern"]
