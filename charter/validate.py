"""Cross-checks of a charter: the rules that tie one part of the file to another.

The checks read the *raw* data parsed from YAML (plain dicts, lists and scalars), not the
:class:`~charter.model.Charter` model, so that they still run when some other part of the file
has the wrong shape: a charter author sees every problem at once. Each check skips whatever it
depends on when that part is malformed (the shape check reports it), rather than flooding the
report with follow-on errors.

Each finding names the path of the offending value (``tracks.security-patch.veto[0]``) so the
loader can point at its exact line and column. Rules:

- a role named in a track's ``electorate`` or ``veto``, in ``rollout.override_roles`` or in an
  ``escalation[].notify`` must be defined under ``roles`` (an electorate may also say
  ``clients``), and no role may itself be called ``clients``;
- client, stage and meeting ids are unique; a maintainer (compared case-insensitively) holds
  one client seat only;
- every channel named in ``announce`` or ``meetings[].announce_to`` is defined, and every
  channel has exactly one address (discord, slack, email or webhook);
- time zones are IANA names known to zoneinfo; a meeting's ``rrule`` parses (RFC 5545), has an
  ``INTERVAL`` of 1 or more (see :func:`charter.rrules.rule_problem`) and gives a meeting on
  or after its ``start``, which is a local date and time (no UTC offset: the meeting's
  ``timezone`` places it) (:mod:`charter.validate_time`);
- ``block_on_incident`` and ``rollout.pause_on_incident`` name a severity from
  ``incidents.severities``;
- a stage's ``require_drill.stage`` names a stage listed before it;
- a track's veto roles are part of its electorate, an electorate lists each entry once and
  yields at least one seat;
- a track with ``author_may_vote: false`` lets every login's own proposals reach quorum
  (:mod:`charter.validate_authors`);
- ``rollout.stages``, ``clients``, ``tracks``, each ``electorate`` and each escalation's
  ``notify`` hold one entry or more: the rules step through them (a rollout enters the first
  stage, every proposal picks a track, …). Only a charter being checked or adopted must
  (``check(data, adopting=False)`` skips it): a version the bot kept may predate the rule, and
  still decides the proposals opened under it; none of these versions moves a rollout, which
  always follows the running charter.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from charter.validate_authors import author_vote_problems
from charter.validate_drills import drill_stage_problems
from charter.validate_time import meeting_start_problems, rrule_problems, timezone_problems

Loc = tuple[str | int, ...]

CLIENTS = "clients"  # the electorate word meaning "one seat per client"
ADDRESS_FIELDS = ("discord", "slack", "email", "webhook")
DEFAULT_SEVERITIES = ("sev1", "sev2", "sev3")


@dataclass(frozen=True)
class Finding:
    """One problem at ``loc``; ``at_key`` points at the mapping key rather than its value."""

    loc: Loc
    message: str
    at_key: bool = False


def check(data: Mapping[str, Any], *, adopting: bool = True) -> list[Finding]:
    """Run every cross-check on raw charter data; return all findings (unsorted). A kept
    version (``adopting=False``) is not held to the rules a new charter alone must meet."""
    findings: list[Finding] = []
    for rule in (*_RULES, *_ADOPTION_RULES) if adopting else _RULES:
        findings.extend(rule(data))
    return findings


# -- helpers over raw data ------------------------------------------------------------------


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _names(value: Any) -> Iterator[tuple[int, str]]:
    """The string entries of a list with their indices (other entries are shape problems)."""
    for index, item in enumerate(_list(value)):
        if isinstance(item, str):
            yield index, item


def _tracks(data: Mapping[str, Any]) -> Iterator[tuple[str, dict[Any, Any]]]:
    for name, track in _map(data.get("tracks")).items():
        if isinstance(track, dict):
            yield str(name), track


def suggest(word: str, options: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or nothing."""
    return _closest(word, tuple(str(o) for o in options))


@lru_cache(maxsize=256)
def _closest(word: str, options: tuple[str, ...]) -> str:
    # Cached: a name repeated through aliases is judged thousands of times over, the same way.
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _roles(data: Mapping[str, Any]) -> dict[str, list[Any]] | None:
    """Role → members, or None when ``roles`` is malformed (then references are not judged)."""
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        return None
    return {str(k): _list(v) for k, v in roles.items()}


def _listing(names: Any) -> str:
    return ", ".join(sorted(str(n) for n in names))


# -- roles ------------------------------------------------------------------------------------


def _unknown_role(name: str, roles: Mapping[str, Any], *, electorate: bool = False) -> str:
    options = [*roles, CLIENTS] if electorate else list(roles)
    hint = suggest(name, options)
    if electorate:
        known = f"; roles are {_listing(roles)}" if roles else "; the charter defines no roles"
        return f"unknown electorate {name!r}{hint}: write {CLIENTS!r} or a role{known}"
    known = f"roles are {_listing(roles)}" if roles else "the charter defines no roles"
    return f"unknown role {name!r}{hint}; {known}"


