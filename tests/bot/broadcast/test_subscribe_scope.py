"""subscribe / unsubscribe edges: what a bare `unsubscribe` removes, what a removal cancels,
how often a confirmation mail goes out, and platforms the bot cannot send to.

Rules proven here:
- `unsubscribe` without an id removes nothing on any surface (Slack or Discord channel, DM,
  console): it lists the subscriptions and names how to remove one or all (a listing, not an
  error). `unsubscribe all` removes what is delivered where it is typed: in a channel, the
  channel's (another person's only with the right to subscribe a channel, as `unsubscribe
  <id>`), in a DM or the console the person's own; it names what of theirs is kept elsewhere.
  Each subscription removed is named in the reply: its id, target and filters.
- After `unsubscribe`, a delivery fanned out before it (e.g. waiting on a retry) is not sent.
- `subscribe email X` mails one confirmation link while that link is valid (7 days), however
  often it is asked; the reply says a link was sent and until when it works.
- A platform without a sender (e-mail without SMTP) is refused at `subscribe`, and nothing is
  stored or queued; ``bot.broadcast`` passes the configured platforms in.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot import subscribe as sub_module
from bot.bootstrap import build
from bot.clock import FixedClock
from bot.i18n import format_when
from bot.messages import Actor, Message, plain_text
from bot.relay import Relay
from bot.senders.base import Envelope, SendResult
from bot.settings import Settings
from bot.subscribe import Context, Origin, handle
from charter.commands import Subscribe, Subscriptions, Unsubscribe
from charter.grammar import parse_chat
from storage import subscriptions as repo
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow, EmailOptinRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, charter, enqueue

CHARTER = charter()
ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")
TEAM = Origin("slack", "C0TEAM")
OTHER = Origin("slack", "C0OTHER")


def _run(
    engine: Engine,
    text: str,
    origin: Origin | None = TEAM,
    actor: Actor = ALICE,
    now: Any = NOW,
    platforms: frozenset[str] | None = None,
) -> Message:
    command = parse_chat(text)
    assert isinstance(command, Subscribe | Unsubscribe | Subscriptions), command
    with session_scope(engine) as session:
        ctx = Context(session, CHARTER, actor, now, origin, "https://bot.example", platforms)
        return handle(command, ctx)


def _targets(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(f"{s.platform}:{s.address}" for s in repo.of_owner(session, "slack:U1ALICE"))


def _alice_everywhere(engine: Engine) -> None:
    _run(engine, "subscribe here decision", TEAM)
    _run(engine, "subscribe me incident", TEAM)
    _run(engine, "subscribe here rollout", OTHER)
    _run(engine, "subscribe email alice@example.org decision", TEAM)


EVERYWHERE = ["email:alice@example.org", "slack:@U1ALICE", "slack:C0OTHER", "slack:C0TEAM"]


# Slack and Discord channels, a DM without a channel or with the IM's id, and the console.
SURFACES = [TEAM, OTHER, Origin("discord", "D1"), Origin("slack"), Origin("slack", "D0A"), None]


# What the bare listing offers `all` to remove on each surface: a channel's own subscriptions
# (none of Alice's in a Discord DM, which reads as a channel), or in a DM and the console hers.
ALL_HINT = {
    0: "To remove this channel's 1: /charter unsubscribe all.",
    1: "To remove this channel's 1: /charter unsubscribe all.",
    2: None,
    3: "To remove all 4 of yours: /charter unsubscribe all.",
    4: "To remove all 4 of yours: /charter unsubscribe all.",
    5: "To remove all 4 of yours: /charter unsubscribe all.",
}


@pytest.mark.parametrize(("origin", "every"), [(o, ALL_HINT[i]) for i, o in enumerate(SURFACES)])
def test_bare_unsubscribe_lists_and_removes_nothing_anywhere(
    sqlite_engine: Engine, origin: Origin | None, every: str | None
) -> None:
    """Every surface answers a bare `unsubscribe` alike: the listing (what `subscriptions`
    shows), how to remove one and what `all` removes there; nothing goes."""
    _alice_everywhere(sqlite_engine)
    reply = _run(sqlite_engine, "unsubscribe", origin)
    text = plain_text(reply)
    assert reply.ok and text.startswith("Subscriptions:\n"), text
    one = "To remove one, name its id: /charter unsubscribe <id>."
    assert text.endswith(one if every is None else f"{one}\n{every}"), text
    assert text.startswith(plain_text(_run(sqlite_engine, "subscriptions", origin)))
    assert _targets(sqlite_engine) == EVERYWHERE


INES = Actor("ines-coord", "slack", "U0INES", "Ines")  # a coordinator
CAROL = Actor("carol", "slack", "U3CAROL", "Carol")  # a contributor
DM, MAIL, QUIET = "slack:@U1ALICE", "email:alice@example.org", Origin("slack", "C0QUIET")
KEPT = "Your subscriptions delivered elsewhere are kept (%s); /charter subscriptions lists them."
REFUSED = (
    "Nothing removed: another person made %s of this channel, and only client maintainers and"
    " holders of a charter role (coordinators and security-council) may remove someone else's"
    " subscription of a channel."
)


@pytest.mark.parametrize(
    ("origin", "actor", "removed", "says"),
    [
        # In a channel: the channel's, whoever made them (Alice maintains a client: staff);
        # her own elsewhere are kept, and named.
        (TEAM, ALICE, [1, 6], KEPT % f"#2 {DM}, #3 slack:C0OTHER, #4 {MAIL}"),
        (OTHER, ALICE, [3], KEPT % f"#1 slack:C0TEAM, #2 {DM}, #4 {MAIL}"),
        # A contributor may not remove what others set up in a channel: nothing goes.
        (TEAM, CAROL, [], REFUSED % "#1, #6"),
        (QUIET, CAROL, [], "No subscriptions here.\n" + KEPT % "#5 email:carol@example.org"),
        # In a direct message or the console: the person's own, every one.
        (Origin("slack", "D0A"), ALICE, [1, 2, 3, 4], f"Unsubscribed: #4 {MAIL} — decision"),
        (Origin("discord"), ALICE, [1, 2, 3, 4], f"Unsubscribed: #4 {MAIL} — decision"),
        (Origin("slack"), CAROL, [5], "Unsubscribed: #5 email:carol@example.org — vote"),
        (None, ALICE, [1, 2, 3, 4], "Unsubscribed: #1 slack:C0TEAM — decision"),
    ],
)  # fmt: skip
def test_unsubscribe_all_removes_what_is_delivered_where_it_is_typed(
    sqlite_engine: Engine, origin: Origin | None, actor: Actor, removed: list[int], says: str
) -> None:
    """`unsubscribe all` removes what is delivered where it is typed, each named, and says
    what of the person's is kept elsewhere (an e-mail, a webhook whose signing secret cannot be
    got back); another person's subscription of a channel goes only with the right to
    subscribe a channel."""
    _alice_everywhere(sqlite_engine)
    _run(sqlite_engine, "subscribe email carol@example.org vote", OTHER, actor=CAROL)
    _run(sqlite_engine, "subscribe here vote", TEAM, actor=INES)
    reply = _run(sqlite_engine, "unsubscribe all", origin, actor=actor)
    text = plain_text(reply)
    assert says in text and reply.ok == bool(says != REFUSED % "#1, #6"), text
    assert text.count("Unsubscribed: #") == len(removed), text
    with session_scope(sqlite_engine) as session:
        left = [r.id for r in repo.of_owner(session, "slack:U1ALICE")]
        left += [r.id for o in ("slack:U3CAROL", "slack:U0INES") for r in repo.of_owner(session, o)]
    assert sorted(left) == [n for n in range(1, 7) if n not in removed]


@pytest.mark.parametrize(
    ("actor", "n", "says"),
    [
        (CAROL, 1, REFUSED % "#1"),  # Alice's subscription of #team
        (CAROL, 6, REFUSED % "#6"),  # Ines's
        (ALICE, 6, "Unsubscribed: #6 slack:C0TEAM — vote"),  # staff may
        (CAROL, 2, "No subscription #2 of yours or of this channel."),  # Alice's DMs: not here
    ],
)
def test_another_persons_channel_subscription_needs_the_channel_right(
    sqlite_engine: Engine, actor: Actor, n: int, says: str
) -> None:
    """`unsubscribe <id>` of another person's subscription of this channel follows the rule
    of `unsubscribe all`: only those who may subscribe a channel remove it."""
    _alice_everywhere(sqlite_engine)
    _run(sqlite_engine, "subscribe email carol@example.org vote", OTHER, actor=CAROL)
    _run(sqlite_engine, "subscribe here vote", TEAM, actor=INES)
    text = plain_text(_run(sqlite_engine, f"unsubscribe {n}", TEAM, actor=actor))
    assert says in text, text
    with session_scope(sqlite_engine) as session:
        assert (session.get(repo.SubscriptionRow, n) is None) == says.startswith("Unsub")


def test_unsubscribe_an_id(sqlite_engine: Engine) -> None:
    _alice_everywhere(sqlite_engine)
    named = plain_text(_run(sqlite_engine, "unsubscribe 4", None))
    assert named == "Unsubscribed: #4 email:alice@example.org — decision", named
    assert _targets(sqlite_engine) == [t for t in EVERYWHERE if t != "email:alice@example.org"]


class Recorder:
    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[Envelope] = []

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope)
        return SendResult(True, message_id=f"m{len(self.sent)}")

    async def aclose(self) -> None:
        pass


async def test_unsubscribe_cancels_what_was_already_fanned_out(sqlite_engine: Engine) -> None:
    """A vote (no charter channel takes it: only the subscriber does) is fanned out, then the
    channel unsubscribes before the relay sends it: the unsubscribe itself fails the delivery
    (`unsubscribed`), so the relay has nothing to send."""
    _run(sqlite_engine, "subscribe here vote", TEAM)
    enqueue(sqlite_engine, announce("vote"))
    slack = Recorder("slack")
    relay = Relay(sqlite_engine, CHARTER, {"slack": slack}, clock=FixedClock(NOW))
    relay.prepare()
    assert (
        plain_text(_run(sqlite_engine, "unsubscribe 1", TEAM))
        == "Unsubscribed: #1 slack:C0TEAM — vote"
    )
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(DeliveryRow)).all()
        assert [(r.destination, r.status, r.last_error) for r in rows] == [
            ("slack:C0TEAM", "failed", "unsubscribed")
        ]
    await relay.deliver_once()
    assert slack.sent == []


def _confirmations(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(OutboxRow).where(OutboxRow.kind == "confirm-email")).all())


EXPIRES = format_when(NOW + timedelta(days=7), "en", CHARTER.charter.timezone)


def test_one_confirmation_mail_while_the_link_is_valid(sqlite_engine: Engine) -> None:
    """Twenty `subscribe email` for a stranger's address in a minute queue one mail; the
    others say a link was sent and when it expires. Once it has expired, a new one goes."""
    mallory = Actor("mallory", "slack", "U9MAL", "Mallory")
    first = _run(sqlite_engine, "subscribe email victim@example.org", actor=mallory)
    assert "Check victim@example.org for a confirmation link" in plain_text(first)
    for n in range(1, 20):
        at = NOW + timedelta(seconds=n)
        reply = _run(sqlite_engine, "subscribe email victim@example.org", actor=mallory, now=at)
        assert "already sent to victim@example.org" in plain_text(reply)
        assert f"it works until {EXPIRES}." in plain_text(reply)
    _run(sqlite_engine, "subscribe email VICTIM@example.org incident", now=NOW + timedelta(days=6))
    assert _confirmations(sqlite_engine) == 1
    later = _run(sqlite_engine, "subscribe email victim@example.org", now=NOW + timedelta(days=7))
    assert "Check victim@example.org" in plain_text(later)
    assert _confirmations(sqlite_engine) == 2


def test_subscribe_refuses_a_platform_without_a_sender(sqlite_engine: Engine) -> None:
    no_mail = frozenset({"slack", "webhook"})
    reply = _run(sqlite_engine, "subscribe email alice@example.org decision", platforms=no_mail)
    assert not reply.ok and "e-mail is not set up on this bot" in plain_text(reply)
    reply = _run(sqlite_engine, "subscribe here", platforms=frozenset({"email", "webhook"}))
    assert not reply.ok and "Slack is not set up on this bot" in plain_text(reply)
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(EmailOptinRow)).all() == []
    assert _targets(sqlite_engine) == [] and _confirmations(sqlite_engine) == 0
    ok = _run(sqlite_engine, "subscribe email alice@example.org", platforms=no_mail | {"email"})
    assert ok.ok and _confirmations(sqlite_engine) == 1


def test_register_passes_the_platforms_on(sqlite_engine: Engine) -> None:
    handlers: dict[type, Any] = {}

    class Service:
        charter = CHARTER

        def register(self, cls: type, run: Any, **_: Any) -> None:
            handlers[cls] = run

    sub_module.register(Service(), public_url="https://bot", platforms={"slack": object()})
    with session_scope(sqlite_engine) as session:
        cmd = parse_chat("subscribe email alice@example.org")
        reply = handlers[Subscribe](Service(), session, cmd, ALICE, NOW)
    assert not reply.ok and "e-mail is not set up" in plain_text(reply)


def test_a_bot_without_smtp_refuses_email_subscriptions(tmp_path: Path) -> None:
    """End to end through the runtime (bot.broadcast wires the senders' platforms in)."""
    coordinator = Actor("ines-coord", "slack", "U0COORD", "Ines")
    text = "subscribe email ops@example.org decision"
    for name, smtp in (("none.db", None), ("smtp.db", "smtp://127.0.0.1:9")):
        url = f"sqlite:///{tmp_path / name}"
        rt = build(Settings(database_url=url, smtp_url=smtp), clock=FixedClock(NOW))
        try:
            reply = rt.gov.run_sync(text, coordinator, NOW)
        finally:
            rt.engine.dispose()
        if smtp is None:
            assert not reply.ok and "e-mail is not set up on this bot" in plain_text(reply)
        else:
            assert reply.ok and "Check ops@example.org" in plain_text(reply)


@pytest.mark.parametrize("allow", [False, True])
def test_the_private_webhook_setting_reaches_subscribe_and_the_sender(
    tmp_path: Path, allow: bool
) -> None:
    """CHARTERBOT_WEBHOOK_ALLOW_PRIVATE comes from the runtime's settings (so from .env too),
    both where a webhook is subscribed and where it is sent."""
    coordinator = Actor("ines-coord", "slack", "U0COORD", "Ines")
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    settings = Settings(database_url=url, webhook_allow_private=allow)
    rt = build(settings, clock=FixedClock(NOW))
    try:
        reply = rt.gov.run_sync("subscribe webhook https://127.0.0.1/hook", coordinator, NOW)
        sender = rt.extras["broadcast_relay"].senders["webhook"]
    finally:
        rt.engine.dispose()
    assert reply.ok is allow, plain_text(reply)
    assert sender._allow_private is allow
