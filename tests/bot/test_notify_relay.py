"""The notify relay: private messages to linked people, fallback mentions, crash safety.

Slack traffic goes to the rate-limited stand-in (``chat.postMessage``: a ``U…`` channel is
the app's DM with that user), Discord traffic to the Discord REST stand-in extended with the
DM route (``POST /users/@me/channels``) — both speak the platforms' wire formats; the relay
uses the real senders and pacer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.notify_plan import failure_audience, fallback_channels
from bot.notify_relay import NO_PRIVATE_CHANNEL, NotifyRelay
from bot.senders.base import Envelope, Sender, SendResult
from bot.senders.discord import DiscordSender
from bot.senders.pacing import Limits, Pacer
from bot.senders.slack import SlackSender
from charter.load import load_charter
from charter.model import Channel, Charter
from storage import identities, outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from storage.models.notify import NotifyDeliveryRow
from tests.paths import reference_charter_text
from tests.standins.discord_server import DiscordStandIn, Recorded, _json, _user
from tests.standins.ratelimited import RateLimitedStandIn

SCALE = 0.05  # stand-in and pacer at 1/20 of the platforms' intervals (as the broadcast tests)
BASE = load_charter(reference_charter_text(), "reference-charter.yaml").charter
COORDS = ("ana", "bo", "cyrus-unlinked")
SLACK_PUBLIC, DISCORD_PUBLIC = "C0MERIDIAN1", "1180000000000000001"  # announce: incident
# Fallbacks go to private channels only: the reference charter's council channel, and a private
# Discord channel added here; both carry incidents too.
SLACK_FALLBACK, DISCORD_FALLBACK = "G0COUNCIL01", "1180000000000000099"
CHARTER: Charter = BASE.model_copy(
    update={
        "roles": {**BASE.roles, "coordinators": COORDS},
        "channels": {
            **BASE.channels,
            "council-discord": Channel(discord=DISCORD_FALLBACK, private=True),
        },
        "announce": {
            **BASE.announce,
            "incident": (*BASE.announce["incident"], "council-private", "council-discord"),
        },
    }
)
ANA_SLACK, BO_DISCORD = "U0ANA", "4242"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def dm_channel(user: str) -> str:
    return f"77{user}"


@dataclass
class DmDiscord(DiscordStandIn):
    """The Discord stand-in plus DM channels; ``refused`` users do not accept DMs (403)."""

    refused: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (channel, content)
    revoked: bool = False  # the bot's token is refused: every call is 401
    unauthorized: int = 0  # calls answered 401

    def _answer(self, r: Recorded) -> web.Response:
        if self.revoked:
            self.unauthorized += 1
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        parts = r.path.strip("/").split("/")
        if r.method == "POST" and r.path == "/users/@me/channels":
            user = str((r.json or {}).get("recipient_id"))
            return _json({"id": dm_channel(user), "type": 1, "recipients": [_user(user, "x")]})
        if r.method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            if parts[1] in {dm_channel(u) for u in self.refused}:
                return _json({"message": "Cannot send messages to this user", "code": 50007}, 403)
            if parts[1] in self.gone:
                return _json({"message": "Unknown Channel", "code": 10003}, 404)
            self.delivered.append((parts[1], str((r.json or {}).get("content"))))
        return super()._answer(r)

    def posts(self, channel: str) -> list[str]:
        """What was delivered to ``channel`` (refused attempts are only in ``requests``)."""
        return [content for ch, content in self.delivered if ch == channel]


@dataclass
class World:
    engine: Engine
    slack: RateLimitedStandIn
    discord: DmDiscord
    senders: dict[str, Sender]
    clock: FixedClock

    def relay(
        self, senders: dict[str, Sender] | None = None, charter: Charter = CHARTER
    ) -> NotifyRelay:
        pacer = Pacer(Limits().scaled(SCALE))
        return NotifyRelay(
            self.engine,
            charter,
            senders or self.senders,
            pacer=pacer,
            clock=self.clock,
            rate_wait_limit=5.0 * SCALE,
        )

    def slack_posts(self, channel: str) -> list[str]:
        return [p.text for p in self.slack.messages(channel)]


async def _world(engine: Engine) -> AsyncIterator[World]:
    slack = RateLimitedStandIn(slack_interval=SCALE, discord_rate=(50, SCALE), grace=0.015)
    await slack.start()
    discord = DmDiscord()
    await discord.start()
    senders: dict[str, Sender] = {
        "slack": SlackSender("xoxb-test", slack.slack_url),
        "discord": DiscordSender("bot-token", discord.api_url),
    }
    link(engine, "slack", ANA_SLACK, "ana")
    link(engine, "discord", BO_DISCORD, "bo")
    yield World(engine, slack, discord, senders, FixedClock(NOW))
    for s in senders.values():
        await s.aclose()
    await discord.stop()
    await slack.stop()


@pytest.fixture
async def world(sqlite_engine: Engine) -> AsyncIterator[World]:
    async for w in _world(sqlite_engine):
        yield w


@pytest.fixture
async def both(engine: Engine) -> AsyncIterator[World]:
    """The same world on SQLite and on PostgreSQL."""
    async for w in _world(engine):
        yield w


def link(engine: Engine, surface: str, surface_id: str, login: str) -> None:
    with session_scope(engine) as session:
        identities.link(
            session, surface=surface, surface_id=surface_id, login=login, method="console", now=NOW
        )


def enqueue(engine: Engine, kind: str, payload: dict[str, Any], key: str | None = None) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, kind=kind, payload=payload, now=NOW, key=key)


def items(engine: Engine) -> list[tuple[str, str | None, int]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(col(OutboxRow.id))).all()
        return [(r.status, r.last_error, r.attempts) for r in rows]


def records(engine: Engine) -> dict[str, tuple[str, str | None, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(NotifyDeliveryRow)).all()
        return {r.target: (r.status, r.platform_message_id, r.last_error) for r in rows}


NOTIFY = {"roles": ["coordinators"], "text": "Proposal #7 waited 3d for a maintainer."}


async def test_notify_messages_linked_people_privately_and_mentions_the_rest(both: World) -> None:
    """Coordinators linked on Slack and on Discord get a DM each; the unlinked one is named in
    one fallback message per private incident channel (never a public one); every target is
    recorded with its message id and a second run sends nothing."""
    enqueue(both.engine, "notify", NOTIFY, key="notify:escalation:x:7")
    relay = both.relay()
    assert await relay.step() == 1
    assert await relay.step() == 0
    (ana,) = both.slack_posts(ANA_SLACK)
    assert "Proposal #7 waited 3d" in ana and "cyrus" not in ana
    assert [r.json for r in both.discord.calls("POST", "/users/@me/channels")] == [
        {"recipient_id": BO_DISCORD}
    ]
    (bo,) = both.discord.posts(dm_channel(BO_DISCORD))
    assert "Proposal \\#7 waited 3d" in bo
    (slack_fallback,) = both.slack_posts(SLACK_FALLBACK)
    (discord_fallback,) = both.discord.posts(DISCORD_FALLBACK)
    assert "@cyrus-unlinked" in slack_fallback and "@ana" not in slack_fallback
    assert "@\u200bcyrus\\-unlinked" in discord_fallback and "@\u200bbo" not in discord_fallback
    assert both.slack_posts(SLACK_PUBLIC) == [] and both.discord.posts(DISCORD_PUBLIC) == []
    recs = records(both.engine)
    assert len(recs) == 4 and all(s == "sent" and mid for s, mid, _ in recs.values())
    assert items(both.engine) == [("sent", None, 0)]


class Crash(BaseException):
    """Stands for the process dying in the middle of a fan-out (a BaseException: the relay
    records an ordinary exception from a sender as a failure and goes on)."""


@dataclass
class CrashAfter:
    """Wraps a real sender; once the shared budget of successes is spent, a send crashes."""

    inner: Sender
    budget: list[int]  # shared between the wrapped senders: successes left
    platform: str = ""

    def __post_init__(self) -> None:
        self.platform = self.inner.platform

    async def send(self, envelope: Envelope) -> SendResult:
        if self.budget[0] <= 0:
            raise Crash("killed mid fan-out")
        self.budget[0] -= 1
        return await self.inner.send(envelope)

    async def aclose(self) -> None:
        return None


def _delivered(w: World) -> list[int]:
    """How often each target got the message: Ana, Bo, Slack fallback, Discord fallback."""
    return [
        len(w.slack_posts(ANA_SLACK)),
        len(w.discord.posts(dm_channel(BO_DISCORD))),
        len(w.slack_posts(SLACK_FALLBACK)),
        len(w.discord.posts(DISCORD_FALLBACK)),
    ]


@pytest.mark.parametrize("successes", [0, 1, 2, 3])
async def test_a_crash_mid_fan_out_resumes_with_only_the_targets_not_yet_done(
    world: World, successes: int
) -> None:
    """Whatever the point of the crash, the restarted relay sends only to the targets not yet
    done: every target ends with exactly one message."""
    enqueue(world.engine, "notify", NOTIFY)
    budget = [successes]
    crashing: dict[str, Sender] = {k: CrashAfter(s, budget) for k, s in world.senders.items()}
    with pytest.raises(Crash):
        await world.relay(crashing).step()
    assert sum(_delivered(world)) == successes
    assert items(world.engine)[0][0] == "pending"
    assert await world.relay().step() == 1  # the restart
    assert _delivered(world) == [1, 1, 1, 1]
    assert items(world.engine) == [("sent", None, 0)]


@pytest.mark.parametrize(
    ("links", "private", "fallback"),
    [
        ([("slack", ANA_SLACK)], {ANA_SLACK: 1}, 0),
        ([("slack", ANA_SLACK), ("discord", "5151")], {ANA_SLACK: 1, dm_channel("5151"): 1}, 0),
        ([], {}, 1),
        ([("console", "local")], {}, 1),  # a console link cannot receive a private message
    ],
)
async def test_a_direct_message_reaches_every_linked_identity_or_falls_back(
    sqlite_engine: Engine,
    links: list[tuple[str, str]],
    private: dict[str, int],
    fallback: int,
) -> None:
    """A direct message goes privately to each chat identity linked to the login (matched
    case-insensitively); with none, the fallback channels name the login instead."""
    async for w in _world(sqlite_engine):
        for surface, surface_id in links:
            link(w.engine, surface, surface_id, "dana")
        brief = "You are the lead for incident 3 (sev2): relay stuck"
        enqueue(w.engine, "direct-message", {"login": "Dana", "text": brief})
        assert await w.relay().step() == 1
        got = {ANA_SLACK: len(w.slack_posts(ANA_SLACK))}
        got |= {dm_channel("5151"): len(w.discord.posts(dm_channel("5151")))}
        assert {k: v for k, v in got.items() if v} == private
        assert len(w.slack_posts(SLACK_FALLBACK)) == fallback
        assert len(w.discord.posts(DISCORD_FALLBACK)) == fallback
        if fallback:
            assert "@Dana" in w.slack_posts(SLACK_FALLBACK)[0]
            assert brief in w.slack_posts(SLACK_FALLBACK)[0]
        assert items(w.engine) == [("sent", None, 0)]


async def test_a_refused_private_message_is_recorded_and_the_person_is_mentioned(
    world: World,
) -> None:
    """A permanent failure (Slack user gone, Discord 403 "cannot send to this user") is recorded
    on the target and not retried; the person is then named in the fallback instead."""
    world.slack.gone(ANA_SLACK)
    world.discord.refused.add(BO_DISCORD)
    enqueue(world.engine, "notify", NOTIFY)
    assert await world.relay().step() == 1
    recs = records(world.engine)
    assert recs[f"dm:slack:@{ANA_SLACK}"] == ("failed", None, "slack: channel_not_found")
    status, _, error = recs[f"dm:discord:@{BO_DISCORD}"]
    assert status == "failed" and error is not None and "HTTP 403" in error
    (fallback,) = world.slack_posts(SLACK_FALLBACK)
    assert all(f"@{n}" in fallback for n in COORDS)
    ((status, error, _),) = items(world.engine)
    assert status == "sent" and error is not None and "channel_not_found" in error
    world.clock.advance(timedelta(hours=2))
    assert await world.relay().step() == 0  # nothing is retried
    assert len(world.discord.calls("POST", f"/channels/{dm_channel(BO_DISCORD)}")) == 1


async def test_nobody_reachable_fails_the_item_with_the_names(world: World) -> None:
    """When the fallback channels are gone too, the unreachable people are named in the
    item's error and the item is failed (not retried)."""
    world.slack.gone(SLACK_FALLBACK)
    world.discord.gone.add(DISCORD_FALLBACK)
    enqueue(world.engine, "notify", NOTIFY)
    assert await world.relay().step() == 1
    ((status, error, _),) = items(world.engine)
    assert status == "failed" and error is not None
    assert error.startswith("permanent: could not reach @cyrus-unlinked")
    assert len(world.slack_posts(ANA_SLACK)) == 1  # the others were still reached


