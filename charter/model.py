"""The charter file as typed, frozen models.

A charter states, as data, who decides what, by which rule, on which timeline, how a rollout
moves from stage to stage, when the calls are and where announcements go. These models only
describe shape and single-field rules; cross-references (a channel named in ``announce`` must
exist, a maintainer sits in one client only, …) are checked in :mod:`charter.validate`, so that
every problem is reported at once with its position in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    Strict,
)

# The lists the rules step through (a rollout's first stage, a proposal's track, …) hold one
# entry or more. The JSON Schema says so (editors flag an empty one) and charter.validate
# refuses an empty one in a charter being checked or adopted; the model itself takes one, for it
# also reads the versions the bot kept, some adopted before that rule: they still decide the
# proposals opened under them.
_ONE_OR_MORE = {"minItems": 1}

_DURATION = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")
_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNITS = "wdhms"  # largest first: the order the parts of a compound duration are written in


def duration_seconds(text: str) -> int | None:
    """The seconds ``text`` writes as ``<number><unit>`` parts, unit s, m, h, d or w: one part
    (``36h``) or several, largest unit first and each unit once (``1h30m``, ``1h 30m``); None
    when it is not written so (``30m1h``, ``1h1h``, ``12``, ``12min``)."""
    if _DURATION.match(text) is None:
        return None
    parts = _DURATION_PART.findall(text)
    order = [_UNITS.index(unit) for _, unit in parts]
    if order != sorted(set(order)):
        return None
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def parse_duration(value: Any) -> timedelta:
    """Read ``<number><unit>`` with unit one of s, m, h, d, w ("36h", "2w", "0d"), or several
    such parts, largest unit first ("1h30m"): see :func:`duration_seconds`.

    A timedelta passes through, so models can be built in code as well as from files.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("a duration is written as <number><unit>, e.g. 36h or 2w")
    if isinstance(value, int):
        raise ValueError(f"{value} has no unit; write e.g. {value}m, {value}h or {value}d")
    seconds = duration_seconds(value)
    if seconds is None:
        raise ValueError(
            f"{value!r} is not a duration; write <number><unit> with unit s, m, h, d or w"
            " (e.g. 36h), or several such parts, largest unit first (e.g. 1h30m)"
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration back in the largest unit that divides it exactly (``36h``, ``2w``)."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_compound(value: timedelta) -> str:
    """Write a duration as its parts, largest unit first, up to days (``30m45s``, ``1h30m``,
    ``12m``): how a drill's recovery and its limit are shown; it reads back the same."""
    rest = int(value.total_seconds())
    parts: list[str] = []
    for unit in "dhm":
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    if rest or not parts:
        parts.append(f"{rest}s")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
# Strict: YAML reads `true` as a boolean, which lax pydantic would turn into 1 (a whole number 1
# still counts as the share 1.0; a float is no whole number).
Share = Annotated[float, Field(ge=0.0, le=1.0), Strict()]
WholeNumber = Annotated[int, Strict()]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def require_time_of_day(value: Any) -> Any:
    """A meeting's start is a date *and* a time: a bare date (YAML reads ``2026-01-08`` as one)
    would otherwise become midnight, a call nobody meant."""
    if (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and _DATE_ONLY.match(value)
    ):
        day = str(value).strip()
        raise ValueError(
            f"start {day} is a date without a time of day; write the local date and time of "
            f'the first call in quotes, e.g. "{day}T15:00"'
        )
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(require_time_of_day)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CharterMeta(_Frozen):
    name: str
    version: Annotated[WholeNumber, Field(ge=1)]
    timezone: str = "UTC"


class GitHubConf(_Frozen):
    repository: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")]
    proposal_label: str = "upgrade-proposal"


class Client(_Frozen):
    id: Identifier
    name: str
    language: str | None = None
    repository: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")] | None = None
    maintainers: tuple[str, ...] = ()


class Track(_Frozen):
    description: str = ""
    review: Duration
    voting: Duration
    electorate: Annotated[tuple[str, ...], Field(json_schema_extra=_ONE_OR_MORE)]
    quorum: Share
    approval: Share
    confirm: Duration | None = None
    lazy_consensus: Duration | None = None
    veto: tuple[str, ...] = ()
    confidential: bool = False
    min_activation_after_decision: Duration | None = None
    # False: the proposal's author casts no vote on it, whichever seats they hold
    # (charter.authz); the default lets a maintainer cast their client's seat on their own.
    author_may_vote: bool = True


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(
            "recover_within must be longer than 0s: the longest recovery that scores a pass,"
            " e.g. 30m"
        )
    return value


class DrillRequirement(_Frozen):
    """A rollback drill each client runs on an earlier stage before this one is entered
    (:mod:`charter.drills`); ``stage`` is checked to be an earlier stage in validate."""

    stage: Identifier
    recover_within: Annotated[Duration, AfterValidator(_positive)]


class Stage(_Frozen):
    id: Identifier
    description: str = ""
    soak: Duration | None = None
    require_ready: Literal["all-clients"] | None = None
    require_checks: tuple[str, ...] = ()
    block_on_incident: str | None = None
    go_no_go_meeting: bool = False
    require_drill: DrillRequirement | None = None


class Risk(_Frozen):
    scale: Annotated[WholeNumber, Field(ge=1, le=10)] = 5
    pause_above: Annotated[WholeNumber, Field(ge=0)] | None = None


class RolloutConf(_Frozen):
    # At least one (charter.validate): a rollout enters the first stage and completes on the last.
    stages: Annotated[tuple[Stage, ...], Field(json_schema_extra=_ONE_OR_MORE)]
    pause_on_incident: str | None = None
    risk: Risk = Risk()
    override_roles: tuple[str, ...] = ()


class IncidentsConf(_Frozen):
    severities: tuple[str, ...] = ("sev1", "sev2", "sev3")
    roles: tuple[str, ...] = ()
    review_within: Duration | None = None

    def rank(self, severity: str) -> int:
        """Position of a severity: 0 is the worst. Unknown severities rank below all known."""
        return (
            self.severities.index(severity) if severity in self.severities else len(self.severities)
        )

    def at_least(self, severity: str, threshold: str) -> bool:
        """True when ``severity`` is as bad as ``threshold`` or worse (sev1 ≥ sev2)."""
        return self.rank(severity) <= self.rank(threshold)


class Meeting(_Frozen):
    id: Identifier
    title: str
    rrule: str
    start: LocalDateTime
    timezone: str = "UTC"
    duration: Duration
    agenda_before: Duration | None = None
    reminders: tuple[Duration, ...] = ()
    announce_to: tuple[str, ...] = ()


class Channel(_Frozen):
    """A named destination. Exactly one of the address fields is set (checked in validate)."""

    discord: str | None = None
    slack: str | None = None
    email: str | None = None
    webhook: str | None = None
    private: bool = False

    @property
    def platform(self) -> str:
        for name in ("discord", "slack", "email", "webhook"):
            if getattr(self, name) is not None:
                return name
        return "none"

    @property
    def address(self) -> str:
        value = getattr(self, self.platform, None)
        return "" if value is None else str(value)


EscalationWhen = Literal[
    "no-maintainer-response", "accepted-without-rollout", "stage-stuck", "activation-unreachable"
]


class Escalation(_Frozen):
    when: EscalationWhen
    after: Duration
    # At least one (charter.validate): none, and the rule would tell no one.
    notify: Annotated[tuple[str, ...], Field(json_schema_extra=_ONE_OR_MORE)]


ANNOUNCE_KINDS = (
    "proposal-opened",
    "voting-opened",
    "vote",
    "decision",
    "rollout",
    "incident",
    "meeting",
)
AnnounceKind = Literal[
    "proposal-opened", "voting-opened", "vote", "decision", "rollout", "incident", "meeting"
]


class Charter(_Frozen):
    charter: CharterMeta
    github: GitHubConf
    # At least one client (a rollout moves one or more) and one track (a proposal picks one):
    # charter.validate.
    clients: Annotated[tuple[Client, ...], Field(json_schema_extra=_ONE_OR_MORE)]
    roles: dict[str, tuple[str, ...]] = {}
    # Lowercase ids: intake lowercases the form's choice.
    tracks: Annotated[dict[Identifier, Track], Field(json_schema_extra={"minProperties": 1})]
    rollout: RolloutConf
    incidents: IncidentsConf = IncidentsConf()
    meetings: tuple[Meeting, ...] = ()
    channels: dict[str, Channel] = {}
    announce: dict[AnnounceKind, tuple[str, ...]] = {}
    escalation: tuple[Escalation, ...] = ()
    # Earlier (or other) versions this charter answers for: see keeping() and for_version().
    _versions: dict[int, Charter] = PrivateAttr(default_factory=dict)

    # -- lookups used by the rules ------------------------------------------------------

    @property
    def version(self) -> int:
        return self.charter.version

    def for_version(self, version: int) -> Charter:
        """The charter of ``version`` when this one keeps it (see :func:`keeping`), else this
        one: a proposal is decided by the version in force when it was opened."""
        return self._versions.get(version, self)

    def client(self, client_id: str) -> Client | None:
        return next((c for c in self.clients if c.id == client_id), None)

    @property
    def client_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.clients)

    def client_of(self, login: str) -> Client | None:
        """The client a GitHub login maintains (logins compare case-insensitively)."""
        low = login.lower()
        return next((c for c in self.clients if low in (m.lower() for m in c.maintainers)), None)

    def roles_of(self, login: str) -> tuple[str, ...]:
        low = login.lower()
        return tuple(r for r, members in self.roles.items() if low in (m.lower() for m in members))

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.rollout.stages if s.id == stage_id), None)

    @property
    def stage_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.rollout.stages)

    def meeting(self, meeting_id: str) -> Meeting | None:
        return next((m for m in self.meetings if m.id == meeting_id), None)


def keeping(charter: Charter, versions: Mapping[int, Charter]) -> Charter:
    """A copy of ``charter`` that also answers for ``versions`` (by version number, as the bot
    kept their texts) through :meth:`Charter.for_version`; its own version is always itself."""
    kept = charter.model_copy()
    kept._versions = {v: c for v, c in versions.items() if v != charter.version}
    return kept
