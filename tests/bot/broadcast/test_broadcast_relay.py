"""The relay: fan-out, pacing against rate-limited stand-ins, failures, other kinds untouched."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.notify_plan import recipients
from bot.relay import CREDENTIALS_PAUSE, Relay
from bot.senders.discord import DiscordSender
from bot.senders.pacing import Limits, Pacer
from bot.senders.slack import SlackSender
from storage import deliveries, outbox
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow, SubscriptionRow
from storage.models.core import OutboxRow, ProposalRow
from tests.bot.broadcast.conftest import GRACE, SCALE
from tests.bot.broadcast.support import NOW, announce, charter, enqueue, subscribe
from tests.standins.ratelimited import RateLimitedStandIn

CHARTER = charter()
SLACK_MAIN, DISCORD_MAIN = "C0MERIDIAN1", "1180000000000000001"


@pytest.fixture
async def relay(sqlite_engine: Engine, chat: RateLimitedStandIn) -> AsyncIterator[Relay]:
    senders = {
        "slack": SlackSender("xoxb-test", chat.slack_url),
        "discord": DiscordSender("bot-token", chat.discord_url),
    }
    r = Relay(sqlite_engine, CHARTER, senders, pacer=Pacer(Limits().scaled(SCALE)))
    yield r
    for s in senders.values():
        await s.aclose()


def _statuses(engine: Engine) -> dict[str, list[str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(DeliveryRow)).all()
        found: dict[str, list[str]] = {}
        for r in rows:
            found.setdefault(r.destination, []).append(r.status)
        return found


async def test_every_matching_destination_gets_each_announcement_once(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """Three announcements × (charter channels + subscribed channels) each arrive exactly once,
    paced within Slack's per-channel limit (no 429 from the stand-in)."""
    for n in range(3):
        subscribe(sqlite_engine, "slack", f"CSUB{n}", kinds=["decision"])
    enqueue(sqlite_engine, *(announce("decision", proposal=n + 1, title=f"d{n}") for n in range(3)))
    subscribe(sqlite_engine, "discord", "D1")
    await relay.run_until_idle(20)
    for channel in (SLACK_MAIN, DISCORD_MAIN, "CSUB0", "CSUB1", "CSUB2", "D1"):
        texts = sorted(p.text.splitlines()[0] for p in chat.messages(channel))
        assert len(texts) == 3, channel
        assert len(set(texts)) == 3
    assert chat.rejected == {}
    # The charter's operators-mail channel has no e-mail sender here: skipped, not failed,
    # and nobody is told (it is this deployment's setup, not a delivery that went wrong).
    statuses = _statuses(sqlite_engine)
    assert statuses["email:operators@lists.meridian.example"] == ["skipped"] * 3
    assert relay.stats.skipped == 3 and relay.stats.failed == 0
    with session_scope(sqlite_engine) as session:
        assert not session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()


