"""One agenda issue per call occurrence, kept true through moves, cancellations, charter
amendments and outages: the agenda is posted once, then edited in place until the call ends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from bot.clock import FixedClock
from bot.meetings_agenda import digest
from bot.messages import Actor, plain_text
from bot.service import Governance
from charter.load import load_charter
from storage import agendas as store, outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from tests.bot.harness import Bot
from tests.bot.meetings.conftest import (
    COORDINATOR,
    MAINTAINER,
    charter_with,
    fired,
    make_gov,
    outbox_kind,
    reminders_sent,
)
from tests.bot.meetings.test_go_no_go import SOAK_END, on_canary
from tests.paths import reference_charter_text
from tests.standins.github_server import GitHubStandin

CALL = datetime(2026, 4, 2, 13, 0, tzinfo=UTC)  # core-sync, 15:00 CEST; agenda 48h before
KEY = "core-sync@2026-04-02T15:00"
POSTED = CALL - timedelta(hours=48)
GO = "go-no-go-7-production@2026-06-15T10:00"  # stored for 06-15 10:00 UTC, agenda 24h before
GO_POSTED = datetime(2026, 6, 14, 10, 1, tzinfo=UTC)


def confirmed(gov: Governance, text: str, actor: Actor, now: datetime) -> None:
    """Run a command that asks for confirmation, and confirm it."""
    token = re.search(r"confirm (\S+)", plain_text(gov.run_sync(text, actor, now)))
    assert token, text
    done = gov.run_sync(f"confirm {token[1]}", actor, now)
    assert done.ok, plain_text(done)


def latest(gov: Governance) -> dict[str, Any]:
    """The last agenda-issue item queued (its title and body are what GitHub will hold)."""
    return outbox_kind(gov.engine, "agenda-issue")[-1]


def deliver(gov: Governance, now: datetime) -> None:
    """What the relay records after posting each waiting agenda item: the issue's number (an
    occurrence's existing issue is edited) and the body GitHub now holds; the item is sent."""
    with session_scope(gov.engine) as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == "agenda-issue")
        for row in session.exec(stmt.where(OutboxRow.status == "pending")):
            data = outbox.payload(row)
            known = store.agenda_issue(session, data["occurrence_key"])
            number = known.issue_number if known else 100 + (row.id or 0)
            store.save_agenda_issue(
                session, data["occurrence_key"], number, digest(data["body"]), now
            )
            outbox.mark_sent(session, row, now, str(number))


def issue_number(gov: Governance, key: str) -> int | None:
    with session_scope(gov.engine) as session:
        issue = store.agenda_issue(session, key)
        return None if issue is None else issue.issue_number


def amended(hour: int, versions: int = 1) -> Any:
    """The reference charter, ``versions`` later, with core-sync at ``hour``:00 Berlin time."""
    data = yaml.safe_load(reference_charter_text())
    data["charter"]["version"] += versions
    data["meetings"][0]["start"] = f"2026-01-08T{hour}:00"
    return yaml.safe_dump(data, sort_keys=False)


# -- a moved ad-hoc call keeps its agenda ----------------------------------------------------


