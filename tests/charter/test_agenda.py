"""The agenda text (charter.agenda): deterministic, marked, and safe against user text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from charter.agenda import (
    ActionItem,
    AddedItem,
    AgendaSnapshot,
    ConcernItem,
    GateItem,
    IncidentItem,
    ProposalItem,
    build_agenda,
    escape,
)
from charter.meetings import AdhocMeeting, Schedule, occurrences
from charter.model import Charter

from .test_meetings import reference_charter


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def charter() -> Charter:
    return reference_charter()


NOW = utc(2026, 3, 31, 13)  # the agenda post, 48h before core-sync@2026-04-02T15:00

SNAPSHOT = AgendaSnapshot(
    proposals=(
        ProposalItem(14, "Raise block gas limit", "voting", utc(2026, 4, 3, 9)),
        ProposalItem(12, "New opcode", "review", utc(2026, 3, 30, 12)),
        ProposalItem(15, "Draft fee market", "review", None),
    ),
    concerns=(
        ConcernItem(14, "emeka-cirrus", "needs a fuzzing run"),
        ConcernItem(12, "alice-aurora", "spec ambiguity in §3"),
    ),
    failing_gates=(GateItem(9, "canary", "interop-matrix", "dorado: 2 failures"),),
    incidents=(
        IncidentItem("inc-4", "sev3", "slow sync", utc(2026, 3, 20, 8)),
        IncidentItem("inc-5", "sev2", "peer drops", utc(2026, 3, 30, 22)),
    ),
    actions=(
        ActionItem("publish testnet config", "jonas-coord", "core-sync@2026-03-19T15:00"),
        ActionItem("write migration notes"),
    ),
    added=(
        AddedItem("talk about releases", "hana-eridanus", utc(2026, 3, 30, 9)),
        AddedItem("retro", "bob-aurora", utc(2026, 3, 29, 9)),
    ),
)

EXPECTED = """\
<!-- charterbot:agenda:core-sync@2026-04-02T15:00 -->
# Core client sync

2026-04-02 15:00 CEST (2026-04-02 13:00 UTC), 90 minutes

## Proposals in review and voting

- #12 New opcode — review, until 2026-03-30 14:00 CEST (overdue)
- #14 Raise block gas limit — voting, until 2026-04-03 11:00 CEST
- #15 Draft fee market — review

## Open concerns

- #12 alice-aurora: spec ambiguity in §3
- #14 emeka-cirrus: needs a fuzzing run

## Rollouts with failing gates

- #9 canary: interop-matrix — dorado: 2 failures

## Open incidents

- sev2 inc-5: peer drops (open since 2026-03-31 00:00 CEST)
- sev3 inc-4: slow sync (open since 2026-03-20 09:00 CET)

## Action items carried over

- [ ] publish testnet config — jonas-coord (from core-sync@​2026-03-19T15:00)
- [ ] write migration notes

## Added by participants

- retro — bob-aurora
- talk about releases — hana-eridanus
"""


def core_occurrence(charter: Charter):  # type: ignore[no-untyped-def]
    core = charter.meeting("core-sync")
    assert core is not None
    return core, occurrences(core, utc(2026, 3, 25), count=1)[0]


def shuffled(snapshot: AgendaSnapshot, seed: int) -> AgendaSnapshot:
    rng = random.Random(seed)

    def mix(items: tuple) -> tuple:  # type: ignore[type-arg]
        return tuple(rng.sample(items, len(items)))

    return AgendaSnapshot(*(mix(getattr(snapshot, f)) for f in snapshot.__dataclass_fields__))


def test_agenda_text(charter: Charter) -> None:
    """The agenda lists every open item by section, in the meeting's local time, sorted."""
    core, occ = core_occurrence(charter)
    agenda = build_agenda(core, occ, SNAPSHOT, NOW)
    assert agenda.body_markdown == EXPECTED
    assert agenda.title == "Agenda: Core client sync — 2026-04-02 15:00 CEST"


@pytest.mark.parametrize("seed", range(5))
def test_agenda_is_deterministic(charter: Charter, seed: int) -> None:
    """The same facts in any order give byte-identical text (edit in place only on change)."""
    core, occ = core_occurrence(charter)
    assert build_agenda(core, occ, shuffled(SNAPSHOT, seed), NOW) == build_agenda(
        core, occ, SNAPSHOT, NOW
    )


def test_agenda_text_changes_only_when_a_deadline_passes(charter: Charter) -> None:
    """Time passing changes nothing until a deadline crosses now (then it says overdue)."""
    core, occ = core_occurrence(charter)
    at = {t: build_agenda(core, occ, SNAPSHOT, t).body_markdown for t in (NOW, utc(2026, 4, 1))}
    assert at[NOW] == at[utc(2026, 4, 1)]
    later = build_agenda(core, occ, SNAPSHOT, utc(2026, 4, 3, 9)).body_markdown
    assert "11:00 CEST (overdue)" in later
    assert "11:00 CEST\n" not in later


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("ping @alice-aurora", "ping @\u200balice-aurora"),
        ("@here and @channel", "@\u200bhere and @\u200bchannel"),
        ("# heading", "\\# heading"),
        ("line one\n- injected item\n\n## injected", "line one - injected item \\#\\# injected"),
        ("<!-- charterbot:agenda:x -->", "\\<!-- charterbot:agenda:x --\\>"),
        ("[click](http://evil.example)", "\\[click\\](http://evil.example)"),
        (
            "`code` **bold** _it_ ~~s~~ a|b",
            "\\`code\\` \\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ a\\|b",
        ),
        ("back\\slash", "back\\\\slash"),
        ("plain text, v1.2 (ok)", "plain text, v1.2 (ok)"),
    ],
)
def test_user_text_is_escaped(text: str, escaped: str) -> None:
    """User text cannot mention, cannot add lines and cannot start markup."""
    assert escape(text) == escaped


