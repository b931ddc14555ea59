"""Feedback requests on a proposal's dashboard page: the open ones and the answered ones (who,
asked by whom and when, the note, when and how answered), every part escaped; nothing when
none was asked; and nothing of an undisclosed confidential proposal, whose page is not found,
until it is disclosed (as its concerns)."""

from __future__ import annotations

import re

import httpx

from bot.messages import Actor, plain_text
from bot.runtime import Runtime
from charter.feedback import FeedbackRequest
from storage import feedback as feedback_store
from storage.db import session_scope
from tests.bot.web.conftest import NOW

NOTE = "<script>alert(1)</script> & the gas math"


def run(rt: Runtime, login: str, text: str) -> str:
    message = rt.gov.run_sync(text, Actor(login, "console", login), now=rt.clock.now())
    said = plain_text(message)
    assert message.ok, f"{login}: {text} -> {said}"
    return said


def _items(html: str) -> list[str]:
    """The feedback list's items, as text (tags dropped, entities kept)."""
    found = re.search(r'<ul class="feedback" data-testid="feedback">(.*?)</ul>', html, re.S)
    assert found is not None, "no feedback list"
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", i).split()) for i in items]


async def test_open_and_answered_requests_are_listed(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    run(seeded, "carmen-borealis", f"feedback 6 @emeka-cirrus @zoe-contrib: {NOTE}")
    run(seeded, "emeka-cirrus", "vote 6 approve")  # answers emeka's request
    html = (await client.get("/proposals/6")).text
    at = NOW.strftime("%Y-%m-%d %H:%M UTC")
    escaped = "“&lt;script&gt;alert(1)&lt;/script&gt; &amp; the gas math”"
    assert _items(html) == [
        f"answered emeka-cirrus (asked by carmen-borealis, {at}): {escaped}"
        f" — answered by vote, {at}",
        f"open zoe-contrib (asked by carmen-borealis, {at}): {escaped}",
    ]
    assert "<script>alert" not in html


async def test_logins_are_escaped_too(seeded: Runtime, client: httpx.AsyncClient) -> None:
    """Logins come from user input: one that is markup (stored by whatever path) is text."""
    odd = FeedbackRequest(6, "<b>eve</b>", "<i>mallory</i>", NOW)
    with session_scope(seeded.engine) as session:
        feedback_store.save(session, [odd])
    html = (await client.get("/proposals/6")).text
    assert "<b>eve</b>" not in html and "<i>mallory</i>" not in html
    assert _items(html)[0].startswith(
        "open &lt;b&gt;eve&lt;/b&gt; (asked by &lt;i&gt;mallory&lt;/i&gt;,"
    )


async def test_nothing_asked_shows_no_list(client: httpx.AsyncClient) -> None:
    html = (await client.get("/proposals/6")).text
    assert 'id="concerns"' in html
    assert "Feedback requests" not in html and 'data-testid="feedback"' not in html


async def test_a_decided_proposal_says_unanswered_not_open(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    run(seeded, "carmen-borealis", "feedback 8 @zoe-contrib")
    run(seeded, "jonas-coord", "withdraw 8")
    html = (await client.get("/proposals/8")).text
    assert _items(html)[0].startswith("unanswered zoe-contrib (asked by carmen-borealis,")


async def test_a_confidential_proposal_shows_them_only_once_disclosed(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    run(seeded, "lena-sec", "feedback 9 @alice-aurora: embargoed gossip fix, please review")
    hidden = await client.get("/proposals/9")
    assert hidden.status_code == 404
    assert "embargoed gossip fix" not in hidden.text and "alice-aurora" not in hidden.text
    run(seeded, "kofi-sec", "disclose 9")
    shown = await client.get("/proposals/9")
    assert shown.status_code == 200
    at = NOW.strftime("%Y-%m-%d %H:%M UTC")
    assert _items(shown.text) == [
        f"open alice-aurora (asked by lena-sec, {at}): “embargoed gossip fix, please review”"
    ]
