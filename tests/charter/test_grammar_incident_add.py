"""The ``incident add`` production: widen an open incident's scope, in chat and in comments."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import pytest

from charter import commands as c
from charter.grammar import COMMENT_USAGE, USAGE, parse_chat, parse_comment

A = c.IncidentAdd


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("incident add for 42", A(None, (42,))),
        ("incident add for #42", A(None, (42,))),
        ("incident add for 42,#43 44", A(None, (42, 43, 44))),
        ("incident add for 42, 43", A(None, (42, 43))),
        ("incident add for 42,42 #42", A(None, (42,))),  # named twice, added once
        ("incident add for ４２，＃43", A(None, (42, 43))),  # NFKC-folded
        ("incident add clients aurora", A(None, (), ("aurora",))),
        ("incident add client aurora", A(None, (), ("aurora",))),
        (
            "incident add clients Aurora,borealis cirrus",
            A(None, (), ("aurora", "borealis", "cirrus")),
        ),
        ("incident add clients aurora aurora", A(None, (), ("aurora",))),
        ("incident add for 42 clients aurora", A(None, (42,), ("aurora",))),
        ("incident add #3 for 42", A(3, (42,))),
        ("incident add ＃3 clients dorado", A(3, (), ("dorado",))),
        ("INCIDENT ADD #3 FOR 42 CLIENTS AURORA", A(3, (42,), ("aurora",))),
        ("incident add. for 42", A(None, (42,))),
    ],
)
def test_incident_add_in_chat(text: str, expected: c.IncidentAdd) -> None:
    assert parse_chat(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("incident add", "Say what to add: for <n>[,<n>…], clients <client> …, or both."),
        ("incident add #3", "Say what to add: for <n>[,<n>…], clients <client> …, or both."),
        ("incident add for", "Name the proposals after 'for', e.g. for 42,43."),
        ("incident add for aurora", "Name the proposals after 'for', e.g. for 42,43."),
        ("incident add for 0", "A proposal number starts at 1; got '0'."),
        ("incident add for 12345678901", "'12345678901' is too large for a proposal number"),
        (
            "incident add for 4#2",
            "'4#2' is not a proposal number; write a whole number such as 42 or #42.",
        ),
        ("incident add clients", "Name the clients after 'clients', e.g. clients aurora borealis."),
        (
            "incident add clients ,",
            "Name the clients after 'clients', e.g. clients aurora borealis.",
        ),
        (
            "incident add clients au!rora",
            "'au!rora' is not a valid client: use at most 64 lowercase letters",
        ),
        (
            "incident add aurora",
            "'aurora' is not what 'incident add' takes: name proposals with 'for 42,43', clients with 'clients aurora', and the incident as #<id> first.",
        ),
        ("incident add for 42 aurora", "'aurora' is not what 'incident add' takes"),
        ("incident add 3 for 42", "'3' is not what 'incident add' takes"),  # the id only as #3
        (
            "incident add clients aurora for 42",
            "Name the proposals first: for 42,43 clients aurora.",
        ),
        ("incident add #0 for 42", "An incident id starts at 1; got '#0'."),
        ("incident ad for 42", "'ad' is not one. Did you mean 'add'?"),
    ],
)
def test_incident_add_errors(text: str, message: str) -> None:
    result = parse_chat(text)
    assert isinstance(result, c.ParseError)
    assert message in result.message
    if "Did you mean" not in message:
        assert result.usage == USAGE["incident add"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/incident add #3", A(3, (7,))),  # in a comment the issue is what is added
        ("/incident add #3 clients aurora", A(3, (7,), ("aurora",))),
        ("/incident add for 8,9", A(None, (8, 9))),  # named proposals replace the issue
        ("/charter incident add #3 for 7", A(3, (7,))),
    ],
)
def test_incident_add_in_a_comment(body: str, expected: c.IncidentAdd) -> None:
    assert parse_comment(body, issue=7) == [expected]


def test_incident_add_in_a_comment_needs_something_without_an_issue() -> None:
    [result] = parse_comment("/incident add #3")
    assert isinstance(result, c.ParseError)
    assert result.usage == COMMENT_USAGE["incident add"]


def test_incident_add_is_listed_in_the_group() -> None:
    result = parse_chat("incident")
    assert isinstance(result, c.ParseError)
    assert (
        "'incident' takes one of declare, role, update, severity, resolve, add;" in result.message
    )
    assert USAGE["incident add"] in result.usage
