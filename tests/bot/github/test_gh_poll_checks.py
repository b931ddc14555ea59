"""Which refs the check reader asks GitHub about, and the deliveries it makes of the runs.

The reference charter: staging (no checks) → canary (``interop-matrix``) → production
(``interop-matrix``, ``differential-fuzz``); aurora's repository is ``meridian-net/aurora``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.github.events import CheckEvent, parse_event
from bot.github.poll_checks import (
    Wanted,
    api_ref,
    delivery_key,
    run_tag,
    wanted,
    webhook_payload,
)
from bot.ports import CheckSnapshot
from charter.load import load_charter
from charter.rollout_facts import CheckResult, ReadyReport, Rollout
from tests.paths import mutate, reference_charter_text

CHARTER = load_charter(reference_charter_text()).charter
T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
A, B = "a" * 40, "b" * 40
AURORA, BOREALIS = "meridian-net/aurora", "meridian-net/borealis"
CANARY = frozenset({"interop-matrix"})
PRODUCTION = frozenset({"interop-matrix", "differential-fuzz"})


def report(client: str, stage: str, ref: str | None, minutes: int = 0) -> ReadyReport:
    return ReadyReport(client, stage, "1.0.0", ref, "", "someone", T + timedelta(minutes=minutes))


def check(client: str, name: str, sha: str, conclusion: str | None) -> CheckResult:
    return CheckResult(client, name, sha, conclusion, T)


def rollout(
    stage_index: int, *reports: ReadyReport, checks: tuple[CheckResult, ...] = (), n: int = 1
) -> Rollout:
    return Rollout(n, ("aurora", "borealis"), T, stage_index, reports=reports, checks=checks)


CASES = [
    # (what, rollouts, wanted)
    ("pending: staging requires no check", [rollout(-1, report("aurora", "staging", A))], []),
    (
        "on staging: canary's reports",
        [rollout(0, report("aurora", "canary", A), report("borealis", "canary", B))],
        [Wanted(AURORA, A, CANARY), Wanted(BOREALIS, B, CANARY)],
    ),
    ("a report without a ref", [rollout(0, report("aurora", "canary", None))], []),
    (
        "only the latest report of a client for the stage",
        [rollout(0, report("aurora", "canary", A), report("aurora", "canary", B, minutes=5))],
        [Wanted(AURORA, B, CANARY)],
    ),
    (
        "a stage already entered is not gated again",
        [rollout(1, report("aurora", "canary", A), report("aurora", "production", B))],
        [Wanted(AURORA, B, PRODUCTION)],
    ),
    ("the last stage reached: no gate left", [rollout(2, report("aurora", "production", A))], []),
    (
        "every required check succeeded: settled",
        [
            rollout(
                0,
                report("aurora", "canary", A),
                checks=(check("aurora", "interop-matrix", A, "success"),),
            )
        ],
        [],
    ),
    (
        "a failed check may be re-run: still wanted",
        [
            rollout(
                0,
                report("aurora", "canary", A),
                checks=(check("aurora", "interop-matrix", A, "failure"),),
            )
        ],
        [Wanted(AURORA, A, CANARY)],
    ),
    (
        "one of two required checks succeeded",
        [
            rollout(
                1,
                report("aurora", "production", A),
                checks=(check("aurora", "interop-matrix", A, "success"),),
            )
        ],
        [Wanted(AURORA, A, PRODUCTION)],
    ),
    (
        "a running check",
        [
            rollout(
                0,
                report("aurora", "canary", A),
                checks=(check("aurora", "interop-matrix", A, None),),
            )
        ],
        [Wanted(AURORA, A, CANARY)],
    ),
    (
        "one ref two rollouts wait on: asked once, for both stages' checks",
        [
            rollout(0, report("aurora", "canary", A)),
            rollout(1, report("aurora", "production", A), n=2),
        ],
        [Wanted(AURORA, A, PRODUCTION)],
    ),
]


@pytest.mark.parametrize(("what", "rollouts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_wanted_refs(what: str, rollouts: list[Rollout], expected: list[Wanted]) -> None:
    assert wanted(rollouts, CHARTER) == expected


def test_a_client_without_a_repository_is_not_asked_about() -> None:
    charter = load_charter(mutate(("    repository: meridian-net/aurora\n", ""))).charter
    live = [rollout(0, report("aurora", "canary", A), report("borealis", "canary", B))]
    assert wanted(live, charter) == [Wanted(BOREALIS, B, CANARY)]


@pytest.mark.parametrize(
    ("ref", "asked"),
    [(A, A), ("v1.0.0", "v1.0.0"), ("refs/tags/v1.0.0", "tags/v1.0.0")],
)
def test_refs_are_asked_in_github_s_form(ref: str, asked: str) -> None:
    assert api_ref(ref) == asked


RUN = CheckSnapshot(
    name="interop-matrix",
    head_sha=A,
    status="completed",
    conclusion="success",
    html_url="https://github.com/meridian-net/aurora/runs/7",
    run_id="7",
    head_branch="v1.0.0",
    started_at=T,
    completed_at=T + timedelta(minutes=3),
)


def test_a_polled_run_parses_as_the_webhook_it_stands_for() -> None:
    """The payload goes through the webhook parser: same event, time and tag as a delivery."""
    event = parse_event("check_run", webhook_payload(AURORA, RUN))
    assert event == CheckEvent(
        kind="check_run",
        name="interop-matrix",
        head_sha=A,
        conclusion="success",
        status="completed",
        repo=AURORA,
        html_url=RUN.html_url,
        head_branch="v1.0.0",
        happened_at=T + timedelta(minutes=3),
    )


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (RUN, True),  # read again unchanged: a duplicate the inbox drops
        (CheckSnapshot(**{**RUN.__dict__}), True),
        (CheckSnapshot(**{**RUN.__dict__, "conclusion": "failure"}), False),
        (CheckSnapshot(**{**RUN.__dict__, "run_id": "8"}), False),  # a re-run
        (CheckSnapshot(**{**RUN.__dict__, "completed_at": T}), False),
    ],
)
def test_a_run_s_key_changes_only_with_the_run(other: CheckSnapshot, same: bool) -> None:
    key = delivery_key(webhook_payload(AURORA, RUN))
    assert key.startswith("poll:check_run:")
    assert (delivery_key(webhook_payload(AURORA, other)) == key) is same


LISTED = CheckSnapshot(**{**RUN.__dict__, "head_branch": None})  # GitHub's listing: no tag


@pytest.mark.parametrize(
    ("ref", "run", "tag"),
    [
        ("v1.0.0", LISTED, "v1.0.0"),  # the listing of a tag: runs of the commit it names
        ("refs/tags/v1.0.0", LISTED, "v1.0.0"),
        ("v1.0.0", CheckSnapshot(**{**RUN.__dict__, "head_branch": "main"}), "v1.0.0"),
        (A, LISTED, None),  # a commit: its runs are found by their sha
        (A[:12].upper(), LISTED, None),
        (A[:12], RUN, "v1.0.0"),  # what GitHub said is kept
        (None, RUN, "v1.0.0"),
        (None, LISTED, None),
    ],
)
def test_a_run_listed_for_a_tag_is_recorded_under_the_tag(
    ref: str | None, run: CheckSnapshot, tag: str | None
) -> None:
    """GitHub's check-runs listing gives no head_branch; the gate finds a tag's runs by tag."""
    assert run_tag(ref, run) == tag
    event = parse_event("check_run", webhook_payload(AURORA, run, ref))
    assert isinstance(event, CheckEvent)
    assert event.head_branch == tag