def _check_role_references(data: Mapping[str, Any]) -> Iterator[Finding]:
    roles = _roles(data)
    if roles is None:
        return
    for track_name, track in _tracks(data):
        for i, name in _names(track.get("electorate")):
            if name != CLIENTS and name not in roles:
                loc = ("tracks", track_name, "electorate", i)
                yield Finding(loc, _unknown_role(name, roles, electorate=True))
        for i, name in _names(track.get("veto")):
            if name not in roles:
                yield Finding(("tracks", track_name, "veto", i), _unknown_role(name, roles))
    for i, name in _names(_map(data.get("rollout")).get("override_roles")):
        if name not in roles:
            yield Finding(("rollout", "override_roles", i), _unknown_role(name, roles))
    for e, rule in enumerate(_list(data.get("escalation"))):
        for i, name in _names(_map(rule).get("notify")):
            if name not in roles:
                yield Finding(("escalation", e, "notify", i), _unknown_role(name, roles))
    if CLIENTS in roles:
        yield Finding(
            ("roles", CLIENTS),
            f"a role may not be called {CLIENTS!r}: in an electorate that word means "
            "one seat per client; rename the role",
            at_key=True,
        )


def _check_electorates(data: Mapping[str, Any]) -> Iterator[Finding]:
    """Veto roles vote in the track; no entry twice; at least one seat overall."""
    roles = _roles(data)
    clients = data.get("clients")
    if roles is None or not isinstance(clients, list):
        return
    for track_name, track in _tracks(data):
        electorate = {name for _, name in _names(track.get("electorate"))}
        seen: set[str] = set()
        for i, name in _names(track.get("electorate")):
            if name in seen:
                loc = ("tracks", track_name, "electorate", i)
                yield Finding(loc, f"{name!r} is listed twice in the electorate")
            seen.add(name)
        for i, name in _names(track.get("veto")):
            if name in roles and name not in electorate:
                yield Finding(
                    ("tracks", track_name, "veto", i),
                    f"veto role {name!r} is not in this track's electorate "
                    f"({_listing(electorate) or 'empty'}); only voters can veto, "
                    f"so add {name!r} to the electorate",
                )
        # Unknown entries are reported on their own, and an empty list by _check_not_empty; a
        # seat count would only repeat that.
        if (
            isinstance(track.get("electorate"), list)
            and electorate
            and all(n == CLIENTS or n in roles for n in electorate)
        ):
            seats = sum(len(clients) if n == CLIENTS else len(roles[n]) for n in electorate)
            if seats == 0:
                yield Finding(
                    ("tracks", track_name, "electorate"),
                    "this electorate gives no seats (no clients and no role members), "
                    "so no vote could ever pass",
                )


# -- lists the rules step through ----------------------------------------------------------

# Each list (by its key) that must hold one entry or more, and why.
AT_LEAST_ONE = {
    "stages": "at least one stage: an accepted proposal rolls out through them in order",
    "clients": "at least one client: a rollout moves clients through the stages",
    "tracks": "at least one track: every proposal picks one",
    "electorate": "at least one entry ('clients' or a role): it gives the seats that vote",
    "notify": "at least one role: the members told when the situation lasts",
}


def _check_not_empty(data: Mapping[str, Any]) -> Iterator[Finding]:
    """An empty list (``tracks``: mapping) the rules step through, said at its value; one
    missing or of another type is the shape check's."""
    places: list[tuple[Loc, Any]] = [
        (("rollout", "stages"), _map(data.get("rollout")).get("stages")),
        (("clients",), data.get("clients")),
    ]
    places += [(("tracks", name, "electorate"), t.get("electorate")) for name, t in _tracks(data)]
    for e, rule in enumerate(_list(data.get("escalation"))):
        places.append((("escalation", e, "notify"), _map(rule).get("notify")))
    empty = [loc for loc, value in places if value == []]
    if data.get("tracks") == {}:
        empty.append(("tracks",))
    for loc in empty:
        yield Finding(loc, f"{loc[-1]} is empty; it must list {AT_LEAST_ONE[str(loc[-1])]}")


# -- ids and maintainers --------------------------------------------------------------------


def _check_unique_ids(data: Mapping[str, Any]) -> Iterator[Finding]:
    lists: tuple[tuple[Loc, Any, str], ...] = (
        (("clients",), data.get("clients"), "client"),
        (("rollout", "stages"), _map(data.get("rollout")).get("stages"), "stage"),
        (("meetings",), data.get("meetings"), "meeting"),
    )
    for loc, items, noun in lists:
        first: dict[str, int] = {}
        for index, item in enumerate(_list(items)):
            item_id = _map(item).get("id")
            if not isinstance(item_id, str):
                continue
            if item_id in first:
                yield Finding(
                    (*loc, index, "id"),
                    f"duplicate {noun} id {item_id!r} (also {loc[-1]}[{first[item_id]}])",
                )
            else:
                first[item_id] = index


