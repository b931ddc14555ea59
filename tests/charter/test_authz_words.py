"""Details of :func:`charter.authz.authorize`: a track or author passed explicitly wins over
the proposal's; refusals list charter roles sorted and say "no one" for a client nobody
maintains."""

from __future__ import annotations

import pytest

from charter.actors import Actor
from charter.authz import Privilege, Refusal, authorize
from tests.charter.test_authz import CHARTER, CONTRIBUTOR, COUNCIL, _Proposal


@pytest.mark.parametrize(
    ("track", "allowed"), [("security-patch", True), ("protocol-change", False)]
)
def test_an_explicit_track_wins_over_the_proposals(track: str, allowed: bool) -> None:
    """The council votes on security patches only: the track given decides, not the one of
    the proposal passed along."""
    other = "protocol-change" if track == "security-patch" else "security-patch"
    proposal = _Proposal(author="zoe-contrib", track=other)
    refusal = authorize(Privilege.VOTE, COUNCIL, CHARTER, track=track, proposal=proposal)
    assert (refusal is None) is allowed


@pytest.mark.parametrize(("author", "allowed"), [("zoe-contrib", True), ("someone-else", False)])
def test_an_explicit_author_wins_over_the_proposals(author: str, allowed: bool) -> None:
    other = "someone-else" if author == "zoe-contrib" else "zoe-contrib"
    proposal = _Proposal(author=other, track="feature-flag")
    refusal = authorize(
        Privilege.WITHDRAW, CONTRIBUTOR, CHARTER, proposal_author=author, proposal=proposal
    )
    assert (refusal is None) is allowed


def test_the_staff_refusal_lists_the_charter_roles_sorted() -> None:
    roles = dict(reversed(list(CHARTER.roles.items())))
    refusal = authorize(Privilege.CONCERN, CONTRIBUTOR, CHARTER.model_copy(update={"roles": roles}))
    assert refusal is not None
    assert "charter role (coordinators and security-council)" in refusal.reason


def test_a_client_nobody_maintains_reads_as_no_one() -> None:
    clients = tuple(
        c.model_copy(update={"maintainers": ()}) if c.id == "aurora" else c for c in CHARTER.clients
    )
    charter = CHARTER.model_copy(update={"clients": clients})
    refusal = authorize(Privilege.READY, Actor(login="carmen-borealis"), charter, client="aurora")
    assert refusal == Refusal(
        "Only maintainers of aurora (no one) or a coordinator may report aurora."
    )
