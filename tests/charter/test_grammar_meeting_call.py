"""``meeting decide|action [--call <meeting-id>] …``: naming the call an outcome goes to."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import pytest

from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE, help_lines, parse_chat, parse_comment

D, A = c.MeetingDecide, c.MeetingAction
GNG = "go-no-go-42-production"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meeting decide go, all green", D("go, all green")),  # no --call: the current call
        (f"meeting decide --call {GNG} go, all green", D("go, all green", GNG)),
        (
            "meeting decide --call core-sync@2027-03-04T15:00 ship it",
            D("ship it", "core-sync@2027-03-04T15:00"),
        ),
        ("meeting decide --call #12 ship it", D("ship it", "12")),
        ("meeting decide --call ＃12 ship it", D("ship it", "12")),  # NFKC-folded
        ("meeting decide —call core-sync ship it", D("ship it", "core-sync")),  # Slack's dash
        ("meeting decide –call core-sync ship it", D("ship it", "core-sync")),
        ("MEETING DECIDE --CALL Core-Sync ship it", D("ship it", "Core-Sync")),
        (
            "meeting decide --call core-sync minutes https://n.example/1",
            D("minutes https://n.example/1", "core-sync"),
        ),
        ('meeting decide --call core-sync "go, all green"', D("go, all green", "core-sync")),
        ('meeting decide "drop the --call flag"', D("drop the --call flag")),  # quoted: literal
        ("meeting decide call it off", D("call it off")),  # a word, not the option
        ("meeting decide --calls go", D("--calls go")),  # not the option either
        ("meeting action @bob write the notes", A("bob", "write the notes")),
        (
            "meeting action --call core-sync @bob write the notes",
            A("bob", "write the notes", "core-sync"),
        ),
        ("meeting action —call hourly <@U0BOB> done 3", A("<@U0BOB>", "done 3", "hourly")),
        ('meeting action --call 12 bob "use --call here"', A("bob", "use --call here", "12")),
    ],
)
def test_meeting_outcomes_in_chat(text: str, expected: c.Command) -> None:
    assert parse_chat(text) == expected


LATE = "Write --call <id> first, spaced: meeting decide --call <id> <text>. To record '--call' as words, quote the text."
LATE_ACTION = "Write --call <id> first, spaced: meeting action --call <id> <who> <text>. To record '--call' as words, quote the text."


@pytest.mark.parametrize(
    ("text", "message", "usage"),
    [
        ("meeting decide --call", "Give the meeting id.", "meeting decide"),
        ("meeting decide --call core-sync", "Give the decision.", "meeting decide"),
        ('meeting decide --call core-sync ""', "Give the decision.", "meeting decide"),
        (
            "meeting decide --call a/b go",
            "'a/b' is not a valid meeting id; write it like core-sync.",
            "meeting decide",
        ),
        (
            "meeting decide go --call core-sync",
            LATE,
            "meeting decide",
        ),  # never words on another call
        ("meeting decide go —call core-sync", LATE, "meeting decide"),
        ("meeting decide go --CALL", LATE, "meeting decide"),
        ("meeting decide --call=core-sync go", LATE, "meeting decide"),
        ("meeting decide go, --call: core-sync", LATE, "meeting decide"),
        ("meeting action --call", "Give the meeting id.", "meeting action"),
        (
            "meeting action --call core-sync",
            "Give the person who owns the action.",
            "meeting action",
        ),
        ("meeting action --call core-sync @bob", "Give the action.", "meeting action"),
        (
            "meeting action --call core-sync not/a-login x",
            "'not/a-login' is not a valid user",
            "meeting action",
        ),
        ("meeting action @bob --call core-sync notes", LATE_ACTION, "meeting action"),
        ("meeting action @bob notes --call core-sync", LATE_ACTION, "meeting action"),
    ],
)
def test_meeting_outcome_errors(text: str, message: str, usage: str) -> None:
    result = parse_chat(text)
    assert isinstance(result, c.ParseError)
    assert message in result.message
    assert result.usage == USAGE[usage]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/meeting decide --call core-sync go", D("go", "core-sync")),
        ("/charter meeting action —call core-sync @bob notes", A("bob", "notes", "core-sync")),
        (
            "/meeting decide go --call core-sync",
            c.ParseError(LATE, COMMENT_USAGE["meeting decide"]),
        ),
    ],
)
def test_meeting_outcomes_in_a_comment(line: str, expected: c.Command) -> None:
    assert parse_comment(line, issue=42) == [expected]


@pytest.mark.parametrize(
    ("key", "form"),
    [
        ("meeting decide", "/charter meeting decide [--call <id>] <text>"),
        ("meeting action", "/charter meeting action [--call <id>] <who> <text>"),
    ],
)
def test_help_shows_the_call_option(key: str, form: str) -> None:
    assert help_lines(key) == [form]
    assert help_lines(key, comment=True) == [form.replace("/charter ", "/")]
