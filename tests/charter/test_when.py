"""Reading ``<when>`` for ad-hoc calls, and the confirmation preview (charter.when)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.when import WhenError, WhenResult, parse_when, preview, title_split


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


NOW = utc(2027, 2, 25, 12)  # a Thursday, 13:00 in Berlin, 07:00 in New York
BEFORE_SPRING = utc(2027, 3, 26, 12)  # Berlin springs forward on Sunday 2027-03-28


@pytest.mark.parametrize(
    ("text", "zone", "now", "expected", "zone_used"),
    [
        ("2027-03-01 14:00Z", "Europe/Berlin", NOW, utc(2027, 3, 1, 14), "UTC"),
        ("2027-03-01T14:00+02:00", "Europe/Berlin", NOW, utc(2027, 3, 1, 12), "UTC+02:00"),
        ("2027-03-01T14:00-0530", "UTC", NOW, utc(2027, 3, 1, 19, 30), "UTC-05:30"),
        ("2027-03-01 14:00 Europe/Berlin", "UTC", NOW, utc(2027, 3, 1, 13), "Europe/Berlin"),
        ("2027-04-01 14:00 europe/berlin", "UTC", NOW, utc(2027, 4, 1, 12), "Europe/Berlin"),
        ("2027-03-01 14:00 UTC", "Europe/Berlin", NOW, utc(2027, 3, 1, 14), "UTC"),
        ("2027-03-01 14:00", "America/New_York", NOW, utc(2027, 3, 1, 19), "America/New_York"),
        ("thursday 15:00 Europe/Berlin", "UTC", NOW, utc(2027, 2, 25, 14), "Europe/Berlin"),
        ("thu 15:00", "Europe/Berlin", NOW, utc(2027, 2, 25, 14), "Europe/Berlin"),
        ("thu 11:00", "UTC", NOW, utc(2027, 3, 4, 11), "UTC"),  # today's 11:00 has passed
        ("Thu 12:00", "UTC", NOW, utc(2027, 3, 4, 12), "UTC"),  # strictly after now
        ("mon 09:00", "America/New_York", NOW, utc(2027, 3, 1, 14), "America/New_York"),
        ("Sunday 10:00", "Europe/Berlin", NOW, utc(2027, 2, 28, 9), "Europe/Berlin"),
        ("tomorrow 09:30", "UTC", NOW, utc(2027, 2, 26, 9, 30), "UTC"),
        ("tomorrow 09:30", "Asia/Tokyo", NOW, utc(2027, 2, 26, 0, 30), "Asia/Tokyo"),
        ("today 18:00", "Europe/Berlin", NOW, utc(2027, 2, 25, 17), "Europe/Berlin"),
        ("in 2 hours", "UTC", NOW, utc(2027, 2, 25, 14), "UTC"),
        ("in 90 minutes", "Europe/Berlin", NOW, utc(2027, 2, 25, 13, 30), "Europe/Berlin"),
        ("in 3 days", "UTC", NOW, utc(2027, 2, 28, 12), "UTC"),
        ("IN 1 week", "UTC", NOW, utc(2027, 3, 4, 12), "UTC"),
        ("in 3 days", "Europe/Berlin", BEFORE_SPRING, utc(2027, 3, 29, 12), "Europe/Berlin"),
        ("  thursday   15:00  ", "Europe/Berlin", NOW, utc(2027, 2, 25, 14), "Europe/Berlin"),
        ("2027-10-31 02:30 Europe/Berlin", "UTC", NOW, utc(2027, 10, 31, 0, 30), "Europe/Berlin"),
        ("in 521 weeks", "UTC", NOW, utc(2037, 2, 19, 12), "UTC"),  # 3647 days: just in range
        ("2037-02-24 12:00Z", "UTC", NOW, utc(2037, 2, 24, 12), "UTC"),
    ],
)
def test_when_forms(
    text: str, zone: str, now: datetime, expected: datetime, zone_used: str
) -> None:
    """Every accepted form gives one exact UTC instant; zone-less input uses the default zone."""
    result = parse_when(text, now, zone)
    assert result.at_utc == expected
    assert result.at_utc.tzinfo == UTC
    assert result.zone_used == zone_used


@pytest.mark.parametrize(
    ("text", "zone", "interpreted"),
    [
        ("2027-03-01 14:00 Europe/Berlin", "UTC",
         "Mon 2027-03-01 14:00 Europe/Berlin = Mon 2027-03-01 13:00 UTC"),
        ("2027-03-01 14:00Z", "UTC", "Mon 2027-03-01 14:00 UTC"),
        ("in 90 minutes", "Europe/Berlin",
         "in 90 minutes: Thu 2027-02-25 13:30 UTC = Thu 2027-02-25 14:30 Europe/Berlin"),
        ("in 2 hours", "UTC", "in 2 hours: Thu 2027-02-25 14:00 UTC"),
        ("2027-10-31 02:30 Europe/Berlin", "UTC",
         "Sun 2027-10-31 02:30 Europe/Berlin (the first of two 02:30s; clocks go back)"
         " = Sun 2027-10-31 00:30 UTC"),
    ],
)  # fmt: skip
def test_interpretation_is_spelled_out(text: str, zone: str, interpreted: str) -> None:
    """The result says how the input was read, including the first-of-two rule."""
    assert parse_when(text, NOW, zone).interpreted_as == interpreted


@pytest.mark.parametrize(
    ("text", "zone", "now", "message"),
    [
        ("2027-03-28 02:30 Europe/Berlin", "UTC", NOW,
         "02:30 on 2027-03-28 does not exist in Europe/Berlin (clocks go forward); "
         "did you mean 03:30?"),
        ("2027-03-14 02:15", "America/New_York", NOW,
         "02:15 on 2027-03-14 does not exist in America/New_York (clocks go forward); "
         "did you mean 03:15?"),
        ("sunday 02:30", "Europe/Berlin", BEFORE_SPRING,
         "02:30 on 2027-03-28 does not exist in Europe/Berlin"),
        ("2027-02-30 10:00", "UTC", NOW, "2027-02-30 is not a calendar date"),
        ("thu 24:00", "UTC", NOW, "24:00 is not a time of day; write HH:MM from 00:00 to 23:59"),
        ("2027-03-01 10:60Z", "UTC", NOW, "10:60 is not a time of day"),
        ("2027-03-01 10:00 Mars/Olympus", "UTC", NOW,
         "unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin, or UTC"),
        ("tomorrow 10:00", "Nowhere/Land", NOW, "unknown time zone 'Nowhere/Land'"),
        ("2027-03-01 10:00+15:00", "UTC", NOW, "+15:00 is not a UTC offset"),
        ("in 3 fortnights", "UTC", NOW,
         "unknown unit 'fortnights'; write minutes, hours, days or weeks"),
        ("next week", "UTC", NOW,
         "could not read 'next week' as a time; write e.g. '2027-03-01 14:00 Europe/Berlin'"),
        ("someday 10:00", "UTC", NOW, "'someday' is not a day; write today, tomorrow"),
        ("2020-01-01 10:00Z", "UTC", NOW,
         "Wed 2020-01-01 10:00 UTC is not in the future (now is 2027-02-25 12:00 UTC)"),
        ("in 0 minutes", "UTC", NOW, "is not in the future"),
        ("today 08:00", "UTC", NOW, "Thu 2027-02-25 08:00 UTC is not in the future"),
        # beyond what a datetime holds: the normal refusal, never an OverflowError
        ("in 999999 weeks", "UTC", NOW,
         "in 999999 weeks is too far ahead; pick a time at most ten years from now"),
        ("in 999999 days", "Europe/Berlin", NOW, "in 999999 days is too far ahead"),
        ("9999-12-31 23:00 -05:00", "UTC", NOW,
         "9999-12-31 23:00 UTC-05:00 is too far ahead; pick a time at most ten years from now"),
        ("9999-12-31 23:00 America/New_York", "UTC", NOW,
         "9999-12-31 23:00 America/New_York is too far ahead"),
        ("0001-01-01 00:00 +05:00", "UTC", NOW, "0001-01-01 00:00 UTC+05:00 is not in the future"),
        # within range, but more than ten years ahead (an hour or a day later would not be)
        ("9999-12-31 22:00Z", "UTC", NOW, "Fri 9999-12-31 22:00 UTC is too far ahead"),
        ("2037-03-01 14:00Z", "UTC", NOW,
         "Sun 2037-03-01 14:00 UTC is too far ahead; pick a time at most ten years from now"),
        ("in 522 weeks", "UTC", NOW, "in 522 weeks is too far ahead"),
        # "next <weekday>" is not a form ("thursday 15:00" is the next one)
        ("next thursday 15:00", "UTC", NOW, "could not read 'next thursday 15:00' as a time"),
    ],
)  # fmt: skip
def test_when_errors_say_what_to_write(text: str, zone: str, now: datetime, message: str) -> None:
    """Unreadable, impossible or past times are refused with an actionable message."""
    with pytest.raises(WhenError) as caught:
        parse_when(text, now, zone)
    assert message in str(caught.value)


def test_naive_now_is_a_programming_error() -> None:
    """now must be aware; a naive clock is a bug in the caller, not user input."""
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("in 2 hours", datetime(2027, 2, 25, 12), "UTC")


SECONDS_IN = datetime(2026, 11, 29, 0, 55, 48, 250_000, tzinfo=UTC)  # 48.25 s into a minute


@pytest.mark.parametrize(
    ("text", "now", "expected", "read_as"),
    [
        ("in 1 minute", SECONDS_IN, utc(2026, 11, 29, 0, 57), "Sun 2026-11-29 00:57 UTC"),
        ("in 2 hours", SECONDS_IN, utc(2026, 11, 29, 2, 56), "Sun 2026-11-29 02:56 UTC"),
        ("in 1 day", SECONDS_IN, utc(2026, 11, 30, 0, 56), "Mon 2026-11-30 00:56 UTC"),
        ("in 1 minute", SECONDS_IN.replace(second=0, microsecond=1), utc(2026, 11, 29, 0, 57),
         "Sun 2026-11-29 00:57 UTC"),  # a microsecond past the minute still rounds up
        ("in 1 minute", utc(2026, 11, 29, 0, 55), utc(2026, 11, 29, 0, 56),
         "Sun 2026-11-29 00:56 UTC"),  # already a whole minute: unchanged
    ],
)  # fmt: skip
def test_relative_times_are_rounded_up_to_a_whole_minute(
    text: str, now: datetime, expected: datetime, read_as: str
) -> None:
    """`in <n> <unit>` lands on the next whole minute at or after now + n units, so the time a
    call is shown at (to the minute) is the time it starts: "in 1 minute" at 00:55:48 is 00:57,
    not 00:56:48 shown as 00:56 (a `--call` at 00:56:25 was told it had not started)."""
    result = parse_when(text, now, "UTC")
    assert result.at_utc == expected and result.at_utc >= now
    assert result.at_utc.second == 0 and result.at_utc.microsecond == 0
    assert read_as in result.interpreted_as


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        ("UTC", "Mon 2027-03-01 14:00 UTC"),
        ("America/New_York",
         "Mon 2027-03-01 14:00 UTC · Mon 2027-03-01 09:00 America/New_York (your time)"),
        ("asia/tokyo", "Mon 2027-03-01 14:00 UTC · Mon 2027-03-01 23:00 Asia/Tokyo (your time)"),
    ],
)  # fmt: skip
def test_preview_shows_utc_and_the_readers_time(reader: str, expected: str) -> None:
    """The confirmation preview gives the instant in UTC and in the reader's zone."""
    result = parse_when("2027-03-01 15:00 Europe/Berlin", NOW, "UTC")
    assert preview(result, reader) == expected


