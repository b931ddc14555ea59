"""Resolving an incident schedules its post-incident review as a call (``incidents.review_within``
after resolution): an ad-hoc call on the due date at the hour of the charter's first meeting
series (15:00 in Berlin), moved past a call it would overlap, listed by ``meetings``, in the
calendar feed and on the dashboard, reminded, with an agenda linking the drafted review issue,
and audited. It is stored once. A confidential incident's call is private."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot import meetings_incident_review, meetings_service
from bot.relay_fanout import announcement
from bot.web.calls import upcoming
from charter.subscriptions import recipients
from storage import audit, incidents as incident_store, meetings as meeting_store
from storage.dashboard_queries import private_meetings
from storage.db import session_scope
from storage.models.audit import AuditEntry
from storage.models.meetings import AdhocMeetingRow
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, H, World, form
from tests.bot.rollouts.test_rollout_commands import decide
from tests.paths import reference_charter_text

BERLIN = ZoneInfo("Europe/Berlin")
CALL = "incident-review-1"
PAIR = ("aurora", "borealis")
SEARCH = (
    "https://github.com/meridian-net/upgrades/issues?q=is%3Aissue+label%3Apost-incident-review"
    "+in%3Atitle+%22Post-incident+review%3A+incident+1+%28sev2%29+%E2%80%94+due+"
)


def staged(world: World) -> None:
    meetings_service.install_on(world.gov)
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {client[0] * 40}")


def until(world: World, at: datetime) -> None:
    world.later(at - world.clock.now())


def stored(world: World) -> list[AdhocMeetingRow]:
    with session_scope(world.engine) as session:
        rows = meeting_store.adhoc_rows(session)
        for row in rows:
            session.expunge(row)
        return rows


def audits(world: World, kind: str) -> list[tuple[str, str]]:
    with session_scope(world.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.kind == kind)).all()
        return [(r.subject, r.payload) for r in rows]


def resolved(world: World, at: datetime) -> tuple[str, datetime]:
    """Declare a sev2 incident about #1 and resolve it at ``at``: the reply and the due time."""
    world.ok(COORDINATOR, 'incident declare sev2 "slow blocks" for 1')
    until(world, at)
    said = world.ok(COORDINATOR, "incident resolve fixed")
    with session_scope(world.engine) as session:
        due = incident_store.review_due_at(session, 1)
    assert due == at + timedelta(days=5)
    return said, due


@pytest.mark.parametrize(
    ("resolved_at", "starts"),
    [
        # due Sunday 2026-06-14 11:00 UTC: the call is that day at 15:00 in Berlin
        (datetime(2026, 6, 9, 11, tzinfo=UTC), datetime(2026, 6, 14, 13, tzinfo=UTC)),
        # due Thursday 2026-06-25, a core-sync day (15:00-16:30 Berlin): it follows that call
        (datetime(2026, 6, 20, 10, tzinfo=UTC), datetime(2026, 6, 25, 15, tzinfo=UTC)),
    ],
    ids=["due-date-at-the-sync-hour", "after-the-sync-it-would-overlap"],
)
def test_resolving_schedules_the_review_call(
    world: World, resolved_at: datetime, starts: datetime
) -> None:
    staged(world)
    said, due = resolved(world, resolved_at)
    [row] = stored(world)
    assert (row.id, row.kind, row.title, row.private) == (
        CALL,
        "incident-review",
        "Post-incident review: incident 1 — slow blocks",
        False,
    )
    begins = row.starts_at.replace(tzinfo=UTC)
    assert begins == starts
    assert begins.astimezone(BERLIN).date() == due.astimezone(BERLIN).date()
    assert said.splitlines()[-1] == (
        f"Its post-incident review call ({CALL}) is at {starts:%Y-%m-%d %H:%M} UTC."
    )
    [(subject, payload)] = audits(world, "meeting-scheduled")
    assert subject == f"meeting:{CALL}"
    assert audit.payload_of(payload) == {
        "incident": "1",
        "starts_at": starts.isoformat(),
        "due": due.isoformat(),
    }
    [news] = world.announced("The post-incident review of incident 1 is scheduled")
    assert (news["kind"], news["confidential"]) == ("meeting", False)
    assert SEARCH in news["text"]


def test_the_call_is_listed_reminded_and_has_an_agenda(world: World) -> None:
    staged(world)
    _, due = resolved(world, datetime(2026, 6, 9, 11, tzinfo=UTC))
    now = world.clock.now()
    assert "Post-incident review: incident 1 — slow blocks" in world.ok(None, "meetings")
    assert CALL in [c["id"] for c in upcoming(world.engine, world.gov.charter, now, count=20)]
    assert (
        "Post-incident review: incident 1" in meetings_service.feed(world.gov, None, now).decode()
    )
    starts = datetime(2026, 6, 14, 13, tzinfo=UTC)
    until(world, starts - 24 * H)
    world.tick()
    [agenda] = [a for a in world.outbox("agenda-issue") if CALL in a["occurrence_key"]]
    assert agenda["title"].startswith("Agenda: Post-incident review: incident 1 — slow blocks")
    assert f"{SEARCH}{due:%Y-%m-%d}%22" in agenda["body"]
    until(world, starts - H)
    world.tick()
    assert world.announced("Post-incident review: incident 1 — slow blocks starts in 1h")


