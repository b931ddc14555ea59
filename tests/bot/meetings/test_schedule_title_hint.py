"""``meeting schedule`` with an unquoted title of several words: its other words run into the
time, which does not read; the reply then writes the command with the title quoted (its length
and proposal kept), and says nothing more when no split of the words makes a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.messages import plain_text
from bot.service import Governance
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
