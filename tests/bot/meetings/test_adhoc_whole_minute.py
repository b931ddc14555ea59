"""An ad-hoc call scheduled `in <n> <unit>` starts on a whole minute: the minute it is shown at
is the minute it starts, so `--call <id>` works from that minute on (it was once stored at
00:56:48, shown as 00:56, and refused at 00:56:25 as not started)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.messages import plain_text
from bot.service import Governance
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import COORDINATOR

ASKED = datetime(2026, 11, 29, 0, 55, 48, tzinfo=UTC)  # 48 seconds into a minute
STARTS = datetime(2026, 11, 29, 0, 57, tzinfo=UTC)  # 00:56:48, rounded up to the minute


def test_a_call_in_one_minute_starts_on_the_minute_it_is_shown_at(gov: Governance) -> None:
    preview = plain_text(
        gov.run_sync('meeting schedule "Quick sync" in 1 minute', COORDINATOR, ASKED)
    )
    token = re.search(r"confirm (\S+) within", preview)
    assert token and "Sun 2026-11-29 00:57 UTC" in preview, preview
    done = plain_text(gov.run_sync(f"confirm {token.group(1)}", COORDINATOR, ASKED))
    found = re.search(r"Scheduled (call-20261129-0057-\S+)", done)
    assert found, done
    call_id = found.group(1).rstrip(".:")
    with session_scope(gov.engine) as session:
        row = session.get(AdhocMeetingRow, call_id)
        assert row is not None
        assert row.starts_at.replace(tzinfo=UTC) == STARTS
    before = gov.run_sync(
        f"meeting decide --call {call_id} ok", COORDINATOR, STARTS.replace(minute=56, second=59)
    )
    assert not before.ok and "has not started" in plain_text(before)
    at_start = gov.run_sync(f"meeting decide --call {call_id} ok", COORDINATOR, STARTS)
    assert at_start.ok, plain_text(at_start)
