"""Announcements about a proposal carry what subscriptions filter on: its affected clients and
its GitHub labels (kept up to date from issue events, without the bot's own state labels).

Without them ``label X`` matched nothing, ``not label X`` excluded nothing and ``client X``
received every proposal's announcements.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.relay_fanout import announcement
from charter.effects import Announce
from charter.subscriptions import Subscription, matches
from storage.db import read_scope
from storage.models.core import OutboxRow
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

AURORA_ONLY = valid_body(
    **{
        "- [X] borealis": "- [ ] borealis",
        "- [X] cirrus": "- [ ] cirrus",
        "- [X] dorado": "- [ ] dorado",
        "- [X] eridanus": "- [ ] eridanus",
    }
)


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github)
    yield b
    await b.close()


def _labelled(payload: dict[str, Any], *names: str) -> dict[str, Any]:
    payload["issue"]["labels"] = [
        {"name": n, "id": i, "color": "ededed"} for i, n in enumerate(names)
    ]
    return payload


async def _open(bot: Bot, body: str, *labels: str) -> int:
    number = bot.standin.store.add_issue("A change", body, "alice-aurora", labels).number
    payload = _labelled(bot.issue_payload("opened", number, body), *labels)
    assert (await bot.post("issues", payload)).status_code == 202
    await bot.settle()
    return number


def _announcements(bot: Bot, number: int) -> list[Announce]:
    with read_scope(bot.rt.engine) as session:
        query = select(OutboxRow.payload).where(OutboxRow.kind == "announce")
        found = [announcement(json.loads(text)) for text in session.exec(query).all()]
    return [a for a in found if a.proposal == number]


async def test_announcements_carry_the_proposals_clients_and_labels(bot: Bot) -> None:
    n = await _open(bot, AURORA_ONLY, "upgrade-proposal", "hardfork", "charter:draft")
    [opened] = _announcements(bot, n)
    assert opened.clients == ("aurora",)
    assert opened.data["labels"] == ["hardfork", "upgrade-proposal"]  # no charter:* state label

    labelled = _labelled(
        bot.issue_payload("labeled", n, AURORA_ONLY), "upgrade-proposal", "hardfork", "networking"
    )
    assert (await bot.post("issues", labelled)).status_code == 202
    await bot.settle()
    await bot.advance(later(days=7, seconds=1))  # voting opens: a second announcement
    latest = _announcements(bot, n)[-1]
    assert latest.kind != opened.kind
    assert latest.data["labels"] == ["hardfork", "networking", "upgrade-proposal"]

    charter = bot.gov.charter
    wants = {
        "label networking": Subscription(1, "slack", "C1", labels=("networking",)),
        "not label hardfork": Subscription(2, "slack", "C2", not_labels=("hardfork",)),
        "client aurora": Subscription(3, "slack", "C3", clients=("aurora",)),
        "client borealis": Subscription(4, "slack", "C4", clients=("borealis",)),
    }
    got = {name: matches(sub, latest, charter) for name, sub in wants.items()}
    assert got == {
        "label networking": True,
        "not label hardfork": False,
        "client aurora": True,
        "client borealis": False,
    }


async def test_a_proposal_naming_no_client_concerns_every_client(bot: Bot) -> None:
    no_clients = valid_body(
        **{
            f"- [X] {c}": f"- [ ] {c}"
            for c in ("aurora", "borealis", "cirrus", "dorado", "eridanus")
        },
        **{"### Track\n\nprotocol-change": "### Track\n\nfeature-flag"},
    )
    n = await _open(bot, no_clients, "upgrade-proposal")
    [opened] = _announcements(bot, n)
    assert opened.clients == ()
    sub = Subscription(1, "slack", "C1", clients=("borealis",))
    assert matches(sub, opened, bot.gov.charter)
