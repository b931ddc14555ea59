"""Feedback requests: who is asked, when asking is refused or a no-op, and what answers one."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from charter.effects import Audit, Reply, SyncTracking
from charter.feedback import (
    MAX_OPEN,
    Answer,
    FeedbackDecision,
    FeedbackRequest,
    answer,
    charter_logins,
    outstanding,
    request_feedback,
)
from charter.lifecycle import State
from tests.charter.test_proposal import REF

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
ALICE = "alice-aurora"
BOB_OPEN = FeedbackRequest(7, "bob-aurora", "carmen-borealis", T0)
DAN_DONE = FeedbackRequest(7, "dan", ALICE, T0, answered_at=T1, answered_how=Answer.COMMENT)


def _asked(login: str, note: str = "") -> FeedbackRequest:
    return FeedbackRequest(7, login, ALICE, T1, note)


def _audit(login: str, note: str = "") -> Audit:
    payload = {"login": login, "by": ALICE, "note": note, "at": T1.isoformat()}
    return Audit("feedback-requested", "proposal:7", payload)


# (state, existing requests, logins asked, note, cannot_see, the decision)
REQUESTS = [
    pytest.param(
        State.REVIEW,
        (),
        ["emeka-cirrus"],
        "",
        frozenset(),
        FeedbackDecision(
            (_asked("emeka-cirrus"),),
            (
                _audit("emeka-cirrus"),
                SyncTracking(7),
                Reply("Asked emeka-cirrus for feedback on #7; it does not block the decision."),
            ),
        ),
        id="one-asked",
    ),
    pytest.param(
        State.DRAFT,
        (),
        ["emeka-cirrus", "hana-eridanus"],
        "gas numbers?",
        frozenset(),
        FeedbackDecision(
            (_asked("emeka-cirrus", "gas numbers?"), _asked("hana-eridanus", "gas numbers?")),
            (
                _audit("emeka-cirrus", "gas numbers?"),
                _audit("hana-eridanus", "gas numbers?"),
                SyncTracking(7),
                Reply(
                    "Asked emeka-cirrus, hana-eridanus for feedback on #7; it does not block the decision."
                ),
            ),
        ),
        id="two-asked-in-draft",
    ),
    pytest.param(
        State.VOTING,
        (BOB_OPEN, DAN_DONE),
        ["Bob-Aurora", "dan"],
        "",
        frozenset(),
        FeedbackDecision(
            (_asked("dan"),),
            (
                _audit("dan"),
                SyncTracking(7),
                Reply(
                    "Asked dan for feedback on #7; it does not block the decision. Bob-Aurora was already asked and has not answered yet."
                ),
            ),
        ),
        id="already-asked-is-a-no-op-answered-may-be-asked-again",
    ),
    pytest.param(
        State.REVIEW,
        (),
        ["emeka-cirrus", "hana-eridanus", "Emeka-Cirrus"],
        "",
        frozenset(),
        FeedbackDecision(
            (_asked("emeka-cirrus"), _asked("hana-eridanus")),
            (
                _audit("emeka-cirrus"),
                _audit("hana-eridanus"),
                SyncTracking(7),
                Reply(
                    "Asked emeka-cirrus, hana-eridanus for feedback on #7; it does not block the decision."
                ),
            ),
        ),
        id="a-login-named-twice-is-asked-once",
    ),
    pytest.param(
        State.VOTING,
        (BOB_OPEN,),
        ["bob-aurora", "ALICE-aurora"],
        "",
        frozenset(),
        FeedbackDecision(
            (),
            (
                Reply(
                    "bob-aurora was already asked and has not answered yet. You need not ask yourself."
                ),
            ),
        ),
        id="nothing-new",
    ),
    pytest.param(
        State.VOTING,
        (),
        ["kofi-sec", "zoe-contrib", "Yan"],
        "",
        frozenset({"zoe-contrib", "yan"}),
        FeedbackDecision(
            (),
            (
                Reply(
                    "#7 is confidential until disclosed, and zoe-contrib, Yan may not see it, so nobody was asked: ask only coordinators, the security council or voters on its track, or disclose it first.",
                    ok=False,
                ),
            ),
        ),
        id="confidential-hidden-from-one-asks-no-one",
    ),
    pytest.param(
        State.VOTING,
        (),
        ["kofi-sec"],
        "",
        frozenset({"zoe-contrib"}),
        FeedbackDecision(
            (_asked("kofi-sec"),),
            (
                _audit("kofi-sec"),
                SyncTracking(7),
                Reply("Asked kofi-sec for feedback on #7; it does not block the decision."),
            ),
        ),
        id="confidential-seen-by-all-asked",
    ),
    *[
        pytest.param(
            state,
            (),
            ["emeka-cirrus"],
            "",
            frozenset(),
            FeedbackDecision(
                (),
                (
                    Reply(
                        f"#7 is {state.value}: feedback can be asked only while a proposal is open (draft, review or voting).",
                        ok=False,
                    ),
                ),
            ),
            id=f"closed-{state.value}",
        )
        for state in (
            State.ACCEPTED,
            State.REJECTED,
            State.EXPIRED,
            State.WITHDRAWN,
            State.ROLLING_OUT,
            State.COMPLETED,
            State.ROLLED_BACK,
        )
    ],
]


@pytest.mark.parametrize(("state", "existing", "logins", "note", "hidden", "expected"), REQUESTS)
def test_request_feedback(
    state: State,
    existing: tuple[FeedbackRequest, ...],
    logins: list[str],
    note: str,
    hidden: frozenset[str],
    expected: FeedbackDecision,
) -> None:
    decision = request_feedback(7, state, existing, ALICE, logins, note, T1, cannot_see=hidden)
    assert decision == expected


def _given(login: str, how: Answer, at: datetime, asked_by: str = "carmen-borealis") -> Audit:
    payload = {"login": login, "how": how.value, "asked_by": asked_by, "at": at.isoformat()}
    return Audit("feedback-given", "proposal:7", payload)


# (requests, who acted, how, when, the decision)
ANSWERS = [
    pytest.param(
        (BOB_OPEN,),
        "bob-aurora",
        Answer.COMMENT,
        T1,
        FeedbackDecision(
            (
                FeedbackRequest(
                    7,
                    "bob-aurora",
                    "carmen-borealis",
                    T0,
                    answered_at=T1,
                    answered_how=Answer.COMMENT,
                ),
            ),
            (_given("bob-aurora", Answer.COMMENT, T1), SyncTracking(7)),
        ),
        id="comment-answers",
    ),
    pytest.param(
        (BOB_OPEN, DAN_DONE),
        "BOB-AURORA",
        Answer.VOTE,
        T0,
        FeedbackDecision(
            (
                FeedbackRequest(
                    7, "bob-aurora", "carmen-borealis", T0, answered_at=T0, answered_how=Answer.VOTE
                ),
            ),
            (_given("bob-aurora", Answer.VOTE, T0), SyncTracking(7)),
        ),
        id="vote-at-the-moment-asked-answers-any-case",
    ),
    pytest.param(
        (BOB_OPEN,),
        "bob-aurora",
        Answer.CONCERN,
        T0 - timedelta(seconds=1),
        FeedbackDecision(),
        id="before-the-request-answers-nothing",
    ),
    pytest.param(
        (BOB_OPEN,),
        "carmen-borealis",
        Answer.COMMENT,
        T1,
        FeedbackDecision(),
        id="the-asker-answers-nothing",
    ),
    pytest.param(
        (DAN_DONE,),
        "dan",
        Answer.COMMENT,
        T1 + timedelta(hours=1),
        FeedbackDecision(),
        id="already-answered",
    ),
    pytest.param((), "bob-aurora", Answer.VOTE, T1, FeedbackDecision(), id="never-asked"),
]


@pytest.mark.parametrize(("requests", "login", "how", "at", "expected"), ANSWERS)
def test_answer(
    requests: tuple[FeedbackRequest, ...],
    login: str,
    how: Answer,
    at: datetime,
    expected: FeedbackDecision,
) -> None:
    assert answer(7, State.VOTING, requests, login, how, at) == expected


@pytest.mark.parametrize(
    "state", [State.ACCEPTED, State.REJECTED, State.EXPIRED, State.WITHDRAWN], ids=str
)
def test_a_closed_proposal_records_no_answer(state: State) -> None:
    """Once the proposal closes its open requests are history: a later comment, vote or
    concern by the asked person answers nothing (no ``feedback-given``, no sync)."""
    assert answer(7, state, (BOB_OPEN,), "bob-aurora", Answer.COMMENT, T1) == FeedbackDecision()


def _open(count: int) -> tuple[FeedbackRequest, ...]:
    return tuple(FeedbackRequest(7, f"user-{k}", ALICE, T0) for k in range(count))


# (open requests already, people asked now, answered people on top, asked?)
CAP = [
    pytest.param(MAX_OPEN - 1, 1, 0, True, id="reaching-the-cap"),
    pytest.param(MAX_OPEN - 1, 2, 0, False, id="one-past-the-cap"),
    pytest.param(MAX_OPEN, 1, 0, False, id="at-the-cap"),
    pytest.param(MAX_OPEN - 1, 1, 5, True, id="answered-ones-do-not-count"),
]


@pytest.mark.parametrize(("waiting", "new", "answered", "asked"), CAP)
def test_open_requests_are_capped(waiting: int, new: int, answered: int, asked: bool) -> None:
    done = tuple(
        replace(r, login=f"done-{r.login}", answered_at=T1, answered_how=Answer.VOTE)
        for r in _open(answered)
    )
    people = [f"new-{k}" for k in range(new)]
    decision = request_feedback(7, State.VOTING, _open(waiting) + done, ALICE, people, "", T1)
    assert len(decision.requests) == (new if asked else 0)
    if not asked:
        s = "" if waiting == 1 else "s"
        why = (
            f"#7 has {waiting} open feedback request{s}, and at most {MAX_OPEN} may be open at a"
            " time, so nobody was asked: ask fewer people, or wait for answers."
        )
        assert decision.effects == (Reply(why, ok=False),)


def test_only_already_asked_people_at_the_cap_is_no_refusal() -> None:
    """At the cap, naming only people already asked asks nobody new: a no-op, not a refusal."""
    full = _open(MAX_OPEN)
    decision = request_feedback(7, State.VOTING, full, ALICE, ["user-0"], "", T1)
    assert decision == FeedbackDecision(
        (), (Reply("user-0 was already asked and has not answered yet."),)
    )


def test_outstanding_keeps_open_requests_in_order() -> None:
    later = FeedbackRequest(7, "emeka-cirrus", ALICE, T1)
    assert outstanding((BOB_OPEN, DAN_DONE, later)) == (BOB_OPEN, later)
    assert [r.open for r in (BOB_OPEN, DAN_DONE)] == [True, False]


def test_a_request_never_touches_the_proposal() -> None:
    """Feedback never blocks: a decision carries requests and effects, no proposal, no state
    change, no label, no announcement, no deadline."""
    decision = request_feedback(7, State.VOTING, (), ALICE, ["bob-aurora"], "", T1)
    kinds = {type(e) for e in decision.effects}
    assert kinds == {Audit, SyncTracking, Reply}
    assert set(FeedbackDecision.__dataclass_fields__) == {"requests", "effects"}


KNOWN = ("emeka-cirrus", "Kofi-Sec", "kofi-sec")  # a charter may repeat a login: the first wins


@pytest.mark.parametrize(
    ("logins", "existing", "stored", "said"),
    [
        # a login the charter knows, in any case, is asked as the charter spells it
        (["Emeka-Cirrus"], (), ["emeka-cirrus"], "Asked emeka-cirrus for feedback on #7; it does not block the decision."),
        (["KOFI-SEC", "EMEKA-cirrus"], (), ["Kofi-Sec", "emeka-cirrus"], "Asked Kofi-Sec, emeka-cirrus for feedback on #7; it does not block the decision."),
        # anyone else as written (GitHub logins are case-insensitive)
        (["Zoe-Contrib"], (), ["Zoe-Contrib"], "Asked Zoe-Contrib for feedback on #7; it does not block the decision."),
        # both spellings of one known person: asked once, the charter's way
        (["EMEKA-CIRRUS", "emeka-cirrus"], (), ["emeka-cirrus"], "Asked emeka-cirrus for feedback on #7; it does not block the decision."),
        # "already asked" names them the charter's way too
        (["Emeka-Cirrus"], (FeedbackRequest(7, "emeka-cirrus", ALICE, T0),), [], "emeka-cirrus was already asked and has not answered yet."),
    ],
)  # fmt: skip
def test_a_login_the_charter_knows_is_asked_as_the_charter_spells_it(
    logins: list[str], existing: tuple[FeedbackRequest, ...], stored: list[str], said: str
) -> None:
    decision = request_feedback(7, State.REVIEW, existing, ALICE, logins, "", T1, known=KNOWN)
    assert [r.login for r in decision.requests] == stored
    assert [a.payload["login"] for a in decision.effects if isinstance(a, Audit)] == stored
    assert [e.text for e in decision.effects if isinstance(e, Reply)] == [said]


def test_the_charter_knows_its_maintainers_and_role_members() -> None:
    assert charter_logins(REF) == (
        "alice-aurora",
        "bob-aurora",
        "carmen-borealis",
        "dmitri-borealis",
        "emeka-cirrus",
        "fatima-dorado",
        "gustav-dorado",
        "hana-eridanus",
        "ines-coord",
        "jonas-coord",
        "kofi-sec",
        "lena-sec",
        "mateo-sec",
    )