def test_the_call_is_stored_once(world: World) -> None:
    """An incident is resolved once (a second resolve is refused); storing its call again
    stores and announces nothing."""
    staged(world)
    resolved(world, datetime(2026, 6, 9, 11, tzinfo=UTC))
    assert "was resolved" in world.refused(COORDINATOR, "incident resolve #1 again")
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
        assert incident is not None
        now = world.clock.now()
        start = meetings_incident_review.review_start(world.gov, session, now, now)
        again = meetings_incident_review.schedule_incident_review(
            world.gov, session, incident, now, start, now, drafted="x"
        )
    assert again is None
    assert [row.id for row in stored(world)] == [CALL]
    assert len(audits(world, "meeting-scheduled")) == 1


def test_the_call_is_stored_at_the_start_its_draft_names(world: World) -> None:
    """The start is computed once (``review_start``), named by the draft, and given to
    ``schedule_incident_review``, which stores it as given: the two cannot disagree."""
    staged(world)
    world.ok(COORDINATOR, 'incident declare sev2 "slow blocks" for 1')
    now = world.clock.now()
    with session_scope(world.engine) as session:
        incident = incident_store.load_incident(session, 1)
        assert incident is not None
        start = meetings_incident_review.review_start(world.gov, session, now, now)
        given = meetings_incident_review.ReviewStart(start.at + 3 * H, "UTC", [])
        row = meetings_incident_review.schedule_incident_review(
            world.gov, session, incident, now, given, now, drafted="x"
        )
        assert row is not None and (row.starts_at, row.timezone) == (given.at, "UTC")


def test_a_review_due_within_the_hour_is_held_on_the_next_hour(sqlite_engine: Engine) -> None:
    """Due before the sync hour has come round again: never sooner than an hour from now."""
    text = reference_charter_text().replace("review_within: 5d", "review_within: 1h", 1)
    world = World(sqlite_engine, text)
    staged(world)
    resolved_at = datetime(2026, 6, 9, 14, 30, tzinfo=UTC)  # 16:30 in Berlin, after the hour
    world.ok(COORDINATOR, 'incident declare sev2 "slow blocks" for 1')
    until(world, resolved_at)
    world.ok(COORDINATOR, "incident resolve fixed")
    [row] = stored(world)
    assert row.starts_at.replace(tzinfo=UTC) == datetime(2026, 6, 9, 16, tzinfo=UTC)
    assert row.starts_at.replace(tzinfo=UTC).astimezone(BERLIN).time() == time(18)


def _channels(world: World, a: dict[str, Any]) -> list[str | None]:
    return [d.channel for d in recipients(announcement(a), world.gov.charter, [])]


def test_a_confidential_incidents_review_call_is_private(world: World) -> None:
    """It names an undisclosed patch: its call is private (announced to private channels, no
    agenda issue, not in the feed or on the dashboard, its audit entry withheld), listed by
    ``meetings`` only to who may see it, and its agenda says where the draft went."""
    meetings_service.install_on(world.gov)
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")
    world.ok(COUNCIL, 'incident declare sev1 "exploit seen on testnet" for 2 clients borealis')
    said = world.ok(COUNCIL, "incident resolve patched")
    [row] = stored(world)
    assert (row.id, row.private) == (CALL, True)
    assert f"({CALL})" in said
    now = world.clock.now()
    assert CALL not in [c["id"] for c in upcoming(world.engine, world.gov.charter, now, count=20)]
    assert "Post-incident review" not in meetings_service.feed(world.gov, None, now).decode()
    with session_scope(world.engine) as session:
        assert CALL in private_meetings(session)
    assert CALL in world.ok(COUNCIL, "meetings")
    assert CALL not in world.ok(MAINTAINER["borealis"], "meetings")
    news = [a for a in world.outbox("announce") if a["data"].get("meeting") == CALL]
    assert news and all(a["confidential"] and _channels(world, a) == [] for a in news)
    assert "sent to the private channels" in news[0]["text"]
    assert "github.com" not in news[0]["text"]
    until(world, row.starts_at.replace(tzinfo=UTC) - 24 * H)
    world.tick()
    assert [a for a in world.outbox("agenda-issue") if CALL in a["occurrence_key"]] == []
    agendas = [a for a in world.outbox("announce") if a["data"].get("agenda", "").startswith(CALL)]
    assert agendas and all(a["confidential"] for a in agendas)


@pytest.mark.parametrize(
    ("patches", "public"),
    [((2,), True), ((2, 3), False)],
    ids=["its-only-secret-disclosed", "another-secret-still-held"],
)
def test_disclosure_makes_the_review_call_public_once_nothing_is_secret(
    world: World, patches: tuple[int, ...], public: bool
) -> None:
    """``disclose 2`` makes the review call public when the incident no longer holds anything
    undisclosed; while it names another undisclosed patch, the call stays private."""
    meetings_service.install_on(world.gov)
    for n in patches:
        world.open_issue(n, form(track="security-patch", clients=("aurora",)), f"Fix {n}")
        decide(world, n)
        world.ok(COORDINATOR, f"rollout {n}")
    named = ",".join(str(n) for n in patches)
    world.ok(COUNCIL, f'incident declare sev1 "exploit seen on testnet" for {named}')
    world.ok(COUNCIL, "incident resolve patched")
    world.ok(COORDINATOR, "disclose 2")
    [row] = stored(world)
    assert row.private is not public
    now = world.clock.now()
    listed = [c["id"] for c in upcoming(world.engine, world.gov.charter, now, count=20)]
    assert (CALL in listed) is public
    assert (CALL in world.ok(MAINTAINER["borealis"], "meetings")) is public
