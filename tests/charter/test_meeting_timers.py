"""Which timers fire (:func:`charter.meeting_timers.due_timers`): of a series the latest by
time fires, whatever order the timers come in; both lists are sorted by time, then key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from charter.meeting_timers import Due, Reminder, due_timers


def at(hour: int) -> datetime:
    return datetime(2026, 5, 1, hour, tzinfo=UTC)


def test_the_latest_of_a_series_fires_whatever_the_order() -> None:
    earlier, later = Reminder("s@09", at(9), "s"), Reminder("s@10", at(10), "s")
    assert due_timers([later, earlier], at(10), {}, timedelta(hours=1)) == Due((later,), (earlier,))


def test_fired_and_missed_timers_are_sorted_by_time() -> None:
    late_b, late_a = Reminder("b@09", at(9), "b"), Reminder("a@08", at(8), "a")
    now_d, now_c = Reminder("d@12", at(12), "d"), Reminder("c@11", at(11), "c")
    due = due_timers([late_b, late_a, now_d, now_c], at(12), {}, timedelta(hours=1))
    assert due == Due((now_c, now_d), (late_a, late_b))
