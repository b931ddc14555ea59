"""Reminders and agenda posts derived from stored state: restarts, downtime, misfires."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.messages import plain_text
from tests.bot.meetings.conftest import (
    COORDINATOR,
    HOURLY,
    announcements,
    charter_with,
    fired,
    make_gov,
    outbox_kind,
    reminders_sent,
)

T0 = datetime(2026, 3, 20, 10, 19, 50, tzinfo=UTC)  # the 10:30 call's 10m reminder is at 10:20


def _key(hour: int) -> str:
    return f"hourly@2026-03-20T{hour:02d}:30/remind-10m"


def test_restart_while_a_reminder_is_due_fires_it_once(db_url: str) -> None:
    """A reminder that falls due while the bot is down fires once after the restart, and
    further restarts (each a new service on the same database) never repeat it."""
    clock = FixedClock(T0)
    loaded = charter_with([HOURLY])
    first = make_gov(db_url, loaded, clock)
    first.tick(clock.now())
    assert reminders_sent(first.engine) == []  # 09:20's is an hour late: missed, not sent
    first.engine.dispose()
    for seconds in (20, 40, 60, 90):  # four restarts inside the grace time
        clock.set(T0 + timedelta(seconds=seconds))
        again = make_gov(db_url, loaded, clock)
        again.tick(clock.now())
        sent = reminders_sent(again.engine)
        again.engine.dispose()
    assert sent == [_key(10)]


def test_a_crash_inside_the_firing_transaction_loses_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fired-timer row and the announcement commit together: a crash between them leaves
    neither, so the next start fires the reminder (once)."""
    clock = FixedClock(T0 + timedelta(seconds=30))
    loaded = charter_with([HOURLY])
    crashing = make_gov(db_url, loaded, clock)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(crashing, "effects", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        crashing.tick(clock.now())
    assert _key(10) not in fired(crashing.engine)
    crashing.engine.dispose()
    restarted = make_gov(db_url, loaded, clock)
    restarted.tick(clock.now())
    restarted.tick(clock.now())
    assert reminders_sent(restarted.engine) == [_key(10)]
    restarted.engine.dispose()


@pytest.mark.parametrize(
    ("back_at", "sent_after", "missed"),
    [
        # 13:25: the 13:20 reminder is 5 minutes late — the one catch-up; 11:20 and 12:20 missed.
        (datetime(2026, 3, 20, 13, 25, tzinfo=UTC), [_key(13)], [_key(11), _key(12)]),
        # 13:35: even the latest is 15 minutes late, past the 10-minute grace: nothing is sent.
        (datetime(2026, 3, 20, 13, 35, tzinfo=UTC), [], [_key(11), _key(12), _key(13)]),
    ],
)
def test_three_hours_down_across_an_hourly_timer(
    db_url: str, back_at: datetime, sent_after: list[str], missed: list[str]
) -> None:
    """After downtime an hourly timer fires at most once (the latest, if within its grace);
    the others are recorded as missed, never sent late."""
    clock = FixedClock(T0 + timedelta(minutes=1))
    loaded = charter_with([HOURLY])
    up = make_gov(db_url, loaded, clock)
    up.tick(clock.now())
    assert reminders_sent(up.engine) == [_key(10)]
    up.engine.dispose()
    clock.set(back_at)
    back = make_gov(db_url, loaded, clock)
    for _ in range(3):
        back.tick(clock.now())
    assert reminders_sent(back.engine) == [_key(10), *sent_after]
    outcomes = fired(back.engine)
    assert [k for k in missed if outcomes.get(k) == "missed"] == missed
    back.engine.dispose()


def test_an_agenda_post_due_during_downtime_is_posted_late_once(db_url: str) -> None:
    """The agenda's grace is the time until the call: posted at the first tick after a restart,
    once, and announced with the agenda's text."""
    start = datetime(2026, 4, 2, 13, 0, tzinfo=UTC)  # core-sync, 15:00 Berlin (CEST)
    clock = FixedClock(start - timedelta(hours=50))
    loaded = charter_with()
    gov = make_gov(db_url, loaded, clock)
    gov.tick(clock.now())
    gov.engine.dispose()
    clock.set(start - timedelta(hours=30))  # 18 hours after the agenda was due
    for _ in range(2):
        gov = make_gov(db_url, loaded, clock)
        gov.tick(clock.now())
        gov.engine.dispose()
    agendas = [a for a in announcements(gov.engine) if "agenda" in a["data"]]
    assert [a["data"]["agenda"] for a in agendas] == ["core-sync@2026-04-02T15:00"]
    assert agendas[0]["title"].startswith("Agenda: Core client sync")
    assert fired(gov.engine)["core-sync@2026-04-02T15:00/agenda"] == "fired"


def test_a_private_call_is_announced_confidentially_and_not_posted_on_github(db_url: str) -> None:
    """The security council's call goes only to private channels: its announcements are
    confidential and its agenda is never queued as a public GitHub issue."""
    start = datetime(2026, 4, 7, 17, 0, tzinfo=UTC)  # first Tuesday of April
    clock = FixedClock(start - timedelta(hours=23, minutes=59))
    gov = make_gov(db_url, charter_with(), clock)
    gov.tick(clock.now())
    agendas = [a for a in announcements(gov.engine) if a["data"].get("meeting") == "security-sync"]
    assert agendas
    assert all(a["confidential"] for a in agendas)
    assert outbox_kind(gov.engine, "agenda-issue") == []
    gov.engine.dispose()


def test_meeting_announcements_carry_the_call_start_as_their_when(db_url: str) -> None:
    """A reminder says how long until the call ("starts in 1d") and names no UTC time; its
    notice's When is the call's start in the reader's zone: a Berlin reader sees 15:00 on
    Thursday the 11th, not the UTC hour or the moment the reminder went out. Scheduling,
    moving and cancelling a call are announced the same way."""
    import re

    from bot.render.model import build_notice
    from tests.bot.meetings.conftest import COORDINATOR

    now = datetime(2026, 6, 10, 13, 0, 30, tzinfo=UTC)  # 24 h before core-sync's 13:00 UTC
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    gov.tick(now)
    [reminder] = [a for a in announcements(gov.engine) if "reminder" in a["data"]]
    assert reminder["text"] == "Core client sync starts in 1d."
    assert reminder["data"]["starts_at"] == "2026-06-11T13:00:00+00:00"
    notice = build_notice(reminder, lang="de", zone="Europe/Berlin")
    assert notice.facts[-1][1] == "11.06.2026, 15:00:00 (Europe/Berlin)"

    def confirmed(text: str) -> str:
        preview = gov.run_sync(text, COORDINATOR, now)
        token = re.search(r"confirm (\S+) within", str(preview.lines))
        assert token, preview.lines
        done = gov.run_sync(f"confirm {token[1]}", COORDINATOR, now)
        assert done.ok
        return done.title.removeprefix("Scheduled ")

    call_id = confirmed('meeting schedule "Fork retro" 2026-06-12 09:00Z')
    confirmed("meeting move core-sync@2026-06-25T15:00 2026-06-26 10:00Z")
    assert gov.run_sync(f"meeting cancel {call_id}", COORDINATOR, now).ok
    kinds = ("New call:", "Moved:", "Cancelled:")
    changes = [a for a in announcements(gov.engine) if a["title"].startswith(kinds)]
    assert [(a["title"], a["text"], a["data"]["starts_at"]) for a in changes] == [
        ("New call: Fork retro", "Fork retro, 1h.", "2026-06-12T09:00:00+00:00"),
        ("Moved: Core client sync", "Core client sync (core-sync@2026-06-25T15:00) moves to a "
         "new time.", "2026-06-26T10:00:00+00:00"),
        ("Cancelled: Fork retro", f"Fork retro ({call_id}@2026-06-12T09:00) is "
         "cancelled.", "2026-06-12T09:00:00+00:00"),
    ]  # fmt: skip
    assert not any("UTC" in a["text"] for a in [reminder, *changes])
    gov.engine.dispose()


DAILY = {**HOURLY, "id": "daily", "title": "Daily sync", "rrule": "FREQ=DAILY",
         "start": "2026-01-01T12:30", "duration": "30m"}  # fmt: skip
CALL = datetime(2026, 3, 22, 12, 30, tzinfo=UTC)  # one of the daily calls


@pytest.mark.parametrize(
    ("reminder", "ticked_at", "said"),
    [
        ("10m", CALL - timedelta(minutes=10), "starts in 10m"),  # on time
        ("10m", CALL - timedelta(minutes=3), "starts in 3m"),  # 7 minutes late
        ("1h", CALL - timedelta(minutes=59, seconds=45), "starts in 1h"),  # seconds late
        ("1h", CALL - timedelta(minutes=52), "starts in 52m"),
        ("1d", CALL - timedelta(hours=23, minutes=51), "starts in 23h50m"),  # to five minutes
        ("2d", CALL - timedelta(hours=47, minutes=51), "starts in 2d"),  # to the hour
        ("5m", CALL - timedelta(seconds=10), "starts now"),
        ("5m", CALL + timedelta(minutes=3), "started 3m ago"),  # a short lead, 8 minutes late
    ],
)
def test_a_reminder_says_the_time_really_left(
    db_url: str, reminder: str, ticked_at: datetime, said: str
) -> None:
    """A reminder fired late (within its grace) says how long until the call from when it
    fires, rounded for reading, not its nominal lead."""
    loaded = charter_with([{**DAILY, "reminders": [reminder]}])
    gov = make_gov(db_url, loaded, FixedClock(ticked_at))
    gov.tick(ticked_at)
    texts = [a["text"] for a in announcements(gov.engine) if "reminder" in a["data"]]
    gov.engine.dispose()
    assert texts == [f"Daily sync {said}."]


def test_a_call_scheduled_in_three_minutes_is_not_announced_as_starting_in_ten(
    db_url: str,
) -> None:
    """An ad-hoc call scheduled closer than its 10 minute reminder gets that reminder at once,
    saying the three minutes left (its 1 hour reminder is long past: missed)."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    preview = gov.run_sync('meeting schedule "Hotfix sync" in 3 minutes', COORDINATOR, now)
    token = re.search(r"confirm (\S+)", plain_text(preview))
    assert token and gov.run_sync(f"confirm {token[1]}", COORDINATOR, now).ok
    gov.tick(now + timedelta(seconds=5))
    texts = [a["text"] for a in announcements(gov.engine) if "reminder" in a["data"]]
    gov.engine.dispose()
    assert texts == ["Hotfix sync starts in 3m."]
