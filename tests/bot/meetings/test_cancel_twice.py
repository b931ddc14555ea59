"""Cancelling an ad-hoc call that is cancelled already: the answer says so, by whom and when
(before: "<id> has no upcoming occurrence", as if it had never been scheduled)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.messages import plain_text
from bot.service import Governance
from storage import meetings as store
from storage.db import session_scope
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER

NOW = datetime.fromisoformat("2026-03-20T12:00:00+00:00")


def test_cancelling_a_cancelled_call_says_it_was_already_cancelled(gov: Governance) -> None:
    preview = plain_text(
        gov.run_sync('meeting schedule "Fork retro" 2026-03-25 15:00Z 90m', MAINTAINER, NOW)
    )
    token = re.search(r"/charter confirm (\S+)", preview)
    assert token is not None, preview
    assert gov.run_sync(f"confirm {token.group(1)}", MAINTAINER, NOW).ok
    with session_scope(gov.engine) as session:
        [call_id] = [row.id for row in store.adhoc_rows(session)]
    assert gov.run_sync(f"meeting cancel {call_id}", COORDINATOR, NOW).ok
    again = gov.run_sync(f"meeting cancel {call_id}", MAINTAINER, NOW + timedelta(hours=1))
    assert not again.ok
    assert plain_text(again) == (
        f"error: {call_id} (2026-03-25 15:00 UTC) was already cancelled by ines-coord"
        " on 2026-03-20 12:00 UTC."
    )