async def test_a_transient_failure_retries_only_the_unfinished_target(world: World) -> None:
    """A rate limit longer than the relay waits out leaves the item pending until its
    Retry-After; the next attempt sends that DM alone (the rest were recorded as done)."""
    world.slack.force_429(ANA_SLACK, 0.5)
    enqueue(world.engine, "notify", NOTIFY)
    relay = world.relay()
    assert await relay.step() == 0
    ((status, error, attempts),) = items(world.engine)
    assert (status, attempts) == ("pending", 1) and "429" in (error or "")
    assert _delivered(world) == [0, 1, 1, 1]
    assert await relay.step() == 0  # not due yet
    await asyncio.sleep(0.55)  # the pacer's pause runs on the monotonic clock
    world.clock.advance(timedelta(seconds=1))
    assert await relay.step() == 1
    assert _delivered(world) == [1, 1, 1, 1]


async def test_a_notify_queued_twice_with_one_key_is_delivered_once(world: World) -> None:
    """The outbox key makes a repeated notify one item: each person hears once."""
    for _ in range(2):
        enqueue(world.engine, "notify", NOTIFY, key="notify:escalation:stage-stuck:7")
    assert await world.relay().step() == 1
    assert _delivered(world) == [1, 1, 1, 1]


async def test_fallbacks_to_one_channel_are_paced(world: World) -> None:
    """Several items falling back to the same Slack channel are spaced by the pacer: the
    stand-in, which enforces Slack's per-channel rate, never has to refuse one."""
    for n in range(4):
        enqueue(world.engine, "direct-message", {"login": f"nobody{n}", "text": f"t{n}"})
    assert await world.relay().step() == 4
    assert len(world.slack_posts(SLACK_FALLBACK)) == 4
    assert world.slack.rejected == {}


