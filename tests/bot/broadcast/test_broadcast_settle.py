"""No delivery is stranded ``sending`` while the process lives on (notes: scenario 12, every
message delivered at least once): a step that did not finish (cancelled when leadership was
lost, or an outcome the database would not take) is settled by the next one, and so is what
another leader left in flight each time this process becomes leader again. A message id the
platform returned is never lost to a failed write: that delivery is not sent twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine

from bot import runtime
from bot.clock import FixedClock
from bot.relay import Relay
from bot.senders.base import Envelope, SendResult, transient
from bot.senders.pacing import Limits, Pacer
from storage import deliveries
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, announce, charter, enqueue, subscribe
from tests.bot.harness import Bot, slack_settings
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

CHARTER = charter()


class Chat:
    """A Slack sender stand-in: answers ``result`` (accepted with an id if None), or hangs."""

    platform = "slack"

    def __init__(self, result: SendResult | None = None, *, hang: bool = False) -> None:
        self.result, self.hang = result, hang
        self.sent: list[str] = []
        self.started = asyncio.Event()

    async def send(self, envelope: Envelope) -> SendResult:
        self.started.set()
        if self.hang:
            await asyncio.sleep(3600)
        self.sent.append(envelope.address)
        return self.result or SendResult(True, message_id=f"C/{len(self.sent)}")

    async def aclose(self) -> None:
        return None


def relay(engine: Engine, sender: Chat, clock: FixedClock) -> Relay:
    return Relay(engine, CHARTER, {"slack": sender}, pacer=Pacer(Limits({}, {})), clock=clock)


def states(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = deliveries.listing(session, include_sent=True)
        return {r.destination: (r.status, r.platform_message_id) for r in rows}


def db_down() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("UPDATE delivery", {}, Exception("server closed"))


@pytest.fixture
def one_announcement(engine: Engine) -> Engine:
    """On SQLite and on PostgreSQL (where a connection blip costs the leader its lock)."""
    subscribe(engine, "slack", "CSUB")
    enqueue(engine, announce("vote", proposal=1))  # to subscribers only
    return engine


async def test_a_delivery_in_flight_when_the_step_is_cancelled_is_sent_by_the_next_step(
    one_announcement: Engine,
) -> None:
    """Leadership lost mid-send cancels the relay's step; the next step (this process leads
    again, or never stopped) sends the delivery instead of leaving it ``sending``."""
    engine, clock = one_announcement, FixedClock(NOW)
    hanging = Chat(hang=True)
    r = relay(engine, hanging, clock)
    task = asyncio.create_task(r.step())
    await asyncio.wait_for(hanging.started.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert states(engine) == {"slack:CSUB": ("sending", None)}
    working = Chat()
    r.senders["slack"] = working
    await r.step()
    assert working.sent == ["CSUB"]
    assert states(engine) == {"slack:CSUB": ("sent", "C/1")}


def fail_once(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """``storage.deliveries.<name>`` raises (the database is briefly unreachable) once."""
    real: Callable[..., Any] = getattr(deliveries, name)
    failures: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise db_down()
        return real(*args, **kwargs)

    monkeypatch.setattr(deliveries, name, flaky)
    return failures


@pytest.mark.parametrize(
    ("answer", "fails", "sends"),
    [
        pytest.param(transient("slack: HTTP 503"), "mark_retry", ["CSUB", "CSUB"], id="retry"),
        pytest.param(None, "record_id", ["CSUB"], id="message-id"),
        pytest.param(None, "mark_sent", ["CSUB"], id="marked-sent"),
    ],
)
async def test_an_outcome_the_database_would_not_take_does_not_strand_the_delivery(
    one_announcement: Engine,
    monkeypatch: pytest.MonkeyPatch,
    answer: SendResult | None,
    fails: str,
    sends: list[str],
) -> None:
    """Recording the outcome fails and the step ends with the error. The next step settles
    first: a delivery that was not sent is sent again (at least once); one the platform took
    keeps its message id (held in memory when the write failed) and is not sent twice."""
    engine, clock = one_announcement, FixedClock(NOW)
    chat = Chat(answer)
    r = relay(engine, chat, clock)
    failures = fail_once(monkeypatch, fails)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        await r.step()
    assert failures == [1]
    chat.result = None  # the platform is fine now
    for _ in range(3):
        clock.advance(timedelta(minutes=10))  # past any backoff
        await r.step()
    assert chat.sent == sends
    assert states(engine) == {"slack:CSUB": ("sent", f"C/{len(sends)}")}


async def test_one_destination_failing_to_record_holds_up_and_repeats_no_other(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One destination's failed write ends the step once the others have finished (nothing of
    this relay is in flight when the next step settles): each is sent once."""
    for channel in ("CA", "CB", "CC"):
        subscribe(sqlite_engine, "slack", channel)
    enqueue(sqlite_engine, announce("vote", proposal=1))
    chat = Chat()
    r = relay(sqlite_engine, chat, FixedClock(NOW))
    fail_once(monkeypatch, "record_id")
    with pytest.raises(sqlalchemy.exc.OperationalError):
        await r.step()
    await r.step()
    assert sorted(chat.sent) == ["CA", "CB", "CC"]
    assert {s for s, _ in states(sqlite_engine).values()} == {"sent"}


@pytest.fixture
def scripted_leadership(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace the leadership campaign with a script: each entry is ``True``/``False`` (the
    lock taken or lost) or an async callable run in between."""
    script: list[Any] = []

    async def campaign(leadership: Any, on_change: Any, **_: Any) -> None:
        for entry in script:
            if isinstance(entry, bool):
                on_change(entry)
            else:
                await entry()

    monkeypatch.setattr(runtime, "campaign", campaign)
    return script


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` (database state: no event to wait on) for up to ``within`` s."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"not so after {within} s")


async def test_becoming_leader_again_settles_what_another_leader_left_sending(
    sqlite_url: str,
    github: GitHubStandin,
    slack: SlackStandIn,
    scripted_leadership: list[Any],
) -> None:
    """This process leads, loses the lock; another replica leads, claims an announcement's
    delivery and dies mid-send; this process leads again. Its relay settles first, so the
    delivery is sent, not left ``sending`` until the process restarts."""
    bot = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    try:
        engine = bot.rt.engine
        r: Relay = bot.rt.extras["broadcast_relay"]
        chat = Chat()
        r.senders["slack"] = chat
        subscribe(engine, "slack", "CSUB")
        enqueue(engine, announce("vote", proposal=1), at=bot.clock.now())

        async def first_term() -> None:
            await until(lambda: states(engine) == {"slack:CSUB": ("sent", "C/1")})
            await asyncio.sleep(0.2)  # the relay's loop is between steps when the lock goes

        async def other_leader() -> None:
            await asyncio.sleep(0.05)  # this process's loops are cancelled
            enqueue(engine, announce("vote", proposal=2), at=bot.clock.now())
            r.prepare()  # the other leader fans it out, claims it, and dies mid-send
            with session_scope(engine) as session:
                assert len(deliveries.claim(session, bot.clock.now())) == 1

        async def second_term() -> None:
            await until(lambda: len(chat.sent) == 2)

        async def stop() -> None:
            bot.rt.stop.set()

        script = [True, first_term, False, other_leader, True, second_term, stop]
        scripted_leadership.extend(script)
        await asyncio.wait_for(bot.rt.background(), 30)
        assert chat.sent == ["CSUB", "CSUB"]
        assert {s for s, _ in states(engine).values()} == {"sent"}
    finally:
        await bot.close()