def test_moving_a_go_no_go_call_keeps_its_agenda_issue_and_items(db_url: str) -> None:
    """The go/no-go call's agenda is posted, then the call is pushed back a day: its issue is
    edited at once to the new time (same key, so the same issue), keeps the item added before,
    and the re-armed agenda post a day later edits the same issue again."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    assert gov.run_sync("agenda add go-no-go-7-production check borealis fork", MAINTAINER, now).ok
    gov.tick(GO_POSTED)
    deliver(gov, GO_POSTED)
    number = issue_number(gov, GO)
    confirmed(gov, "meeting move go-no-go-7-production 2026-06-16 10:00Z", COORDINATOR, GO_POSTED)
    moved = latest(gov)  # queued by the move itself, before any tick
    assert moved["title"] == "Agenda: Go/no-go: #7 to production — 2026-06-16 10:00 UTC"
    assert "**Moved:** first planned for 2026-06-15 10:00 UTC." in moved["body"]
    deliver(gov, GO_POSTED)
    gov.tick(datetime(2026, 6, 15, 10, 1, tzinfo=UTC))
    items = outbox_kind(gov.engine, "agenda-issue")
    assert {p["occurrence_key"] for p in items} == {GO}
    assert all("check borealis fork" in p["body"] for p in items)
    assert issue_number(gov, GO) == number  # the one issue, edited
    gov.engine.dispose()


def test_items_added_before_a_move_reach_the_moved_call_s_agenda(db_url: str) -> None:
    """Moved before its agenda is posted, the call's agenda (posted a day before its new
    time) still lists what was added to it."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    assert gov.run_sync("agenda add go-no-go-7-production check borealis fork", MAINTAINER, now).ok
    confirmed(gov, "meeting move go-no-go-7-production 2026-06-16 10:00Z", COORDINATOR, now)
    assert outbox_kind(gov.engine, "agenda-issue") == []  # not posted yet: nothing to edit
    gov.tick(datetime(2026, 6, 15, 10, 1, tzinfo=UTC))
    [item] = outbox_kind(gov.engine, "agenda-issue")
    assert (item["occurrence_key"], "check borealis fork" in item["body"]) == (GO, True)
    gov.engine.dispose()


def test_a_moved_go_no_go_call_is_reminded_again_at_its_new_time(db_url: str) -> None:
    """Its "starts in 1h" was sent, then the call was pushed back a day: the reminders are
    re-armed for the new time (under new keys), and none fires for the old time."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    old = datetime(2026, 6, 15, 10, tzinfo=UTC)
    gov.tick(old - timedelta(minutes=59, seconds=30))
    assert reminders_sent(gov.engine) == [f"{GO}/remind-1h"]
    confirmed(gov, "meeting move go-no-go-7-production 2026-06-16 10:00Z", COORDINATOR,
              old - timedelta(minutes=30))  # fmt: skip
    new = old + timedelta(days=1)
    for at in (old - timedelta(minutes=9), new - timedelta(minutes=59), new - timedelta(minutes=9)):
        gov.tick(at)
    assert reminders_sent(gov.engine) == [
        f"{GO}/remind-1h",
        f"{GO}/remind-1h@moved-20260616T1000Z",
        f"{GO}/remind-10m@moved-20260616T1000Z",
    ]
    gov.engine.dispose()


async def test_a_moved_go_no_go_call_keeps_one_github_issue(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """On GitHub: one agenda issue for the call, edited to its new time."""
    github.reset()
    clock = FixedClock(SOAK_END - timedelta(days=1))
    bot = Bot(sqlite_url, github, clock)
    github.store.now = clock.now().replace(microsecond=0)
    on_canary(bot.gov)
    await bot.settle()
    await bot.advance(timedelta(hours=1))  # 10:17: the agenda of the 06-15 10:00 call
    confirmed(bot.gov, "meeting move go-no-go-7-production 2026-06-16 10:00Z", COORDINATOR,
              clock.now())  # fmt: skip
    await bot.advance(timedelta(days=1))  # the moved call's agenda post
    issues = [i for i in github.store.issues.values() if "charterbot:agenda:go-no-go" in i.body]
    await bot.close()
    assert [i.title for i in issues] == [
        "Agenda: Go/no-go: #7 to production — 2026-06-16 10:00 UTC"
    ]
    assert f"charterbot:agenda:{GO}" in issues[0].body


# -- a charter amendment moves a series' hour --------------------------------------------------


def test_an_amended_hour_takes_over_the_posted_agenda_waiting_for_the_relay(db_url: str) -> None:
    """Posted at 15:00 (the relay has not run yet), then the charter moves core-sync to 16:00:
    the 16:00 call takes over the waiting post and the items added to it; no second issue."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    assert gov.run_sync(f"agenda add {KEY} Borealis fork status", MAINTAINER, POSTED).ok
    gov.engine.dispose()
    at = POSTED + timedelta(hours=6)
    gov = make_gov(db_url, load_charter(amended(16)), FixedClock(at))
    gov.tick(at)
    [item] = outbox_kind(gov.engine, "agenda-issue")
    gov.engine.dispose()
    assert item["occurrence_key"] == "core-sync@2026-04-02T16:00"
    assert item["title"] == "Agenda: Core client sync — 2026-04-02 16:00 CEST"
    assert "Borealis fork status" in item["body"]


