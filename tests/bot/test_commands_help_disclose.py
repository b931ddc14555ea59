"""``help`` answers in the form of the surface it was asked on; ``disclose`` only discloses what
is confidential; a GitHub comment votes on its own issue only (bot/commands_core.py and the
GitHub comment path, through the real service and store).

Rules proven here:
- ``/help`` in a GitHub comment shows the comment forms (``/vote approve…``), never the chat
  syntax (``/charter vote <n> …``, which a comment refuses), and leaves chat-only commands out;
  in chat ``help`` shows the ``/charter`` forms. ``help <group>`` lists the group's commands
  and ``help list`` (an alias) is ``help proposals``.
- ``disclose`` on a proposal that was never confidential changes nothing, records nothing and
  says so; on a confidential one it discloses, once.
- In a comment, ``/approve 2 …`` on issue #1 is refused with a reply and casts no vote;
  ``/approve.`` and ``／approve`` vote.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.github.events import parse_event
from bot.github.handler import handle_event
from bot.messages import Actor, plain_text
from bot.runtime import Runtime
from bot.settings import Settings
from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE
from charter.text import escape_markdown_github as md
from storage import audit_query, outbox
from storage.db import session_scope
from tests.bot.harness import REPO, START, fixture, open_issue, valid_body

VOTING_AT = START + timedelta(days=7, seconds=1)
AUTHOR = "alice-aurora"
MAINTAINER = "carmen-borealis"  # Borealis's seat on protocol-change
COUNCIL = Actor("kofi-sec", "console", "kofi-sec")
PUBLIC, CONFIDENTIAL = 1, 2


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """#1 a protocol change (public), #2 a security patch (confidential), both in voting."""
    runtime = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"), clock=FixedClock(VOTING_AT)
    )
    open_issue(runtime, PUBLIC, valid_body())
    open_issue(runtime, CONFIDENTIAL, valid_body(**{"protocol-change": "security-patch"}))
    runtime.gov.tick(VOTING_AT)
    yield runtime
    runtime.engine.dispose()


_COMMENT_IDS = iter(range(7_100_001, 7_200_000))


def comment(rt: Runtime, number: int, body: str, author: str = MAINTAINER) -> list[str]:
    """Post ``body`` as a comment on issue ``number``; returns the bot's reply bodies."""
    with session_scope(rt.engine) as session:
        before = max([r.id for r in outbox.listing(session, include_sent=True)] or [0])
    payload = copy.deepcopy(fixture("issue_comment/created.payload.json"))
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = number
    payload["comment"].update(body=body, id=next(_COMMENT_IDS))
    payload["comment"]["user"]["login"] = author
    payload["sender"]["login"] = author
    for key in ("created_at", "updated_at"):
        payload["comment"][key] = VOTING_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    with session_scope(rt.engine) as session:
        handle_event(rt.gov, session, parse_event("issue_comment", payload), VOTING_AT)
    with session_scope(rt.engine) as session:
        rows = outbox.listing(session, include_sent=True)
        return [
            str(outbox.payload(r)["body"]) for r in rows if r.kind == "comment" and r.id > before
        ]


def votes(rt: Runtime, number: int) -> list[tuple[str, str, str]]:
    stored = rt.gov.load(number)
    assert stored is not None
    return [(v.voter, v.choice.value, v.reason) for v in stored.proposal.votes]


def disclosed_entries(rt: Runtime) -> list[str]:
    with session_scope(rt.engine) as session:
        return [e.subject for e in audit_query.entries(session, kind="proposal-disclosed")]


def run(rt: Runtime, text: str, actor: Actor) -> tuple[bool, str]:
    message = rt.gov.run_sync(text, actor, VOTING_AT)
    return message.ok, plain_text(message)


# -- help ------------------------------------------------------------------------------------


def test_help_in_a_comment_shows_the_comment_forms(rt: Runtime) -> None:
    """``/help`` in a comment lists what works in a comment, in the comment's syntax."""
    [reply] = comment(rt, PUBLIC, "/help")
    assert md(COMMENT_USAGE["vote"]) in reply and md(COMMENT_USAGE["approve"]) in reply
    assert md(USAGE["vote"]) not in reply and "vote &lt;n&gt;" not in reply  # no chat syntax
    assert "subscribe" not in reply and "whoami" not in reply  # chat-only: left out
    assert "More commands work in chat" in reply


@pytest.mark.parametrize(
    ("body", "shown", "not_shown"),
    [
        ("/help vote", md(COMMENT_USAGE["vote"]), "&lt;n&gt;"),
        ("/help incident", md(COMMENT_USAGE["incident update"]), "charter"),
        ("/help subscribe", "works in chat only", md("/subscribe")),
    ],
)
def test_help_on_a_topic_in_a_comment(rt: Runtime, body: str, shown: str, not_shown: str) -> None:
    """A topic asked in a comment is answered in the comment form (chat-only ones say so)."""
    [reply] = comment(rt, PUBLIC, body)
    assert shown in reply and not_shown not in reply


def test_the_comment_help_is_accepted_by_a_comment(rt: Runtime) -> None:
    """The form ``/help vote`` shows in a comment casts the vote when written in a comment."""
    [reply] = comment(rt, PUBLIC, "/help vote")
    assert reply == f"@{MAINTAINER} {md(COMMENT_USAGE['vote'])}"
    assert comment(rt, PUBLIC, "/vote approve") == []
    assert votes(rt, PUBLIC) == [(MAINTAINER, "approve", "")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help vote", [USAGE["vote"]]),
        ("help list", [USAGE["proposals"]]),
        (
            "help incident",
            [USAGE[k] for k in sorted(USAGE) if k.startswith("incident ")],
        ),
        ("help meeting", [USAGE[k] for k in sorted(USAGE) if k.startswith("meeting ")]),
    ],
)
def test_help_in_chat_shows_the_topic_or_the_group(
    rt: Runtime, text: str, expected: list[str]
) -> None:
    """In chat a command's help is its /charter line; a group's help is its commands' lines."""
    ok, shown = run(rt, text, COUNCIL)
    assert ok and shown.splitlines() == expected


