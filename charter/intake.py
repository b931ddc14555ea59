"""Reading an upgrade proposal from the issue body GitHub renders from the form, and checking it.

GitHub renders a filled issue form as one ``### <label>`` heading per field followed by the
answer. Rules for reading it (:func:`parse_form`):

- Only headings whose label belongs to the form start a section, and never inside a fenced
  code block, so an author's own ``### Background`` inside a textarea stays part of that
  answer. The first heading of a label wins; text before the first heading is ignored.
- Fenced code blocks follow CommonMark: a fence is at least three backticks or tildes indented
  by at most three spaces (a backtick fence's info string holds no backtick, so a line that
  starts with an inline ```` ```code``` ```` span opens nothing); it is closed by a line of the
  same character, at least as long, indented by at most three spaces, with nothing after it.
- ``_No response_`` (what GitHub writes for an empty optional field) and an empty section are
  ``None``.
- A checkbox field's section (the form's ``checkboxes``: Affected clients) made only of
  task-list items (``- [X] aurora``, ``- [x]``, ``- [ ]``) is the list of checked labels
  (possibly empty). Anything else, and every other field (a test plan written as a task list
  keeps its unticked items), is the text, trimmed, with CRLF read as LF.

Rules for checking it (:func:`check_intake`), each problem a sentence the author can act on:

- Track, Summary, Specification, Rollback plan, Test plan, Risk likelihood and Risk impact are
  required; the track must be one of the charter's.
- Likelihood and impact are whole numbers from 1 to the charter's ``rollout.risk.scale``.
- Every affected client must be a client of the charter.
- A track with ``min_activation_after_decision`` is a change that activates on the network:
  it needs at least one affected client and an activation target.
- The activation target is a UTC date-time (``2027-03-04T14:00Z``, ``2027-03-04 14:00Z``,
  ``…+00:00``; another explicit offset is converted to UTC) or a chain position (``epoch
  412000``, ``block …``, ``slot …``). A date-time must not come before the earliest possible
  decision (now + review + voting, or ``decided_after`` once decided) plus the track's
  ``min_activation_after_decision``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from charter.model import Charter, Track, format_duration
from charter.text import join_and, join_or, one_line, quoted, strip_invisible
from charter.validate import suggest

FormValue = str | list[str] | None
FieldValue = str | int | list[str] | None

FORM_FIELDS: dict[str, str] = {
    "Track": "track",
    "Summary": "summary",
    "Specification": "specification",
    "Affected clients": "clients",
    "Activation target": "activation",
    "Feature flag": "feature_flag",
    "Rollback plan": "rollback",
    "Test plan": "testing",
    "Risk likelihood": "likelihood",
    "Risk impact": "impact",
    "Prerequisites and dependency versions": "dependencies",
}
LABELS = {field_id: label for label, field_id in FORM_FIELDS.items()}
CHECKBOXES = frozenset({"clients"})  # field ids of the form's checkboxes: read as task lists
REQUIRED = ("track", "summary", "specification", "rollback", "testing", "likelihood", "impact")
NO_RESPONSE = "_No response_"
_MISSING = {
    "rollback": "Rollback plan is missing; every proposal needs the exact steps to revert it"
    " and how data integrity is checked afterwards.",
}

_HEADING = re.compile(r"###[ \t]+(.+?)[ \t]*#*[ \t]*")
_FENCE = re.compile(r" {0,3}(?:(`{3,})[^`]*|(~{3,}).*)")
_CLOSING = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_TASK = re.compile(r"[ \t]*[-*+][ \t]+\[([ xX])\][ \t]+(.*?)[ \t]*")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)[ \t]*(Z|UTC|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_CHAIN = re.compile(r"(epoch|block|slot)[ \t]+#?([0-9]{1,15})", re.IGNORECASE)


def parse_form(
    body: str,
    fields: Mapping[str, str] = FORM_FIELDS,
    checkboxes: frozenset[str] = CHECKBOXES,
) -> dict[str, FormValue]:
    """Read a rendered issue form into ``{field id: value}`` (see the module rules)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fence = ""
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = None if fence else _HEADING.fullmatch(line)
        if heading and heading.group(1) in fields and fields[heading.group(1)] not in sections:
            current = sections[fields[heading.group(1)]] = []
            continue
        fence = _fence_state(line, fence)
        if current is not None:
            current.append(line)
    return {key: _value(lines, key in checkboxes) for key, lines in sections.items()}