def test_an_amended_hour_edits_the_posted_issue_instead_of_opening_another(db_url: str) -> None:
    """The 15:00 agenda is on GitHub; after the amendment the 16:00 call's agenda is an edit of
    that issue, and the stale 15:00 agenda is no longer kept (its issue is the 16:00 one)."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    number = issue_number(gov, KEY)
    gov.engine.dispose()
    at = POSTED + timedelta(hours=6)
    gov = make_gov(db_url, load_charter(amended(16)), FixedClock(at))
    gov.tick(at)
    new = "core-sync@2026-04-02T16:00"
    assert [p["occurrence_key"] for p in outbox_kind(gov.engine, "agenda-issue")] == [KEY, new]
    assert (issue_number(gov, new), issue_number(gov, KEY)) == (number, None)
    for minutes in (1, 60):
        gov.tick(at + timedelta(minutes=minutes))
    assert len(outbox_kind(gov.engine, "agenda-issue")) == 2
    gov.engine.dispose()


def test_an_hour_amended_and_amended_back_keeps_one_issue(db_url: str) -> None:
    """15:00 posted, amended to 16:00 (the issue follows), then back to 15:00 a few hours
    later: the 15:00 call, whose agenda was posted already, takes its issue back."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    number = issue_number(gov, KEY)
    for hours, text in ((6, amended(16)), (9, amended(15, versions=2))):
        gov.engine.dispose()
        at = POSTED + timedelta(hours=hours)
        gov = make_gov(db_url, load_charter(text), FixedClock(at))
        gov.tick(at)
        deliver(gov, at)
    assert (issue_number(gov, KEY), issue_number(gov, "core-sync@2026-04-02T16:00")) == (
        number,
        None,
    )
    last = latest(gov)
    gov.engine.dispose()
    assert (last["occurrence_key"], last["title"]) == (
        KEY,
        "Agenda: Core client sync — 2026-04-02 15:00 CEST",
    )


async def test_an_amended_hour_keeps_one_github_issue(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path
) -> None:
    """On GitHub, through a restart with the amended charter: one agenda issue, now for the
    16:00 call, still holding the item added for the call of that day."""
    github.reset()
    clock = FixedClock(POSTED + timedelta(minutes=1))
    bot = Bot(sqlite_url, github, clock)
    github.store.now = clock.now().replace(microsecond=0)
    await bot.settle()
    assert bot.gov.run_sync("agenda add core-sync Borealis fork status", MAINTAINER).ok
    await bot.settle()
    await bot.close()
    path = tmp_path / "amended.yaml"
    path.write_text(amended(16))
    clock.advance(timedelta(hours=6))
    bot = Bot(sqlite_url, github, clock, charter=str(path))
    github.store.now = clock.now().replace(microsecond=0)
    await bot.settle()
    await bot.close()
    issues = [i for i in github.store.issues.values() if "charterbot:agenda:core-sync" in i.body]
    assert [i.title for i in issues] == ["Agenda: Core client sync — 2026-04-02 16:00 CEST"]
    assert "charterbot:agenda:core-sync@2026-04-02T16:00" in issues[0].body
    assert "Borealis fork status" in issues[0].body


