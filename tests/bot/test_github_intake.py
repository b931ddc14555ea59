"""Intake details: what keeps a proposal a draft, late edits, what is ignored, user text.

Signed webhook deliveries go into the running app; the tracking comment is read back from the
GitHub stand-in, as a reader on GitHub would see it.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.github.tracking import MARKER
from charter import commands as c
from charter.grammar import parse_comment
from storage import audit, audit_query, inbox
from storage.db import session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

DRAFT_HEADING = "**This proposal stays a draft until these are fixed**"

# (what is wrong, body, a sentence the author must be shown). START is 2026-11-27T12:00Z;
# protocol-change: 7d review + 5d voting + 21d min_activation_after_decision → 2026-12-30T12:00Z.
WRONG = [
    (
        "unknown track",
        valid_body(**{"### Track\n\nprotocol-change": "### Track\n\nwarp-drive"}),
        "Track 'warp-drive' is not a track of this charter",
    ),
    (
        "likelihood above the scale",
        valid_body(**{"### Risk likelihood\n\n2": "### Risk likelihood\n\n7"}),
        "Risk likelihood must be a whole number from 1 to 5; got '7'",
    ),
    (
        "impact below the scale",
        valid_body(**{"### Risk impact\n\n4": "### Risk impact\n\n0"}),
        "Risk impact must be a whole number from 1 to 5; got '0'",
    ),
    (
        "activation too early",
        valid_body(**{"2027-03-04T14:00Z": "2026-12-20T14:00Z"}),
        "the earliest acceptable target is 2026-12-30T12:00Z",
    ),
    (
        "client not in the charter",
        valid_body(**{"- [X] eridanus": "- [X] eridanus\n- [X] zephyr"}),
        "'zephyr', which is not a client of this charter",
    ),
]

# Text people may type, each hostile to a rendered comment in its own way.
CORPUS = (
    "@everyone look here",
    "<img src=x onerror=alert(1)>",
    'see "/vote approve" in the thread',
    "/vote approve",
    "run `rm -rf /` then ``` a fence",
    "$(id) and `$(id)`",
)


async def _bot(url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(url, github)
    yield b
    await b.close()


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    """A bot on SQLite and on PostgreSQL."""
    async for b in _bot(engine_url, github):
        yield b


@pytest.fixture
async def lite(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    """A bot on SQLite only, for the wide tables (nothing in them depends on the database)."""
    async for b in _bot(sqlite_url, github):
        yield b


async def deliver(bot: Bot, event: str, payload: dict[str, Any]) -> None:
    response = await bot.post(event, payload)
    assert response.status_code == 202, response.text
    await bot.settle()


async def open_issue(bot: Bot, body: str, title: str = "Raise the gas target") -> int:
    store = bot.standin.store
    n = store.add_issue(title, body, "alice-aurora", ("upgrade-proposal",)).number
    await deliver(bot, "issues", bot.issue_payload("opened", n, body, title=title))
    return n


async def edit_body(bot: Bot, n: int, body: str, before: str) -> None:
    bot.standin.store.edit_issue(n, body=body)
    changes = {"body": {"from": before}}
    await deliver(bot, "issues", bot.issue_payload("edited", n, body, changes=changes))


def problems_shown(body: str) -> list[str]:
    """The bullet list under the draft heading of a tracking comment."""
    if DRAFT_HEADING not in body:
        return []
    section = body.split(DRAFT_HEADING, 1)[1].split("\n\n", 1)[0]
    return [line[2:] for line in section.splitlines() if line.startswith("- ")]


def unescape(text: str) -> str:
    """Enough of Markdown's reading of backslash escapes to compare sentences."""
    return re.sub(r"\\(.)", r"\1", text)


