"""The ``drill`` command in chat and in GitHub comments: every form and every refusal."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

from datetime import timedelta

import pytest

from charter import commands as c
from charter.actors import Actor
from charter.authz import authorize_command
from charter.grammar import help_lines, parse_chat, parse_comment
from charter.model import Charter
from tests.charter.rollout_support import reference_data

M = timedelta(minutes=1)
USAGE = (
    '/charter drill <n> <client> <stage> recovered <duration> [notes…] | failed "<what went wrong>"'
)
COMMENT = '/drill <client> <stage> recovered <duration> [notes…] | failed "<what went wrong>"'
SCHEDULE = "/charter drill schedule <n> <client> <stage> <when…>"
COMMENT_SCHEDULE = "/drill schedule <client> <stage> <when…>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("drill 42 aurora canary recovered 12m", c.Drill(42, "aurora", "canary", 12 * M)),
        ("drill #42 Aurora CANARY recovered 12m", c.Drill(42, "aurora", "canary", 12 * M)),
        (
            "drill 42 aurora canary recovered 90s",
            c.Drill(42, "aurora", "canary", timedelta(seconds=90)),
        ),
        ("drill 42 aurora canary recovered 1h30m", c.Drill(42, "aurora", "canary", 90 * M)),
        ("drill 42 aurora canary recovered 1d", c.Drill(42, "aurora", "canary", timedelta(days=1))),
        ("DRILL 42 aurora canary Recovered 12M", c.Drill(42, "aurora", "canary", 12 * M)),
        # Consecutive parts are one duration, whether in one word or in several.
        (
            "drill 1 borealis staging recovered 30m 45s",
            c.Drill(1, "borealis", "staging", timedelta(minutes=30, seconds=45)),
        ),
        (
            "drill 1 borealis staging recovered 30m45s",
            c.Drill(1, "borealis", "staging", timedelta(minutes=30, seconds=45)),
        ),
        ("drill 1 borealis staging recovered 1h 30m", c.Drill(1, "borealis", "staging", 90 * M)),
        (
            "drill 1 borealis staging recovered 1h 30m 15s ok",
            c.Drill(1, "borealis", "staging", timedelta(minutes=90, seconds=15), "ok"),
        ),
        (
            "drill 1 borealis staging recovered 1d 2h30m",
            c.Drill(1, "borealis", "staging", timedelta(days=1, minutes=150)),
        ),
        (
            "drill 1 borealis staging recovered 1w",
            c.Drill(1, "borealis", "staging", timedelta(weeks=1)),
        ),
        # A word that does not continue the duration (a larger unit, a repeated one) starts the notes.
        (
            "drill 1 borealis staging recovered 12m 2d later",
            c.Drill(1, "borealis", "staging", 12 * M, "2d later"),
        ),
        (  # the same unit again, quoted: notes (unquoted, it is refused: a repeated unit)
            'drill 1 borealis staging recovered 12m "3m more"',
            c.Drill(1, "borealis", "staging", 12 * M, "3m more"),
        ),
        (
            "drill 1 borealis staging recovered 12m it's \"odd",
            c.Drill(1, "borealis", "staging", 12 * M, "it's \"odd"),
        ),
        (
            "drill 42 aurora canary recovered 12m resync from snapshot",
            c.Drill(42, "aurora", "canary", 12 * M, "resync from snapshot"),
        ),
        (
            'drill 42 aurora canary recovered 12m "quiet night"',
            c.Drill(42, "aurora", "canary", 12 * M, "quiet night"),
        ),
        (
            'drill 42 cirrus canary failed "state db corrupt after downgrade"',
            c.Drill(42, "cirrus", "canary", None, "state db corrupt after downgrade"),
        ),
        (
            "drill 42 cirrus canary failed state db corrupt",
            c.Drill(42, "cirrus", "canary", None, "state db corrupt"),
        ),
    ],
)
def test_parse_chat_reads_drills(text: str, expected: c.Command) -> None:
    assert parse_chat(text) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/drill aurora canary recovered 12m", c.Drill(7, "aurora", "canary", 12 * M)),
        ("/drill 7 aurora canary recovered 12m", c.Drill(7, "aurora", "canary", 12 * M)),
        ("/drill borealis staging recovered 1h 30m", c.Drill(7, "borealis", "staging", 90 * M)),
        (
            "/drill borealis staging recovered 30m 45s ok",
            c.Drill(7, "borealis", "staging", timedelta(minutes=30, seconds=45), "ok"),
        ),
        (
            "/charter drill aurora canary recovered 12m ok",
            c.Drill(7, "aurora", "canary", 12 * M, "ok"),
        ),
        (
            '/drill cirrus canary failed "no resync"',
            c.Drill(7, "cirrus", "canary", None, "no resync"),
        ),
    ],
)
def test_parse_comment_reads_drills_on_the_issue(body: str, expected: c.Command) -> None:
    assert parse_comment(body, issue=7) == [expected]


def test_parse_comment_without_issue_leaves_n_to_the_caller() -> None:
    assert parse_comment("/drill aurora canary recovered 12m") == [
        c.Drill(None, "aurora", "canary", 12 * M)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("drill", "Give the proposal number."),
        ("drill 42", "Give the client."),
        ("drill 42 aurora", "Give the stage."),
        (
            "drill 42 aurora canary",
            'Give the result: recovered <duration> or failed "<what went wrong>".',
        ),
        (
            "drill 42 aurora canary recoverd 12m",
            "Give the result: recovered <duration> or failed \"<what went wrong>\"; 'recoverd' is neither. Did you mean 'recovered'?",
        ),
        (
            "drill 42 aurora canary passed",
            "Give the result: recovered <duration> or failed \"<what went wrong>\"; 'passed' is neither.",
        ),
        (
            "drill 42 aurora canary recovered",
            "Give the recovery time, e.g. 12m.",
        ),
        ("drill 42 aurora canary recovered 12min", "Write the recovery time as 12m."),
        ("drill 42 aurora canary recovered 12 minutes", "Write the recovery time as 12m."),
        ("drill 42 aurora canary recovered 12 min", "Write the recovery time as 12m."),
        ("drill 42 aurora canary recovered 45 seconds", "Write the recovery time as 45s."),
        ("drill 42 aurora canary recovered 2hours", "Write the recovery time as 2h."),
        ("drill 42 aurora canary recovered 12", "'12' has no unit: write e.g. 12m or 12s."),
        ("drill 42 aurora canary recovered 12 fine", "'12' has no unit: write e.g. 12m or 12s."),
        (
            "drill 42 aurora canary recovered twelve",
            "'twelve' is not a duration: write how long the node took to be healthy again as <number><unit>, unit s, m, h, d or w, e.g. 45s, 12m, 1h30m or 30m 45s.",
        ),
        (
            "drill 42 aurora canary recovered 30m1h",
            "'30m1h' is not a duration: write how long the node took to be healthy again as <number><unit>, unit s, m, h, d or w, e.g. 45s, 12m, 1h30m or 30m 45s.",
        ),
        (
            "drill 42 aurora canary recovered 999999d",
            'A recovery takes at most 7d: if the node was not healthy again sooner, report the drill failed "<what went wrong>".',
        ),
        (
            "drill 42 aurora canary recovered 7d 1s",
            'A recovery takes at most 7d: if the node was not healthy again sooner, report the drill failed "<what went wrong>".',
        ),
        (
            "drill 42 aurora canary recovered 2w",
            'A recovery takes at most 7d: if the node was not healthy again sooner, report the drill failed "<what went wrong>".',
        ),
        (
            "drill 42 aurora canary recovered 0m 0s",
            "A recovery takes some time: write how long it took, e.g. 45s or 12m.",
        ),
        (
            "drill 42 aurora canary recovered 0m",
            "A recovery takes some time: write how long it took, e.g. 45s or 12m.",
        ),
        (
            "drill 42 aurora canary failed",
            'Give the reason: what went wrong, e.g. failed "the node did not resync".',
        ),
        (
            "drill 42 aurora canary failed " + "x" * 5000,
            "What went wrong is 5000 characters long; keep it to 1000.",
        ),
        ("drill 1 x staging recovered 5m 5m", "'5m 5m': write the recovery time once, e.g. 10m."),
        (
            "drill 1 borealis staging recovered 12m 3m more",
            "'12m 3m': write the recovery time once, e.g. 15m.",
        ),
        (
            "drill 1 x staging recovered 1h30m 15m resynced",
            "'1h30m 15m': write the recovery time once, e.g. 1h45m.",
        ),
        (
            "drill 1 x staging recovered 5m 45s 15s",
            "'5m 45s 15s': write the recovery time once, e.g. 6m.",
        ),
        (
            "drill 1 x staging recovered 1h 1h30m",
            "'1h 1h30m': write the recovery time once, e.g. 2h30m.",
        ),
        (
            "drill 42 Au!rora canary failed x",
            "'Au!rora' is not a valid client: use at most 64 lowercase letters, digits, hyphens or underscores, starting with a letter or digit.",
        ),
    ],
)
def test_parse_chat_errors_say_what_to_write(text: str, message: str) -> None:
    result = parse_chat(text)
    assert isinstance(result, c.ParseError)
    assert (result.message, result.usage) == (message, f"{USAGE}\n{SCHEDULE}")


def test_parse_comment_errors_show_the_comment_form() -> None:
    [result] = parse_comment("/drill aurora canary recovered soon", issue=7)
    assert isinstance(result, c.ParseError)
    assert result.usage == f"{COMMENT}\n{COMMENT_SCHEDULE}"
    [other] = parse_comment("/drill 8 aurora canary recovered 12m", issue=7)
    assert isinstance(other, c.ParseError)
    assert (
        other.message
        == "In a comment the proposal is this issue (#7); comment on #8 or leave out the number."
    )


def test_help_shows_the_drill_forms() -> None:
    assert help_lines("drill") == [USAGE, SCHEDULE]
    assert help_lines("drill", comment=True) == [COMMENT, COMMENT_SCHEDULE]
    assert help_lines("drill schedule") == [SCHEDULE]
    assert parse_chat("help drills") == c.Help("drill")


def test_a_drill_of_another_client_is_refused_naming_who_may() -> None:
    charter = Charter.model_validate(reference_data())
    mine = authorize_command(
        c.Drill(42, "aurora", "canary", M), Actor(login="carmen-borealis"), charter
    )
    assert mine is not None
    assert (
        mine.reason
        == "Only maintainers of aurora (alice-aurora and bob-aurora) or members of coordinators may report or plan a rollback drill of aurora."
    )
    data = reference_data()
    data["rollout"]["override_roles"] = []
    bare = Charter.model_validate(data)
    refused = authorize_command(c.Drill(42, "aurora", "canary", M), Actor(login="ines-coord"), bare)
    assert refused is not None
    assert (
        refused.reason
        == "Only maintainers of aurora (alice-aurora and bob-aurora) or the rollout's override roles (none in this charter) may report or plan a rollback drill of aurora."
    )
    assert (
        authorize_command(c.Drill(42, "aurora", "canary", M), Actor(login="bob-aurora"), bare)
        is None
    )
    plan = c.DrillSchedule(42, "aurora", "canary", "thursday 15:00")
    planned = authorize_command(plan, Actor(login="carmen-borealis"), charter)
    assert planned is not None
    assert planned.reason == mine.reason  # the same words: "may report or plan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "drill schedule 42 aurora canary thursday 15:00",
            c.DrillSchedule(42, "aurora", "canary", "thursday 15:00"),
        ),
        (
            "DRILL Schedule #42 Aurora canary in 2 days",
            c.DrillSchedule(42, "aurora", "canary", "in 2 days"),
        ),
        (
            "drill schedule 42 aurora canary 2027-03-04 15:00 Europe/Berlin",
            c.DrillSchedule(42, "aurora", "canary", "2027-03-04 15:00 Europe/Berlin"),
        ),
    ],
)
def test_parse_chat_reads_drill_schedules(text: str, expected: c.Command) -> None:
    assert parse_chat(text) == expected


def test_parse_comment_reads_drill_schedules_on_the_issue() -> None:
    assert parse_comment("/drill schedule aurora canary tomorrow 09:30", issue=7) == [
        c.DrillSchedule(7, "aurora", "canary", "tomorrow 09:30")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("drill schedule", "Give the proposal number."),
        ("drill schedule 42 aurora", "Give the stage."),
        (
            "drill schedule 42 aurora canary",
            "Give the time, e.g. thursday 15:00, 2027-03-04 15:00 or in 2 days.",
        ),
    ],
)
def test_drill_schedule_errors_say_what_to_write(text: str, message: str) -> None:
    result = parse_chat(text)
    assert isinstance(result, c.ParseError)
    assert (result.message, result.usage) == (message, SCHEDULE)
