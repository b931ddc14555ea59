"""A rollout whose proposal is final (rolled back from every stage) never advances again: the
dashboard, the overview and chat say so, show no next stage or gates, and list it with the
finished rollouts; the overview counts proposals in every state, rolled-back included."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from bot.identity import Actor
from bot.messages import plain_text
from bot.rollout_lifecycle import start_rollout
from bot.rollout_views import next_stage, rollout_message
from bot.runtime import Runtime
from bot.web import fast_views
from charter.lifecycle import State
from storage import dashboard_queries as q, proposals as repo, rollouts as store
from storage.db import read_scope, session_scope
from tests.bot.web.conftest import NOW

COORDINATOR = Actor(
    login="jonas-coord", surface="console", surface_id="jonas-coord", display="jonas-coord"
)
ROLLBACKS = (
    'rollback 1 "bad canary"',
    'rollback 1 "again"',
    'rollback 1 aurora borealis cirrus dorado "final"',
)


def roll_back_everything(rt: Runtime) -> None:
    """Roll #1 back from every stage, as the console would (its proposal becomes rolled-back)."""
    for text in ROLLBACKS:
        message = rt.gov.run_sync(text, COORDINATOR, now=NOW)
        assert message.ok, plain_text(message)
    with read_scope(rt.engine) as session:
        stored = repo.load(session, 1)
    assert stored is not None and stored.proposal.state is State.ROLLED_BACK


def section(html: str, number: int) -> str:
    start = html.index(f'id="rollout-{number}"')
    return html[start : html.index("</section>", start)]


async def test_rolled_back_rollout_shows_final_without_next_stage(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    roll_back_everything(seeded)
    card = section((await client.get("/rollouts")).text, 1)
    assert "Rolled back — final" in card
    assert "next:" not in card and "can advance" not in card and "blocked" not in card
    assert "Gates for" not in card and "require_ready" not in card
    page = (await client.get("/proposals/1")).text
    assert "Rolled back — final" in page and "Gates for" not in page


def test_rolled_back_view_cannot_advance(seeded: Runtime) -> None:
    roll_back_everything(seeded)
    views, _, _ = fast_views.rollouts_page(seeded.gov, NOW, 1)
    view = next(v for v in views if v["proposal"] == 1)
    assert view["final"] is True
    assert view["next_stage"] is None and view["can_advance"] is False and view["gates"] == []
    text = plain_text(rollout_message(view))
    assert "Rolled back — final" in text and "Gates for" not in text
    with read_scope(seeded.engine) as session:
        rollout = store.load_rollout(session, 1, seeded.gov.charter)
    assert rollout is not None
    assert next_stage(rollout, seeded.gov.charter) == "staging"
    assert next_stage(rollout, seeded.gov.charter, "rolled-back") is None


def test_chat_rollout_says_final(seeded: Runtime) -> None:
    roll_back_everything(seeded)
    text = plain_text(seeded.gov.run_sync("rollout 1", COORDINATOR, now=NOW))
    assert "Rolled back — final" in text and "Gates for" not in text


def test_final_rollout_sorts_with_finished_ones(seeded: Runtime) -> None:
    """A rollout of a final proposal comes after the unfinished ones, whatever its number."""
    with session_scope(seeded.engine) as session:
        stored = repo.load(session, 3)
        assert stored is not None
        final = replace(stored, proposal=replace(stored.proposal, state=State.ROLLED_BACK))
        repo.save(session, final, seeded.gov.charter, NOW)
        start_rollout(seeded.gov, session, final, NOW)
    views, total, _ = fast_views.rollouts_page(seeded.gov, NOW, 1)
    assert [v["proposal"] for v in views] == [2, 1, 3] and total == 3
    assert views[-1]["next_stage"] is None and views[-1]["final"] is True
    first, _, _ = fast_views.rollouts_page(seeded.gov, NOW, 1, size=2)
    assert [v["proposal"] for v in first] == [2, 1]


@pytest.mark.parametrize("rolled_back", [False, True])
async def test_overview_counts_every_state(
    seeded: Runtime, client: httpx.AsyncClient, rolled_back: bool
) -> None:
    """The overview lists a count for each state that has one, in the lifecycle's order."""
    if rolled_back:
        roll_back_everything(seeded)
    html = (await client.get("/")).text
    found = re.search(r'<ul class="counts"[^>]*>(.*?)</ul>', html, re.S)
    assert found is not None
    shown = re.findall(r'href="/proposals\?state=([a-z-]+)"', found.group(1))
    with read_scope(seeded.engine) as session:
        counts = q.state_counts(session)
    assert shown == [s.value for s in State if counts.get(s.value)]
    assert ("rolled-back" in shown) is rolled_back
