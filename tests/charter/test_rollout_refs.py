"""Refs in reports: a commit sha is shown abbreviated to 12 hex digits, a tag or branch whole (cut
short, ``refs/tags/v1.0.0`` would read as another tag, ``refs/tags/v1``); and a fully qualified
``refs/tags/<tag>`` or ``refs/heads/<branch>`` names the run GitHub started for that tag or
branch, whose ``head_branch`` holds the short name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.rollout_facts import Cell, ref_matches, ref_name, shown_ref

SHA = "0123abcd" * 5


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
    ("ref", "name"),
    [
        ("refs/tags/v1.0.0", "v1.0.0"),
        ("refs/heads/x", "x"),
        ("refs/heads/release/2026-06", "release/2026-06"),
        ("v1.0.0", "v1.0.0"),
        ("refs/pull/7/head", "refs/pull/7/head"),  # not a tag or branch: as is
        (SHA, SHA),
    ],
)
def test_a_qualified_tag_or_branch_is_named_as_head_branch_names_it(ref: str, name: str) -> None:
    assert ref_name(ref) == name


@pytest.mark.parametrize(
    ("ref", "head_branch", "matches"),
    [
        ("refs/tags/v1.0.0", "v1.0.0", True),  # GitHub's head_branch: the tag's short name
        ("refs/heads/x", "x", True),
        ("refs/tags/v1.0.0", "v1.0.1", False),
        ("refs/tags/v1.0.0", "refs/tags/v1.0.0", False),  # head_branch is never qualified
        ("refs/tags/v1.0.0", None, False),  # the run names no tag
        ("refs/heads/x", "main", False),
        ("refs/tags/V1.0.0", "v1.0.0", False),  # names match exactly
        ("v1.0.0", "v1.0.0", True),  # the short name as before
    ],
)
def test_a_qualified_ref_names_the_run_of_its_tag_or_branch(
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
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert Cell("1.0.0", ref, at, (), on=True).text() == text
