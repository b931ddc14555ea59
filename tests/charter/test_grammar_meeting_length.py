"""A meeting's length written back for a command (the quote-your-title hint): one number and one
unit, as ``meeting schedule`` reads it, so the command pasted back has the same length."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter import commands as c
from charter.grammar import parse_chat
from charter.grammar_meetings import length_word


@pytest.mark.parametrize(
    ("minutes", "word"),
    [(1, "1m"), (45, "45m"), (60, "1h"), (90, "90m"), (120, "2h"), (1439, "1439m"), (1440, "24h")],
)
def test_a_length_is_written_as_the_grammar_reads_it(minutes: int, word: str) -> None:
    length = timedelta(minutes=minutes)
    assert length_word(length) == word
    parsed = parse_chat(f'meeting schedule "Sync" tomorrow 09:00 {word}')
    assert isinstance(parsed, c.MeetingSchedule) and parsed.duration == length
