"""Calls about confidential matters stay private: a confidential rollout's go/no-go call (until
its proposal is disclosed) and every announcement of a call announced only to private channels
(scheduled, moved, cancelled) reach private channels only, and private ad-hoc calls are neither
posted as public agenda issues nor listed in the public calendar feed or on the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import calendar
from bot.clock import FixedClock
from bot.meetings_agenda import agenda_for
from bot.meetings_incident_review import review_start, schedule_incident_review
from bot.meetings_lookup import resolve
from bot.messages import Actor, plain_text
from bot.relay_fanout import announcement
from bot.service import Governance
from bot.web.calls import upcoming
from charter.incident_facts import Incident
from charter.lifecycle import State
from charter.proposal import Proposal
from charter.rollout import Rollout
from charter.subscriptions import recipients
from storage import (
    meeting_outcomes as outcome_store,
    meetings as store,
    proposals as repo,
    rollouts as rollout_store,
)
from storage.db import session_scope
from storage.models.meetings import AgendaItemRow
from storage.times import aware
from tests.bot.meetings.conftest import (
    ANONYMOUS,
    COORDINATOR,
    MAINTAINER,
    announcements,
    charter_with,
    make_gov,
    outbox_kind,
)
from tests.bot.meetings.test_go_no_go import CANARY_SINCE, CLIENTS, SOAK_END, on_canary


def _channels(gov: Governance, a: dict[str, Any]) -> list[str | None]:
    return [d.channel for d in recipients(announcement(a), gov.charter, [])]


@pytest.mark.parametrize("confidential", [True, False])
def test_a_confidential_rollouts_go_no_go_call_is_private(db_url: str, confidential: bool) -> None:
    """Scheduling, reminders and the agenda of a confidential rollout's go/no-go call go to
    private channels only (none in this charter's meeting routing), no agenda issue is posted,
    and the call is in neither the public feed nor the dashboard; a public rollout's call is
    announced as before."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=confidential)
    gov.tick(now)
    gov.tick(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))  # agenda time: a day before the call
    gov.tick(datetime(2026, 6, 15, 9, 0, tzinfo=UTC))  # the 1 h reminder
    about = [a for a in announcements(gov.engine) if "#7" in a["title"] + a["text"]]
    assert about
    agenda_issues = [p for p in outbox_kind(gov.engine, "agenda-issue") if "#7" in p["title"]]
    ics = calendar_text(gov, now)
    listed = [c["id"] for c in upcoming(gov.engine, gov.charter, now)]
    if confidential:
        assert all(a["confidential"] and _channels(gov, a) == [] for a in about)
        assert agenda_issues == []
        assert "Go/no-go" not in ics and "go-no-go-7-production" not in listed
    else:
        assert all(_channels(gov, a) == ["core-discord", "upgrades-slack"] for a in about)
        assert agenda_issues
        assert "Go/no-go" in ics and "go-no-go-7-production" in listed
    gov.engine.dispose()


def calendar_text(gov: Governance, now: datetime) -> str:
    with session_scope(gov.engine) as session:
        adhoc = [store.to_adhoc(r) for r in store.adhoc_rows(session)]
        exceptions = store.schedule(session)
    return calendar.calendar_ics(gov.charter, exceptions, adhoc, now=now).decode()


def test_disclosing_the_proposal_makes_its_calls_public(db_url: str) -> None:
    """`disclose` clears the private mark of the proposal's calls: later reminders go out on the
    meeting channels and the call is listed again."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=True)
    gov.tick(now)
    with session_scope(gov.engine) as session:
        assert [r.private for r in store.adhoc_rows(session)] == [True]
        assert store.publish_adhoc(session, 7) == 1
        assert [r.private for r in store.adhoc_rows(session)] == [False]
        assert store.publish_adhoc(session, 7) == 0
    gov.tick(datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    reminder = [a for a in announcements(gov.engine) if "starts in" in a["text"]]
    assert reminder and _channels(gov, reminder[-1]) == ["core-discord", "upgrades-slack"]
    gov.engine.dispose()


def _confirmed(gov: Governance, command: str, now: datetime) -> None:
    """Run ``command``, confirming it when it asks for confirmation."""
    reply = gov.run_sync(command, COORDINATOR, now)
    assert reply.ok, reply.lines
    found = re.search(r"confirm (\S+) within", str(reply.lines))
    if found:
        assert gov.run_sync(f"confirm {found.group(1)}", COORDINATOR, now).ok


@pytest.mark.parametrize(
    "command",
    [
        "meeting move security-sync@2026-04-07T17:00 2026-04-08 17:00Z",
        "meeting cancel security-sync@2026-04-07T17:00",
    ],
    ids=["move", "cancel"],
)
def test_moving_or_cancelling_a_private_series_stays_private(db_url: str, command: str) -> None:
    """The security council's call is announced only to its private channel: so are its moves
    and cancellations (they used to go to the public meeting channels too)."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    _confirmed(gov, command, now)
    said = [a for a in announcements(gov.engine) if "Security council sync" in a["title"]]
    assert said
    assert all(a["confidential"] and _channels(gov, a) == ["council-private"] for a in said)
    gov.engine.dispose()


