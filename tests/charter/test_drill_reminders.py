"""Reminders of planned rollback drills: which timers are due at ``now``, and what they say."""

# ruff: noqa: E501  (table rows quote whole sentences; wrapping them hides typos)

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from charter import drill_reminders as rules
from charter.meeting_timers import time_left
from charter.rollout_facts import DrillReport, PlannedDrill, Rollout
from tests.charter.rollout_support import CLIENTS, T0, H, report, rollout_at
from tests.charter.test_drills import CHARTER, M

AT = T0 + 48 * H  # the drill time of the plan made at T0
PLAN = PlannedDrill("aurora", "canary", AT, "alice-aurora", T0)
REPLAN = PlannedDrill("aurora", "canary", AT + 2 * H, "alice-aurora", T0 + 30 * H)
SHORT = PlannedDrill("borealis", "canary", T0 + 3 * H, "carmen-borealis", T0)
# "in 1 hour", typed at T0 + 30 s and read to the next minute: the hour-ahead time is 30 s on
HOUR_ON = PlannedDrill("borealis", "canary", T0 + H + M, "carmen-borealis", T0 + M // 2)
BASE = replace(rollout_at(1, reports=(report("aurora", "canary", T0 - H),)), planned_drills=(PLAN,))


def drilled(at: datetime) -> DrillReport:
    return DrillReport("aurora", "canary", 12 * M, "", "alice-aurora", at, release="1.4.0")


def label(t: rules.DrillTimer) -> str:
    """``remind-1d@T0`` / ``overdue@T0+30h``: the timer and the plan it belongs to."""
    made = (t.plan.planned_at - T0) // H
    return f"{t.key.rsplit('/', 1)[1]}@{t.plan.client}+{made}h"


def key(name: str, plan: PlannedDrill = PLAN) -> str:
    return rules.timer_key(42, plan, name)


@pytest.mark.parametrize(
    ("case", "rollout", "handled", "now", "fire", "missed"),
    [
        ("nothing before the first lead", BASE, (), T0 + 23 * H, [], []),
        ("the day-ahead reminder", BASE, (), T0 + 24 * H, ["remind-1d@aurora+0h"], []),
        ("handled: never again", BASE, (key("remind-1d"),), T0 + 25 * H, [], []),
        (
            "down across both leads: the later fires late, the earlier is missed",
            BASE,
            (),
            T0 + 47 * H + 30 * M,
            ["remind-1h@aurora+0h"],
            ["remind-1d@aurora+0h"],
        ),
        (
            "a reminder missed while down is sent late, before the drill time",
            BASE,
            (key("remind-1d"),),
            T0 + 47 * H + 59 * M,
            ["remind-1h@aurora+0h"],
            [],
        ),
        (
            "the drill time came: a reminder is never sent after it",
            BASE,
            (key("remind-1d"),),
            AT,
            [],
            ["remind-1h@aurora+0h"],
        ),
        (
            "within the grace after the drill time: no nudge yet",
            BASE,
            (key("remind-1d"), key("remind-1h")),
            AT + 59 * M,
            [],
            [],
        ),
        (
            "unreported an hour after: the overdue nudge",
            BASE,
            (key("remind-1d"), key("remind-1h")),
            AT + H,
            ["overdue@aurora+0h"],
            [],
        ),
        (
            "down across everything: the nudge, the reminders missed",
            BASE,
            (),
            AT + 12 * H,
            ["overdue@aurora+0h"],
            ["remind-1d@aurora+0h", "remind-1h@aurora+0h"],
        ),
        (
            "the nudge is sent once",
            BASE,
            (key("remind-1d"), key("remind-1h"), key("overdue")),
            AT + 30 * H,
            [],
            [],
        ),
        (
            "a drill reported since the plan cancels everything",
            replace(BASE, drills=(drilled(T0 + 40 * H),)),
            (),
            AT + 12 * H,
            [],
            [],
        ),
        (
            "a drill reported before the plan cancels nothing",
            replace(BASE, drills=(drilled(T0 - M),)),
            (key("remind-1d"), key("remind-1h")),
            AT + H,
            ["overdue@aurora+0h"],
            [],
        ),
        (
            "a completed rollout cancels everything",
            replace(BASE, completed_at=T0 + 30 * H),
            (),
            AT + 12 * H,
            [],
            [],
        ),
        (
            "a client no longer in the rollout is not reminded",
            replace(BASE, clients=CLIENTS[1:]),
            (),
            AT + 12 * H,
            [],
            [],
        ),
        (
            "a new plan replaces the old one's timers",
            replace(BASE, planned_drills=(PLAN, REPLAN)),
            (key("remind-1d"),),
            AT - H,
            [],
            [],
        ),
        (
            "the new plan keeps only the leads after it was made",
            replace(BASE, planned_drills=(PLAN, REPLAN)),
            (key("remind-1d"),),
            REPLAN.at - H,
            ["remind-1h@aurora+30h"],
            [],
        ),
        (
            "a plan made 3 hours ahead has no day-ahead reminder",
            replace(BASE, planned_drills=(SHORT,)),
            (),
            SHORT.at - 90 * M,
            [],
            [],
        ),
        (
            "… but its hour-ahead one",
            replace(BASE, planned_drills=(SHORT,)),
            (),
            SHORT.at - H,
            ["remind-1h@borealis+0h"],
            [],
        ),
        (
            "plans of two clients are judged apart",
            replace(BASE, planned_drills=(PLAN, SHORT)),
            (),
            AT + H,
            ["overdue@aurora+0h", "overdue@borealis+0h"],
            ["remind-1d@aurora+0h", "remind-1h@aurora+0h", "remind-1h@borealis+0h"],
        ),
        (
            "a lead within 5 minutes of the plan is none: the plan's own notice just went out",
            replace(BASE, planned_drills=(HOUR_ON,)),
            (),
            T0 + 2 * M,
            [],
            [],
        ),
        (
            "… and its nudge stays",
            replace(BASE, planned_drills=(HOUR_ON,)),
            (),
            HOUR_ON.at + H,
            ["overdue@borealis+0h"],
            [],
        ),
        (
            "a nudge found up to 7 days late is sent",
            BASE,
            (key("remind-1d"), key("remind-1h")),
            AT + H + 7 * 24 * H,
            ["overdue@aurora+0h"],
            [],
        ),
        (
            "a nudge found later is missed, not a burst of stale ones",
            BASE,
            (key("remind-1d"), key("remind-1h")),
            AT + H + 7 * 24 * H + M,
            [],
            ["overdue@aurora+0h"],
        ),
        (
            "a plan on a stage the charter dropped since has no timers (nothing could answer it)",
            replace(BASE, planned_drills=(replace(PLAN, stage="moon"),)),
            (),
            AT + H,
            [],
            [],
        ),
        ("no plan, no timer", replace(BASE, planned_drills=()), (), AT + H, [], []),
    ],
)
def test_which_drill_timers_are_due(
    case: str,
    rollout: Rollout,
    handled: tuple[str, ...],
    now: datetime,
    fire: list[str],
    missed: list[str],
) -> None:
    due = rules.due([rollout], CHARTER, set(handled), now)
    assert sorted(label(t) for t in due.fire) == fire, case
    assert sorted(label(t) for t in due.missed) == missed, case


def test_due_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        rules.due([BASE], CHARTER, set(), AT.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("handled", "now", "expected"),
    [
        ((), T0, T0 + 24 * H),
        ((key("remind-1d"),), T0 + 23 * H, T0 + 47 * H),  # handled early: the next one
        ((), T0 + 47 * H, AT + H),  # one due now is the tick's: the next after it
        ((), AT + H, None),
    ],
)
def test_the_next_drill_timer(
    handled: tuple[str, ...], now: datetime, expected: datetime | None
) -> None:
    assert rules.next_at([BASE], CHARTER, set(handled), now) == expected


def test_keys_name_the_plan_and_the_timer() -> None:
    assert key("remind-1h") == "drill/42/aurora/canary/20260302T090000.000000Z/remind-1h"
    [first, *_] = rules.timers_of(BASE, CHARTER)
    assert (first.timer.series, first.timer.kind, first.fires_at) == (
        "drill/42/aurora/canary",
        "drill",
        T0 + 24 * H,
    )


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (timedelta(seconds=10), "1m"),
        (35 * M + timedelta(seconds=20), "35m"),
        (H, "1h"),
        (H + 32 * M, "1h30m"),
        (23 * H + 58 * M, "1d"),
        (30 * H + 10 * M, "30h"),
        (25 * H + 10 * M, "25h"),  # to the hour, not to two
        (H + 7 * M, "1h5m"),  # to five minutes, not six
    ],
)
def test_a_reminder_says_the_time_really_left(left: timedelta, said: str) -> None:
    assert time_left(left) == said


