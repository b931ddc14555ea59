"""Which repositories the release reader asks GitHub about, which release lines it keeps, and
the ``release`` deliveries it makes of them.

The reference charter: staging → canary → production; aurora's repository is
``meridian-net/aurora``, borealis's ``meridian-net/borealis``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.github.events import ReleaseEvent, parse_event
from bot.github.poll_releases import (
    Wanted,
    client_of,
    counting_body,
    delivery_key,
    wanted,
    webhook_payload,
)
from bot.github.wire import release_snapshot
from bot.ports import ReleaseSnapshot
from charter.load import load_charter
from charter.rollout_facts import ReadyReport, Rollout
from tests.bot.rollouts.conftest import webhook
from tests.paths import mutate, reference_charter_text

CHARTER = load_charter(reference_charter_text()).charter
T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
AURORA, BOREALIS, CIRRUS = "meridian-net/aurora", "meridian-net/borealis", "meridian-net/cirrus"


def rollout(
    n: int, *clients: str, started: datetime = T, reports: tuple[ReadyReport, ...] = ()
) -> Rollout:
    return Rollout(n, clients, started, 0, reports=reports)


WANTED_CASES = [
    # (what, rollouts, wanted)
    ("no rollout under way: nothing is asked", [], []),
    (
        "every client of a rollout, in its order",
        [rollout(1, "borealis", "aurora")],
        [Wanted(BOREALIS, "borealis"), Wanted(AURORA, "aurora")],
    ),
    (
        "a repository two rollouts share is asked once",
        [rollout(1, "aurora"), rollout(2, "cirrus", "aurora")],
        [Wanted(AURORA, "aurora"), Wanted(CIRRUS, "cirrus")],
    ),
    (
        "a client not in the charter has no repository",
        [rollout(1, "nobody", "aurora")],
        [Wanted(AURORA, "aurora")],
    ),
]


@pytest.mark.parametrize(
    ("what", "rollouts", "expected"), WANTED_CASES, ids=[c[0] for c in WANTED_CASES]
)
def test_wanted_repositories(what: str, rollouts: list[Rollout], expected: list[Wanted]) -> None:
    assert wanted(rollouts, CHARTER) == expected


def test_a_client_without_a_repository_is_not_asked_about() -> None:
    charter = load_charter(mutate(("    repository: meridian-net/aurora\n", ""))).charter
    assert wanted([rollout(1, "aurora", "borealis")], charter) == [Wanted(BOREALIS, "borealis")]


def test_a_repository_is_found_regardless_of_case() -> None:
    assert client_of(CHARTER, "Meridian-Net/Aurora") == "aurora"
    assert client_of(CHARTER, "someone/else") is None


def release(
    body: str, at: datetime = T + timedelta(hours=1), tag: str = "v4.2.0"
) -> ReleaseSnapshot:
    return ReleaseSnapshot("17", tag, body, "github-actions[bot]", False, False, at)


def report(stage: str, ref: str | None, at: datetime, client: str = "aurora") -> ReadyReport:
    return ReadyReport(client, stage, "x", ref, "", "someone", at)


BEFORE, AFTER = T + timedelta(minutes=30), T + timedelta(hours=2)
LINE = "charterbot: ready 1 canary"
BODY_CASES = [
    # (what, body, rollouts under way, kept body or None)
    (
        "a line for a rollout under way",
        f"Notes\n{LINE}\n",
        [rollout(1, "aurora")],
        f"Notes\n{LINE}\n",
    ),
    (
        "a ready line broken over two lines is none",
        "Notes\ncharterbot: ready 1\ncanary\n",
        [rollout(1, "aurora")],
        None,
    ),
    (
        "nor one cut by a line separator (a line ends at a newline only)",
        f"{LINE}\u2028more",
        [rollout(1, "aurora")],
        None,
    ),
    (
        "CRLF line ends, tabs between the words",
        "Notes\r\ncharterbot:\tready 1\tcanary\r\n",
        [rollout(1, "aurora")],
        "Notes\r\ncharterbot:\tready 1\tcanary\r\n",
    ),
    (
        "the parser's case and # are its own",
        "CharterBot: Ready #1 Canary",
        [rollout(1, "aurora")],
        "CharterBot: Ready #1 Canary",
    ),
    ("no ready line", "just a release", [rollout(1, "aurora")], None),
    (
        "a proposal with no rollout under way",
        "charterbot: ready 2 canary",
        [rollout(1, "aurora")],
        None,
    ),
    (
        "published before the rollout started",
        LINE,
        [rollout(1, "aurora", started=T + timedelta(hours=1, seconds=1))],
        None,
    ),
    (
        "published the moment it started",
        LINE,
        [rollout(1, "aurora", started=T + timedelta(hours=1))],
        LINE,
    ),
    (
        "the tag already reported for the stage (its webhook, a command)",
        LINE,
        [rollout(1, "aurora", reports=(report("canary", "v4.2.0", BEFORE),))],
        None,
    ),
    (
        "the tag as a full ref",
        LINE,
        [rollout(1, "aurora", reports=(report("canary", "refs/tags/v4.2.0", BEFORE),))],
        None,
    ),
    (
        "replaced by a newer report for the stage",
        LINE,
        [rollout(1, "aurora", reports=(report("canary", "v4.2.1", AFTER),))],
        None,
    ),
    (
        "an older report of another release: this one is newer",
        LINE,
        [rollout(1, "aurora", reports=(report("canary", "v4.1.0", BEFORE),))],
        LINE,
    ),
    (
        "the same tag reported for another stage",
        LINE,
        [rollout(1, "aurora", reports=(report("staging", "v4.2.0", BEFORE),))],
        LINE,
    ),
    (
        "another client's newer report",
        LINE,
        [rollout(1, "aurora", "borealis", reports=(report("canary", "v9", AFTER, "borealis"),))],
        LINE,
    ),
    (
        "a client not in the rollout: kept, so its refusal is audited as a webhook's",
        LINE,
        [rollout(1, "borealis")],
        LINE,
    ),
    (
        "of two rollouts, only the line that counts",
        f"{LINE}\ncharterbot: ready 2 staging\nthanks",
        [rollout(1, "aurora", reports=(report("canary", "v4.2.0", BEFORE),)), rollout(2, "aurora")],
        "charterbot: ready 2 staging\nthanks",
    ),
]


@pytest.mark.parametrize(
    ("what", "body", "live", "kept"), BODY_CASES, ids=[c[0] for c in BODY_CASES]
)
def test_release_lines_that_count(
    what: str, body: str, live: list[Rollout], kept: str | None
) -> None:
    by_n = {r.proposal: r for r in live}
    assert counting_body("aurora", release(body), by_n) == kept


@pytest.mark.parametrize("published", [None, T + timedelta(hours=1)])
def test_a_draft_counts_for_nothing(published: datetime | None) -> None:
    """Never published, or published and turned back into a draft: no webhook says so."""
    draft = ReleaseSnapshot("17", "v4.2.0", LINE, "someone", True, False, published)
    assert counting_body("aurora", draft, {1: rollout(1, "aurora")}) is None


@pytest.mark.parametrize("prerelease", [False, True])
def test_a_polled_release_parses_as_the_webhook_it_stands_for(prerelease: bool) -> None:
    """The payload goes through the webhook parser: the event a ``published`` delivery gives
    (a prerelease is published too), with the body the reader kept."""
    snap = ReleaseSnapshot("17", "v4.2.0", "ignored", "octocat", False, prerelease, T)
    payload = webhook_payload(AURORA, snap, LINE)
    want = ReleaseEvent(AURORA, "v4.2.0", LINE, "octocat", published_at=T)
    assert parse_event("release", payload) == want
    assert payload["release"]["prerelease"] is prerelease


def _shape(value: Any) -> Any:
    """The keys of nested objects (the values' types aside)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return None


def test_the_payload_has_the_shape_of_github_s_own() -> None:
    """Every field written is where GitHub's ``release`` ``published`` payload has it."""
    real = webhook("release", "published")
    snap = release_snapshot(copy.deepcopy(real["release"]))
    ours = webhook_payload(real["repository"]["full_name"], snap, snap.body)
    assert ours["action"] == real["action"]

    def within(mine: Any, theirs: Any, path: str = "") -> list[str]:
        if not isinstance(mine, dict):
            return []
        out = [f"{path}.{k}" for k in mine if k not in theirs]
        return out + [
            p for k in mine if k in theirs for p in within(mine[k], theirs[k], f"{path}.{k}")
        ]

    assert within(_shape(ours), _shape(real)) == []
    for key in ("id", "tag_name", "body", "draft", "prerelease", "published_at", "name"):
        assert ours["release"][key] == real["release"][key], key
    assert ours["release"]["author"]["login"] == real["release"]["author"]["login"]


@pytest.mark.parametrize(
    ("repo", "release_id", "same"),
    [
        (AURORA, "17", True),
        ("Meridian-Net/Aurora", "17", True),
        (AURORA, "18", False),
        (BOREALIS, "17", False),
    ],
)
def test_a_release_has_one_key(repo: str, release_id: str, same: bool) -> None:
    """One key per release, whatever its body or state when read: read again, it is dropped."""
    key = delivery_key(AURORA, release(LINE))
    assert key == "poll:release:meridian-net/aurora:17"
    other = ReleaseSnapshot(release_id, "v5", "edited", "x", False, True, AFTER)
    assert (delivery_key(repo, other) == key) is same


def test_each_edit_that_adds_lines_has_its_own_key() -> None:
    """An edit's key names the lines it added (in any order): stored once per edit."""
    snap = release(LINE)
    one = delivery_key(AURORA, snap, {(1, "canary")})
    assert one.startswith("poll:release:meridian-net/aurora:17:")
    assert one == delivery_key("Meridian-Net/Aurora", snap, {(1, "canary")})
    both = delivery_key(AURORA, snap, {(1, "canary"), (2, "staging")})
    assert both == delivery_key(AURORA, snap, {(2, "staging"), (1, "canary")})
    assert len({delivery_key(AURORA, snap), one, both}) == 3


def test_a_polled_edit_parses_as_the_edited_webhook_it_stands_for() -> None:
    """With the body before, the payload is GitHub's ``edited`` delivery (``changes.body``)."""
    payload = webhook_payload(AURORA, release("ignored"), LINE, "before")
    assert payload["action"] == "edited"
    assert payload["changes"] == {"body": {"from": "before"}}
    event = parse_event("release", payload)
    assert isinstance(event, ReleaseEvent)
    assert (event.action, event.body, event.previous_body) == ("edited", LINE, "before")
