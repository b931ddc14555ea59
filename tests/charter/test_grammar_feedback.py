"""The ``feedback`` production (rfcbot's ``f? @user``): chat and GitHub comment forms."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import pytest

from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE, help_lines, parse_chat, parse_comment
from charter.text import quoted

F = c.RequestFeedback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feedback 7 @bob-aurora", F(7, ("bob-aurora",))),
        ("feedback #7 @bob-aurora", F(7, ("bob-aurora",))),
        ("FEEDBACK 7 @bob", F(7, ("bob",))),
        ("f? 7 @bob", F(7, ("bob",))),  # rfcbot's word
        ("F? 7 @bob", F(7, ("bob",))),
        ("feedback 7 @bob @carol @dan", F(7, ("bob", "carol", "dan"))),
        ("feedback 7 @bob, @carol", F(7, ("bob", "carol"))),
        (
            "feedback 7 @bob @carol does this break light clients?",
            F(7, ("bob", "carol"), "does this break light clients?"),
        ),
        # the first word that is no "@login" starts the note, even if an "@login" follows
        ("feedback 7 @bob please look, @carol too", F(7, ("bob",), "please look, @carol too")),
        # punctuation after a name is dropped: ". , ;" go on, ":" ends the list
        ("feedback 7 @bob.", F(7, ("bob",))),
        ("feedback 7 @bob; @carol. thanks", F(7, ("bob", "carol"), "thanks")),
        ("feedback 7 <@U0BOB>, @carol", F(7, ("<@U0BOB>", "carol"))),
        # GitHub's longest login: 39 characters
        ("feedback 7 @" + "a-b" * 13, F(7, ("a-b" * 13,))),
        # a colon ends the list
        ("feedback 7 @bob: @carol knows more", F(7, ("bob",), "@carol knows more")),
        ('feedback 7 @bob "quoted note"', F(7, ("bob",), "quoted note")),
        # a login asked twice (in any case) is asked once
        ("feedback 7 @Bob @bob @BOB", F(7, ("Bob",))),
        # chat mentions are kept for the service to read as linked logins
        ("feedback 7 <@U0BOB> <@!80351110224678912>", F(7, ("<@U0BOB>", "<@!80351110224678912>"))),
        ("feedback 7 @a @b @c @d @e @f @g @h @i @j", F(7, tuple("abcdefghij"))),
    ],
)
def test_feedback_in_chat(text: str, expected: c.RequestFeedback) -> None:
    assert parse_chat(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feedback", "Give the proposal number."),
        ("feedback 7", "Give the person to ask, e.g. @bob-aurora."),
        ("f? 7", "Give the person to ask, e.g. @bob-aurora."),
        (
            "feedback @bob",
            "'@bob' is not a proposal number; write a whole number such as 42 or #42.",
        ),
        ("feedback 7 @bob!", "'@bob!' is not a valid user; write it like @alice-aurora."),
        # every person is written "@login", the first one too: prose names nobody
        (
            "feedback 7 please take a look",
            "Write the people to ask as @login (or a chat mention): 'please' is not one, e.g. /charter feedback 7 @bob-aurora your view?",
        ),
        (
            "feedback 7 bob, @carol",
            "Write the people to ask as @login (or a chat mention): 'bob,' is not one, e.g. /charter feedback 7 @bob-aurora your view?",
        ),
        # the example is the chat form, with the proposal number given
        (
            "f? #12 kofi-sec",
            "Write the people to ask as @login (or a chat mention): 'kofi-sec' is not one, e.g. /charter feedback 12 @bob-aurora your view?",
        ),
        (
            'feedback 7 "@bob"',
            "Write the people to ask as @login (or a chat mention): '@bob' is not one, e.g. /charter feedback 7 @bob-aurora your view?",
        ),
        # GitHub's login rule: no hyphen first, last or doubled; at most 39 characters
        ("feedback 7 @bob-", "'@bob-' is not a valid user; write it like @alice-aurora."),
        ("feedback 7 @bob--x", "'@bob--x' is not a valid user; write it like @alice-aurora."),
        ("feedback 7 @-bob", "'@-bob' is not a valid user; write it like @alice-aurora."),
        (
            "feedback 7 @" + "a" * 40,
            f"{quoted('@' + 'a' * 40)} is not a valid user; write it like @alice-aurora.",
        ),
        # "f?" run into the name
        ("f?@bob", "Put a space after 'f?', as in 'f? @bob'."),
        ("feedback 7 @bob @c_d", "'@c_d' is not a valid user; write it like @alice-aurora."),
        ("feedback 7 @", "'@' is not a valid user; write it like @alice-aurora."),
        (
            "feedback 7 @a @b @c @d @e @f @g @h @i @j @k",
            "Ask at most 10 people per command; ask the others in another one.",
        ),
        ("feedback 7 @bob " + "x" * 1001, "The note is 1001 characters long; keep it to 1000."),
    ],
)
def test_feedback_errors_in_chat(text: str, message: str) -> None:
    result = parse_chat(text)
    assert result == c.ParseError(message, USAGE["feedback"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/f? @bob", [F(7, ("bob",))]),
        ("/F? @bob", [F(7, ("bob",))]),
        (
            "/feedback @bob @carol see the gas numbers",
            [F(7, ("bob", "carol"), "see the gas numbers")],
        ),
        ("/charter feedback @bob", [F(7, ("bob",))]),
        ("/feedback 7 @bob", [F(7, ("bob",))]),  # the issue's own number, pasted from chat
        ("/f? 7 @bob", [F(7, ("bob",))]),
        ("／f? @bob", [F(7, ("bob",))]),  # a full-width solidus
        (
            "/f?\n/feedback",
            [c.ParseError("Give the person to ask, e.g. @bob-aurora.", COMMENT_USAGE["feedback"])]
            * 2,
        ),
        (
            "/feedback 8 @bob",
            [
                c.ParseError(
                    "In a comment the proposal is this issue (#7); comment on #8 or leave out the number.",
                    COMMENT_USAGE["feedback"],
                )
            ],
        ),
        # prose after /feedback names nobody: refused, never read as asking GitHub user "please"
        (
            "/feedback please take a look\n/f? bob, carol",
            [
                c.ParseError(
                    f"Write the people to ask as @login (or a chat mention): {word!r} is not one, e.g. /f? @bob-aurora your view?",
                    COMMENT_USAGE["feedback"],
                )
                for word in ("please", "bob,")
            ],
        ),
        ("/f? @bob.", [F(7, ("bob",))]),
        (
            "/f? @bob-",
            [
                c.ParseError(
                    "'@bob-' is not a valid user; write it like @alice-aurora.",
                    COMMENT_USAGE["feedback"],
                )
            ],
        ),
        # run together: answered with the spaced form, as /approve,lgtm is
        (
            "/f?@bob\n/F?<@U0BOB>",
            [
                c.ParseError("Put a space after 'f?', as in 'f? @bob'.", COMMENT_USAGE["feedback"]),
                c.ParseError(
                    "Put a space after 'F?', as in 'F? <@U0BOB>'.", COMMENT_USAGE["feedback"]
                ),
            ],
        ),
        ("/f?: @bob", [F(7, ("bob",))]),
        # a question mark makes no other word a command: "/what?" and "/f?x" are prose
        ("/what? is this\n/f?x\n/fx? @bob", []),
        ("> /f? @bob\n\n    /f? @bob\n```\n/f? @bob\n```", []),  # quoted or code: not read
    ],
)
def test_feedback_in_a_comment(body: str, expected: list[c.Command | c.ParseError]) -> None:
    assert parse_comment(body, issue=7) == expected


@pytest.mark.parametrize(
    ("topic", "comment", "lines"),
    [
        ("feedback", False, [USAGE["feedback"]]),
        ("f?", False, [USAGE["feedback"]]),
        ("feedback", True, [COMMENT_USAGE["feedback"]]),
        ("f?", True, [COMMENT_USAGE["feedback"]]),
    ],
)
def test_help_shows_feedback(topic: str, comment: bool, lines: list[str]) -> None:
    """``help feedback`` and ``help f?`` show its form; the full help lists it too."""
    assert parse_chat(f"help {topic}") == c.Help("feedback")
    assert help_lines("feedback", comment=comment) == lines
    assert lines[0] in help_lines(None, comment=comment)


def test_feedback_usage_names_the_alias() -> None:
    assert USAGE["feedback"] == "/charter feedback <n> <people> [note]"
    assert COMMENT_USAGE["feedback"] == "/feedback <people> [note] (or /f? <people>)"