@pytest.mark.parametrize(
    ("kind", "payload", "error"),
    [
        ("notify", {"roles": "coordinators", "text": "x"}, "needs 'roles', a list"),
        ("notify", {"roles": ["coordinators"], "text": " "}, "needs a non-empty 'text'"),
        ("direct-message", {"text": "x"}, "needs 'login'"),
    ],
)
async def test_a_malformed_item_fails_with_a_clear_error(
    world: World, kind: str, payload: dict[str, Any], error: str
) -> None:
    """A payload the relay cannot use is failed at once, saying what is missing."""
    enqueue(world.engine, kind, payload)
    assert await world.relay().step() == 1
    ((status, message, _),) = items(world.engine)
    assert status == "failed" and message is not None and error in message
    assert _delivered(world) == [0, 0, 0, 0]


async def test_a_role_with_no_members_is_named_in_the_fallback(world: World) -> None:
    """A role that resolves to nobody does not swallow the notification: the fallback says
    so, and the members of the other roles are still messaged."""
    enqueue(world.engine, "notify", {"roles": ["coordinators", "wardens"], "text": "gate"})
    assert await world.relay().step() == 1
    (fallback,) = world.slack_posts(SLACK_FALLBACK)
    assert "nobody holds the role 'wardens'" in fallback and "@cyrus-unlinked" in fallback
    assert len(world.slack_posts(ANA_SLACK)) == 1


