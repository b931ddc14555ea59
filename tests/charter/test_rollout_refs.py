"""Refs in reports: a commit sha is shown abbreviated to 12 hex digits, a tag or branch whole (cut
short, ``refs/tags/v1.0.0`` would read as another tag, ``refs/tags/v1``); a tag, bare or as
``refs/tags/<tag>``, names the run GitHub started for it, whose ``head_branch`` holds the short
name. A branch names no run by name (``head_branch`` is also the branch any later commit was
pushed to), and a report by branch is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.rollout import report_ready, start
from charter.rollout_facts import (
    Cell,
    ReadyReport,
    moving_ref,
    ref_beside,
    ref_matches,
    shown_ref,
    tag_name,
    version_at,
)
from tests.charter.rollout_support import reference

SHA = "0123abcd" * 5
AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        (SHA, "0123abcd0123"),  # a full sha, abbreviated
        ("0123ABCD" * 5, "0123ABCD0123"),  # in any case
        ("0123abcd0123abcd", "0123abcd0123"),  # an abbreviation longer than 12
        ("0123abc", "0123abc"),  # a short one stays as it is
        ("refs/tags/v1.0.0", "refs/tags/v1.0.0"),  # a tag whole, not "refs/tags/v1"
        ("v1.0.0-rc.1+build.20260601", "v1.0.0-rc.1+build.20260601"),
        ("refs/heads/release/2026-06", "refs/heads/release/2026-06"),
        ("0123abcd" * 5 + "0", "0123abcd" * 5 + "0"),  # 41 hex digits: no sha
        ("0123abcdxyz0123abcd", "0123abcdxyz0123abcd"),  # not hex: a name
    ],
)
def test_only_a_commit_sha_is_abbreviated(ref: str, shown: str) -> None:
    assert shown_ref(ref) == shown


@pytest.mark.parametrize(
    ("version", "ref", "beside", "written"),
    [
        ("1.2.0", None, None, "1.2.0"),  # no ref
        ("1.2.0", "", None, "1.2.0"),
        ("1.2.0", SHA, "0123abcd0123", "1.2.0@0123abcd0123"),  # a sha, abbreviated
        ("v4.3.0-rc1", "v4.3.0-rc1", None, "v4.3.0-rc1"),  # a release: its tag as both
        ("v4.3.0-rc1", "refs/tags/v4.3.0-rc1", None, "v4.3.0-rc1"),  # the same tag, long form
        ("v4.3.0", "v4.3.0-rc1", "v4.3.0-rc1", "v4.3.0@v4.3.0-rc1"),  # another tag
        (
            "v4.3.0",
            "refs/heads/v4.3.0",
            "refs/heads/v4.3.0",
            "v4.3.0@refs/heads/v4.3.0",
        ),  # a branch
    ],
)
def test_a_ref_is_written_beside_its_version_unless_it_only_names_the_versions_tag(
    version: str, ref: str | None, beside: str | None, written: str
) -> None:
    assert ref_beside(version, ref) == beside
    assert version_at(version, ref) == written


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("refs/tags/v1.0.0", "v1.0.0"),
        ("refs/tags/release/2026-06", "release/2026-06"),
        ("v1.0.0", "v1.0.0"),  # bare: a release's tag, a version-like word in a command
        ("refs/heads/main", None),  # a branch
        ("refs/heads/release/2026-06", None),
        ("refs/pull/7/head", None),  # not a tag
        (SHA, SHA),
    ],
)
def test_a_tag_is_named_as_head_branch_names_it_and_a_branch_names_none(
    ref: str, name: str | None
) -> None:
    assert tag_name(ref) == name


@pytest.mark.parametrize(
    ("ref", "head_branch", "matches"),
    [
        ("refs/tags/v1.0.0", "v1.0.0", True),  # GitHub's head_branch: the tag's short name
        ("refs/tags/v1.0.0", "v1.0.1", False),
        ("refs/tags/v1.0.0", "refs/tags/v1.0.0", False),  # head_branch is never qualified
        ("refs/tags/v1.0.0", None, False),  # the run names no tag
        ("refs/tags/V1.0.0", "v1.0.0", False),  # names match exactly
        ("v1.0.0", "v1.0.0", True),  # the short name as before
        ("refs/heads/main", "main", False),  # any commit pushed to main: never by name
        ("refs/heads/x", "x", False),
        ("refs/heads/x", "main", False),
        ("refs/pull/7/head", "refs/pull/7/head", False),
    ],
)
def test_a_ref_names_the_run_of_its_tag_never_of_a_branch(
    ref: str, head_branch: str | None, matches: bool
) -> None:
    assert ref_matches(ref, SHA, head_branch) is matches


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        ("refs/tags/v1.0.0", "1.0.0@refs/tags/v1.0.0"),
        (SHA, "1.0.0@0123abcd0123"),
        (None, "1.0.0"),
    ],
)
def test_a_matrix_cell_shows_a_tag_whole(ref: str | None, text: str) -> None:
    assert Cell("1.0.0", ref, AT, (), on=True).text() == text


BRANCH = (
    "{} is a branch: it moves on to later commits, whose check runs would count for this"
    " release; report the release by its commit sha or its tag (refs/tags/<tag>)"
)
NOT_A_TAG = BRANCH.replace("is a branch", "is not a tag")


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        (None, None),
        (SHA, None),
        ("0123abc", None),
        ("v1.0.0", None),
        ("refs/tags/v1.0.0", None),
        ("refs/heads/main", BRANCH.format("refs/heads/main")),
        ("refs/heads/release/2026-06", BRANCH.format("refs/heads/release/2026-06")),
        ("refs/pull/7/head", NOT_A_TAG.format("refs/pull/7/head")),
    ],
)
def test_a_release_is_reported_by_commit_or_tag_never_by_branch(
    ref: str | None, why: str | None
) -> None:
    """The report decision refuses what ``moving_ref`` names as input that is never right."""
    assert moving_ref(ref) == why
    rollout = start(42, ("aurora",), AT).rollout
    sent = ReadyReport("aurora", "staging", "1.0.0", ref, "", "alice-aurora", AT)
    if why is None:
        assert report_ready(rollout, reference(), sent).rollout.position("aurora") == 0
    else:
        with pytest.raises(ValueError, match=r"^refs/.* \(refs/tags/<tag>\)$") as refused:
            report_ready(rollout, reference(), sent)
        assert str(refused.value) == why