def test_action_items_of_a_private_call_stay_off_public_agendas(db_url: str) -> None:
    """An action item recorded on a confidential rollout's go/no-go call is carried onto the
    agendas of private calls only (the security council's): neither the next core-sync agenda
    issue nor its announcement names it. Once the proposal is disclosed (its calls become
    public), the item is carried like any other."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=True)
    gov.tick(now)  # the private go/no-go call, 2026-06-15 10:00 UTC
    during = datetime(2026, 6, 15, 10, 20, tzinfo=UTC)
    secret = "rotate the leaked signing key"
    reply = gov.run_sync(f"meeting action @alice-aurora {secret}", COORDINATOR, during)
    assert reply.ok and "go-no-go-7-production" in str(reply.lines)
    gov.tick(datetime(2026, 6, 23, 13, 0, 30, tzinfo=UTC))  # core-sync's agenda, 48 h before
    key = "core-sync@2026-06-25T15:00"
    issues = [p for p in outbox_kind(gov.engine, "agenda-issue") if p["occurrence_key"] == key]
    said = [a for a in announcements(gov.engine) if a["data"].get("agenda") == key]
    assert len(issues) == len(said) == 1
    for body in (issues[0]["body"], said[0]["text"]):
        assert secret not in body

    def agenda_of(ref: str) -> str:
        with session_scope(gov.engine) as session:
            found = resolve(session, gov, ref, during, COORDINATOR)
            assert not isinstance(found, str)
            return agenda_for(session, gov.charter, *found, during).body_markdown

    assert secret not in agenda_of(key)
    assert secret in agenda_of("security-sync@2026-07-07T17:00")  # private: may see it
    with session_scope(gov.engine) as session:
        store.publish_adhoc(session, 7)
    assert secret in agenda_of(key)
    gov.engine.dispose()


def test_action_items_of_an_unknown_call_stay_off_public_agendas(gov: Governance) -> None:
    """An open item whose call is gone (a series since removed from the charter) cannot be shown
    to be public: it stays off public agendas; items of public calls are carried as before."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with session_scope(gov.engine) as session:
        for meeting, text in (
            ("retired-sync", "from a retired call"),
            ("core-sync", "write the public notes"),
        ):
            outcome_store.add_outcome(
                session, key=f"{meeting}@2026-03-19T15:00", meeting_id=meeting, kind="action",
                text=text, by="ines-coord", now=now - timedelta(days=1), owner="alice-aurora",
            )  # fmt: skip
        found = resolve(session, gov, "core-sync", now, COORDINATOR)
        assert not isinstance(found, str)
        body = agenda_for(session, gov.charter, *found, now).body_markdown
    assert "write the public notes" in body and "retired call" not in body


OUTSIDER = Actor(login="zoe-outsider", surface="slack", surface_id="U0ZOE", display="Zoe")
COUNCIL = Actor(login="kofi-sec", surface="console", surface_id="kofi-sec", display="Kofi")
GO_NO_GO = "go-no-go-7-production"  # 2026-06-15 10:00-11:00 UTC


