"""The cross-check of ``author_may_vote: false``: a track on which an author does not vote must
still let every login's own proposals reach quorum (charter/validate_authors.py)."""

from __future__ import annotations

from typing import Any

import pytest

from charter.load import CharterInvalid, load_charter
from charter.validate import check
from charter.validate_authors import author_vote_problem
from tests.paths import mutate

PROTOCOL_QUORUM = "    quorum: 1.0                # share of seats"


def _barred(*pairs: tuple[str, str]) -> str:
    """The reference charter with protocol-change's ``author_may_vote: false`` (and ``pairs``)."""
    return mutate((PROTOCOL_QUORUM, "    author_may_vote: false\n" + PROTOCOL_QUORUM), *pairs)


def test_every_client_needed_and_a_client_with_one_maintainer_is_refused() -> None:
    """The reference protocol-change needs every client (quorum 1.0); cirrus and eridanus have
    one maintainer each, whose own proposals could then never pass: reported at the setting."""
    with pytest.raises(CharterInvalid) as caught:
        load_charter(_barred(), "charter.yaml")
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("tracks.protocol-change.author_may_vote", 59)
    assert (
        "a proposal written by emeka-cirrus or hana-eridanus could never reach quorum (5 of 5"
        " seats): only they cast cirrus's seat and eridanus's seat. Give those seats another"
        " holder (a second maintainer), lower the quorum, set lazy_consensus, or leave"
        " author_may_vote true" in problem.message
    )


@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param([("    quorum: 1.0 ", "    quorum: 0.8 ")], id="one seat to spare"),
        pytest.param(
            [("    confirm: 24h ", "    lazy_consensus: 3d\n    confirm: 24h ")],
            id="lazy consensus",
        ),
    ],
)
def test_a_track_whose_authors_proposals_can_pass_loads(pairs: list[tuple[str, str]]) -> None:
    """A seat to spare, or lazy consensus (which passes a proposal short of quorum), lets the
    author's own proposals pass."""
    track = load_charter(_barred(*pairs), "charter.yaml").charter.tracks["protocol-change"]
    assert track.author_may_vote is False


def test_each_single_holder_needs_another() -> None:
    """A second maintainer for cirrus is not enough while eridanus still has one."""
    text = _barred(("maintainers: [emeka-cirrus]", "maintainers: [emeka-cirrus, ola-cirrus]"))
    with pytest.raises(CharterInvalid, match="written by hana-eridanus could never"):
        load_charter(text, "charter.yaml")


def test_the_other_reference_tracks_may_bar_their_authors() -> None:
    """security-patch (quorum 0.5 of 8 seats) and charter-amendment (0.75 of 7: 6 needed, an
    author alone holds at most one) pass with ``author_may_vote: false``."""
    text = mutate(
        ("    quorum: 0.5\n", "    quorum: 0.5\n    author_may_vote: false\n"),
        ("    quorum: 0.75\n", "    quorum: 0.75\n    author_may_vote: false\n"),
    )
    tracks = load_charter(text, "charter.yaml").charter.tracks
    assert not tracks["security-patch"].author_may_vote
    assert not tracks["charter-amendment"].author_may_vote
    assert tracks["protocol-change"].author_may_vote  # the default


def test_the_setting_is_a_yes_or_no() -> None:
    with pytest.raises(CharterInvalid) as caught:
        load_charter(_barred(("author_may_vote: false", "author_may_vote: [no]")), "charter.yaml")
    assert [p.path for p in caught.value.problems] == ["tracks.protocol-change.author_may_vote"]


# (seat label -> who may cast it, quorum, the logins reported or None)
TABLE: list[tuple[dict[str, tuple[str, ...]], float, str | None]] = [
    ({"a": ("x", "y"), "b": ("z",)}, 0.5, None),
    ({"a": ("x", "y"), "b": ("z",)}, 1.0, "written by z could never reach quorum (2 of 2 seats)"),
    ({"a": (), "b": ("z", "w")}, 1.0, None),  # nobody holds a alone: no author is barred from it
    ({"a": ("x",), "k in c": ("x",), "b": ("y", "z")}, 0.3, None),  # 1 seat left, 1 needed
    ({"a": ("x",), "k in c": ("x",), "b": ("y", "z")}, 0.4, "written by x could never"),
    # Each author alone is meant: "or", never "and" (a proposal has one author).
    ({"a": ("x",), "b": ("y",)}, 1.0, "written by x or y could never reach quorum (2 of 2"),
    ({"a": ("x",), "b": ("y",), "c": ("z",)}, 1.0, "written by x, y or z could never reach"),
]


@pytest.mark.parametrize(("seats", "quorum", "reported"), TABLE)
def test_author_vote_problem(
    seats: dict[str, tuple[str, ...]], quorum: float, reported: str | None
) -> None:
    """A login whose own seats, left empty, leave fewer than ``ceil(quorum x seats)``."""
    problem = author_vote_problem(seats, quorum)
    if reported is None:
        assert problem is None
    else:
        assert problem is not None and reported in problem


BASE: dict[str, Any] = {
    "clients": [{"id": "a", "maintainers": ["X", "x"]}, {"id": "b", "maintainers": ["y", "z"]}],
    "roles": {"council": ["k", "K"]},
}
LOC = ("tracks", "t", "author_may_vote")


def _track(**fields: Any) -> dict[str, Any]:
    return {"tracks": {"t": {"electorate": ["clients"], "quorum": 1.0, **fields}}}


RAW = [
    ("allowed", _track(author_may_vote=True), []),
    ("default", _track(), []),
    (
        "one maintainer, twice",
        _track(author_may_vote=False),
        ["written by x could never reach quorum (2 of 2 seats): only they cast a's seat."],
    ),
    (
        "role seats",
        _track(author_may_vote=False, electorate=["council", "clients", "council"]),
        ["k's seat in council", "x could never reach quorum (3 of 3 seats)"],
    ),
    ("lazy consensus", _track(author_may_vote=False, lazy_consensus="3d"), []),
    ("quorum not a number", _track(author_may_vote=False, quorum="all"), []),
    ("quorum a yes", _track(author_may_vote=False, quorum=True), []),
    ("unknown role", _track(author_may_vote=False, electorate=["clients", "ops"]), None),
    ("entry not text", _track(author_may_vote=False, electorate=["clients", 5]), []),
    ("track malformed", {"tracks": {"t": "fast"}}, []),
    ("roles malformed", {**_track(author_may_vote=False), "roles": ["council"]}, []),
    ("clients malformed", {**_track(author_may_vote=False), "clients": {"a": 1}}, []),
]


@pytest.mark.parametrize(("change", "expected"), [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_the_check_judges_only_what_is_well_formed(
    change: dict[str, Any], expected: list[str] | None
) -> None:
    """Read from raw data, the check skips a malformed or unknown part (another check reports
    it); logins are compared case-insensitively, each seat counted once."""
    findings = [f for f in check({**BASE, **change}) if f.loc == LOC]
    if expected is None:  # the unknown role is reported by the role check, not here
        assert findings == []
        assert any("unknown electorate 'ops'" in f.message for f in check({**BASE, **change}))
        return
    assert len(findings) == (1 if expected else 0), findings
    for fragment in expected:
        assert fragment in findings[0].message
