"""The security council's sync (announced only to its private channel) is on everyone's calendar,
but only its audience changes it (:mod:`charter.private_calls`): a maintainer may not cancel or
move it (nor confirm a move of it), nor record action items on it, nor close any but their own;
coordinators and the council may. A refusal says who may, is audited, and changes nothing; an
item someone may not close reads as no item."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.messages import Actor, plain_text
from bot.service import Governance
from storage import (
    audit_query,
    meeting_confirmations,
    meeting_outcomes as outcome_store,
    meetings as store,
)
from storage.db import session_scope
from storage.models.meetings import MeetingOutcomeRow
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
COUNCIL = Actor(login="kofi-sec", surface="console", surface_id="kofi-sec", display="Kofi")
OTHER_MAINTAINER = Actor(
    login="emeka-cirrus", surface="console", surface_id="emeka-cirrus", display="Emeka"
)
HELD = "security-sync@2026-03-03T17:00"  # its latest call before NOW
NEXT = "security-sync@2026-04-07T17:00"
REFUSED = (
    "error: "
    "Security council sync is a private call: only coordinators and the security council may {};"
    " ask one of them to."
)


def _state(gov: Governance) -> tuple[list[str], list[str], int]:
    """What a change would leave: cancelled or moved keys, recorded outcomes, refusals audited."""
    with session_scope(gov.engine) as session:
        plan = store.schedule(session)
        outcomes = [r.text for r in session.exec(select(MeetingOutcomeRow)).all()]
        refusals = len(audit_query.entries(session, kind="command-refused"))
    return sorted(plan.cancelled) + sorted(plan.moved), outcomes, refusals


@pytest.mark.parametrize(
    ("command", "change", "allowed"),
    [
        ("meeting cancel security-sync", "cancel it", "is cancelled."),
        (f"meeting cancel {NEXT}", "cancel it", "is cancelled."),
        ("meeting move security-sync 2026-04-08 17:00Z", "move it", "Move this call?"),
        (
            f"meeting action --call {HELD} @alice-aurora rotate keys",
            "record or close action items on it",
            "Action item [1] for alice-aurora recorded",
        ),
        ("agenda add security-sync hi", "add to its agenda", "Added to the agenda"),
    ],
    ids=["cancel", "cancel-key", "move", "action", "agenda"],
)
@pytest.mark.parametrize("who", [MAINTAINER, COUNCIL, COORDINATOR], ids=lambda a: a.login)
def test_only_its_audience_changes_the_council_sync(
    gov: Governance, command: str, change: str, allowed: str, who: Actor
) -> None:
    before = _state(gov)
    reply = gov.run_sync(command, who, NOW)
    text = plain_text(reply)
    if who is MAINTAINER:
        assert not reply.ok and text == REFUSED.format(change), text
        changes, outcomes, refusals = _state(gov)
        assert (changes, outcomes, refusals) == (before[0], before[1], before[2] + 1)
    else:
        assert reply.ok and allowed in text, text


def test_an_action_during_the_council_sync_is_refused_to_a_maintainer(gov: Governance) -> None:
    """Without ``--call``, the call in progress is the council's: nothing is recorded on it."""
    during = datetime(2026, 4, 7, 17, 20, tzinfo=UTC)
    reply = gov.run_sync("meeting action @alice-aurora rotate keys", MAINTAINER, during)
    assert not reply.ok and plain_text(reply) == REFUSED.format(
        "record or close action items on it"
    )
    assert _state(gov)[1] == []
    assert gov.run_sync("meeting action @alice-aurora rotate keys", COUNCIL, during).ok


def _council_item(gov: Governance) -> int:
    """An open action item of alice-aurora's (a maintainer's) on the council's latest sync."""
    with session_scope(gov.engine) as session:
        row = outcome_store.add_outcome(
            session, key=HELD, meeting_id="security-sync", kind="action", text="rotate keys",
            by="kofi-sec", now=NOW - timedelta(days=1), owner="alice-aurora",
        )  # fmt: skip
        return int(row.id or 0)


@pytest.mark.parametrize(
    ("who", "closed"),
    [(MAINTAINER, True), (COUNCIL, True), (OTHER_MAINTAINER, False)],
    ids=["owner", "council", "another-maintainer"],
)
def test_an_action_item_on_the_council_sync_is_closed_by_its_audience_or_owner(
    gov: Governance, who: Actor, closed: bool
) -> None:
    """The council's audience closes any item on it, the item's owner (a maintainer) their own:
    they were assigned it. Another maintainer reads what a number without an item reads."""
    number = _council_item(gov)
    reply = gov.run_sync(f"meeting action @alice-aurora done {number}", who, NOW)
    with session_scope(gov.engine) as session:
        item = session.get(MeetingOutcomeRow, number)
        assert item is not None and item.done is closed
    want = "is done" if closed else f"alice-aurora has no open action item [{number}]."
    assert reply.ok is closed and want in plain_text(reply)


def test_whether_a_council_item_exists_is_not_told_outside_its_audience(gov: Governance) -> None:
    """Someone outside the council who does not own the item gets the same answer for an open
    item on the council's sync as for a number with no item: neither whose it is nor where."""
    number = _council_item(gov)
    told = [
        plain_text(gov.run_sync(f"meeting action @alice-aurora done {n}", OTHER_MAINTAINER, NOW))
        for n in (number, number + 1)
    ]
    assert told == [
        f"error: alice-aurora has no open action item [{n}]." for n in (number, number + 1)
    ]


def test_a_move_of_the_council_sync_is_refused_again_at_confirmation(gov: Governance) -> None:
    """A move previewed earlier (say, before the asker lost a role) is asked again when it is
    confirmed: a maintainer's confirmation moves nothing, and is audited as the confirm typed."""
    payload = {"call": "security-sync", "occurrence": NEXT, "moved_to": "2026-04-08T17:00:00+00:00"}
    with session_scope(gov.engine) as session:
        meeting_confirmations.add_confirmation(
            session, token="tok-maint", login="alice-aurora", surface=MAINTAINER.surface,
            surface_id=MAINTAINER.surface_id, action="move", payload=payload, now=NOW,
            ttl=timedelta(minutes=15),
        )  # fmt: skip
    reply = gov.run_sync("confirm tok-maint", MAINTAINER, NOW)
    assert not reply.ok and plain_text(reply) == REFUSED.format("move it")
    assert _state(gov)[0] == []
    with session_scope(gov.engine) as session:
        [refused] = audit_query.entries(session, kind="command-refused")
        assert json.loads(refused.payload)["command"] == "Confirm"


def test_a_council_member_moves_it_through_confirmation(gov: Governance) -> None:
    preview = plain_text(gov.run_sync(f"meeting move {NEXT} 2026-04-08 17:00Z", COUNCIL, NOW))
    token = re.search(r"confirm (\S+) within", preview)
    assert token is not None, preview
    reply = gov.run_sync(f"confirm {token.group(1)}", COUNCIL, NOW)
    assert reply.ok and "now starts" in plain_text(reply)
    assert _state(gov)[0] == [NEXT]