def test_hostile_items_stay_inside_their_line(charter: Charter) -> None:
    """An added item with mentions and markup renders as one escaped line, no live mention."""
    core, occ = core_occurrence(charter)
    evil = AddedItem("@everyone\n# pwned <!-- -->", "mallory @bob", utc(2026, 3, 30))
    body = build_agenda(core, occ, AgendaSnapshot(added=(evil,)), NOW).body_markdown
    assert "- @\u200beveryone \\# pwned \\<!-- --\\> — mallory @\u200bbob\n" in body
    assert body.count("<!--") == 2  # the marker and the escaped copy
    assert body.startswith("<!-- charterbot:agenda:core-sync@2026-04-02T15:00 -->\n")
    assert "\n# pwned" not in body
    assert "@everyone" not in body


def test_empty_agenda_and_adhoc_call() -> None:
    """An empty snapshot says so; ad-hoc calls get agendas keyed by their own occurrence."""
    call = AdhocMeeting("adhoc-3", "Go/no-go @ops", utc(2027, 3, 1, 14), timedelta(minutes=30))
    agenda = build_agenda(call, call.occurrence(), AgendaSnapshot(), utc(2027, 3, 1))
    assert agenda.body_markdown == (
        "<!-- charterbot:agenda:adhoc-3@2027-03-01T14:00 -->\n"
        "# Go/no-go @\u200bops\n\n"
        "2027-03-01 14:00 UTC (2027-03-01 14:00 UTC), 30 minutes\n\n"
        "Nothing is on the agenda yet.\n"
    )
    assert agenda.title == "Agenda: Go/no-go @\u200bops — 2027-03-01 14:00 UTC"


CANCELLED = """\
<!-- charterbot:agenda:core-sync@2026-04-02T15:00 -->
# Core client sync

2026-04-02 15:00 CEST (2026-04-02 13:00 UTC), 90 minutes

**Cancelled:** this call will not take place.

## Added by participants

- retro — bob-aurora
- talk about releases — hana-eridanus
"""


def test_a_cancelled_call_s_agenda_says_so_and_no_longer_follows_live_state(
    charter: Charter,
) -> None:
    """Cancelled: the title and first line say so; only the items people added stay (to raise
    again), so the text no longer changes with live state and the issue is edited once."""
    core, occ = core_occurrence(charter)
    agenda = build_agenda(core, occ, SNAPSHOT, NOW, cancelled=True)
    assert agenda.title == "[Cancelled] Agenda: Core client sync — 2026-04-02 15:00 CEST"
    assert agenda.body_markdown == CANCELLED
    later = build_agenda(core, occ, SNAPSHOT, utc(2026, 4, 3, 10), cancelled=True)
    assert later == agenda  # a deadline passed: nothing changes
    empty = build_agenda(core, occ, AgendaSnapshot(), NOW, cancelled=True).body_markdown
    assert empty.endswith("**Cancelled:** this call will not take place.\n")


def test_a_moved_call_s_agenda_names_its_new_time_and_when_it_was_planned(
    charter: Charter,
) -> None:
    """Moved: the title and time line give the new time and a line says when it was first
    planned; moved back to its planned time it reads as never moved."""
    core = charter.meeting("core-sync")
    assert core is not None
    key = "core-sync@2026-04-02T15:00"
    plan = Schedule(moved={key: utc(2026, 4, 3, 9)})
    occ = occurrences(core, utc(2026, 3, 25), count=1, schedule=plan)[0]
    agenda = build_agenda(core, occ, AgendaSnapshot(), NOW)
    assert agenda.title == "Agenda: Core client sync — 2026-04-03 11:00 CEST"
    assert agenda.body_markdown.split("\n")[3:6] == [
        "2026-04-03 11:00 CEST (2026-04-03 09:00 UTC), 90 minutes",
        "",
        "**Moved:** first planned for 2026-04-02 15:00 CEST.",
    ]
    back = Schedule(moved={key: utc(2026, 4, 2, 13)})
    occ = occurrences(core, utc(2026, 3, 25), count=1, schedule=back)[0]
    assert occ.moved
    assert build_agenda(core, occ, AgendaSnapshot(), NOW) == build_agenda(
        core, core_occurrence(charter)[1], AgendaSnapshot(), NOW
    )


def test_a_moved_adhoc_call_s_agenda_keeps_its_marker() -> None:
    """A moved ad-hoc call keeps its marker (its key) and says when it was first planned."""
    call = AdhocMeeting(
        "adhoc-3", "Go/no-go", utc(2027, 3, 2, 9), timedelta(minutes=30),
        first_start=utc(2027, 3, 1, 14),
    )  # fmt: skip
    body = build_agenda(call, call.occurrence(), AgendaSnapshot(), utc(2027, 3, 1)).body_markdown
    assert body.startswith("<!-- charterbot:agenda:adhoc-3@2027-03-01T14:00 -->\n")
    assert "2027-03-02 09:00 UTC (2027-03-02 09:00 UTC), 30 minutes\n\n**Moved:** first " in body
    assert "first planned for 2027-03-01 14:00 UTC.\n" in body


def test_naive_now_is_refused(charter: Charter) -> None:
    """now must be timezone-aware."""
    core, occ = core_occurrence(charter)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_agenda(core, occ, SNAPSHOT, datetime(2026, 3, 31))