async def api(bot: Bot, n: int) -> dict[str, Any]:
    response = await bot.http.get(f"/api/proposals/{n}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def kinds(bot: Bot, subject: str | None = None) -> list[str]:
    with session_scope(bot.rt.engine) as session:
        return [e.kind for e in audit_query.entries(session, subject=subject)]


def verify(bot: Bot) -> None:
    with session_scope(bot.rt.engine) as session:
        result = audit.verify(session)
    assert result.ok, result.reason


@pytest.mark.parametrize(("what", "body", "sentence"), WRONG, ids=[w[0] for w in WRONG])
async def test_a_wrong_field_keeps_a_draft_with_exactly_that_problem(
    lite: Bot, what: str, body: str, sentence: str
) -> None:
    """Each intake problem keeps the proposal a draft, and the one tracking comment lists
    exactly that problem; fixing the body edits the same comment and starts review."""
    bot = lite
    n = await open_issue(bot, body)
    assert (await api(bot, n))["state"] == "draft"
    [tracking] = bot.tracking(n)
    [problem] = problems_shown(tracking.body)
    assert sentence in unescape(problem), problem
    assert "charter:draft" in bot.labels(n)

    await edit_body(bot, n, valid_body(), before=body)
    [fixed] = bot.tracking(n)
    assert fixed.id == tracking.id
    assert problems_shown(fixed.body) == [] and "review ends" in fixed.body
    assert (await api(bot, n))["state"] == "review"
    verify(bot)


async def test_each_edit_rechecks_and_updates_the_one_comment(bot: Bot) -> None:
    """A second wrong edit replaces the problem shown (nothing stale stays), in place."""
    (_, track_body, track_problem), (_, risk_body, risk_problem) = WRONG[0], WRONG[1]
    n = await open_issue(bot, track_body)
    [first] = bot.tracking(n)
    await edit_body(bot, n, risk_body, before=track_body)
    [second] = bot.tracking(n)
    assert second.id == first.id
    [problem] = problems_shown(second.body)
    assert risk_problem in unescape(problem) and track_problem not in unescape(second.body)
    assert (await api(bot, n))["state"] == "draft"


@pytest.mark.parametrize(
    "changed", [("title",), ("body",), ("title", "body")], ids=["title", "body", "both"]
)
async def test_edits_after_voting_opened_are_audited(lite: Bot, changed: tuple[str, ...]) -> None:
    """Title or body edits once voting is open are recorded (``proposal-edited-after-voting``,
    naming what changed); edits during review and label changes during voting are not."""
    bot = lite
    n = await open_issue(bot, valid_body())
    await edit_body(bot, n, valid_body(**{"Raise the block": "Lift the block"}), valid_body())
    await bot.advance(later(days=7, seconds=1))
    assert (await api(bot, n))["state"] == "voting"
    labeled = bot.issue_payload("labeled", n, valid_body(**{"Raise the block": "Lift the block"}))
    await deliver(bot, "issues", labeled)
    assert "proposal-edited-after-voting" not in kinds(bot)

    title = "Raise the gas target to 40M" if "title" in changed else "Raise the gas target"
    body = valid_body(**{"30M to 36M": "30M to 40M"}) if "body" in changed else valid_body()
    changes = {name: {"from": "before"} for name in changed}
    await deliver(bot, "issues", bot.issue_payload("edited", n, body, title=title, changes=changes))

    with session_scope(bot.rt.engine) as session:
        [entry] = audit_query.entries(session, kind="proposal-edited-after-voting")
        assert entry.subject == f"proposal:{n}" and entry.actor.endswith("alice-aurora")
        assert json.loads(entry.payload)["changed"] == sorted(changed)
    assert (await api(bot, n))["state"] == "voting"
    verify(bot)


def _unlabelled(bot: Bot, n: int, body: str) -> dict[str, Any]:
    payload = bot.issue_payload("opened", n, body)
    payload["issue"]["labels"] = [{"name": "question", "id": 2, "color": "ededed"}]
    return payload


def _other_repo(bot: Bot, n: int, body: str) -> dict[str, Any]:
    payload = bot.issue_payload("opened", n, body)
    payload["repository"]["full_name"] = "meridian-net/aurora"
    return payload


@pytest.mark.parametrize("make", [_unlabelled, _other_repo], ids=["no-label", "other-repo"])
async def test_issues_that_are_not_proposals_are_ignored(lite: Bot, make: Any) -> None:
    """An issue without the proposal label, or in another repository, is processed (the
    delivery is done) but becomes nothing: no proposal, no comment, no audit entry."""
    bot = lite
    n = bot.standin.store.add_issue("Question", valid_body(), "alice-aurora").number
    await deliver(bot, "issues", make(bot, n, valid_body()))
    edited = make(bot, n, valid_body())
    edited["action"] = "edited"
    await deliver(bot, "issues", edited)
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session) == {"total": 2, "pending": 0}
    assert (await bot.http.get(f"/api/proposals/{n}")).status_code == 404
    assert bot.issue_comments(n) == [] and kinds(bot, f"proposal:{n}") == []
    assert kinds(bot) == ["charter-adopted"]