async def test_a_429_pauses_only_its_channel(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """A 429 with Retry-After on one Slack channel delays that channel by Retry-After; the
    other channels are delivered meanwhile, and the paused one is delivered afterwards."""
    for n in range(4):
        subscribe(sqlite_engine, "slack", f"C{n}", kinds=["vote"])
    chat.force_429("C0", 0.6)
    enqueue(sqlite_engine, announce("vote", proposal=1))
    start = time.monotonic()
    await relay.run_until_idle(20)
    arrived = {p.channel: p.at - start for p in chat.messages()}
    assert chat.rejected == {"C0": 1}
    assert arrived["C0"] >= 0.6
    assert max(arrived[c] for c in ("C1", "C2", "C3")) < 0.5
    assert relay.stats.rate_limited == 1


async def test_unpaced_burst_is_held_back_by_retry_after(
    sqlite_engine: Engine, chat: RateLimitedStandIn
) -> None:
    """Without our own pacing the stand-in answers 429; honouring Retry-After still delivers
    every message, in order, and never sooner than the stand-in allows."""
    slack = SlackSender("xoxb-test", chat.slack_url)
    relay = Relay(sqlite_engine, CHARTER, {"slack": slack}, pacer=Pacer(Limits({}, {})))
    subscribe(sqlite_engine, "slack", "CBURST", kinds=["vote"])
    enqueue(sqlite_engine, *(announce("vote", proposal=1, title=f"v{n}") for n in range(5)))
    await relay.run_until_idle(20)
    await slack.aclose()
    got = [p.text.splitlines()[0] for p in chat.messages("CBURST")]
    assert got == [f"*Vote: v{n}*" for n in range(5)]
    posts = chat.messages("CBURST")
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert min(gaps) >= 1.0 * SCALE - GRACE
    # Each 429 is followed by a wait of Retry-After, so the relay never hammers: at most one
    # refusal per message.
    assert 1 <= chat.rejected.get("CBURST", 0) <= 5


async def test_permanent_failure_stops_and_notifies_coordinators(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """channel_not_found is not retried: the delivery is failed with the error, and one
    ``notify`` item for the coordinators (naming the subscription) is queued; other
    destinations still get theirs."""
    sub = subscribe(sqlite_engine, "slack", "CGONE", kinds=["incident"])
    chat.gone("CGONE")
    enqueue(sqlite_engine, announce("incident", severity="sev2"))
    await relay.run_until_idle(20)
    with session_scope(sqlite_engine) as session:
        row = session.exec(
            select(DeliveryRow).where(DeliveryRow.destination == "slack:CGONE")
        ).one()
        assert (row.status, row.attempts) == ("failed", 1)
        assert "channel_not_found" in (row.last_error or "")
        notes = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        texts = [json.loads(n.payload) for n in notes]
    named = f"subscription #{sub} (slack)"
    assert any(t["roles"] == ["coordinators"] and named in t["text"] for t in texts)
    assert len(chat.messages(SLACK_MAIN)) == 1 and chat.messages("CGONE") == []


async def test_a_subscription_that_keeps_failing_is_removed_and_the_coordinators_told(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """A deleted channel fails three announcements in a row: the third notice says the
    subscription was removed, and the next announcement is not tried there at all."""
    sub = subscribe(sqlite_engine, "slack", "CGONE", kinds=["incident"])
    chat.gone("CGONE")
    for n in range(3):
        enqueue(sqlite_engine, announce("incident", severity="sev2", title=f"i{n}"))
        await relay.run_until_idle(20)
    enqueue(sqlite_engine, announce("incident", severity="sev2", title="after"))
    await relay.run_until_idle(20)
    with session_scope(sqlite_engine) as session:
        tried = session.exec(
            select(DeliveryRow).where(DeliveryRow.destination == "slack:CGONE")
        ).all()
        notes = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        texts = [json.loads(n.payload)["text"] for n in notes if "CGONE" not in n.payload]
    assert len(tried) == 3
    removed = [t for t in texts if f"Subscription #{sub} was removed" in t]
    assert len(removed) == 1 and "3 deliveries in a row" in removed[0]


async def test_a_platform_the_bot_cannot_reach_removes_no_subscription(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """A subscription on a platform this relay has no sender for is skipped as "not
    configured": the bot's setup, not the destination, so it stays however often that
    happens."""
    sub = subscribe(sqlite_engine, "telegram", "42", kinds=["incident"])
    for n in range(4):
        enqueue(sqlite_engine, announce("incident", severity="sev2", title=f"i{n}"))
        await relay.run_until_idle(20)
    with session_scope(sqlite_engine) as session:
        statuses = session.exec(
            select(DeliveryRow.status).where(DeliveryRow.destination == "telegram:42")
        ).all()
        assert session.get(SubscriptionRow, sub) is not None
    assert list(statuses) == ["skipped"] * 4


async def test_a_charter_without_roles_still_hears_of_a_permanent_failure(
    sqlite_engine: Engine, chat: RateLimitedStandIn
) -> None:
    """With no roles in the charter the failure notice names ``coordinators`` (delivered to the
    fallback channel as an empty role), not an empty role list the notify relay must refuse."""
    senders = {"slack": SlackSender("xoxb-test", chat.slack_url)}
    bare = CHARTER.model_copy(update={"roles": {}})
    relay = Relay(sqlite_engine, bare, senders, pacer=Pacer(Limits().scaled(SCALE)))
    try:
        sub = subscribe(sqlite_engine, "slack", "CGONE", kinds=["incident"])
        chat.gone("CGONE")
        enqueue(sqlite_engine, announce("incident", severity="sev2"))
        await relay.run_until_idle(20)
    finally:
        await senders["slack"].aclose()
    with session_scope(sqlite_engine) as session:
        notes = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        payloads = [json.loads(n.payload) for n in notes]
    # slack:CGONE refused: one notice. Discord and e-mail have no sender here: skipped, and
    # not worth a notice.
    named = [p["text"].removeprefix("Delivery to ").split(" failed ")[0] for p in payloads]
    assert named == [f"subscription #{sub} (slack)"]
    for payload in payloads:
        assert payload["roles"] == ["coordinators"]
        assert recipients("notify", payload, bare).empty_roles == ("coordinators",)


async def test_other_outbox_kinds_are_left_alone(sqlite_engine: Engine, relay: Relay) -> None:
    """Items the GitHub relay owns (sync, comment, notify) stay pending and untouched."""
    with session_scope(sqlite_engine) as session:
        for kind in ("sync-github", "comment", "notify", "labels"):
            outbox.enqueue(session, kind=kind, payload={"proposal": 1}, now=NOW)
    await relay.run_until_idle(5)
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(OutboxRow)).all()
        assert {(r.kind, r.status) for r in rows} == {
            ("sync-github", "pending"),
            ("comment", "pending"),
            ("notify", "pending"),
            ("labels", "pending"),
        }
        assert deliveries.listing(session, include_sent=True) == []


async def test_confidential_waits_for_disclosure(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """A security-patch decision reaches only the private council channel; after the proposal
    is disclosed, the next announcement reaches the public channels too."""
    subscribe(sqlite_engine, "slack", "G0COUNCIL01", kinds=["decision"])
    subscribe(sqlite_engine, "slack", "CPUBLIC", kinds=["decision"])
    secret = announce("decision", proposal=12, track="security-patch", confidential=True)
    enqueue(sqlite_engine, secret)
    await relay.run_until_idle(10)
    assert {p.channel for p in chat.messages()} == {"G0COUNCIL01"}
    with session_scope(sqlite_engine) as session:
        session.add(
            ProposalRow(
                number=12,
                title="x",
                author="a",
                track="security-patch",
                state="accepted",
                confidential=True,
                disclosed=True,
                created_at=NOW,
                updated_at=NOW,
                data="{}",
            )
        )
    enqueue(sqlite_engine, secret)
    await relay.run_until_idle(10)
    assert {p.channel for p in chat.messages()} >= {"CPUBLIC", SLACK_MAIN, DISCORD_MAIN}


async def test_digest_subscribers_get_one_message_for_the_day(
    sqlite_engine: Engine, chat: RateLimitedStandIn, relay: Relay
) -> None:
    """Digest subscriptions queue announcements and get one message listing them once the
    local digest time passes; nothing is sent to them per event."""
    from datetime import timedelta

    from bot.clock import FixedClock

    clock = FixedClock(NOW)
    relay.clock = clock
    subscribe(sqlite_engine, "slack", "CDIGEST", digest_at="10:00", lang="es")
    enqueue(sqlite_engine, announce("decision", title="uno"), announce("rollout", title="dos"))
    await relay.run_until_idle(10)
    assert chat.messages("CDIGEST") == []
    clock.advance(timedelta(hours=1, minutes=1))  # 10:01 UTC
    await relay.run_until_idle(10)
    (digest,) = chat.messages("CDIGEST")
    assert "Resumen diario" in digest.text and "uno" in digest.text and "dos" in digest.text
    clock.advance(timedelta(hours=1))
    await relay.run_until_idle(10)
    assert len(chat.messages("CDIGEST")) == 1


@pytest.mark.parametrize(("platform", "main"), [("slack", SLACK_MAIN), ("discord", DISCORD_MAIN)])
async def test_refused_credentials_pause_the_platform_and_lose_nothing(
    sqlite_engine: Engine, chat: RateLimitedStandIn, platform: str, main: str
) -> None:
    """A revoked token is tried once, not once per delivery: the platform is held for
    ``CREDENTIALS_PAUSE`` with its deliveries pending (attempts kept), the coordinators are told
    once, other platforms go on, and once the token works again everything is delivered."""
    clock = FixedClock(NOW)
    senders = {
        "slack": SlackSender("xoxb-test", chat.slack_url),
        "discord": DiscordSender("bot-token", chat.discord_url),
    }
    relay = Relay(sqlite_engine, CHARTER, senders, pacer=Pacer(Limits().scaled(SCALE)), clock=clock)
    try:
        chat.revoke(platform)
        enqueue(sqlite_engine, *(announce("decision", title=f"d{i}") for i in range(3)))
        for _ in range(3):
            await relay.step()
        assert chat.refused == {platform: 1}
        statuses = _statuses(sqlite_engine)
        held = [s for d, ss in statuses.items() if d.startswith(platform) for s in ss]
        assert held == ["pending"] * 3
        other = "discord" if platform == "slack" else "slack"
        assert all(s == "sent" for d, ss in statuses.items() if d.startswith(other) for s in ss)
        with session_scope(sqlite_engine) as session:
            notes = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
            texts = [json.loads(n.payload)["text"] for n in notes]
            rows = session.exec(select(DeliveryRow)).all()
            assert [r.attempts for r in rows if r.platform == platform] == [0, 0, 0]
        refused = [t for t in texts if "refused charterbot's credentials" in t]
        assert len(refused) == 1 and refused[0].startswith(f"{platform} refused")
        chat.revoke(platform, revoked=False)
        clock.advance(CREDENTIALS_PAUSE + timedelta(minutes=1))
        await relay.run_until_idle(20)
        assert len(chat.messages(main)) == 3
    finally:
        for s in senders.values():
            await s.aclose()
