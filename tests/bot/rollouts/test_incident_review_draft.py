"""The post-incident review's draft issue: its decision log ends with the resolve itself, and
it names the review call (its id and start), which is held at the hour people meet rather than
at the due time (before: the log stopped before `incident-resolved`, and only "Review due:
<resolution time + review_within>" was said)."""

from __future__ import annotations

from storage import meetings as meetings_store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.rollouts.conftest import COUNCIL, World


def test_the_review_draft_logs_the_resolve_and_names_its_call(world: World) -> None:
    world.ok(COUNCIL, 'incident declare sev3 "flaky devnet"')
    world.ok(COUNCIL, "incident resolve #1 devnet node replaced")
    [review] = world.outbox("create-issue")
    log = review["body"].split("## Decision log\n\n")[1].split("\n\n")[0].splitlines()
    assert "incident-resolved" in log[-1], log
    call_id = meetings_store.review_call_id("1")
    with session_scope(world.engine) as session:
        call = session.get(AdhocMeetingRow, call_id)
        assert call is not None
        starts = f"{call.starts_at:%Y-%m-%d %H:%M}"
    assert f"**Review call:** `{call_id}` at {starts} UTC" in review["body"], review["body"]
