"""Compound durations: the charter, the ``drill`` command and the views read them alike."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from charter.model import Duration, duration_seconds, format_compound, parse_duration
from charter.schema import DURATION_PATTERN

M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("36h", 36 * 3600),
        ("2w", 2 * 604800),
        ("0d", 0),
        (" 90 m ", 5400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("30m45s", 1845),
        ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("30m1h", None),  # largest unit first
        ("1h1h", None),  # each unit once
        ("12", None),
        ("12min", None),
        ("", None),
        ("1h30", None),
    ],
)
def test_duration_seconds_reads_parts_largest_unit_first(text: str, seconds: int | None) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1h30m", 90 * M), ("2d12h", timedelta(hours=60)), ("45s", timedelta(seconds=45))],
)
def test_the_charter_accepts_compound_durations(value: str, expected: timedelta) -> None:
    assert TypeAdapter(Duration).validate_python(value) == expected
    assert parse_duration(value) == expected


def test_the_schema_pattern_admits_what_the_charter_reads() -> None:
    pattern = re.compile(DURATION_PATTERN)
    assert all(pattern.match(v) for v in ("36h", "1h30m", "30m45s", "1w2d"))
    assert not any(pattern.match(v) for v in ("30", "12min", "1h 30", "h"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "30 has no unit; write e.g. 30m, 30h or 30d"),
        ("30m1h", "several such parts, largest unit first (e.g. 1h30m)"),
    ],
)
def test_bad_durations_suggest_minutes_and_compounds(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        TypeAdapter(Duration).validate_python(value)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (timedelta(seconds=1845), "30m45s"),
        (90 * M, "1h30m"),
        (12 * M, "12m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0s"),
        (timedelta(days=7), "7d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(hours=2), "2h"),
    ],
)
def test_format_compound_writes_parts_that_read_back(value: timedelta, written: str) -> None:
    assert format_compound(value) == written
    assert parse_duration(written) == value
