"""``feedback`` in chat, through the one service: asking, what answers a request from chat,
chat mentions read as linked logins, and confidential proposals not leaked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.discord.render import render_line as discord_line
from bot.feedback import asks_text
from bot.messages import Actor, plain_text
from bot.slack.blocks import render_line as slack_line
from bot.views import CLIP
from storage import audit_query
from storage.db import session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def _run(bot: Bot, text: str, login: str | None, surface: str = "console") -> str:
    return plain_text(bot.gov.run_sync(text, Actor(login, surface, f"{surface}-{login}")))


def _kinds(bot: Bot, n: int) -> list[tuple[str, str]]:
    with session_scope(bot.rt.engine) as session:
        entries = audit_query.entries(session, subject=f"proposal:{n}")
        return [
            (e.kind, json.loads(e.payload)["login"])
            for e in reversed(entries)
            if e.kind.startswith("feedback-")
        ]


async def test_feedback_from_chat_is_listed_until_a_concern_from_chat_answers(bot: Bot) -> None:
    n = await bot.open_issue()
    said = _run(bot, f"feedback {n} @bob-aurora please check the gas math", "carmen-borealis")
    assert said == f"Asked bob-aurora for feedback on #{n}; it does not block the decision."
    await bot.settle()
    assert "Feedback requested from @&#8203;bob-aurora" in bot.tracking(n)[0].body
    assert _run(bot, f"f? {n} @bob-aurora", "carmen-borealis") == (
        "bob-aurora was already asked and has not answered yet."
    )

    await bot.advance(later(seconds=5))
    _run(bot, f"concern {n} gas: the target is too high", "bob-aurora")
    await bot.settle()
    assert "Feedback requested" not in bot.tracking(n)[0].body
    assert _kinds(bot, n) == [
        ("feedback-requested", "bob-aurora"),
        ("feedback-given", "bob-aurora"),
    ]


async def test_a_chat_mention_is_the_login_its_user_linked(bot: Bot) -> None:
    n = await bot.open_issue()
    bot.link("U0CARMEN", "carmen-borealis")
    bot.link("U0BOB", "bob-aurora")
    said = _run(bot, f"feedback {n} <@U0BOB> <@U0NOBODY>", "carmen-borealis", "slack")
    assert said.startswith("error: The person you mentioned has not linked a GitHub login here")
    assert _kinds(bot, n) == []
    said = _run(bot, f"feedback {n} <@U0BOB>", "carmen-borealis", "slack")
    assert said == f"Asked bob-aurora for feedback on #{n}; it does not block the decision."


async def test_a_contributor_and_a_closed_proposal_are_refused(bot: Bot) -> None:
    n = await bot.open_issue()
    said = _run(bot, f"feedback {n} @bob-aurora", "mallory")
    assert "may ask for feedback on a proposal" in said
    _run(bot, f"withdraw {n}", "alice-aurora")
    said = _run(bot, f"feedback {n} @bob-aurora", "carmen-borealis")
    assert "is withdrawn: feedback can be asked only while a proposal is open" in said
    assert _kinds(bot, n) == []


async def test_a_confidential_proposal_is_not_shown_to_whom_may_not_see_it(bot: Bot) -> None:
    security = valid_body(**{"protocol-change": "security-patch"})
    n = await bot.open_issue("Fix gossip", security, "kofi-sec")
    await bot.advance(later(seconds=1))
    # Someone who may not see it is told there is no such proposal, as by `show`.
    assert (
        _run(bot, f"feedback {n} @bob-aurora", "zoe-contrib")
        == f"error: There is no proposal #{n}."
    )
    # Asking someone who may not see it asks no one (the asker may see it).
    said = _run(bot, f"feedback {n} @alice-aurora @zoe-contrib", "lena-sec")
    assert "zoe-contrib may not see it, so nobody was asked" in said
    assert _kinds(bot, n) == []
    said = _run(bot, f"feedback {n} @alice-aurora @ines-coord", "lena-sec")
    assert said.startswith("Asked alice-aurora, ines-coord for feedback")
    # Once disclosed, anyone may be asked.
    _run(bot, f"disclose {n}", "ines-coord")
    assert _run(bot, f"feedback {n} @zoe-contrib", "lena-sec").startswith("Asked zoe-contrib")


def _asked_lines(said: str) -> list[str]:
    return [line for line in said.splitlines() if line.startswith("Feedback requested")]


async def test_show_lists_the_open_requests_until_each_is_answered(bot: Bot) -> None:
    n = await bot.open_voting()
    assert _asked_lines(_run(bot, f"show {n}", "zoe-contrib")) == []  # nothing asked: no line
    _run(bot, f"feedback {n} @bob-aurora @emeka-cirrus: gas math?", "carmen-borealis")
    await bot.advance(later(seconds=5))
    _run(bot, f"feedback {n} @zoe-contrib", "alice-aurora")
    # Anyone who may see the proposal sees who was asked, as they see its concerns.
    # Each with the note it was asked with, if any.
    assert _asked_lines(_run(bot, f"show {n}", "zoe-contrib", "slack")) == [
        "Feedback requested from @bob-aurora (by @carmen-borealis): “gas math?”",
        "Feedback requested from @emeka-cirrus (by @carmen-borealis): “gas math?”",
        "Feedback requested from @zoe-contrib (by @alice-aurora)",
    ]
    await bot.advance(later(seconds=5))
    _run(bot, f"vote {n} approve", "emeka-cirrus")  # answers emeka's request
    assert _asked_lines(_run(bot, f"show {n}", "zoe-contrib")) == [
        "Feedback requested from @bob-aurora (by @carmen-borealis): “gas math?”",
        "Feedback requested from @zoe-contrib (by @alice-aurora)",
    ]
    # Once the proposal is closed nothing is awaited, though the requests were never answered.
    _run(bot, f"withdraw {n}", "alice-aurora")
    assert _asked_lines(_run(bot, f"show {n}", "zoe-contrib")) == []


async def test_show_of_a_confidential_proposal_lists_requests_only_to_whom_may_see_it(
    bot: Bot,
) -> None:
    security = valid_body(**{"protocol-change": "security-patch"})
    n = await bot.open_issue("Fix gossip", security, "kofi-sec")
    await bot.advance(later(seconds=1))
    _run(bot, f"feedback {n} @alice-aurora", "lena-sec")
    assert _asked_lines(_run(bot, f"show {n}", "alice-aurora")) == [
        "Feedback requested from @alice-aurora (by @lena-sec)"
    ]
    said = _run(bot, f"show {n}", "zoe-contrib")
    assert said == f"error: There is no proposal #{n}."


def _mentions(bot: Bot, n: int, login: str) -> list[str]:
    return [c.body for c in bot.issue_comments(n) if f"@{login}" in c.body]


async def test_people_asked_from_chat_are_notified_on_the_issue(bot: Bot) -> None:
    """Asked from chat, the people are mentioned on the proposal's issue (GitHub notifies
    them), once, the note escaped; asking again while unanswered posts nothing more."""
    n = await bot.open_issue()
    said = _run(
        bot, f"feedback {n} @bob-aurora @emeka-cirrus check @gas <b>math</b>", "carmen-borealis"
    )
    assert said.startswith("Asked bob-aurora, emeka-cirrus for feedback")
    await bot.settle()
    [posted] = _mentions(bot, n, "bob-aurora")
    assert posted.startswith(
        "@bob-aurora @emeka-cirrus: carmen-borealis asks for your feedback on this proposal."
    )
    assert "Comment here to answer; it does not block the decision." in posted
    assert "@gas" not in posted and "<b>" not in posted
    await bot.advance(later(seconds=5))
    _run(bot, f"feedback {n} @bob-aurora", "carmen-borealis")
    await bot.settle()
    assert len(_mentions(bot, n, "bob-aurora")) == 1


async def test_a_confidential_proposal_is_asked_without_a_public_mention(bot: Bot) -> None:
    security = valid_body(**{"protocol-change": "security-patch"})
    n = await bot.open_issue("Fix gossip", security, "kofi-sec")
    await bot.advance(later(seconds=1))
    said = _run(bot, f"feedback {n} @alice-aurora", "lena-sec")
    assert said.startswith("Asked alice-aurora for feedback")
    assert said.endswith(f"They were not notified on GitHub: #{n} is confidential.")
    await bot.settle()
    assert _mentions(bot, n, "alice-aurora") == []


async def test_a_withdrawn_proposal_lists_no_open_request(bot: Bot) -> None:
    n = await bot.open_issue()
    _run(bot, f"feedback {n} @bob-aurora", "carmen-borealis")
    _run(bot, f"withdraw {n}", "alice-aurora")
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["state"] == "withdrawn" and view["feedback"] == []
    assert "Feedback requested" not in _run(bot, f"show {n}", "carmen-borealis")
    assert "asked for your feedback" not in _run(bot, "todo", "bob-aurora")
    _run(bot, f"vote {n} approve", "bob-aurora")  # refused: closed; nothing answered either
    assert ("feedback-given", "bob-aurora") not in _kinds(bot, n)


async def test_open_requests_are_capped_per_proposal(bot: Bot) -> None:
    n = await bot.open_issue()
    for k in range(5):
        people = " ".join(f"@person-{k}-{i}" for i in range(10))
        assert _run(bot, f"feedback {n} {people}", "carmen-borealis").startswith("Asked")
    said = _run(bot, f"feedback {n} @bob-aurora", "carmen-borealis")
    assert said.startswith(f"error: #{n} has 50 open feedback requests")
    assert said.endswith("ask fewer people, or wait for answers.")


async def test_the_note_is_shown_cut_and_escaped_as_each_surface_escapes_user_text(
    bot: Bot,
) -> None:
    """The note is in ``show``, ``todo`` and the API, not only on the dashboard: cut where
    many are listed (``show`` as a concern's text, ``todo`` shorter), in full in the API, and
    escaped by each chat surface as it escapes any user text (no markup, no ping)."""
    n = await bot.open_issue()
    note = "please check the *blob* math <@U0ALL> " + "x" * 900
    _run(bot, f"feedback {n} @bob-aurora {note}", "carmen-borealis")

    show = bot.gov.run_sync(f"show {n}", Actor("zoe-contrib", "console", "zoe"))
    [line] = [ln for ln in show.lines if str(ln[0]).startswith("Feedback requested")]
    head = "Feedback requested from @bob-aurora (by @carmen-borealis): “"
    assert line == (f"{head}{note[: CLIP - 1]}…”",)
    assert "<@U0ALL>" not in slack_line(line) and "*blob*" not in slack_line(line)
    assert "*blob*" not in discord_line(line)

    todo = bot.gov.run_sync("todo", Actor("bob-aurora", "console", "bob"))
    [asked] = [ln for ln in todo.lines if str(ln[0]).startswith("Feedback:")]
    said = "".join(str(seg) for seg in asked)
    asked_for = "carmen-borealis asked for your feedback"
    assert f"{asked_for}: “please check the *blob* math <@U0ALL> x" in said
    assert "x…” · a comment on its issue, a vote or a concern answers it" in said
    assert len(said) < len(note)  # cut: a todo line carries the title and the remedy too
    assert "<@U0ALL>" not in slack_line(asked) and "*blob*" not in discord_line(asked)

    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(r["login"], r["note"]) for r in view["feedback"]] == [("bob-aurora", note)]


async def test_a_login_the_charter_knows_is_stored_and_shown_as_the_charter_spells_it(
    bot: Bot,
) -> None:
    """``@Emeka-Cirrus`` is the charter's ``emeka-cirrus`` everywhere (the answer, show, todo,
    the issue's mention, the API, the audit); a login the charter does not name stays as
    written (GitHub logins are case-insensitive)."""
    n = await bot.open_issue()
    said = _run(bot, f"feedback {n} @Emeka-Cirrus @Zoe-Contrib", "carmen-borealis")
    assert said == (
        f"Asked emeka-cirrus, Zoe-Contrib for feedback on #{n}; it does not block the decision."
    )
    assert _asked_lines(_run(bot, f"show {n}", "carmen-borealis")) == [
        "Feedback requested from @emeka-cirrus (by @carmen-borealis)",
        "Feedback requested from @Zoe-Contrib (by @carmen-borealis)",
    ]
    await bot.settle()
    [posted] = _mentions(bot, n, "emeka-cirrus")
    assert posted.startswith(asks_text(("emeka-cirrus", "Zoe-Contrib"), "carmen-borealis", ""))
    assert "@Emeka-Cirrus" not in posted
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [r["login"] for r in view["feedback"]] == ["emeka-cirrus", "Zoe-Contrib"]
    assert _kinds(bot, n) == [
        ("feedback-requested", "emeka-cirrus"),
        ("feedback-requested", "Zoe-Contrib"),
    ]
    assert _run(bot, f"f? {n} @EMEKA-CIRRUS", "carmen-borealis") == (
        "emeka-cirrus was already asked and has not answered yet."
    )


async def test_a_chat_parse_error_shows_the_chat_form(bot: Bot) -> None:
    n = await bot.open_issue()
    said = _run(bot, f"feedback {n} kofi-sec", "alice-aurora")
    assert said.startswith(
        "error: Write the people to ask as @login (or a chat mention): 'kofi-sec' is not one,"
        f" e.g. /charter feedback {n} @bob-aurora your view?"
    )
    assert "/f?" not in said
