"""The meeting commands through the service: preview-and-confirm, cancel, move, outcomes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.meetings_agenda import agenda_for
from bot.meetings_lookup import resolve
from bot.messages import Actor, Message, When, plain_text
from bot.service import Governance
from charter.meetings import Schedule
from storage import audit_query, meeting_outcomes as outcome_store, meetings as store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import ANONYMOUS, COORDINATOR, MAINTAINER, link_zone

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday; core-sync is every other Thursday


def run(gov: Governance, text: str, actor: Actor, now: datetime = NOW) -> Message:
    return gov.run_sync(text, actor, now)


def text_of(message: Message) -> str:
    return plain_text(message)


def token_of(message: Message) -> str:
    found = re.search(r"/charter confirm (\S+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


def audit_kinds(gov: Governance, subject_prefix: str = "meeting:") -> list[tuple[str, str, dict]]:
    with session_scope(gov.engine) as session:
        rows = audit_query.entries(session)
        return [
            (r.kind, r.subject, json.loads(r.payload))
            for r in reversed(rows)
            if r.subject.startswith(subject_prefix)
        ]


def adhoc(gov: Governance) -> list[AdhocMeetingRow]:
    with session_scope(gov.engine) as session:
        rows = store.adhoc_rows(session)
        for r in rows:
            session.expunge(r)
        return rows


def test_meetings_lists_the_next_calls_as_when_segments(gov: Governance) -> None:
    """`meetings --next 3` lists the next three calls of every series in start order, each start
    a When (Discord and Slack show it in the reader's zone) and its occurrence key."""
    message = run(gov, "meetings --next 3", MAINTAINER)
    starts = [seg.at for line in message.lines for seg in line if isinstance(seg, When)]
    assert starts == [
        datetime(2026, 4, 2, 13, 0, tzinfo=UTC),  # core-sync 15:00 Berlin, summer time
        datetime(2026, 4, 7, 17, 0, tzinfo=UTC),  # security-sync, first Tuesday
        datetime(2026, 4, 16, 13, 0, tzinfo=UTC),
    ]
    assert "core-sync@2026-04-02T15:00" in text_of(message)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("America/New_York", "Thu 2026-04-02 09:00 America/New_York"), (None, None)],
)
def test_the_console_shows_the_linked_users_zone(
    gov: Governance, zone: str | None, shown: str | None
) -> None:
    """On the console (no client-side time rendering) a linked user's zone is spelled out."""
    link_zone(gov, COORDINATOR, zone, NOW)
    out = text_of(run(gov, "meetings --next 1", COORDINATOR))
    assert "2026-04-02T13:00Z" in out
    assert (shown in out) if shown else ("America" not in out)


def test_schedule_previews_in_the_users_zone_and_waits_for_confirmation(gov: Governance) -> None:
    """A time without a zone is read in the user's linked zone; the preview shows UTC and local
    time, and nothing is scheduled until the same person confirms."""
    link_zone(gov, MAINTAINER, "America/New_York", NOW)
    preview = run(gov, 'meeting schedule "Fork retro" 2026-03-25 15:00 90m', MAINTAINER)
    out = text_of(preview)
    assert preview.ok, out
    assert "Wed 2026-03-25 19:00 UTC · Wed 2026-03-25 15:00 America/New_York (your time)" in out
    assert adhoc(gov) == []
    token = token_of(preview)
    other = Actor(login="bob-aurora", surface="slack", surface_id="U0BOB", display="Bob")
    assert not run(gov, f"confirm {token}", other).ok  # not the person who asked
    done = run(gov, f"confirm {token}", MAINTAINER)
    assert done.ok, text_of(done)
    [row] = adhoc(gov)
    assert (row.id[:-4], row.title, row.timezone) == (
        "call-20260325-1900-",  # and a random suffix (test_call_ids)
        "Fork retro",
        "America/New_York",
    )
    assert row.starts_at.replace(tzinfo=UTC) == datetime(2026, 3, 25, 19, 0, tzinfo=UTC)
    assert row.duration_seconds == 90 * 60
    assert not run(gov, f"confirm {token}", MAINTAINER).ok  # used once
    assert ("meeting-scheduled", f"meeting:{row.id}") in [k[:2] for k in audit_kinds(gov)]
    listed = run(gov, "meetings --next 1", MAINTAINER)
    assert "Fork retro" in text_of(listed)


