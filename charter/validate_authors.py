"""The cross-check of a track's ``author_may_vote: false``: its authors' proposals can pass.

With ``author_may_vote: false`` a proposal's author casts no vote on it (:mod:`charter.authz`),
so the seats only they hold stay empty on their own proposals: a client they alone maintain,
their own seat under each role in the electorate. When that leaves fewer seats than the quorum
needs (``ceil(quorum x seats)``, as the tally counts) and the track has no ``lazy_consensus``
(which lets a proposal pass without quorum), every proposal such a login writes would expire
unheard. That is reported on the track's ``author_may_vote``, naming the logins and the seats
only they cast, with the ways out. Like the other checks of :mod:`charter.validate`, it reads
the raw data and skips what is malformed or unknown (the shape and role checks report that).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from charter.text import join_and, join_or

Loc = tuple[str | int, ...]
CLIENTS = "clients"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _logins(value: Any) -> tuple[str, ...]:
    """The distinct logins of a list, lower-cased (logins compare case-insensitively)."""
    return tuple(dict.fromkeys(v.lower() for v in _list(value) if isinstance(v, str)))


def author_vote_problems(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Each track with ``author_may_vote: false`` on which some login's own proposals could
    not reach quorum, with where to report it."""
    roles, clients = data.get("roles"), data.get("clients")
    if not isinstance(roles, Mapping) or not isinstance(clients, list):
        return
    for name, track in _map(data.get("tracks")).items():
        track = _map(track)
        quorum = track.get("quorum")
        if track.get("author_may_vote") is not False or track.get("lazy_consensus") is not None:
            continue
        if isinstance(quorum, bool) or not isinstance(quorum, int | float):
            continue
        seats = _seats(track.get("electorate"), roles, clients)
        if seats is None:
            continue
        problem = author_vote_problem(seats, quorum)
        if problem is not None:
            yield ("tracks", str(name), "author_may_vote"), problem


def _seats(
    electorate: Any, roles: Mapping[Any, Any], clients: list[Any]
) -> dict[str, tuple[str, ...]] | None:
    """The electorate's seats (what people read -> who may cast it, lower-cased), as
    :func:`charter.seats.seats` counts them; None when an entry is unknown or malformed."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in _list(electorate):
        if entry == CLIENTS:
            for client in clients:
                client_id = _map(client).get("id")
                found.setdefault(f"{client_id}'s seat", _logins(_map(client).get("maintainers")))
        elif isinstance(entry, str) and isinstance(roles.get(entry), list):
            for login in _logins(roles[entry]):
                found.setdefault(f"{login}'s seat in {entry}", (login,))
        else:
            return None
    return found


def author_vote_problem(seats: Mapping[str, tuple[str, ...]], quorum: float) -> str | None:
    """Why some login's own proposals could not reach quorum when an author does not vote
    (``seats``: each seat's label -> the logins who may cast it); None when every login's can."""
    needed = math.ceil(quorum * len(seats))
    alone: dict[str, list[str]] = {}
    for label, holders in seats.items():
        if len(holders) == 1:
            alone.setdefault(holders[0], []).append(label)
    stuck = sorted(login for login, own in alone.items() if len(seats) - len(own) < needed)
    if not stuck:
        return None
    labels = join_and([label for login in stuck for label in alone[login]])
    return (
        "author_may_vote is false: a proposal's author casts no vote on it, so a proposal"
        f" written by {join_or(stuck)} could never reach quorum ({needed} of {len(seats)}"
        f" seats): only they cast {labels}. Give those seats another holder (a second"
        " maintainer), lower the quorum, set lazy_consensus, or leave author_may_vote true"
    )
