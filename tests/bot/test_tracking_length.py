"""The tracking comment stays below GitHub's 65,536-character body limit, however many open
concerns and long vote reasons a proposal collects (escaping makes ``&``, ``<`` and ``@name``
longer still): long texts are cut, concerns that do not fit are counted and the proposal's
page is linked, and the text stays the same for the same state (edited only on change)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.github.tracking import MAX_BODY, render
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
URL = "http://charterbot.test"
GITHUB_LIMIT = 65_536
# An escaped character is an entity or a backslash escape: a cut must never split one.
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;|#8203;)")


def view(concerns: int, text: str, seats: int = 5, reason: str = "") -> dict[str, Any]:
    """A proposal in voting (the shape of ``bot.views.proposal_view``)."""
    iso = "2026-12-04T12:00:00Z"
    matrix = [
        {"label": f"Client {i}", "voter": f"maint-{i}", "choice": "approve", "reason": reason,
         "at": iso, "via": "slack"}
        for i in range(seats)
    ]  # fmt: skip
    return {
        "number": 7, "state": "voting", "track": "protocol-change", "charter_version": 3,
        "intake_problems": [], "seat_matrix": matrix, "decision": None,
        "deadlines": {"review_ends": iso, "voting_opens": iso, "voting_closes": iso,
                      "confirm_until": None},
        "tally": {"voted": seats, "seats": seats, "needed": seats, "quorum": 1.0,
                  "quorum_met": True, "approve": seats, "reject": 0, "approval": 1.0,
                  "reason": "blocked by open concerns", "lazy": None},
        "concerns": [{"name": f"c{i}", "raised_by": "bob-aurora", "text": text, "resolved": False}
                     for i in range(concerns)],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("given", "shown", "more"),
    [
        pytest.param(view(3, "short & sweet"), 3, None, id="short-unchanged"),
        pytest.param(view(14, "&" * 1000), 14, None, id="14-ampersand-texts-cut"),
        pytest.param(view(14, "<" * 1000, reason="&" * 1000), 14, None, id="long-reasons-too"),
        pytest.param(view(60, "@alice " * 142), 60, None, id="mentions-expand"),
        pytest.param(view(400, "<" * 1000), None, 400, id="400-concerns-counted"),
        pytest.param(view(1, "x", seats=400, reason="&" * 1000), None, None, id="huge-seat-matrix"),
    ],
)
def test_the_body_fits_github(given: dict[str, Any], shown: int | None, more: int | None) -> None:
    body = render(given, NOW, URL)
    assert len(body) <= MAX_BODY < GITHUB_LIMIT
    assert body == render(given, NOW, URL), "deterministic: edited only when the state changes"
    assert not BROKEN_ENTITY.search(body), "no entity cut in half"
    lines = [line for line in body.splitlines() if line.startswith("- `c")]
    if shown is not None:
        assert len(lines) == shown
    if more is not None:
        left = re.search(r"^- … and (\d+) more open concerns, see \[the proposal's page\]"
                         rf"\({URL}/proposals/7#concerns\)$", body, re.MULTILINE)  # fmt: skip
        assert left is not None and len(lines) + int(left.group(1)) == more
        assert body.rstrip().endswith(f"[Audit trail]({URL}/audit?subject=proposal:7)")


def test_a_comment_that_fits_is_not_shortened() -> None:
    small = view(3, "a" * 1000, reason="b" * 1000)
    body = render(small, NOW, URL)
    assert "a" * 1000 in body and "b" * 1000 in body and "…" not in body


def test_the_last_resort_cut_points_to_the_full_record() -> None:
    body = render(view(1, "x", seats=400, reason="&" * 1000), NOW, URL)
    assert body.endswith(f"… cut to fit GitHub's comment size limit; the full record: "
                         f"{URL}/proposals/7\n")  # fmt: skip
    assert body.startswith("<!-- charterbot:tracking -->\n")


COMMANDS = (
    "Commands (one per line): `/vote approve|reject|abstain [reason]`, `/concern <name>: <text>`,"
    " `/resolve <name>`, `/f? @<login>`, `/withdraw`, `/status`."
)


@pytest.mark.parametrize("concerns", [0, 400], ids=["fits", "concerns-cut"])
def test_the_commands_line_offers_feedback_and_survives_the_cut(concerns: int) -> None:
    """The help line names ``/f? @<login>`` (in code, so it never pings): it is kept whole
    however many concerns are left out, so it must fit in the room the tail always keeps."""
    body = render(view(concerns, "<" * 1000), NOW, URL)
    assert len(body) <= MAX_BODY
    assert COMMANDS in body.splitlines()


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_many_long_concerns_on_github(bot: Bot) -> None:
    """Fourteen 1000-character concerns of ``&`` once rendered 71,242 characters, which GitHub
    refuses (422); the comment now fits, and settling again does not edit it."""
    n = await bot.open_voting()
    await bot.comment(
        n, "\n".join(f"/concern c{i}: " + "&" * 1000 for i in range(14)), "bob-aurora"
    )
    await bot.settle()
    [tracking] = bot.tracking(n)
    assert len(tracking.body) <= MAX_BODY
    assert tracking.body.count("&amp;…") == 14
    edits = len(bot.standin.requests_to("PATCH", r".*/issues/comments/\d+"))
    await bot.comment(n, "/status", "bob-aurora")
    await bot.settle()
    assert len(bot.standin.requests_to("PATCH", r".*/issues/comments/\d+")) == edits


def asked(people: int, decided: bool = False) -> dict[str, Any]:
    """A voting proposal with two long open concerns and ``people`` open feedback requests
    (long logins); ``decided`` adds a decision line."""
    given = view(2, "<" * 1000)
    given["feedback"] = [
        {"login": f"{'x' * 30}-{k:04d}", "asked_by": "carmen-borealis", "asked_at": None}
        for k in range(people)
    ]
    if decided:
        given["decision"] = {"outcome": "rejected", "at": "2026-12-04T12:00:00Z",
                             "charter_version": 3}  # fmt: skip
    return given


AT = "@&#8203;"  # "@" escaped, so the tracking comment pings nobody
BY = f" (by {AT}carmen-borealis)"
FEEDBACK_MORE = re.compile(
    r"^Feedback requested from (.*), … and (\d+) more \(see \[the proposal's page\]"
    rf"\({URL}/proposals/7#feedback\)\); it does not block the decision\.$",
    re.MULTILINE,
)


@pytest.mark.parametrize("people", [800, 5000])
def test_feedback_is_cut_before_any_concern_the_decision_or_the_commands(people: int) -> None:
    """Feedback never blocks, so its line gives way first: however many people were asked,
    every open concern, the decision and the commands line stay whole, the first people asked
    are named as far as room allows and the rest are counted with a link to the page."""
    body = render(asked(people, decided=True), NOW, URL)
    assert len(body) <= MAX_BODY
    lines = body.splitlines()
    assert [line[:6] for line in lines if line.startswith("- `c")] == ["- `c0`", "- `c1`"]
    assert "more open concern" not in body  # none counted out
    assert COMMANDS in lines
    assert any(line.startswith("**Decision: rejected**") for line in lines)
    found = FEEDBACK_MORE.search(body)
    assert found is not None
    named = found.group(1).count(BY)
    assert named > 0 and named + int(found.group(2)) == people
    assert found.group(1).startswith(f"{AT}{'x' * 30}-0000 ")  # the first asked come first
    assert body == render(asked(people, decided=True), NOW, URL)


def test_as_many_people_are_named_as_fit() -> None:
    """The feedback line names the most people that fit: one more would pass the limit."""
    body = render(asked(800), NOW, URL)
    found = FEEDBACK_MORE.search(body)
    assert found is not None
    left = int(found.group(2))
    one_more = len(f", {AT}{'x' * 30}-{800 - left:04d}{BY}") - len(str(left)) + len(str(left - 1))
    assert len(body) <= MAX_BODY < len(body) + one_more


def test_a_short_feedback_list_is_named_whole() -> None:
    body = render(asked(3), NOW, URL)
    assert "… and" not in body
    assert body.count(BY) == 3