def test_preview_refuses_an_unknown_reader_zone() -> None:
    """A reader zone that does not exist is reported, not silently replaced."""
    result = WhenResult(utc(2027, 3, 1, 14), "UTC", "x")
    with pytest.raises(WhenError, match="unknown time zone 'Moon/Base'"):
        preview(result, "Moon/Base")


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Unquoted", "title tomorrow 16:00", ("Unquoted title", "tomorrow 16:00")),
        ("Blob", "target deep dive thursday 15:00", ("Blob target deep dive", "thursday 15:00")),
        ("Sync", "review 2027-03-01 14:00Z", ("Sync review", "2027-03-01 14:00Z")),
        ("Sync", "review in 2 hours", ("Sync review", "in 2 hours")),
        ("Sync", "review soon", None),  # no time in it at all
        ("Sync", "review 2020-01-01 10:00Z", None),  # a time, but past: no command to suggest
        ("Sync", "tomorrow", None),  # one word: nothing to move
        # A title never ends with a word of a time: the time itself is refused.
        ("Sync", "next thursday 16:00", None),
        ("Sync", "on thursday 16:00", None),
        ("Sync", "At 2027-04-02 16:00", None),
        ("Sync", "review this thursday 16:00", None),
        ("Sync", "today review 16:00", None),
        ("Sync", "review by tomorrow 16:00", None),
        ("Sync", "in person tomorrow 16:00", ("Sync in person", "tomorrow 16:00")),
        ("Sync", "next week thursday 16:00", None),
        # A title holds a word that leads into a time, but never ends with it.
        ("Sync", "on rollout tomorrow 16:00", ("Sync on rollout", "tomorrow 16:00")),
        ("Sync", "at Acme tomorrow 16:00", ("Sync at Acme", "tomorrow 16:00")),
        ("Sync", "from security tomorrow 16:00", ("Sync from security", "tomorrow 16:00")),
        ("Sync", "this proposal tomorrow 16:00", ("Sync this proposal", "tomorrow 16:00")),
        ("Sync", "next steps thursday 15:00", ("Sync next steps", "thursday 15:00")),
        # No split moves a day, a clock or a date: the time had begun there.
        ("Sync", "today 16:00 or tomorrow 16:00", None),
        ("Sync", "at 16:00 in 3 days", None),
        ("Sync", "2027-04-02 or thursday 16:00", None),
    ],
)  # fmt: skip
def test_an_unquoted_titles_words_are_split_from_the_time(
    title: str, text: str, expected: tuple[str, str] | None
) -> None:
    """What ``meeting schedule <title> <words…>`` meant when the words do not read as a time."""
    assert title_split(title, text, NOW, "UTC") == expected