async def test_a_requeued_item_retries_only_its_failed_targets(world: World) -> None:
    """``outbox requeue`` of a failed item tries its failed targets again; what was delivered
    before is not sent again."""
    world.slack.gone(SLACK_FALLBACK)
    world.discord.gone.add(DISCORD_FALLBACK)
    enqueue(world.engine, "notify", NOTIFY)
    assert await world.relay().step() == 1
    assert items(world.engine)[0][0] == "failed"
    world.discord.gone.discard(DISCORD_FALLBACK)  # the channel is back
    with session_scope(world.engine) as session:
        assert outbox.requeue(session, failed=True, now=NOW) == 1
    assert await world.relay().step() == 1
    assert _delivered(world) == [1, 1, 0, 1]
    ((status, error, _),) = items(world.engine)
    assert status == "sent" and "channel_not_found" in (error or "")


@pytest.mark.parametrize(
    ("roles", "told"),
    [
        ({"coordinators": ("ines",), "wardens": ("wu",)}, ("coordinators",)),
        ({"wardens": ("wu",), "security-council": ("sam",)}, ("wardens", "security-council")),
        ({}, ("coordinators",)),
    ],
    ids=["coordinators", "every-role-without-coordinators", "no-roles"],
)
def test_failures_are_told_to_the_coordinators_else_every_role(
    roles: dict[str, tuple[str, ...]], told: tuple[str, ...]
) -> None:
    assert failure_audience(BASE.model_copy(update={"roles": roles})) == told


# -- fallbacks stay private -------------------------------------------------------------------

PUBLIC_ONLY = CHARTER.model_copy(
    update={"channels": {k: v for k, v in CHARTER.channels.items() if not v.private}}
)


