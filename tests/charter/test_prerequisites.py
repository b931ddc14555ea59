"""Minimum client versions from the form's prerequisites, and how versions compare."""

from __future__ import annotations

import pytest

from charter.prerequisites import Minimum, compare, form_minimums, minimums

EXAMPLE = "aurora >= 4.2, borealis >= 1.19, cirrus >= 25.1, dorado >= 3.0, eridanus >= 0.9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EXAMPLE, {"aurora": ">= 4.2", "borealis": ">= 1.19", "cirrus": ">= 25.1",
                   "dorado": ">= 3.0", "eridanus": ">= 0.9"}),
        ("Aurora>=v4.2.0; libp2p >= 0.53\nborealis = 1.19", {"aurora": ">= v4.2.0",
         "libp2p": ">= 0.53", "borealis": "== 1.19"}),
        ("dorado > 3.0, dorado == 3.1", {"dorado": "== 3.1"}),  # the last one wins
        ("needs a recent kernel; aurora at least 4.2", {}),  # prose: left to people
        ("aurora >= latest", {}),  # no version number
        ("", {}),
        ("_No response_", {}),
    ],
    ids=["example", "mixed-separators", "last-wins", "prose", "no-number", "empty", "no-response"],
)  # fmt: skip
def test_minimums(text: str, expected: dict[str, str]) -> None:
    found = minimums(text)
    assert {name: f"{m.op} {m.version}" for name, m in found.items()} == expected
    assert all(str(m) == f"{name} {m.op} {m.version}" for name, m in found.items())


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("4.2", "4.2.0", 0),
        ("v4.2.0", "4.2", 0),
        ("4.10", "4.9", 1),
        ("4.1.9", "4.2", -1),
        ("4.2.0-rc1", "4.2.0", -1),  # a pre-release comes before its release
        ("4.2.0rc1", "4.2", -1),
        ("4.2.1-rc1", "4.2", 1),
        ("4.2.0+build7", "4.2", 0),  # build metadata is not a pre-release
        ("25.1", "25.1.0", 0),
        ("0", "0.0", 0),
        ("nightly", "4.2", None),
        ("4.2", "", None),
    ],
)
def test_compare(a: str, b: str, order: int | None) -> None:
    assert compare(a, b) == order
    if order is not None:
        assert compare(b, a) == -order


@pytest.mark.parametrize(
    ("op", "version", "admitted"),
    [
        (">=", "4.2.0", True),
        (">=", "4.1.0", False),
        (">", "4.2.0", False),
        (">", "4.2.1", True),
        ("==", "4.2.0", True),
        ("==", "4.3", False),
        (">=", "main", None),
    ],
)
def test_admits(op: str, version: str, admitted: bool | None) -> None:
    assert Minimum("aurora", op, "4.2").admits(version) is admitted


def test_bullets_code_quotes_and_remarks_are_read() -> None:
    text = "- `aurora >= 4.2` (the fee fix)\n* borealis>=1.19\n+ cirrus == 25.1 (pinned)"
    found = {name: str(m) for name, m in minimums(text).items()}
    assert found == {
        "aurora": "aurora >= 4.2",
        "borealis": "borealis >= 1.19",
        "cirrus": "cirrus == 25.1",
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"dependencies": "aurora >= 4.2"}, ["aurora"]), ({"dependencies": None}, []), ({}, [])],
)
def test_form_minimums(fields: dict[str, object], expected: list[str]) -> None:
    assert list(form_minimums(fields)) == expected
