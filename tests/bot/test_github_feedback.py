"""Feedback requests end to end on GitHub (``/f? @user``, ``/feedback``): the reply mentions
whom it asks, the tracking comment lists the open requests, and the asked person's comment
answers theirs; none of it blocks anything."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.feedback import asks_text
from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import Bot, later
from tests.standins.github_server import GitHubStandin

LISTED = "Feedback requested from @&#8203;bob-aurora (by @&#8203;carmen-borealis)"


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github)
    yield b
    await b.close()


def _audited(bot: Bot, n: int, kind: str) -> list[dict[str, object]]:
    with session_scope(bot.rt.engine) as session:
        found = audit_query.entries(session, subject=f"proposal:{n}", kind=kind)
        assert audit.verify(session).ok
        return [json.loads(e.payload) for e in reversed(found)]


def _replies(bot: Bot, n: int, text: str) -> list[str]:
    return [c.body for c in bot.issue_comments(n) if text in c.body and "tracking" not in c.body]


async def test_f_question_asks_lists_and_a_comment_answers(bot: Bot) -> None:
    n = await bot.open_issue()
    await bot.comment(n, "/f? @bob-aurora", "carmen-borealis")
    await bot.settle()
    [reply] = _replies(bot, n, "asks for your feedback")
    # The asked person is mentioned for real (GitHub notifies them); the asker is answered.
    assert "\n@bob-aurora: carmen-borealis asks for your feedback on this proposal." in reply
    assert reply.startswith(f"@carmen-borealis Asked bob-aurora for feedback on \\#{n};")
    [tracking] = bot.tracking(n)
    assert LISTED in tracking.body  # escaped there: the tracking comment never pings
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(r["login"], r["asked_by"]) for r in view["feedback"]] == [
        ("bob-aurora", "carmen-borealis")
    ]
    [asked] = _audited(bot, n, "feedback-requested")
    assert asked["login"] == "bob-aurora" and asked["by"] == "carmen-borealis"

    # Asking again while it is unanswered changes nothing, and says so.
    await bot.advance(later(seconds=5))
    await bot.comment(n, "/feedback @bob-aurora", "carmen-borealis")
    await bot.settle()
    assert _replies(bot, n, "bob-aurora was already asked and has not answered yet.")
    assert len(_audited(bot, n, "feedback-requested")) == 1

    # Someone else's comment answers nothing; bob's answers his request.
    await bot.advance(later(seconds=5))
    await bot.comment(n, "What about light clients?", "emeka-cirrus")
    await bot.settle()
    assert LISTED in bot.tracking(n)[0].body
    await bot.comment(n, "Fine by me, the numbers hold.", "bob-aurora")
    await bot.settle()
    [tracked] = bot.tracking(n)
    assert tracked.id == tracking.id, "the tracking comment is edited in place"
    assert "Feedback requested" not in tracked.body
    [given] = _audited(bot, n, "feedback-given")
    assert given["login"] == "bob-aurora" and given["how"] == "comment"
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["feedback"] == []
    assert view["state"] == "review"  # it blocked and moved nothing


async def test_feedback_asks_several_and_a_vote_answers(bot: Bot) -> None:
    n = await bot.open_voting()
    await bot.comment(
        n, "/feedback @emeka-cirrus, @hana-eridanus does the gas math hold?", "alice-aurora"
    )
    await bot.settle()
    [reply] = _replies(bot, n, "asks for your feedback")
    assert "@emeka-cirrus @hana-eridanus: alice-aurora asks for your feedback" in reply
    assert "does the gas math hold?" in reply
    body = bot.tracking(n)[0].body
    assert "@&#8203;emeka-cirrus (by @&#8203;alice-aurora), @&#8203;hana-eridanus" in body

    await bot.advance(later(seconds=5))
    await bot.comment(n, "/approve", "hana-eridanus")
    await bot.settle()
    body = bot.tracking(n)[0].body
    assert "Feedback requested from @&#8203;emeka-cirrus (by @&#8203;alice-aurora);" in body
    assert "hana-eridanus (by" not in body
    [given] = _audited(bot, n, "feedback-given")
    assert (given["login"], given["how"], given["asked_by"]) == (
        "hana-eridanus",
        "vote",
        "alice-aurora",
    )


async def test_the_reply_mentions_the_charter_spelling_with_the_line_chat_posts(
    bot: Bot,
) -> None:
    """A comment's reply asks in the very line a request from chat posts on the issue
    (``bot.feedback.asks_text``), naming a login the charter knows as it spells it."""
    n = await bot.open_issue()
    note = "check the *blob* math @everyone"
    await bot.comment(n, f"/f? @Emeka-Cirrus @Zoe-Contrib {note}", "carmen-borealis")
    await bot.settle()
    [reply] = _replies(bot, n, "asks for your feedback")
    line = asks_text(("emeka-cirrus", "Zoe-Contrib"), "carmen-borealis", note)
    assert f"\n\n{line}" in reply
    assert "@Emeka-Cirrus" not in reply and "@everyone" not in reply and "*blob*" not in reply
    assert reply.startswith("@carmen-borealis Asked emeka-cirrus, Zoe-Contrib for feedback")
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(r["login"], r["note"]) for r in view["feedback"]] == [
        ("emeka-cirrus", note),
        ("Zoe-Contrib", note),
    ]


async def test_who_may_not_ask_and_closed_proposals_are_refused(bot: Bot) -> None:
    n = await bot.open_issue()
    await bot.comment(n, "/f? @bob-aurora", "mallory")  # no seat, no role
    await bot.settle()
    [refused] = _replies(bot, n, "may ask for feedback on a proposal")
    assert refused.startswith("@mallory error: Only client maintainers")
    await bot.comment(n, "/withdraw", "alice-aurora")
    await bot.settle()
    await bot.comment(n, "/f? @bob-aurora", "carmen-borealis")
    await bot.settle()
    assert _replies(bot, n, "feedback can be asked only while a proposal is open")
    assert _audited(bot, n, "feedback-requested") == []
    assert "@bob-aurora" not in "".join(c.body for c in bot.issue_comments(n))


async def test_prose_after_feedback_asks_and_pings_nobody(bot: Bot) -> None:
    """``/feedback please take a look`` once asked (and pinged) GitHub user ``please``; now
    every person is written ``@login`` and prose gets an error saying so."""
    n = await bot.open_issue()
    await bot.comment(n, "/feedback please take a look\n/f? bob-aurora, carmen", "emeka-cirrus")
    await bot.settle()
    bodies = "".join(c.body for c in bot.issue_comments(n))
    assert "@please" not in bodies and "@bob-aurora" not in bodies
    replies = _replies(bot, n, "Write the people to ask as")
    assert len(replies) == 2
    assert all("e.g. /f? @&#8203;bob-aurora your view?" in r for r in replies)  # comment form
    assert _audited(bot, n, "feedback-requested") == []


async def test_an_answer_delivered_before_the_request_answers_it(bot: Bot) -> None:
    """GitHub does not order deliveries: bob comments 10 s after ``/f? @bob-aurora`` but his
    delivery arrives first. The request, when stored, finds his comment and is answered; a
    comment of his from before the request would answer nothing."""
    n = await bot.open_issue()
    t0 = bot.clock.now()
    await bot.comment(n, "early thoughts", "bob-aurora")  # before the request: no answer
    await bot.settle()
    await bot.advance(later(seconds=5))
    ask = bot.comment_payload("created", n, "/f? @Bob-Aurora", "carmen-borealis")
    asked_at = bot.clock.now()
    await bot.advance(later(seconds=10))
    reply = bot.comment_payload("created", n, "Looks fine to me.", "bob-aurora")
    assert (await bot.post("issue_comment", reply)).status_code == 202
    await bot.settle()
    assert (await bot.post("issue_comment", ask)).status_code == 202
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["feedback"] == []
    [given] = _audited(bot, n, "feedback-given")
    # asked as @Bob-Aurora: the charter's bob-aurora, who is the one answering
    assert given["login"] == "bob-aurora" and given["how"] == "comment"
    assert given["at"] == (asked_at + later(seconds=10)).isoformat()
    assert t0 < asked_at
    assert "Feedback requested" not in bot.tracking(n)[0].body


async def test_a_closed_proposal_lists_no_request_and_takes_no_answer(bot: Bot) -> None:
    n = await bot.open_issue()
    await bot.comment(n, "/f? @bob-aurora", "carmen-borealis")
    await bot.settle()
    await bot.advance(later(seconds=5))
    await bot.comment(n, "/withdraw", "alice-aurora")
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["state"] == "withdrawn" and view["feedback"] == []
    syncs = len(bot.standin.requests_to("PATCH", r".*/issues/comments/\d+"))
    await bot.advance(later(seconds=5))
    await bot.comment(n, "Late, but fine by me.", "bob-aurora")
    await bot.settle()
    assert _audited(bot, n, "feedback-given") == []
    assert len(bot.standin.requests_to("PATCH", r".*/issues/comments/\d+")) == syncs