@pytest.mark.parametrize(
    "hours",
    [
        (17, 16),  # 17:00 took over 15:00's issue; 16:00 is as near both: the one holding it
        (16, 15, 17),  # 16:00, emptied when 15:00 took its issue back, is nearer 17:00
    ],
)
def test_an_hour_amended_several_times_keeps_one_issue(db_url: str, hours: tuple[int, ...]) -> None:
    """Amendments moving core-sync's hour back and forth on the day its agenda is posted: the
    call of that day keeps the one issue; an agenda taken over already (emptied, though its
    timer fired) is never taken over again."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    number = issue_number(gov, KEY)
    for n, hour in enumerate(hours, start=1):
        gov.engine.dispose()
        at = POSTED + timedelta(hours=3 * n + 3)
        gov = make_gov(db_url, load_charter(amended(hour, versions=n)), FixedClock(at))
        gov.tick(at)
        deliver(gov, at)
    keys = {p["occurrence_key"] for p in outbox_kind(gov.engine, "agenda-issue")}
    held = {key: issue_number(gov, key) for key in keys}
    gov.engine.dispose()
    final = f"core-sync@2026-04-02T{hours[-1]}:00"
    assert {k: n for k, n in held.items() if n is not None} == {final: number}


async def test_two_amended_hours_keep_one_github_issue(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path
) -> None:
    """On GitHub: 15:00 posted, amended to 17:00, then (same day) to 16:00: one agenda issue,
    for the 16:00 call."""
    github.reset()
    clock = FixedClock(POSTED + timedelta(minutes=1))
    bot = Bot(sqlite_url, github, clock)
    github.store.now = clock.now().replace(microsecond=0)
    await bot.settle()
    await bot.close()
    for n, hour in enumerate((17, 16), start=1):
        path = tmp_path / f"amended{n}.yaml"
        path.write_text(amended(hour, versions=n))
        clock.advance(timedelta(hours=3))
        bot = Bot(sqlite_url, github, clock, charter=str(path))
        github.store.now = clock.now().replace(microsecond=0)
        await bot.settle()
        await bot.close()
    issues = [i for i in github.store.issues.values() if "charterbot:agenda:core-sync" in i.body]
    assert [i.title for i in issues] == ["Agenda: Core client sync — 2026-04-02 16:00 CEST"]


TWICE = {
    "id": "twice", "title": "Twice daily", "rrule": "FREQ=DAILY;BYHOUR=9,17",
    "start": "2026-01-01T09:00", "timezone": "UTC", "duration": "30m",
    "agenda_before": "24h", "announce_to": ["core-discord"],
}  # fmt: skip
EVENING = datetime(2026, 4, 1, 17, 1, tzinfo=UTC)  # both agendas of Apr 2 are posted by now


def twice(byhour: str, versions: int = 0) -> Any:
    data = yaml.safe_load(reference_charter_text())
    data["charter"]["version"] += versions
    data["meetings"] = [{**TWICE, "rrule": f"FREQ=DAILY;BYHOUR={byhour}"}]
    return load_charter(yaml.safe_dump(data, sort_keys=False), "v.yaml")


def _twice_posted(db_url: str) -> int | None:
    """Both Apr 2 agendas posted and delivered, an item added to the evening call's."""
    gov = make_gov(db_url, twice("9,17"), FixedClock(EVENING))
    gov.tick(datetime(2026, 4, 1, 9, 1, tzinfo=UTC))
    gov.tick(EVENING)
    assert gov.run_sync("agenda add twice@2026-04-02T17:00 evening item", MAINTAINER, EVENING).ok
    gov.tick(EVENING + timedelta(minutes=1))
    deliver(gov, EVENING)
    number = issue_number(gov, "twice@2026-04-02T17:00")
    gov.engine.dispose()
    return number


