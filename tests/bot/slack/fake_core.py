"""A fake of ``bot.messages.CommandCore`` — the narrowest interface the chat transports use.

It records every call and answers with a Message built from its input, so a test can see what
text and which actor reached the core, and what the transport made of the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.messages import Actor, Button, Mention, Message, When

AT = datetime(2025, 3, 30, 8, 0, tzinfo=UTC)
PROPOSALS = [(42, "Upgrade the wire format to v2"), (7, "Drop the legacy API"), (420, "Rename")]


def echo(text: str, actor: Actor) -> Message:
    """The default answer: the text and actor echoed (as user text), a time and vote buttons."""
    return Message(
        title=f"ran: {text}",
        lines=(
            (f"for {actor.surface_id} ", Mention(actor.name, "github")),
            ("due ", When(AT)),
        ),
        fields=(("command", text),),
        buttons=(Button("Approve", "vote:42:approve", "primary"),),
    )


@dataclass
class FakeCore:
    reply: Callable[[str, Actor], Message] = echo
    links: dict[tuple[str, str], str] = field(default_factory=dict)  # (surface, id) -> login
    delay: float = 0.0
    fail: bool = False
    runs: list[tuple[str, Actor]] = field(default_factory=list)
    identities: list[tuple[str, str, str]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    ran: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, text: str, actor: Actor) -> Message:
        self.runs.append((text, actor))
        self.ran.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("core exploded")
        return self.reply(text, actor)

    async def identity(self, surface: str, surface_id: str, display: str) -> Actor:
        self.identities.append((surface, surface_id, display))
        login = self.links.get((surface, surface_id))
        return Actor(login=login, surface=surface, surface_id=surface_id, display=display)

    async def open_proposals(self, prefix: str) -> list[tuple[int, str]]:
        self.prefixes.append(prefix)
        return [(n, t) for n, t in PROPOSALS if str(n).startswith(prefix) or prefix in t.lower()]

    async def wait_runs(self, count: int = 1, within: float = 5.0) -> list[tuple[str, Actor]]:
        async def until() -> None:
            while len(self.runs) < count:
                self.ran.clear()
                await self.ran.wait()

        await asyncio.wait_for(until(), within)
        return self.runs