def _timer(name: str, rollout: Rollout = BASE) -> rules.DrillTimer:
    return next(t for t in rules.timers_of(rollout, CHARTER) if t.key.endswith(name))


@pytest.mark.parametrize(
    ("name", "now", "title", "text"),
    [
        (
            "remind-1h",
            AT - 50 * M,
            "#42 rollback drill reminder: aurora on canary",
            "aurora's rollback drill on canary for #42 is planned at Wed 2026-03-04 09:00 UTC (in 50m).",
        ),
        (
            "overdue",
            AT + H,
            "#42 rollback drill overdue: aurora on canary",
            "aurora's rollback drill on canary for #42 was planned at Wed 2026-03-04 09:00 UTC, and no drill has been reported since."
            ' Report it: /charter drill 42 aurora canary recovered <duration> (or /charter drill 42 aurora canary failed "<what went wrong>"),'
            " or plan it again: /charter drill schedule 42 aurora canary <when>.",
        ),
    ],
)
def test_what_a_reminder_says_and_where_it_goes(
    name: str, now: datetime, title: str, text: str
) -> None:
    made = rules.announcement(BASE, CHARTER, _timer(name), now)
    assert (made.kind, made.title, made.proposal, made.clients) == (
        "rollout",
        title,
        42,
        ("aurora",),
    )
    assert made.text.split("\n\n")[0] == text
    assert made.data["drill_reminder"] == key(name)
    # a reminder is about the drill's time (each reader sees it in their zone); a nudge is not
    assert made.data.get("drill_at") == (AT.isoformat() if name != "overdue" else None)
    assert not made.confidential


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            {"reports": ()},
            "aurora has not reported a release for canary: a rollback drill rehearses reverting"
            " the release it runs there; report it first: /charter ready 42 aurora canary <version>",
        ),
        (
            {"positions": {**BASE.positions, "aurora": 0}},
            "aurora was rolled back from canary: report the release it runs there again"
            " (/charter ready 42 aurora canary <version>), then drill its rollback",
        ),
    ],
    ids=["not-reached", "rolled-back"],
)
def test_a_nudge_does_not_suggest_a_report_that_would_be_refused(
    change: dict[str, object], why: str
) -> None:
    """A plan on a stage the client has not reached (or was rolled back from): the nudge says
    what must come first, as the drill report would be refused, instead of "Report it"."""
    rollout = replace(BASE, **change)
    made = rules.announcement(rollout, CHARTER, _timer("overdue", rollout), AT + H)
    said = made.text.split("\n\n")[0]
    assert said.endswith(
        f" It cannot be reported yet: {why}; or plan it again: /charter drill schedule 42 aurora canary <when>."
    ), said
    assert "Report it:" not in said


def test_a_confidential_rollouts_reminder_is_private() -> None:
    secret = replace(BASE, confidential=True)
    assert rules.announcement(
        secret, CHARTER, _timer("remind-1d", secret), AT - 24 * H
    ).confidential