@pytest.mark.parametrize(
    ("byhour", "evening_key", "evening_title"),
    [
        ("9,18", "twice@2026-04-02T18:00", "Agenda: Twice daily — 2026-04-02 18:00 UTC"),
        ("9", "twice@2026-04-02T17:00", "[Cancelled] Agenda: Twice daily — 2026-04-02 17:00 UTC"),
    ],
)  # fmt: skip
def test_an_amended_evening_call_keeps_its_items_from_the_morning_call(
    db_url: str, byhour: str, evening_key: str, evening_title: str
) -> None:
    """Two calls a day: an amendment moves the evening call to 18:00 (its items and issue go
    to the 18:00 call, not to the unchanged 09:00 one, whose refresh runs first), or drops it
    (its issue says it is cancelled; nothing goes to the morning call)."""
    number = _twice_posted(db_url)
    at = datetime(2026, 4, 1, 17, 30, tzinfo=UTC)
    gov = make_gov(db_url, twice(byhour, 1), FixedClock(at))
    gov.tick(at)
    gov.tick(datetime(2026, 4, 1, 18, 1, tzinfo=UTC))  # an 18:00 call's agenda is due
    last = {p["occurrence_key"]: p for p in outbox_kind(gov.engine, "agenda-issue")}
    held = issue_number(gov, evening_key)
    gov.engine.dispose()
    assert "evening item" not in last["twice@2026-04-02T09:00"]["body"]
    assert (last[evening_key]["title"], held) == (evening_title, number)
    assert "evening item" in last[evening_key]["body"]


def test_a_call_removed_by_an_amendment_gets_its_issue_cancelled(db_url: str) -> None:
    """An amendment ends core-sync (UNTIL) after the Apr 2 agenda was posted: the call is gone,
    so its issue says "[Cancelled]", once, rather than announcing it still."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    gov.engine.dispose()
    data = yaml.safe_load(reference_charter_text())
    data["charter"]["version"] += 1
    data["meetings"][0]["rrule"] += ";UNTIL=20260331T000000Z"  # the series ends before Apr 2
    at = POSTED + timedelta(hours=6)
    gov = make_gov(db_url, load_charter(yaml.safe_dump(data, sort_keys=False)), FixedClock(at))
    for hours in (0, 12, 24, 40):
        gov.tick(at + timedelta(hours=hours))
        deliver(gov, at + timedelta(hours=hours))
    titles = [p["title"] for p in outbox_kind(gov.engine, "agenda-issue")]
    gov.engine.dispose()
    assert titles == [
        "Agenda: Core client sync — 2026-04-02 15:00 CEST",
        "[Cancelled] Agenda: Core client sync — 2026-04-02 15:00 CEST",
    ]


# -- kept current until the call ends ---------------------------------------------------------

MONTHLY = {
    "id": "rollout-sync", "title": "Rollout sync", "rrule": "FREQ=MONTHLY;BYDAY=1WE",
    "start": "2026-01-07T16:00", "timezone": "America/Chicago", "duration": "60m",
    "agenda_before": "7d", "reminders": ["1h"], "announce_to": ["core-discord"],
}  # fmt: skip


def test_an_agenda_posted_a_week_ahead_is_edited_until_the_call(db_url: str) -> None:
    """Posted seven days before the call: an item added two days before still reaches it."""
    call = datetime(2026, 4, 1, 21, 0, tzinfo=UTC)  # 16:00 CDT
    key = "rollout-sync@2026-04-01T16:00"
    gov = make_gov(db_url, charter_with([MONTHLY]), FixedClock(call - timedelta(days=7)))
    gov.tick(call - timedelta(days=7))
    deliver(gov, call - timedelta(days=7))
    at = call - timedelta(days=2)
    assert gov.run_sync(f"agenda add {key} Borealis fork status", MAINTAINER, at).ok
    gov.tick(at + timedelta(minutes=1))
    bodies = [p["body"] for p in outbox_kind(gov.engine, "agenda-issue")]
    gov.engine.dispose()
    assert len(bodies) == 2 and "Borealis fork status" in bodies[-1], bodies[-1]


def test_a_posted_agenda_follows_its_call_moved_far_ahead(db_url: str) -> None:
    """Posted 48h ahead, then the call is pushed back five days: the issue is edited at once to
    the new time, and an item added the next day reaches it (days before the call's agenda
    time comes round again)."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    at = POSTED + timedelta(hours=1)
    confirmed(gov, f"meeting move {KEY} 2026-04-07 13:00Z", COORDINATOR, at)
    assert latest(gov)["title"] == "Agenda: Core client sync — 2026-04-07 15:00 CEST"
    deliver(gov, at)
    later = at + timedelta(days=1)
    assert gov.run_sync(f"agenda add {KEY} Borealis fork status", MAINTAINER, later).ok
    gov.tick(later + timedelta(minutes=1))
    last = latest(gov)
    gov.engine.dispose()
    assert (last["occurrence_key"], "Borealis fork status" in last["body"]) == (KEY, True)