@pytest.mark.parametrize(
    ("charter", "platforms", "channels"),
    [
        (CHARTER, ("slack", "discord"), [("slack", SLACK_FALLBACK), ("discord", DISCORD_FALLBACK)]),
        (CHARTER, ("discord", "email"), [("discord", DISCORD_FALLBACK)]),
        (BASE, ("slack", "discord", "email"), [("slack", SLACK_FALLBACK)]),  # first private one
        (BASE, ("discord", "email"), []),
        (PUBLIC_ONLY, ("slack", "discord", "email"), []),
    ],
    ids=["private-incident", "platforms", "first-private", "unpostable", "none-private"],
)
def test_fallback_channels_are_private_ones_only(
    charter: Charter, platforms: tuple[str, ...], channels: list[tuple[str, str]]
) -> None:
    """The private channels that carry incidents, else the first private channel; a public
    channel never, whatever the announce table says."""
    assert fallback_channels(charter, platforms) == channels


async def test_without_a_private_channel_nothing_is_posted_and_the_item_fails(
    world: World,
) -> None:
    """With no private channel to fall back to, the linked people still get their DMs, nothing
    is posted on the public incident channels, and the item fails naming who was not reached
    and why."""
    enqueue(world.engine, "notify", NOTIFY)
    assert await world.relay(charter=PUBLIC_ONLY).step() == 1
    assert _delivered(world)[:2] == [1, 1]
    assert world.slack_posts(SLACK_PUBLIC) == [] and world.discord.posts(DISCORD_PUBLIC) == []
    ((status, error, _),) = items(world.engine)
    assert status == "failed" and error is not None
    assert error.startswith("permanent: could not reach @cyrus-unlinked")
    assert NO_PRIVATE_CHANNEL in error


class Recording:
    """A sender that records what it was given and accepts it."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[Envelope] = []

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope)
        return SendResult(True, message_id=str(len(self.sent)))

    async def aclose(self) -> None:
        return None


def test_a_confidential_incident_role_brief_stays_off_public_channels(
    sqlite_engine: Engine,
) -> None:
    """The lead of an incident about an undisclosed security patch, with no chat link, is
    briefed in the council's private channel, not on the public incident channels."""
    from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, World as Governed, form
    from tests.bot.rollouts.test_rollout_commands import decide

    governed = Governed(sqlite_engine)
    governed.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(governed, 2)
    governed.ok(COORDINATOR, "rollout 2")
    governed.ok(COUNCIL, 'incident declare sev1 "exploit in aurora p2p handshake" for 2')
    governed.ok(COUNCIL, "incident role lead lena-sec")
    senders = {p: Recording(p) for p in ("slack", "discord", "email")}
    relay = NotifyRelay(sqlite_engine, governed.gov.charter, senders, clock=governed.clock)
    asyncio.run(relay.step())
    posted = [(p, e.address) for p, f in senders.items() for e in f.sent]
    assert posted == [("slack", SLACK_FALLBACK)]
    assert "exploit in aurora p2p handshake" in senders["slack"].sent[0].notice.text


# -- a sender that raises -----------------------------------------------------------------------


class RaisesOnce:
    """Wraps a real sender; its first send raises what a sender did not expect."""

    def __init__(self, inner: Sender) -> None:
        self.inner, self.platform, self.raised = inner, inner.platform, False

    async def send(self, envelope: Envelope) -> SendResult:
        if not self.raised:
            self.raised = True
            raise UnicodeEncodeError("ascii", "jörg", 1, 2, "ordinal not in range(128)")
        return await self.inner.send(envelope)

    async def aclose(self) -> None:
        return None


async def test_an_exception_from_a_sender_is_a_recorded_transient_failure(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A sender that raises does not stop the relay: the error is logged with its traceback
    and recorded on the target and the item, the other targets are sent, and the next attempt
    delivers that target."""
    senders: dict[str, Sender] = {**world.senders, "slack": RaisesOnce(world.senders["slack"])}
    enqueue(world.engine, "notify", NOTIFY)
    relay = world.relay(senders)
    assert await relay.step() == 0
    ((status, error, attempts),) = items(world.engine)
    assert (status, attempts) == ("pending", 1)
    assert "unexpected UnicodeEncodeError" in (error or "")
    assert records(world.engine)[f"dm:slack:@{ANA_SLACK}"][0] == "sending"
    assert _delivered(world) == [0, 1, 1, 1]
    (logged,) = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info is not None and logged.exc_info[0] is UnicodeEncodeError
    world.clock.advance(timedelta(hours=1))
    assert await relay.step() == 1
    assert _delivered(world) == [1, 1, 1, 1]
    assert items(world.engine) == [("sent", None, 1)]
