"""The incident repository on SQLite and PostgreSQL: numbers are reserved before an incident is
saved, its timeline only grows, and any number of incidents is read in two statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from charter.incident_facts import Incident, TimelineEntry
from storage import incidents as store
from storage.db import session_scope

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _incident(number: int, *entries: TimelineEntry) -> Incident:
    return Incident(str(number), "sev1", "fork", (7,), ("dorado",), "kofi-sec", T, timeline=entries)


def _entry(minutes: int, text: str) -> TimelineEntry:
    return TimelineEntry(T + timedelta(minutes=minutes), "lena-sec", text, "update")


@contextmanager
def _counting(engine: Engine) -> Iterator[list[str]]:
    """The SELECT statements run on ``engine`` meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_incident_timeline_only_grows(engine: Engine) -> None:
    """Saving appends the new entries; the database refuses to edit or delete one."""
    first = TimelineEntry(T, "kofi-sec", "declared sev1: fork", "declared")
    second = _entry(5, "it is dorado")
    with session_scope(engine) as session:
        number = store.new_incident_id(session, "sev1", "fork", "kofi-sec", T)
        store.save_incident(session, _incident(number, first))
    with session_scope(engine) as session:
        store.save_incident(session, _incident(number, first, second), review_due_at=T)
    with session_scope(engine) as session:
        assert store.load_incident(session, number) == _incident(number, first, second)
        assert store.review_due_at(session, number) == T
        assert store.load_incident(session, number + 1) is None
        assert store.review_due_at(session, number + 1) is None
    for statement in (
        "UPDATE incident_entry SET text = 'nothing happened'",
        "DELETE FROM incident_entry",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session_scope(engine) as session:
            session.execute(text(statement))


def test_an_incident_must_be_reserved_before_it_is_saved(engine: Engine) -> None:
    """Saving an incident whose number was never reserved is a programming error, said plainly."""
    with pytest.raises(LookupError, match="not reserved"), session_scope(engine) as session:
        store.save_incident(session, _incident(99))


@pytest.mark.parametrize("count", [0, 1, 7])
def test_incidents_are_read_in_two_statements_whatever_their_number(
    engine: Engine, count: int
) -> None:
    """The list equals loading each incident on its own, oldest first, each timeline in the
    order it was written (entries of different incidents interleaved on purpose); open_only
    leaves out the resolved ones; and the list costs two SELECTs however many there are."""
    numbers: list[int] = []
    with session_scope(engine) as session:
        for _ in range(count):
            numbers.append(store.new_incident_id(session, "sev1", "fork", "kofi-sec", T))
    for step in range(3):  # each save appends one entry to every incident
        with session_scope(engine) as session:
            for n in numbers:
                entries = tuple(_entry(m, f"#{n} step {m}") for m in range(step + 1))
                resolved = T + timedelta(hours=1) if n % 2 and step == 2 else None
                incident = replace(_incident(n, *entries), resolved_at=resolved)
                store.save_incident(session, incident)
    with session_scope(engine) as session:
        one_by_one = [store.load_incident(session, n) for n in numbers]
        with _counting(engine) as selects:
            everything = store.incidents(session)
        assert len(selects) == min(count, 1) + 1  # no entries to read for no incident
        with _counting(engine) as selects:
            unresolved = store.incidents(session, open_only=True)
        assert len(selects) <= 2
    assert everything == one_by_one
    assert [len(i.timeline) for i in everything] == [3] * count
    assert [i.id for i in unresolved] == [str(n) for n in numbers if not n % 2]
    assert all(i.resolved_at is None for i in unresolved)
