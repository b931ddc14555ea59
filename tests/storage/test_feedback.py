"""Feedback requests in the store: asked, read back in order, answered on the open row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from charter.feedback import Answer, FeedbackRequest
from storage import feedback
from storage.db import read_scope, session_scope

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
BOB = FeedbackRequest(7, "bob-aurora", "alice-aurora", T0, "your view on gas?")
CARMEN = FeedbackRequest(7, "carmen-borealis", "alice-aurora", T1)
OTHER = FeedbackRequest(8, "bob-aurora", "emeka-cirrus", T0)


def test_requests_are_stored_and_read_in_the_order_asked(engine: Engine) -> None:
    with session_scope(engine) as session:
        feedback.save(session, [CARMEN, BOB, OTHER])
    with read_scope(engine) as session:
        assert feedback.for_proposal(session, 7) == (BOB, CARMEN)
        assert feedback.open_for(session, 8) == (OTHER,)
        assert feedback.for_proposal(session, 9) == ()


def test_an_answer_is_recorded_on_the_open_row_only(engine: Engine) -> None:
    """Answering updates the person's open request on that proposal: not their answered one,
    not another proposal's, not someone else's. An answered request is kept, off the open list."""
    answered_before = FeedbackRequest(
        7,
        "bob-aurora",
        "dmitri-borealis",
        T0 - timedelta(days=1),
        "",
        T0 - timedelta(hours=1),
        Answer.VOTE,
    )
    with session_scope(engine) as session:
        feedback.save(session, [replace(answered_before, answered_at=None, answered_how=None)])
    with session_scope(engine) as session:
        feedback.save(session, [answered_before])
        feedback.save(session, [BOB, CARMEN, OTHER])
    given = FeedbackRequest(
        7, "bob-aurora", "alice-aurora", T0, "your view on gas?", T1, Answer.COMMENT
    )
    with session_scope(engine) as session:
        feedback.save(session, [given])
    with read_scope(engine) as session:
        assert feedback.for_proposal(session, 7) == (answered_before, given, CARMEN)
        assert feedback.open_for(session, 7) == (CARMEN,)
        assert feedback.open_for(session, 8) == (OTHER,)


def test_one_persons_open_requests_on_every_proposal(engine: Engine) -> None:
    """What ``todo`` lists: the unanswered requests asking a login (in any case), oldest first;
    an answered one and someone else's are not."""
    answered = replace(OTHER, proposal=9, answered_at=T1, answered_how=Answer.VOTE)
    with session_scope(engine) as session:
        feedback.save(session, [CARMEN, replace(answered, answered_at=None, answered_how=None)])
        feedback.save(session, [answered, replace(OTHER, asked_at=T1), BOB])
    with read_scope(engine) as session:
        assert feedback.open_asking(session, "Bob-Aurora") == (BOB, replace(OTHER, asked_at=T1))
        assert feedback.open_asking(session, "carmen-borealis") == (CARMEN,)
        assert feedback.open_asking(session, "emeka-cirrus") == ()


def test_nothing_is_stored_when_the_transaction_rolls_back(engine: Engine) -> None:
    try:
        with session_scope(engine) as session:
            feedback.save(session, [BOB])
            raise RuntimeError("the decision failed later in the transaction")
    except RuntimeError:
        pass
    with read_scope(engine) as session:
        assert feedback.for_proposal(session, 7) == ()
