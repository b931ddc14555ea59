"""A track naming a role the charter does not define (:class:`charter.seats.UnknownRole`) is
reported with the roles that are defined, sorted, or "none"."""

from __future__ import annotations

import pytest

from charter.votes import UnknownRole, seats
from tests.charter.test_votes import REF, with_track


@pytest.mark.parametrize(
    ("roles", "defined"),
    [
        (dict(reversed(list(REF.roles.items()))), "coordinators, security-council"),
        ({}, "none"),
    ],
    ids=["sorted", "none"],
)
def test_an_unknown_role_is_reported_with_the_roles_defined(
    roles: dict[str, tuple[str, ...]], defined: str
) -> None:
    charter = with_track("feature-flag", electorate=("clients", "auditors"))
    charter = charter.model_copy(update={"roles": roles})
    with pytest.raises(UnknownRole) as raised:
        seats(charter.tracks["feature-flag"], charter)
    assert str(raised.value) == (
        "the track's electorate names role 'auditors', which the charter does not define"
        f" (roles: {defined})"
    )