def test_a_cancelled_call_s_posted_agenda_says_so_at_once_and_once(db_url: str) -> None:
    """Cancelled after its agenda was posted: the issue is edited right away ("[Cancelled]"),
    and not again however live state changes until the call would have ended."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    deliver(gov, POSTED)
    at = POSTED + timedelta(hours=1)
    assert gov.run_sync(f"meeting cancel {KEY}", COORDINATOR, at).ok
    cancelled = latest(gov)
    assert cancelled["title"] == "[Cancelled] Agenda: Core client sync — 2026-04-02 15:00 CEST"
    assert "**Cancelled:** this call will not take place." in cancelled["body"]
    deliver(gov, at)
    for hours in (2, 30, 47):
        gov.tick(POSTED + timedelta(hours=hours))
    assert len(outbox_kind(gov.engine, "agenda-issue")) == 2
    gov.engine.dispose()


def test_a_cancelled_call_s_waiting_post_says_so(db_url: str) -> None:
    """Cancelled before the relay posted its agenda: the waiting post says it is cancelled."""
    gov = make_gov(db_url, charter_with(), FixedClock(POSTED))
    gov.tick(POSTED)
    assert gov.run_sync(f"meeting cancel {KEY}", COORDINATOR, POSTED + timedelta(minutes=5)).ok
    [item] = outbox_kind(gov.engine, "agenda-issue")
    gov.engine.dispose()
    assert item["title"].startswith("[Cancelled] Agenda: Core client sync")


async def test_a_cancelled_call_s_github_issue_is_edited_without_waiting_for_a_tick(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """On GitHub: the cancel queues the edit itself; the relay alone delivers it."""
    github.reset()
    clock = FixedClock(POSTED + timedelta(minutes=1))
    bot = Bot(sqlite_url, github, clock)
    github.store.now = clock.now().replace(microsecond=0)
    await bot.settle()
    assert bot.gov.run_sync(f"meeting cancel {KEY}", COORDINATOR).ok
    for relay in bot.rt.relays:
        await relay(clock.now())
    issues = [i for i in github.store.issues.values() if f"charterbot:agenda:{KEY}" in i.body]
    await bot.close()
    assert [i.title for i in issues] == [
        "[Cancelled] Agenda: Core client sync — 2026-04-02 15:00 CEST"
    ]


# -- outages ---------------------------------------------------------------------------------

DAILY = {
    "id": "daily", "title": "Daily interop", "rrule": "FREQ=DAILY",
    "start": "2026-01-01T16:00", "timezone": "America/New_York", "duration": "30m",
    "agenda_before": "48h", "announce_to": ["core-discord"],
}  # fmt: skip


def test_each_upcoming_call_gets_its_agenda_after_a_long_outage(db_url: str) -> None:
    """Down from Mar 10 12:00 to Mar 11 22:00 UTC: the agendas of the Mar 12 and Mar 13 calls
    (16:00 New York, 20:00 UTC) both fell due and neither call has started: both are posted,
    the earlier one no less than the later (each is judged on its own grace)."""
    down = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    gov = make_gov(db_url, charter_with([DAILY]), FixedClock(down))
    gov.tick(down)
    gov.engine.dispose()
    back = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)
    gov = make_gov(db_url, charter_with([DAILY]), FixedClock(back))
    gov.tick(back)
    posted = [p["occurrence_key"] for p in outbox_kind(gov.engine, "agenda-issue")]
    outcomes = fired(gov.engine)
    gov.engine.dispose()
    assert posted == [f"daily@2026-03-{day}T16:00" for day in (10, 11, 12, 13)], outcomes
    assert [outcomes[f"{key}/agenda"] for key in posted[-2:]] == ["fired", "fired"]
