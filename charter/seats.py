"""Seats: who holds a voice in a track's electorate, and who may veto.

``clients`` in an electorate gives one seat per client (``client:<id>``), cast by any of its
maintainers; a role name gives one seat per member (``role:<role>:<login>``). A login that holds
several seats fills all of them with one vote. Logins compare case-insensitively everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from charter.model import Charter, Track


@dataclass(frozen=True)
class Seat:
    """One voice in a track's electorate, held by one or more logins."""

    id: str  # client:<id> | role:<role>:<login>
    label: str  # what people read: the client's name, or the member's login and role
    kind: Literal["client", "role"]
    members: tuple[str, ...]

    def held_by(self, login: str) -> bool:
        low = login.lower()
        return any(m.lower() == low for m in self.members)


class UnknownRole(ValueError):
    """A track names a role (as electorate or veto) that the charter does not define."""


def _role_members(charter: Charter, role: str, where: str) -> tuple[str, ...]:
    if role not in charter.roles:
        defined = ", ".join(sorted(charter.roles)) or "none"
        raise UnknownRole(
            f"the track's {where} names role '{role}', which the charter does not define "
            f"(roles: {defined})"
        )
    return charter.roles[role]


def seats(track: Track, charter: Charter) -> tuple[Seat, ...]:
    """The seats of ``track``'s electorate, in electorate order, without duplicates."""
    found: dict[str, Seat] = {}
    for entry in track.electorate:
        if entry == "clients":
            for client in charter.clients:
                seat = Seat(f"client:{client.id}", client.name, "client", client.maintainers)
                found.setdefault(seat.id, seat)
            continue
        for login in _role_members(charter, entry, "electorate"):
            seat = Seat(f"role:{entry}:{login.lower()}", f"{login} ({entry})", "role", (login,))
            found.setdefault(seat.id, seat)
    return tuple(found.values())


def seats_of(login: str, table: tuple[Seat, ...]) -> tuple[Seat, ...]:
    """The seats ``login`` holds (case-insensitive); empty when they may not vote."""
    return tuple(seat for seat in table if seat.held_by(login))


def veto_holders(track: Track, charter: Charter) -> dict[str, str]:
    """Lower-cased logins whose reject vetoes a proposal on ``track``, each with its role."""
    holders: dict[str, str] = {}
    for role in track.veto:
        for login in _role_members(charter, role, "veto"):
            holders.setdefault(login.lower(), role)
    return holders


def may_vote(login: str, track: Track, charter: Charter) -> bool:
    """True when ``login`` holds a seat on ``track`` or may veto it."""
    return bool(seats_of(login, seats(track, charter))) or (
        login.lower() in veto_holders(track, charter)
    )
