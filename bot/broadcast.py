"""Broadcasts in the serve process: the announcement relay, feeds and subscription commands.

The relay runs only on the leader (it is one of the runtime's relays), and so does the notify
relay (``notify``/``direct-message`` items), which shares its senders and pacer; the Atom feed,
``/api/status`` and the e-mail confirm/unsubscribe pages are served by every replica.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.messages import Actor

if TYPE_CHECKING:
    from bot.relay import Relay
    from bot.runtime import Runtime


def install(rt: Runtime) -> None:
    from bot import feeds, subscribe
    from bot.relay import Relay
    from bot.senders.factory import build_senders

    relay = Relay(
        rt.engine,
        lambda: rt.gov.charter,
        build_senders(rt.settings),
        public_url=rt.settings.public_url,
        github_web=rt.gov.github_web,
        clock=rt.clock,
    )
    rt.extras["broadcast_relay"] = relay

    async def step(now: datetime) -> int:
        return await relay.step()  # settles first when needed (see bot.relay)

    # Each time this process becomes leader, whatever a leader before it left in flight (a
    # replica that died, or this process before it lost the lock) is settled first.
    rt.on_lead.append(relay.unsettle)
    rt.relays.append(step)
    _install_notify(rt, relay)
    _install_tracking(rt, relay)

    async def close_senders() -> None:
        for sender in relay.senders.values():
            await sender.aclose()

    rt.extras.setdefault("shutdown", []).append(close_senders)
    rt.extras.setdefault("routes", []).extend(
        feeds.routes(
            lambda: rt.engine,
            lambda: rt.gov.charter,
            repo=rt.gov.charter.github.repository,
            now=rt.clock.now,
            public_url=rt.settings.public_url,
            github_web=rt.gov.github_web,
        )
    )

    def origin_of(actor: Actor) -> subscribe.Origin | None:
        if actor.surface in ("slack", "discord"):
            return subscribe.Origin(actor.surface, actor.channel or None)
        return None

    subscribe.register(
        rt.gov,
        public_url=rt.settings.public_url,
        origin_of=origin_of,
        platforms=relay.senders,
        allow_private_webhooks=rt.settings.webhook_allow_private,
    )


def _install_notify(rt: Runtime, relay: Relay) -> None:
    """People's notifications go out through the same senders and the same pacer."""
    from bot.notify_relay import NotifyRelay

    notifier = NotifyRelay(
        rt.engine,
        lambda: rt.gov.charter,
        relay.senders,
        pacer=relay.pacer,
        breaker=relay.breaker,
        clock=rt.clock,
    )
    rt.extras["notify_relay"] = notifier
    rt.relays.append(notifier.step)


def _install_tracking(rt: Runtime, relay: Relay) -> None:
    """Chat tracking messages go out through the same senders and the same pacer."""
    from bot.chat_tracking import ChatTracking

    tracking = ChatTracking(
        rt.engine,
        lambda: rt.gov.charter,
        relay.senders,
        lambda: relay.pacer,  # read at each send: tests swap the relay's pacer
        public_url=rt.settings.public_url,
        github_web=rt.gov.github_web,
        clock=rt.clock,
    )
    rt.extras["chat_tracking"] = tracking
    rt.relays.append(tracking.step)