def test_help_without_a_topic_depends_on_the_surface(rt: Runtime) -> None:
    """The full list: /charter forms in chat, comment forms (and a pointer) on GitHub."""
    with session_scope(rt.engine) as session:
        chat = rt.gov.execute(session, c.Help(None), COUNCIL, VOTING_AT)
        github = rt.gov.execute(
            session, c.Help(None), Actor("kofi-sec", "github", display="kofi-sec"), VOTING_AT
        )
    assert [line for (line,) in chat.lines] == [USAGE[k] for k in sorted(USAGE)]
    lines = [line for (line,) in github.lines]
    assert lines[:-1] == [COMMENT_USAGE[k] for k in sorted(COMMENT_USAGE)]
    assert not [line for line in lines if line.startswith("/charter")]


# -- disclose --------------------------------------------------------------------------------


def test_disclose_refuses_a_proposal_that_was_never_confidential(rt: Runtime) -> None:
    """Nothing to disclose: no flag set, no audit entry, and the reply says why."""
    ok, shown = run(rt, f"disclose {PUBLIC}", COUNCIL)
    assert not ok
    assert shown == f"error: #{PUBLIC} is not confidential; there is nothing to disclose."
    stored = rt.gov.load(PUBLIC)
    assert stored is not None and not stored.disclosed
    assert disclosed_entries(rt) == []


def test_disclose_in_a_comment_on_a_public_issue_is_answered(rt: Runtime) -> None:
    """Refused, so the comment gets a reply (an accepted no-op would be silent on GitHub)."""
    [reply] = comment(rt, PUBLIC, "/disclose", author="kofi-sec")
    assert "is not confidential; there is nothing to disclose." in reply
    assert disclosed_entries(rt) == []


def test_disclose_still_discloses_a_confidential_proposal_once(rt: Runtime) -> None:
    """A confidential proposal is disclosed and audited once; again is "already disclosed"."""
    assert run(rt, f"disclose {CONFIDENTIAL}", COUNCIL) == (
        True,
        f"#{CONFIDENTIAL} is disclosed; announcements now reach every channel.",
    )
    assert run(rt, f"disclose {CONFIDENTIAL}", COUNCIL) == (
        True,
        f"#{CONFIDENTIAL} is already disclosed.",
    )
    assert disclosed_entries(rt) == [f"proposal:{CONFIDENTIAL}"]


# -- the proposal of a comment ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["/approve 2 looks good", "/charter vote 2 approve"])
def test_a_comment_never_votes_on_its_issue_with_another_proposals_number(
    rt: Runtime, body: str
) -> None:
    """``/approve 2 …`` on #1 is refused with a reply; no vote on #1 (nor on #2)."""
    [reply] = comment(rt, PUBLIC, body)
    assert md("In a comment the proposal is this issue (#1); comment on #2 or leave out") in reply
    assert votes(rt, PUBLIC) == []
    assert votes(rt, CONFIDENTIAL) == []


def test_a_comment_may_name_its_own_issue(rt: Runtime) -> None:
    """``/charter vote 1 approve`` pasted into #1's comments votes on #1."""
    assert comment(rt, PUBLIC, "/charter vote 1 approve ship it") == []
    assert votes(rt, PUBLIC) == [(MAINTAINER, "approve", "ship it")]


@pytest.mark.parametrize("body", ["Looks good to me.\n/approve.", "/approve!", "／approve"])
def test_a_comment_vote_with_punctuation_or_a_full_width_slash_counts(
    rt: Runtime, body: str
) -> None:
    """Not silently ignored: the vote is cast."""
    assert comment(rt, PUBLIC, body) == []
    assert votes(rt, PUBLIC) == [(MAINTAINER, "approve", "")]


def test_full_width_numbers_work_in_chat(rt: Runtime) -> None:
    """``vote １ approve`` from a phone keyboard is ``vote 1 approve``."""
    ok, shown = run(rt, "vote ＃１ approve", Actor(MAINTAINER, "console", MAINTAINER))
    assert ok, shown
    assert votes(rt, PUBLIC) == [(MAINTAINER, "approve", "")]


# -- replies as GitHub markdown ----------------------------------------------------------------


def test_a_parse_error_shows_its_usage_in_a_real_code_block(rt: Runtime) -> None:
    """The usage is the bot's own text in a fenced block; the quoted input stays escaped."""
    [reply] = comment(rt, PUBLIC, "/vote aprove <b>now</b>")
    assert "\n```\n/vote approve|reject|abstain [reason]\n```" in reply
    assert "\\`" not in reply
    assert "<b>" not in reply


def test_a_status_reply_on_github_has_no_chat_buttons(rt: Runtime) -> None:
    """GitHub has no buttons: a status reply says how to vote by comment instead of showing
    ``[Approve] vote:1:approve``."""
    [reply] = comment(rt, PUBLIC, "/status")
    assert "vote:1:approve" not in reply and "[Approve]" not in reply
    assert "Vote by commenting `/approve`, `/reject` or `/abstain`" in reply