def _check_maintainers(data: Mapping[str, Any]) -> Iterator[Finding]:
    """A maintainer casts one client's seat, so a login may appear in one client only."""
    holder: dict[str, str] = {}
    for c, client in enumerate(_list(data.get("clients"))):
        client_id = str(_map(client).get("id", f"clients[{c}]"))
        for i, login in _names(_map(client).get("maintainers")):
            key = login.lower()
            if key in holder:
                where = "this client" if holder[key] == client_id else f"client {holder[key]!r}"
                yield Finding(
                    ("clients", c, "maintainers", i),
                    f"maintainer {login!r} is already listed for {where}; "
                    "a maintainer holds one client seat only",
                )
            else:
                holder[key] = client_id


# -- channels ---------------------------------------------------------------------------------


def _check_channel_references(data: Mapping[str, Any]) -> Iterator[Finding]:
    channels = data.get("channels", {})
    if not isinstance(channels, dict):
        return
    used: list[tuple[Loc, str]] = []
    for kind, names in _map(data.get("announce")).items():
        used.extend((("announce", str(kind), i), name) for i, name in _names(names))
    for m, meeting in enumerate(_list(data.get("meetings"))):
        names = _map(meeting).get("announce_to")
        used.extend((("meetings", m, "announce_to", i), name) for i, name in _names(names))
    for loc, name in used:
        if name not in channels:
            known = f"channels are {_listing(channels)}" if channels else "no channels defined"
            yield Finding(loc, f"unknown channel {name!r}{suggest(name, channels)}; {known}")


def _check_channel_addresses(data: Mapping[str, Any]) -> Iterator[Finding]:
    for name, channel in _map(data.get("channels")).items():
        if not isinstance(channel, dict):
            continue
        set_fields = [f for f in ADDRESS_FIELDS if channel.get(f) is not None]
        if not set_fields:
            yield Finding(
                ("channels", str(name)),
                f"channel {name!r} has no address: set one of {', '.join(ADDRESS_FIELDS)}",
                at_key=True,
            )
        elif len(set_fields) > 1:
            yield Finding(
                ("channels", str(name), set_fields[1]),
                f"channel {name!r} has several addresses ({', '.join(set_fields)}); "
                "set exactly one, and define another channel for the other destination",
                at_key=True,
            )


# -- incidents --------------------------------------------------------------------------------


def _check_severities(data: Mapping[str, Any]) -> Iterator[Finding]:
    severities = _map(data.get("incidents")).get("severities", DEFAULT_SEVERITIES)
    if not isinstance(severities, list | tuple):
        return
    rollout = _map(data.get("rollout"))
    places: list[tuple[Loc, Any]] = [
        (("rollout", "pause_on_incident"), rollout.get("pause_on_incident"))
    ]
    for s, stage in enumerate(_list(rollout.get("stages"))):
        places.append(
            (("rollout", "stages", s, "block_on_incident"), _map(stage).get("block_on_incident"))
        )
    for loc, name in places:
        if isinstance(name, str) and name not in severities:
            yield Finding(
                loc,
                f"unknown severity {name!r}{suggest(name, severities)}; "
                f"severities are {', '.join(str(s) for s in severities)}",
            )


def _check_timezones(data: Mapping[str, Any]) -> Iterator[Finding]:
    """Time zones are known to zoneinfo (:mod:`charter.validate_time`)."""
    for loc, message in timezone_problems(data, suggest):
        yield Finding(loc, message)


def _check_meeting_starts(data: Mapping[str, Any]) -> Iterator[Finding]:
    """A meeting's start is a local time (:mod:`charter.validate_time`)."""
    for loc, message in meeting_start_problems(data):
        yield Finding(loc, message)


def _check_rrules(data: Mapping[str, Any]) -> Iterator[Finding]:
    """A meeting's rrule parses and gives a meeting (:mod:`charter.validate_time`)."""
    for loc, message in rrule_problems(data):
        yield Finding(loc, message)


def _check_drill_stages(data: Mapping[str, Any]) -> Iterator[Finding]:
    """A stage's ``require_drill.stage`` is a stage before it (:mod:`charter.validate_drills`)."""
    for loc, message in drill_stage_problems(data, suggest):
        yield Finding(loc, message)


def _check_author_votes(data: Mapping[str, Any]) -> Iterator[Finding]:
    """An author who does not vote can still see their proposal reach quorum
    (:mod:`charter.validate_authors`)."""
    for loc, message in author_vote_problems(data):
        yield Finding(loc, message)


_RULES = (
    _check_role_references,
    _check_electorates,
    _check_author_votes,
    _check_unique_ids,
    _check_maintainers,
    _check_channel_references,
    _check_channel_addresses,
    _check_timezones,
    _check_meeting_starts,
    _check_rrules,
    _check_severities,
    _check_drill_stages,
)
# Only for a charter being checked or adopted (see the module rules).
_ADOPTION_RULES = (_check_not_empty,)
