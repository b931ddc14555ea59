"""``meeting schedule`` with an unquoted title of several words: its other words run into the
time, which does not read; the reply then writes the command with the title quoted (its length
and proposal kept), and says nothing more when no split of the words makes a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.messages import plain_text
from bot.service import Governance
from charter import commands as c
from charter.grammar import parse_chat
from tests.bot.meetings.conftest import COORDINATOR

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
QUOTE = "Quote a title of several words: /charter meeting schedule "


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (
            "meeting schedule Unquoted title tomorrow 16:00",
            QUOTE + '"Unquoted title" tomorrow 16:00',
        ),
        (
            "meeting schedule Blob target deep dive tomorrow 16:00 45m for 6",
            QUOTE + '"Blob target deep dive" tomorrow 16:00 45m for 6',
        ),
        ('meeting schedule "Review" of fees in 2 hours', QUOTE + '"Review of fees" in 2 hours'),
        (
            "meeting schedule Sync on rollout tomorrow 16:00",
            QUOTE + '"Sync on rollout" tomorrow 16:00',
        ),
        ('meeting schedule "Two words" soon please', None),  # quoted already: no split asked
        ("meeting schedule Unquoted title sometime", None),  # no time in the words at all
    ],
)
def test_an_unquoted_title_is_answered_with_the_quoted_command(
    gov: Governance, command: str, hint: str | None
) -> None:
    reply = gov.run_sync(command, COORDINATOR, NOW)
    text = plain_text(reply)
    assert not reply.ok and "as a time" in text, text
    if hint is None:
        assert "Quote a title" not in text
    else:
        assert text.endswith(hint), text


@pytest.mark.parametrize(
    ("command", "title", "when", "length"),
    [
        (
            "meeting schedule Offsite day tomorrow 09:00 24h",
            "Offsite day",
            "tomorrow 09:00",
            24 * 60,
        ),
        ("meeting schedule Long sync tomorrow 09:00 90m", "Long sync", "tomorrow 09:00", 90),
        ("meeting schedule Long sync tomorrow 09:00 120m", "Long sync", "tomorrow 09:00", 120),
    ],
)
def test_the_quoted_command_reads_back_with_its_length(
    gov: Governance, command: str, title: str, when: str, length: int
) -> None:
    """The hint writes the length as the grammar reads it (``24h``, ``90m``: not ``1d``,
    ``1h30m``), so pasting it schedules the call meant."""
    hint = plain_text(gov.run_sync(command, COORDINATOR, NOW)).rsplit(QUOTE, 1)[1]
    parsed = parse_chat("meeting schedule " + hint)
    assert isinstance(parsed, c.MeetingSchedule), (hint, parsed)
    assert (parsed.title, parsed.when_text) == (title, when), hint
    assert parsed.duration == timedelta(minutes=length), hint


@pytest.mark.parametrize(
    "command",
    [
        "meeting schedule Sync next thursday 16:00",
        "meeting schedule Sync on thursday 16:00",
        "meeting schedule Sync at 2026-04-02 16:00",
        "meeting schedule Sync next week thursday 16:00",
        "meeting schedule Sync at 16:00 in 3 days",
    ],
)
def test_a_word_of_the_time_is_not_moved_into_the_title(gov: Governance, command: str) -> None:
    """A one-word title before a time the reader does not take gets the time's refusal only,
    never a hint that ends the title with ``next``, ``on`` or ``at`` or moves a clock into it
    (a title may hold them: ``Sync on rollout`` above)."""
    text = plain_text(gov.run_sync(command, COORDINATOR, NOW))
    assert "as a time" in text and "Quote a title" not in text, text