def private_go_no_go(db_url: str, *, stored: bool) -> tuple[Governance, datetime]:
    """A confidential rollout of #7 with its private go/no-go call scheduled; ``stored``: #7
    is stored too, a security patch (every client maintainer holds a seat on its track)."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=True)
    if stored:
        patch = Proposal(
            number=7, title="Embargoed fix", author="alice-aurora", track="security-patch",
            state=State.ROLLING_OUT, fields={}, charter_version=gov.charter.version,
            created_at=now - timedelta(days=30),
        )  # fmt: skip
        with session_scope(gov.engine) as session:
            repo.save(session, repo.Stored(patch), gov.charter, now)
    gov.tick(now)
    return gov, now


@pytest.mark.parametrize(
    ("who", "stored", "sees"),
    [
        (ANONYMOUS, True, False),
        (OUTSIDER, True, False),  # linked, but no seat on the track
        (MAINTAINER, True, True),  # aurora's seat on the security-patch track
        (MAINTAINER, False, False),  # no stored proposal: coordinators and the council only
        (COORDINATOR, False, True),
        (COUNCIL, False, True),
    ],
    ids=["anonymous", "outsider", "seat-holder", "maintainer", "coordinator", "council"],
)
def test_meetings_lists_a_private_call_to_those_who_may_see_its_proposal(
    db_url: str, who: Actor, stored: bool, sees: bool
) -> None:
    """`meetings` lists a confidential rollout's go/no-go call only to those `proposals` would
    show the proposal to; everyone still sees the public calls."""
    gov, now = private_go_no_go(db_url, stored=stored)
    text = plain_text(gov.run_sync("meetings --next 5", who, now))
    gov.engine.dispose()
    assert "Core client sync" in text
    assert (GO_NO_GO in text) is sees
    assert ("#7" in text) is sees


@pytest.mark.parametrize(
    ("command", "hidden_says"),
    [
        ("agenda add nope hello", "There is no meeting nope; known: core-sync, security-sync."),
        (f"agenda add {GO_NO_GO} hello", f"There is no meeting {GO_NO_GO}; known: core-sync, "),
        (f"agenda add {GO_NO_GO}@2026-06-15T10:00 hello", f"There is no meeting {GO_NO_GO};"),
        # a go/no-go call is a coordinator's to cancel or move: refused before it is looked up,
        # so the answer is the same whether it exists or not
        (f"meeting cancel {GO_NO_GO}", "Only coordinators may schedule, move or cancel a go/no-go"),
        (f"meeting move {GO_NO_GO} 2026-06-16 10:00Z", "Only coordinators may schedule, move"),
        ('meeting schedule "Fork sync" 2026-06-15 10:30Z', "Schedule this call?"),  # no clash
    ],
    ids=["unknown", "private-id", "private-key", "cancel", "move", "clash"],
)
def test_a_private_call_is_no_meeting_to_those_who_may_not_see_it(
    db_url: str, command: str, hidden_says: str
) -> None:
    """Answers name a private call only to those who may see it: a maintainer who may not is
    told it does not exist (and it is not among the known ids, nor in a clash warning); a
    coordinator is answered about it."""
    gov, now = private_go_no_go(db_url, stored=False)
    hidden = plain_text(gov.run_sync(command, MAINTAINER, now))
    shown = plain_text(gov.run_sync(command, COORDINATOR, now))
    gov.engine.dispose()
    assert hidden_says in hidden
    assert "go-no-go-7" not in hidden.replace(hidden_says, "") and "#7" not in hidden
    assert "Go/no-go: #7 to production" in shown or GO_NO_GO in shown


GITHUB_COUNCIL = Actor(login="kofi-sec", surface="github", display="kofi-sec")
GITHUB_COORDINATOR = Actor(login="ines-coord", surface="github", display="ines-coord")
PRIVATE_AGENDA = "Security council sync is a private call: only coordinators and the security"


@pytest.mark.parametrize(
    ("who", "meeting", "answer"),
    [
        (OUTSIDER, "security-sync", PRIVATE_AGENDA),
        (MAINTAINER, "security-sync@2026-07-07T17:00", PRIVATE_AGENDA),
        (COUNCIL, "security-sync", "Added to the agenda of Security council sync"),
        (COORDINATOR, "security-sync", "Added to the agenda of Security council sync"),
        (GITHUB_COUNCIL, "security-sync", "There is no meeting security-sync; known: core-sync."),
        (GITHUB_COORDINATOR, GO_NO_GO, f"There is no meeting {GO_NO_GO}; known: core-sync."),
        (GITHUB_COORDINATOR, "core-sync", "Added to the agenda of Core client sync"),
    ],
    ids=["outsider", "maintainer", "council", "coordinator", "github-council", "github-go-no-go",
         "github-public"],
)  # fmt: skip
def test_agenda_add_on_a_private_call_only_by_those_it_is_for(
    db_url: str, who: Actor, meeting: str, answer: str
) -> None:
    """`agenda add` on the security council's sync (announced only to its private channel) is
    refused to all but coordinators and the council; from a GitHub comment (a public reply)
    every private call is no meeting, answered as an unknown id. Nothing is added when refused."""
    gov, now = private_go_no_go(db_url, stored=False)
    reply = gov.run_sync(f"agenda add {meeting} outsider item", who, now)
    with session_scope(gov.engine) as session:
        added = [row.text for row in session.exec(select(AgendaItemRow)).all()]
    gov.engine.dispose()
    assert answer in plain_text(reply), plain_text(reply)
    assert reply.ok is answer.startswith("Added")
    assert added == (["outsider item"] if reply.ok else [])


def test_an_action_item_of_one_who_may_not_see_the_private_call_goes_to_a_call_they_see(
    db_url: str,
) -> None:
    """During the private call, `meeting action` by a maintainer who may not see it goes to
    the latest call they may see, never to the private call: that call ended days ago, so
    nothing is recorded and the reply names it with the command recording on it (the write-up
    window of :mod:`bot.meetings_outcomes`); the private call is not mentioned."""
    gov, _ = private_go_no_go(db_url, stored=False)
    during = datetime(2026, 6, 15, 10, 20, tzinfo=UTC)
    reply = plain_text(gov.run_sync("meeting action @alice-aurora rebase", MAINTAINER, during))
    gov.engine.dispose()
    assert "the latest, Core client sync (core-sync@2026-06-11T15:00), ended over" in reply, reply
    assert "meeting action --call core-sync@2026-06-11T15:00 @alice-aurora rebase" in reply
    assert "go-no-go" not in reply


def _on_canary_as(gov: Governance, number: int, *, confidential: bool) -> None:
    """Rollout ``number`` on canary with the same soak as :func:`on_canary`'s #7."""
    rollout = Rollout(
        proposal=number,
        clients=CLIENTS,
        started_at=CANARY_SINCE - timedelta(days=5),
        stage_index=1,
        positions=dict.fromkeys(CLIENTS, 1),
        stage_entered_at={"staging": CANARY_SINCE - timedelta(days=5), "canary": CANARY_SINCE},
        confidential=confidential,
    )
    with session_scope(gov.engine) as session:
        rollout_store.save_rollout(session, rollout, gov.charter, CANARY_SINCE)


