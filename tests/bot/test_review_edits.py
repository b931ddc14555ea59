"""Issue edits once a proposal has left draft, end to end (rules: charter.edits.edit_form).

Signed ``issues`` deliveries built from the real payloads in shared/fixtures go into the running
app; replies are read back from the GitHub stand-in, as a reader on GitHub would see them.
START is 2026-11-27T12:00Z; protocol-change: 7d review + 5d voting + 21d after the decision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.bot.test_github_intake import api, deliver, edit_body, open_issue, unescape, verify
from tests.standins.github_server import GitHubStandin

FEATURE_FLAG_EARLY = valid_body(
    **{
        "### Track\n\nprotocol-change": "### Track\n\nfeature-flag",
        "2027-03-04T14:00Z": "2026-12-01T09:00Z",
    }
)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def replies(bot: Bot, n: int) -> list[str]:
    """The bot's answers to alice on the issue, as a reader sees them."""
    return [unescape(c.body) for c in bot.issue_comments(n) if c.body.startswith("@alice-aurora")]


def refusals(bot: Bot, n: int) -> list[dict[str, str]]:
    with session_scope(bot.rt.engine) as session:
        found = audit_query.entries(session, kind="command-refused", subject=f"proposal:{n}")
        return [audit.payload_of(e.payload) for e in found]


async def test_a_track_change_in_review_is_refused_and_the_rules_stay(bot: Bot) -> None:
    """The reported exploit: a protocol-change proposal edited in review to feature-flag with an
    activation before its decision keeps its track, activation and 7-day review; the editor is
    told to withdraw and re-file; the refusal is audited; the tracking comment stays."""
    n = await open_issue(bot, valid_body())
    before = await api(bot, n)
    await bot.advance(later(hours=1))
    await edit_body(bot, n, FEATURE_FLAG_EARLY, before=valid_body())

    after = await api(bot, n)
    assert after["state"] == "review" and after["track"] == "protocol-change"
    assert after["fields"] == before["fields"] and after["deadlines"] == before["deadlines"]
    [reply] = replies(bot, n)
    assert "its track stays protocol-change" in reply and "/withdraw" in reply
    assert [r["command"] for r in refusals(bot, n)] == ["edit"]
    await bot.advance(later(days=2, hours=1))
    assert (await api(bot, n))["state"] == "review", "review still lasts 7 days"
    verify(bot)


async def test_an_invalid_edit_in_review_keeps_the_fields_and_lists_the_problems(
    bot: Bot,
) -> None:
    """An edit in review with problems keeps the previous fields; the reply lists each problem,
    and the proposal stays in review (the tracking comment shows no draft problems)."""
    n = await open_issue(bot, valid_body())
    fields = (await api(bot, n))["fields"]
    await bot.advance(later(hours=1))
    wrong = valid_body(**{"2027-03-04T14:00Z": "2026-12-20T14:00Z", "- [X] eridanus": ""})
    wrong = wrong.replace("### Risk impact\n\n4", "### Risk impact\n\n9")
    await edit_body(bot, n, wrong, before=valid_body())

    view = await api(bot, n)
    assert view["state"] == "review" and view["fields"] == fields
    assert view["intake_problems"] == []
    [reply] = replies(bot, n)
    assert "This edit of #1 was not applied" in reply
    assert "Risk impact must be a whole number from 1 to 5; got '9'." in reply
    assert "the earliest acceptable target is 2026-12-30T12:00Z" in reply
    assert "stays a draft" not in bot.tracking(n)[0].body


async def test_a_refused_edit_is_answered_once(bot: Bot) -> None:
    """A label added later carries the same refused body: it is not judged (or answered) again.
    A new edit is judged afresh."""
    n = await open_issue(bot, valid_body())
    await edit_body(bot, n, FEATURE_FLAG_EARLY, before=valid_body())
    await bot.advance(later(seconds=60))
    await deliver(bot, "issues", bot.issue_payload("labeled", n, FEATURE_FLAG_EARLY))
    assert len(replies(bot, n)) == 1
    await bot.advance(later(seconds=60))
    await edit_body(bot, n, valid_body(**{"2027-03-04T14:00Z": "soon"}), FEATURE_FLAG_EARLY)
    assert len(replies(bot, n)) == 2


async def test_a_valid_edit_in_review_is_taken_and_audited(bot: Bot) -> None:
    """A valid edit in review replaces the fields; the audit names the fields and the editor."""
    n = await open_issue(bot, valid_body())
    await bot.advance(later(hours=1))
    moved = valid_body(**{"2027-03-04T14:00Z": "2027-04-01T14:00Z", "- [X] eridanus": ""})
    await edit_body(bot, n, moved, before=valid_body())

    fields = (await api(bot, n))["fields"]
    assert fields["activation"] == "2027-04-01T14:00Z" and "eridanus" not in fields["clients"]
    assert replies(bot, n) == []
    with session_scope(bot.rt.engine) as session:
        [entry] = audit_query.entries(session, kind="proposal-edited-in-review")
        payload = audit.payload_of(entry.payload)
    assert payload == {"changed": ["activation", "clients"], "by": "alice-aurora"}
    verify(bot)


async def test_an_edit_in_voting_changes_nothing_that_is_voted_on(bot: Bot) -> None:
    """Unchanged from before: once voting opened, neither track nor fields follow the issue."""
    n = await open_issue(bot, valid_body())
    await bot.advance(later(days=7, seconds=1))
    before = await api(bot, n)
    await edit_body(bot, n, FEATURE_FLAG_EARLY, before=valid_body())
    after = await api(bot, n)
    assert (after["track"], after["fields"]) == (before["track"], before["fields"])
    assert after["deadlines"] == before["deadlines"]
