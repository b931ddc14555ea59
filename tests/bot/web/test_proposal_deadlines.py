"""After a decision or a withdrawal, the deadlines after that moment are not shown as upcoming:
the proposal page says "not reached", chat leaves them out, and the read API keeps returning
every computed deadline as its document describes."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.chat_views import proposal_message
from bot.messages import plain_text
from bot.runtime import Runtime
from storage import proposals as repo
from storage.db import read_scope
from tests.bot.web.conftest import NOW

WITHDRAWN, REJECTED, ACCEPTED, VOTING = 4, 3, 2, 6  # the demo campaign's proposals
LAZY = "Lazy consensus until"


def deadlines(html: str) -> dict[str, str]:
    found = re.search(r'<dl class="deadlines">(.*?)</dl>', html, re.S)
    assert found is not None
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", found.group(1), re.S)
    return {label: text for label, text in pairs}


@pytest.mark.parametrize(
    ("number", "unreached", "reached"),
    [
        (
            WITHDRAWN,
            {"Review ends", "Voting opens", "Voting closes", "Lazy consensus until"},
            set(),
        ),
        (REJECTED, {"Voting closes"}, {"Review ends", "Voting opens"}),
        (ACCEPTED, {"Voting closes", LAZY}, {"Review ends", "Voting opens"}),
    ],
)
async def test_deadlines_after_the_decision_are_not_reached(
    client: httpx.AsyncClient, number: int, unreached: set[str], reached: set[str]
) -> None:
    shown = deadlines((await client.get(f"/proposals/{number}")).text)
    assert set(shown) == unreached | reached
    for label in unreached:
        assert shown[label].startswith("not reached") and " ago)" not in shown[label]
        assert "in " not in shown[label].split("(")[0]
    for label in reached:
        assert "not reached" not in shown[label] and "<time" in shown[label]


async def test_open_proposal_shows_upcoming_deadlines(client: httpx.AsyncClient) -> None:
    shown = deadlines((await client.get(f"/proposals/{VOTING}")).text)
    assert "not reached" not in " ".join(shown.values())
    assert "(in " in shown["Voting closes"]


async def test_api_keeps_every_deadline(client: httpx.AsyncClient) -> None:
    """The API's documented deadlines are the computed ones, decision or not."""
    body = (await client.get(f"/api/proposals/{WITHDRAWN}")).json()
    assert body["deadlines"]["voting_closes"] == "2026-11-14T09:00:00Z"
    assert "unreached" not in body


@pytest.mark.parametrize("number", [WITHDRAWN, REJECTED])
def test_chat_leaves_out_deadlines_never_reached(seeded: Runtime, number: int) -> None:
    with read_scope(seeded.engine) as session:
        stored = repo.load(session, number)
    assert stored is not None
    text = plain_text(proposal_message(stored, seeded.gov.charter, NOW))
    assert "Voting closes" not in text
    assert ("Review ends" in text) is (number == REJECTED)