@pytest.mark.parametrize(
    ("text", "actor", "why"),
    [
        ('meeting schedule "X" 2026-03-25 15:00', ANONYMOUS, "link"),
        ('meeting schedule "X" yesterday 15:00', MAINTAINER, "not a day"),
        ('meeting schedule "X" 2026-03-29 02:30 Europe/Berlin', MAINTAINER, "does not exist"),
        ('meeting schedule "X" 2026-03-19 15:00', MAINTAINER, "not in the future"),
        ('meeting schedule "X" 2026-03-25 15:00 for 999', MAINTAINER, "no proposal #999"),
        ("meeting cancel no-such-call", COORDINATOR, "no meeting no-such-call"),
        ("agenda add core-sync@2026-03-26T15:00 hi", MAINTAINER, "not an occurrence"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(
    gov: Governance, text: str, actor: Actor, why: str
) -> None:
    """Unreadable times, skipped local times, past times, unknown calls and anonymous users get
    a clear refusal and nothing is stored."""
    reply = run(gov, text, actor)
    assert not reply.ok
    assert why in text_of(reply)
    assert adhoc(gov) == []


def test_a_confirmation_expires(gov: Governance) -> None:
    """A token is good for 15 minutes."""
    token = token_of(run(gov, 'meeting schedule "Late" in 2 days', MAINTAINER))
    reply = run(gov, f"confirm {token}", MAINTAINER, NOW + timedelta(minutes=16))
    assert not reply.ok and "expired" in text_of(reply)


def test_cancel_and_move_change_the_schedule_and_raise_the_revision(gov: Governance) -> None:
    """Cancelling a series cancels its next occurrence; moving one (after confirmation) keeps
    its key; both are audited and raise the series' calendar revision."""
    assert run(gov, "meeting cancel core-sync", COORDINATOR).ok
    token = token_of(
        run(gov, "meeting move core-sync@2026-04-16T15:00 2026-04-17 10:00Z", COORDINATOR)
    )
    assert run(gov, f"confirm {token}", COORDINATOR).ok
    with session_scope(gov.engine) as session:
        schedule = store.schedule(session)
        revision = store.revisions(session)["core-sync"]
    assert schedule.cancelled == {"core-sync@2026-04-02T15:00"}
    assert schedule.moved == {"core-sync@2026-04-16T15:00": datetime(2026, 4, 17, 10, tzinfo=UTC)}
    assert revision == 2
    kinds = [k[:2] for k in audit_kinds(gov)]
    assert ("meeting-cancelled", "meeting:core-sync@2026-04-02T15:00") in kinds
    assert ("meeting-moved", "meeting:core-sync@2026-04-16T15:00") in kinds
    listed = text_of(run(gov, "meetings --next 2", COORDINATOR))
    assert "2026-04-02" not in listed and "(moved)" in listed


def test_decisions_need_a_coordinator_and_are_tied_to_the_call(gov: Governance) -> None:
    """`meeting decide` is for coordinators; decisions and action items are audited under the
    call in progress (here the 2026-03-19 core-sync, the most recent one)."""
    during = datetime(2026, 3, 19, 14, 30, tzinfo=UTC)
    assert not run(gov, "meeting decide ship it", MAINTAINER, during).ok
    assert run(gov, "meeting decide ship it", COORDINATOR, during).ok
    assert run(gov, "meeting action @carmen-borealis draft the notes", MAINTAINER, during).ok
    kinds = audit_kinds(gov)
    assert kinds[-2][:2] == ("meeting-decision", "meeting:core-sync@2026-03-19T15:00")
    assert kinds[-1][:2] == ("meeting-action", "meeting:core-sync@2026-03-19T15:00")
    assert kinds[-1][2]["owner"] == "carmen-borealis"


def test_open_actions_and_added_items_reach_the_next_agenda(gov: Governance) -> None:
    """An open action item from one call and an item added with `agenda add` appear on the next
    call's agenda; added items belong to that occurrence only."""
    during = datetime(2026, 3, 19, 14, 30, tzinfo=UTC)
    run(gov, "meeting action carmen-borealis write the @everyone fork notes", COORDINATOR, during)
    assert run(gov, "agenda add core-sync Discuss the testnet reset", MAINTAINER).ok
    with session_scope(gov.engine) as session:
        call, occ = resolve(session, gov, "core-sync", NOW, COORDINATOR)  # type: ignore[misc]
        body = agenda_for(session, gov.charter, call, occ, NOW).body_markdown
        later = resolve(session, gov, "core-sync@2026-04-16T15:00", NOW, COORDINATOR)
        later_body = agenda_for(session, gov.charter, *later, NOW).body_markdown  # type: ignore[misc]
    assert occ.key == "core-sync@2026-04-02T15:00"
    assert "write the @\u200beveryone fork notes — carmen-borealis" in body
    assert "Discuss the testnet reset — alice-aurora" in body
    assert "Discuss the testnet reset" not in later_body
    assert "fork notes" in later_body  # still open: carried again


def test_without_any_past_call_there_is_nothing_to_record_on(db_url: str) -> None:
    """Before the first call ever happened, a decision is refused with the reason."""
    from tests.bot.meetings.conftest import charter_with, make_gov

    gov = make_gov(db_url, charter_with([]), FixedClock(NOW))
    reply = run(gov, "meeting decide too early", COORDINATOR)
    assert not reply.ok and "No call has taken place" in text_of(reply)
    gov.engine.dispose()


@pytest.mark.parametrize(
    ("closing", "by_owner", "closed"),
    [
        ("done 1", "carmen-borealis", True),
        ("done [1]", "hana-eridanus", False),
        ("done #2", "carmen-borealis", False),
    ],
)
def test_an_action_item_is_closed_by_its_owner_number(
    gov: Governance, closing: str, by_owner: str, closed: bool
) -> None:
    """`meeting action <owner> done <n>` closes that owner's item [n]; it then leaves later
    agendas. A wrong owner or number changes nothing and says so."""
    during = datetime(2026, 3, 19, 14, 30, tzinfo=UTC)
    run(gov, "meeting action carmen-borealis write the notes", COORDINATOR, during)
    reply = run(gov, f"meeting action {by_owner} {closing}", COORDINATOR)
    assert reply.ok is closed, text_of(reply)
    with session_scope(gov.engine) as session:
        assert [r.id for r in outcome_store.open_actions(session)] == ([] if closed else [1])
    if closed:
        assert audit_kinds(gov)[-1][:2] == (
            "meeting-action-done",
            "meeting:core-sync@2026-03-19T15:00",
        )


def test_minutes_are_attached_to_the_call(gov: Governance) -> None:
    """`meeting decide minutes <url>` attaches the minutes link to the latest call."""
    after = datetime(2026, 3, 19, 18, 0, tzinfo=UTC)
    reply = run(gov, "meeting decide minutes https://notes.example/core-0319", COORDINATOR, after)
    assert reply.ok, text_of(reply)
    with session_scope(gov.engine) as session:
        found = [
            (r.kind, r.text) for r in outcome_store.outcomes(session, "core-sync@2026-03-19T15:00")
        ]
    assert found == [("minutes", "https://notes.example/core-0319")]
    assert audit_kinds(gov)[-1][:2] == ("meeting-minutes", "meeting:core-sync@2026-03-19T15:00")


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (
            'meeting schedule "Fork retro" 2026-04-02 14:00Z 60m',
            "Warning: this overlaps Core client sync 2026-04-02 13:00–14:30 UTC.",
        ),
        ('meeting schedule "Fork retro" 2026-04-02 14:30Z 60m', None),  # starts as it ends
        (
            "meeting move core-sync@2026-04-16T15:00 2026-04-07 17:30Z",
            "Warning: this overlaps Security council sync 2026-04-07 17:00–18:00 UTC.",
        ),
        ("meeting move core-sync@2026-04-16T15:00 2026-04-16 13:30Z", None),  # only itself
    ],
)
def test_a_preview_warns_of_calls_it_would_overlap(
    gov: Governance, text: str, warning: str | None
) -> None:
    """Several clients' maintainers sit in every call: a schedule or move that overlaps
    another call says so before it is confirmed (it may still be confirmed)."""
    preview = run(gov, text, COORDINATOR)
    out = text_of(preview)
    assert preview.ok, out
    if warning is None:
        assert "overlaps" not in out
    else:
        assert warning in out
        assert run(gov, f"confirm {token_of(preview)}", COORDINATOR).ok


def _unchanged(gov: Governance) -> None:
    with session_scope(gov.engine) as session:
        assert store.schedule(session) == Schedule()
        assert "core-sync" not in store.revisions(session)
    assert [k for k in audit_kinds(gov) if k[0] in ("meeting-moved", "meeting-cancelled")] == []


@pytest.mark.parametrize(
    ("text", "now", "verb"),
    [
        ("meeting cancel core-sync@2026-03-19T15:00", NOW, "cancelled"),  # took place yesterday
        ("meeting move core-sync@2026-03-19T15:00 2026-03-24 15:00", NOW, "moved"),
        # in progress (14:00–15:30 UTC): neither may it be cancelled or moved
        ("meeting cancel core-sync@2026-03-19T15:00", datetime(2026, 3, 19, 14, 30, tzinfo=UTC),
         "cancelled"),
        ("meeting move core-sync@2026-03-19T15:00 2026-03-24 15:00",
         datetime(2026, 3, 19, 14, 0, tzinfo=UTC), "moved"),
    ],
)  # fmt: skip
def test_a_call_that_has_started_cannot_be_cancelled_or_moved(
    gov: Governance, text: str, now: datetime, verb: str
) -> None:
    """What happened on a call is history: a started (or past) occurrence named by its key is
    neither cancelled nor moved (no preview to confirm), and the reply says why; decisions
    keep landing on it."""
    reply = run(gov, text, COORDINATOR, now)
    assert not reply.ok
    said = text_of(reply)
    assert (
        "core-sync@2026-03-19T15:00 started 2026-03-19T14:00Z (Thu 2026-03-19 15:00"
        f" Europe/Berlin) and cannot be {verb}" in said
    )
    assert "confirm" not in said
    _unchanged(gov)
    decided = run(gov, "meeting decide ship it", COORDINATOR, now)
    assert "core-sync@2026-03-19T15:00" in text_of(decided)


def test_an_ad_hoc_call_that_has_started_cannot_be_cancelled(gov: Governance) -> None:
    """An ad-hoc call named by its occurrence key is refused too once it started."""
    token = token_of(run(gov, 'meeting schedule "Fork retro" 2026-03-20 13:00Z', COORDINATOR))
    assert run(gov, f"confirm {token}", COORDINATOR).ok
    during = datetime(2026, 3, 20, 13, 10, tzinfo=UTC)
    [row] = adhoc(gov)
    reply = run(gov, f"meeting cancel {row.id}@2026-03-20T13:00", COORDINATOR, during)
    assert not reply.ok and "cannot be cancelled" in text_of(reply)
    assert [r.cancelled for r in adhoc(gov)] == [False]


@pytest.mark.parametrize(
    ("text", "confirm_at", "why"),
    [
        # the new time (12:05) passed while the preview waited for confirmation
        ("meeting move core-sync in 5 minutes", NOW + timedelta(minutes=10),
         "That time has passed meanwhile; move the call again."),
        # the call itself (2026-04-02 13:00 UTC) started before the move was confirmed
        ("meeting move core-sync 2026-04-03 10:00Z", datetime(2026, 4, 2, 13, 1, tzinfo=UTC),
         "core-sync@2026-04-02T15:00 started 2026-04-02T13:00Z"
         " (Thu 2026-04-02 15:00 Europe/Berlin) and cannot be moved"),
    ],
    ids=["new-time-passed", "call-started"],
)  # fmt: skip
def test_a_move_confirmed_too_late_is_refused(
    gov: Governance, text: str, confirm_at: datetime, why: str
) -> None:
    """Confirmation re-checks what the preview checked: a move whose new time has passed, or
    of a call that has started, is not applied."""
    previewed_at = confirm_at - timedelta(minutes=10)
    token = token_of(run(gov, text, COORDINATOR, previewed_at))
    reply = run(gov, f"confirm {token}", COORDINATOR, confirm_at)
    assert not reply.ok and why in text_of(reply)
    _unchanged(gov)