async def test_comment_from_another_repository_is_ignored(bot: Bot) -> None:
    """A vote comment on an issue with the same number in another repository casts nothing."""
    n = await open_issue(bot, valid_body())
    await bot.advance(later(days=7, seconds=1))
    payload = bot.comment_payload("created", n, "/vote reject", "dmitri-borealis")
    payload["repository"]["full_name"] = "meridian-net/borealis"
    await deliver(bot, "issue_comment", payload)
    assert (await api(bot, n))["votes"] == []
    assert "vote-cast" not in kinds(bot)


def assert_inert(body: str) -> None:
    """Rendered user text cannot act: no raw HTML, no live mention, no command line."""
    visible = body.replace(MARKER, "")
    own_code = re.sub(r"(?<!\\)`[^`\n]*?(?<!\\)`", "", visible)  # the bot's `/resolve <name>`
    assert "<" not in own_code and ">" not in own_code, own_code
    assert not re.search(r"@everyone", visible), "a live mention"
    assert "@&#8203;everyone" in visible
    assert not [line for line in visible.splitlines() if line.lstrip().startswith("/")]
    assert not [p for p in parse_comment(body, issue=1) if isinstance(p, c.Command)]
    assert "`rm -rf /`" not in visible and "`$(id)`" not in visible  # no user code spans
    assert "\\`rm -rf /\\`" in visible


async def test_user_text_is_stored_as_typed_and_echoed_escaped(bot: Bot) -> None:
    """Hostile text in concerns and vote reasons is stored as typed (the API returns it) and
    shown escaped in the tracking comment: it renders literally and never acts."""
    n = await open_issue(bot, valid_body())
    await bot.advance(later(days=7, seconds=1))
    voters = ("alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus")
    for i, text in enumerate(CORPUS):
        await bot.comment(n, f"/concern c{i}: {text}", "emeka-cirrus")
    for login, text in zip(voters, CORPUS, strict=False):
        await bot.comment(n, f"/vote reject {text}", login)
    await bot.settle()

    view = await api(bot, n)
    assert [concern["text"] for concern in view["concerns"]] == list(CORPUS)
    reasons = {vote["voter"]: vote["reason"] for vote in view["votes"]}
    assert reasons == dict(zip(voters, CORPUS, strict=False))
    [tracking] = bot.tracking(n)
    assert_inert(tracking.body)
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in tracking.body
    verify(bot)


async def test_user_text_in_a_draft_is_echoed_escaped(bot: Bot) -> None:
    """An injected track name is kept as typed and echoed escaped in the draft's problems."""
    hostile = "@everyone <img src=x onerror=alert(1)> `rm -rf /` $(id)"
    body = valid_body(**{"### Track\n\nprotocol-change": f"### Track\n\n{hostile}"})
    n = await open_issue(bot, body)
    view = await api(bot, n)
    assert view["state"] == "draft" and view["track"] == hostile
    [tracking] = bot.tracking(n)
    [problem] = problems_shown(tracking.body)
    assert "is not a track of this charter" in problem
    assert_inert(tracking.body)
