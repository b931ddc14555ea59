"""Incidents about a confidential, undisclosed proposal stay private: their announcements
(declared, raised, resolved) reach private channels only, and the post-incident review is sent
there instead of being drafted as a public GitHub issue. Disclosure releases them as usual."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from bot.relay_fanout import announcement
from charter.subscriptions import recipients
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, World, form
from tests.bot.rollouts.test_rollout_commands import decide

PUBLIC = ["core-discord", "upgrades-slack", "operators-mail"]


def _channels(world: World, a: dict[str, Any]) -> list[str | None]:
    return [d.channel for d in recipients(announcement(a), world.gov.charter, [])]


def _incident_news(world: World) -> list[dict[str, Any]]:
    return [a for a in world.outbox("announce") if a["kind"] == "incident"]


@pytest.mark.parametrize(
    ("declare", "secret"),
    [
        ('incident declare sev1 "exploit seen on testnet" for 2', True),  # names the patch
        # holds it by its client: the incident stays public (test_incident_client_embargo)
        ('incident declare sev1 "exploit seen on testnet" clients aurora', False),
        ('incident declare sev3 "odd logs" clients aurora', False),  # neither names nor pauses it
        ('incident declare sev1 "exploit seen on testnet" for 1', False),  # a public proposal
    ],
    ids=["names-the-secret", "holds-it-by-its-client", "leaves-it-alone", "public-only"],
)
def test_an_incident_about_an_undisclosed_patch_is_private(
    sqlite_engine: Engine, declare: str, secret: bool
) -> None:
    world = World(sqlite_engine)
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):  # both rollouts start: staging reports make them active
        world.ok(COORDINATOR, f"rollout {n}")
    world.ok(COUNCIL, declare)
    world.ok(COUNCIL, "incident severity sev2 contained")
    world.ok(COUNCIL, "incident resolve patched")
    news = _incident_news(world)
    assert len(news) >= 3
    reviews = world.outbox("create-issue")
    if secret:
        public = [a["title"] for a in news if not a["confidential"] or _channels(world, a)]
        assert public == []
        assert reviews == []
        assert any(a["title"].startswith("Post-incident review") for a in news)
    else:
        assert all(_channels(world, a) == PUBLIC for a in news)
        assert all(not a["title"].startswith("Post-incident review") for a in news)


def test_disclosure_releases_what_was_held(sqlite_engine: Engine) -> None:
    """Held announcements name the proposal, so once it is disclosed the same kind of news
    reaches every channel (fan-out checks disclosure when it routes)."""
    world = World(sqlite_engine)
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "disclose 2")
    world.ok(COUNCIL, 'incident declare sev3 "exploit write-up published" for 2')
    (news,) = _incident_news(world)
    assert not news["confidential"] and _channels(world, news) == PUBLIC


def test_a_public_rollout_paused_by_a_confidential_incident_does_not_quote_it(
    sqlite_engine: Engine,
) -> None:
    """The public '#1 rollout paused' says 'a confidential incident', not its summary, while the
    incident also names an undisclosed patch; an ordinary incident is quoted as before."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")
    world.ok(COUNCIL, 'incident declare sev1 "embargoed gossip exploit" for 2 clients aurora')
    (paused,) = [a for a in world.announced("#1 rollout paused")]
    assert not paused["confidential"] and _channels(world, paused) == PUBLIC
    assert "embargoed gossip exploit" not in paused["text"]
    assert "a confidential incident (sev1)" in paused["text"]
    world.ok(COUNCIL, "incident resolve patched")
    world.ok(COUNCIL, 'incident declare sev1 "aurora forks on canary" for 1')
    quoted = [a for a in world.announced("#1 rollout paused")][-1]
    assert "incident 2 (sev1): aurora forks on canary" in quoted["text"]