def _fence_state(line: str, fence: str) -> str:
    """The fence open after ``line`` ("" for none), given the one open before it."""
    if not fence:
        opening = _FENCE.fullmatch(line)
        return "" if opening is None else opening.group(1) or opening.group(2)
    closing = _CLOSING.fullmatch(line)
    marker = "" if closing is None else closing.group(1)
    return "" if marker.startswith(fence[0]) and len(marker) >= len(fence) else fence


def _value(lines: list[str], task_list: bool) -> FormValue:
    text = "\n".join(lines).strip("\n").rstrip()
    if text.strip() in ("", NO_RESPONSE):
        return None
    items = [_TASK.fullmatch(line) for line in text.split("\n") if line.strip()]
    if task_list and all(items):
        return [m.group(2) for m in items if m is not None and m.group(1) in "xX"]
    return text.strip()


@dataclass(frozen=True)
class Activation:
    """When a change activates: a UTC instant, or a position on the chain."""

    at: datetime | None = None
    unit: str | None = None  # epoch | block | slot
    position: int | None = None

    def __str__(self) -> str:
        if self.at is not None:
            fmt = "%Y-%m-%dT%H:%MZ" if self.at.second == 0 else "%Y-%m-%dT%H:%M:%SZ"
            return self.at.strftime(fmt)
        return f"{self.unit} {self.position}"


def parse_activation(text: str, default_zone: str | None = None) -> Activation:
    """Read an activation target; raises ValueError with the sentence to show the author.

    A date-time without a zone is refused, unless ``default_zone`` is given: commands read a
    bare time in the charter's zone (``charter.timezone``), the issue form asks for UTC.
    """
    value = " ".join(strip_invisible(text).split())
    chain = _CHAIN.fullmatch(value)
    if chain:
        return Activation(unit=chain.group(1).lower(), position=int(chain.group(2)))
    stamp = _DATETIME.fullmatch(value)
    example = "2027-03-04T14:00Z or a chain position such as 'epoch 412000'"
    if stamp is None:
        raise ValueError(
            f"Activation target must be a UTC date-time such as {example}; got {quoted(text)}."
        )
    date, clock, zone = stamp.groups()
    if zone is None and default_zone is None:
        raise ValueError(
            f"Activation target {quoted(text)} has no time zone;"
            f" add Z for UTC, e.g. {date}T{clock}Z."
        )
    offset = "" if zone is None else _offset(zone)
    try:
        at = datetime.fromisoformat(f"{date}T{clock}{offset}")
    except ValueError:
        raise ValueError(f"Activation target {quoted(text)} is not a real date and time.") from None
    if at.tzinfo is None and default_zone is not None:
        at = at.replace(tzinfo=ZoneInfo(default_zone))
    return Activation(at=at.astimezone(UTC))


def _offset(zone: str) -> str:
    return "+00:00" if zone.upper() in ("Z", "UTC") else zone[:3] + ":" + zone[-2:]


def _span(duration: timedelta) -> str:
    days = duration / timedelta(days=1)
    if not days.is_integer():
        return format_duration(duration)
    return "1 day" if days == 1 else f"{int(days)} days"


def _stamp(at: datetime) -> str:
    return str(Activation(at=at))


# -- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    proposal_fields: dict[str, FieldValue]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def fields(self) -> dict[str, FieldValue]:
        """The name docs/CONTRACTS.md gives ``proposal_fields``."""
        return self.proposal_fields