PRIVATE_CALL = "Go/no-go: #7 to production"


@pytest.mark.parametrize(
    ("confidential", "follows"),
    [
        (False, "It follows another call, so that the calls do not overlap."),
        (True, f"It follows {PRIVATE_CALL}, so that the calls do not overlap."),
    ],
)
def test_a_call_moved_past_a_private_call_names_it_only_in_private(
    db_url: str, confidential: bool, follows: str
) -> None:
    """#5's go/no-go call is moved past #7's private one (same soak end, 06-15 10:00 UTC); a
    public announcement does not name the private call, a private one may."""
    gov, now = private_go_no_go(db_url, stored=False)
    _on_canary_as(gov, 5, confidential=confidential)
    gov.tick(now + timedelta(minutes=1))
    [said] = [a for a in announcements(gov.engine) if a["title"] == "Go/no-go: #5 to production"]
    gov.engine.dispose()
    assert said["confidential"] is confidential
    assert follows in said["text"]
    assert ("#7" in said["text"]) is confidential


@pytest.mark.parametrize(
    ("private", "follows"),
    [
        (False, "It follows another call, so that the calls do not overlap."),
        (True, f"It follows {PRIVATE_CALL}, so that the calls do not overlap."),
    ],
)
def test_a_review_call_moved_past_a_private_call_names_it_only_in_private(
    db_url: str, private: bool, follows: str
) -> None:
    """A review due the day before is held an hour from now (06-15 10:00 UTC), where #7's
    private go/no-go call is: it goes after it, and only a private review names it."""
    gov, _ = private_go_no_go(db_url, stored=False)
    now = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
    incident = Incident(
        id="1", severity="sev2", summary="Sync stalled", proposals=(), clients=(),
        declared_by="alice-aurora", declared_at=now - timedelta(days=3),
        resolved_at=now - timedelta(days=2),
    )  # fmt: skip
    with session_scope(gov.engine) as session:
        start = review_start(gov, session, now - timedelta(days=1), now)
        row = schedule_incident_review(
            gov, session, incident, now - timedelta(days=1), start, now, drafted="Review: #99",
            private=private,
        )  # fmt: skip
        assert row is not None and aware(row.starts_at) == datetime(2026, 6, 15, 11, tzinfo=UTC)
    [said] = [a for a in announcements(gov.engine) if a["title"].startswith("Post-incident")]
    gov.engine.dispose()
    assert follows in said["text"]
    assert ("#7" in said["text"]) is private
