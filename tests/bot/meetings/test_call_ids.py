"""Ad-hoc call ids: ``call-<start>-<random suffix>``, whatever other calls exist, so a public
call's id never tells that a private call (an embargoed proposal's) took the same minute; ids
stored before (``call-20260620-1500``, ``…-2``) keep working."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import Session

from bot.messages import Actor, plain_text
from bot.service import Governance
from storage import meetings as store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER
from tests.bot.meetings.test_private_calls import private_go_no_go

SLOT = "2026-06-20 15:00Z"
NEW_ID = re.compile(r"call-20260620-1500-[23456789abcdefghjkmnpqrstuvwxyz]{4}")


def schedule(gov: Governance, who: Actor, title: str, now: datetime, about: str = "") -> str:
    """Schedule and confirm a call at ``SLOT``; the id the reply names."""
    preview = gov.run_sync(f'meeting schedule "{title}" {SLOT}{about}', who, now)
    token = re.search(r"confirm (\S+) within", plain_text(preview))
    assert token, plain_text(preview)
    done = plain_text(gov.run_sync(f"confirm {token.group(1)}", who, now))
    found = re.search(r"Scheduled (\S+)", done)
    assert found, done
    return found.group(1)


def private_rows(gov: Governance) -> dict[str, bool]:
    with session_scope(gov.engine) as session:
        return {r.id: r.private for r in store.adhoc_rows(session)}


def test_a_public_calls_id_does_not_reveal_a_private_call_in_its_slot(db_url: str) -> None:
    """A private call about embargoed #7 is scheduled first; a public call at the same minute
    gets an id of the same form as with no other call there (not ``…-2``), and so does a
    second public call, each its own."""
    gov, now = private_go_no_go(db_url, stored=True)
    secret = schedule(gov, COORDINATOR, "Embargo sync", now, " for 7")
    public = schedule(gov, MAINTAINER, "Fork sync", now)
    again = schedule(gov, MAINTAINER, "Fork sync, part two", now)
    rows = private_rows(gov)
    gov.engine.dispose()
    assert rows == {"go-no-go-7-production": True, secret: True, public: False, again: False}
    assert [bool(NEW_ID.fullmatch(i)) for i in (secret, public, again)] == [True] * 3, rows
    assert len({secret, public, again}) == 3


def test_a_taken_suffix_is_drawn_again(db_url: str) -> None:
    """The suffix is random; in the rare case it is taken, another is drawn."""
    gov, _ = private_go_no_go(db_url, stored=False)
    drawn = iter(["k3m9", "k3m9", "p7x2"])
    with session_scope(gov.engine) as session:
        first = store.new_adhoc_id(session, "call-20260620-1500", lambda: next(drawn))
        _store(session, first)
        second = store.new_adhoc_id(session, "call-20260620-1500", lambda: next(drawn))
    gov.engine.dispose()
    assert (first, second) == ("call-20260620-1500-k3m9", "call-20260620-1500-p7x2")


def test_random_suffixes_are_readable() -> None:
    """Four characters from an alphabet without look-alikes (0/o, 1/l/i)."""
    suffixes = {store.random_call_suffix() for _ in range(200)}
    assert all(re.fullmatch(r"[23456789abcdefghjkmnpqrstuvwxyz]{4}", s) for s in suffixes)
    assert len(suffixes) > 150  # random, not a counter


def _store(session: Session, call_id: str) -> None:
    created = datetime(2026, 6, 1, tzinfo=UTC)
    row = AdhocMeetingRow(
        id=call_id, kind="adhoc", title="Legacy call",
        starts_at=datetime(2026, 6, 20, 15, 0, tzinfo=UTC), duration_seconds=3600,
        timezone="UTC", proposal=None, private=False,
        created_by="ines-coord", created_at=created,
    )  # fmt: skip
    session.add(row)
    store.bump_revision(session, call_id, created)


def test_a_call_stored_with_an_old_id_is_still_found_by_it(db_url: str) -> None:
    """Calls stored before the random suffixes keep their ids: they are named by them."""
    gov, now = private_go_no_go(db_url, stored=False)
    with session_scope(gov.engine) as session:
        _store(session, "call-20260620-1500-2")
    reply = plain_text(gov.run_sync("meeting cancel call-20260620-1500-2", COORDINATOR, now))
    gov.engine.dispose()
    assert "Legacy call (call-20260620-1500-2@2026-06-20T15:00) at" in reply, reply
    assert "is cancelled." in reply