def check_intake(
    fields: Mapping[str, FormValue],
    charter: Charter,
    now: datetime,
    *,
    decided_after: datetime | None = None,
) -> IntakeResult:
    """Check a parsed form against the charter (see the module rules)."""
    if now.tzinfo is None or (decided_after is not None and decided_after.tzinfo is None):
        raise ValueError("now and decided_after must be timezone-aware")
    out: dict[str, FieldValue] = {key: _text(fields.get(key)) for key in FORM_FIELDS.values()}
    problems = [
        _MISSING.get(key, f"{LABELS[key]} is missing; fill in that part of the form.")
        for key in REQUIRED
        if out[key] is None
    ]
    track = _check_track(out, charter, problems)
    for key in ("likelihood", "impact"):
        _check_score(key, out, charter.rollout.risk.scale, problems)
    activates = track is not None and track.min_activation_after_decision is not None
    out["clients"] = _check_clients(fields.get("clients"), charter, activates, problems)
    _check_activation(out, track, now, decided_after, problems)
    return IntakeResult(out, tuple(problems))


def _text(value: FormValue) -> str | None:
    if isinstance(value, list):
        value = ", ".join(value)
    return None if value is None or not value.strip() else value.strip()


def _check_track(out: dict[str, FieldValue], charter: Charter, problems: list[str]) -> Track | None:
    raw = out["track"]
    if not isinstance(raw, str):
        return None
    name = one_line(raw).lower()
    if name not in charter.tracks:
        choices = join_or(list(charter.tracks))
        hint = suggest(name, charter.tracks)  # as `charter check` suggests a misspelt name
        problems.append(
            f"Track {quoted(raw)} is not a track of this charter{hint}; choose {choices}."
        )
        return None
    out["track"] = name
    return charter.tracks[name]


def _check_score(key: str, out: dict[str, FieldValue], scale: int, problems: list[str]) -> None:
    raw = out[key]
    if not isinstance(raw, str):
        return
    value = one_line(raw)
    if value.isascii() and value.isdigit() and 1 <= int(value) <= scale:
        out[key] = int(value)
    else:
        problems.append(
            f"{LABELS[key]} must be a whole number from 1 to {scale}; got {quoted(raw)}."
        )


def _check_clients(
    value: FormValue, charter: Charter, activates: bool, problems: list[str]
) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    names = list(dict.fromkeys(one_line(v).lower() for v in value or () if one_line(v)))
    unknown = [n for n in names if n not in charter.client_ids]
    if unknown:
        which = "is not a client" if len(unknown) == 1 else "are not clients"
        problems.append(
            f"Affected clients names {join_and([quoted(n) for n in unknown])}, which {which}"
            f" of this charter; the clients are {join_and(charter.client_ids)}."
        )
    if not names and activates:
        problems.append(
            "Affected clients is empty; a proposal on this track activates on the network,"
            " so tick every client that must ship it."
        )
    return [n for n in names if n in charter.client_ids]


def _check_activation(
    out: dict[str, FieldValue],
    track: Track | None,
    now: datetime,
    decided_after: datetime | None,
    problems: list[str],
) -> None:
    raw = out["activation"]
    needs = track is not None and track.min_activation_after_decision is not None
    if not isinstance(raw, str):
        if needs:
            problems.append(
                "Activation target is missing; this track activates on the network, so give a"
                " UTC date-time such as 2027-03-04T14:00Z or a chain position such as"
                " 'epoch 412000'."
            )
        return
    try:
        activation = parse_activation(raw)
    except ValueError as error:
        problems.append(str(error))
        return
    out["activation"] = str(activation)
    if activation.at is None or track is None:
        return
    minimum = track.min_activation_after_decision or timedelta(0)
    decision = decided_after or now + track.review + track.voting
    earliest = decision + minimum
    if activation.at < earliest:
        when = "was decided on" if decided_after else "can be decided at the earliest on"
        gap = f"at least {_span(minimum)} after" if minimum else "after"
        problems.append(
            f"Activation target {_stamp(activation.at)} is too early: this proposal {when}"
            f" {_stamp(decision)}, and activation must come {gap} the decision, so the earliest"
            f" acceptable target is {_stamp(earliest)}."
        )
