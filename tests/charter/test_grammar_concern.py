"""The ``concern`` production: the name is the first word and its colon ends it, in chat and in
a GitHub comment alike; without that colon nothing is guessed, and the reply writes the command
out with a name suggested."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import pytest

from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE, ParseError, parse_chat, parse_comment

C = c.RaiseConcern
START = "Start the concern with its name, one word ending in a colon: "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("concern 6 perf: slow", C(6, "perf", "slow")),
        ("concern 6 Perf: slow", C(6, "perf", "slow")),  # a name is lowercase
        ("concern 6 perf : slow", C(6, "perf", "slow")),  # a lone colon after the name
        ("concern 6 perf：slow down", None),  # run into the text: refused (below)
        ("concern 6 perf： slow", C(6, "perf", "slow")),  # the full-width colon
        ("concern 6 latency: p99 rose at 10:30 UTC", C(6, "latency", "p99 rose at 10:30 UTC")),
        (
            "concern 6 perf: see https://example.com/bench",
            C(6, "perf", "see https://example.com/bench"),
        ),
        ("concern 6 perf: note: twice", C(6, "perf", "note: twice")),  # a later colon is text
        ('concern 6 "gas: too high"', C(6, "gas", "too high")),  # wholly quoted
        ("concern #6 gas_limit:   too high  ", C(6, "gas_limit", "too high")),
    ],
)
def test_a_concern_is_its_first_word_and_text(text: str, expected: C | None) -> None:
    result = parse_chat(text)
    if expected is None:
        assert isinstance(result, ParseError)
    else:
        assert result == expected


SUGGEST = [
    # (words after "concern 6", the reply's message)
    ("State sync is slow", START + "/charter concern 6 state: sync is slow"),
    (
        "perf see https://example.com/bench",
        START + "/charter concern 6 perf: see https://example.com/bench",
    ),
    ("latency p99 rose at 10:30 UTC", START + "/charter concern 6 latency: p99 rose at 10:30 UTC"),
    ("State sync: is slow", START + "/charter concern 6 state-sync: is slow"),  # joined by hyphens
    ("gas limit too high: yes", START + "/charter concern 6 gas-limit-too-high: yes"),
    (
        "a b c d e: five words",
        START + "/charter concern 6 a: b c d e: five words",
    ),  # too long to join
    ("bad name!: text", START + "/charter concern 6 bad: name!: text"),  # not a name joined
    ("perf:slow", START + "/charter concern 6 perf: slow"),  # run into the text
    ("perf:slow down", START + "/charter concern 6 perf: slow down"),
    ("10:30 the rollout broke", START + "/charter concern 6 <name>: 10:30 the rollout broke"),
    (
        "https://example.com is down",
        START + "/charter concern 6 <name>: https://example.com is down",
    ),
    (
        "nocolon",
        "Give the concern text after the name, e.g. /charter concern 6 nocolon: <what is wrong>.",
    ),
    ("10:30", START + "/charter concern 6 <name>: 10:30"),
    ("Bad! name", START + "/charter concern 6 <name>: Bad! name"),
    (
        "",
        "Give the concern as <name>: <text>, e.g. /charter concern 6 gas-limit: the new target is too high.",
    ),
    (
        "perf:",
        "Give the concern text after the name, e.g. /charter concern 6 perf: <what is wrong>.",
    ),
    (
        "perf :",
        "Give the concern text after the name, e.g. /charter concern 6 perf: <what is wrong>.",
    ),
    (
        "perf::  x",
        "'perf:' is not a valid concern name: use at most 64 lowercase letters, digits, hyphens or underscores, starting with a letter or digit.",
    ),
    (
        "bad!: text",
        "'bad!' is not a valid concern name: use at most 64 lowercase letters, digits, hyphens or underscores, starting with a letter or digit.",
    ),
]


@pytest.mark.parametrize(("words", "message"), SUGGEST)
def test_without_the_names_colon_the_reply_writes_the_command(words: str, message: str) -> None:
    result = parse_chat(f"concern 6 {words}")
    assert result == ParseError(message, USAGE["concern"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/concern perf: p99 rose at 10:30", C(12, "perf", "p99 rose at 10:30")),
        ("/concern 12 perf: slow", C(12, "perf", "slow")),
        ("/charter concern perf : slow", C(12, "perf", "slow")),
        (
            "/concern State sync is slow",
            ParseError(START + "/concern state: sync is slow", COMMENT_USAGE["concern"]),
        ),
        (
            "/concern perf see https://example.com/bench",
            ParseError(
                START + "/concern perf: see https://example.com/bench", COMMENT_USAGE["concern"]
            ),
        ),
        (
            "/concern perf:",
            ParseError(
                "Give the concern text after the name, e.g. /concern perf: <what is wrong>.",
                COMMENT_USAGE["concern"],
            ),
        ),
    ],
)
def test_a_comment_reads_a_concern_the_same_way(line: str, expected: object) -> None:
    assert parse_comment(line, issue=12) == [expected]
