"""`charter check` refuses what a charter cannot mean: a meeting rule that never (or forever)
repeats, a track name the issue form can never choose, a boolean written for a number and a
meeting start without a time of day. Each is one line, FILE:LINE:COLUMN: path: sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from charter.intake import check_intake
from charter.load import CharterInvalid, load_charter
from charter.shape_messages import shape_finding
from tests.paths import mutate, reference_charter_text, shared_path

SECURITY_RULE = '"FREQ=MONTHLY;BYDAY=1TU"'  # meetings[1].rrule, at 129:12
NEVER = (
    "gives no meeting within 400 years of its start 2026-01-06T17:00; "
    "check its UNTIL, COUNT and BY… parts"
)


def check_lines(text: str) -> list[str]:
    with pytest.raises(CharterInvalid) as caught:
        load_charter(text, "charter.yaml")
    return [str(p) for p in caught.value.problems]


def rule(value: str) -> tuple[str, str]:
    return (SECURITY_RULE, f'"{value}"')


REFUSED = [
    (
        "interval zero",
        [rule("FREQ=WEEKLY;INTERVAL=0")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=WEEKLY;INTERVAL=0': INTERVAL=0 "
        "never moves on to the next meeting; use 1 or more",
    ),
    (
        "interval negative",
        [rule("FREQ=DAILY;INTERVAL=-1")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=DAILY;INTERVAL=-1': INTERVAL=-1 "
        "never moves on to the next meeting; use 1 or more",
    ),
    (
        "interval zero in a second rule line",
        [rule("RRULE:FREQ=DAILY\\nRRULE:FREQ=WEEKLY;INTERVAL=0")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'RRULE:FREQ=DAILY\\nRRULE:FREQ=WEEKLY;"
        "INTERVAL=0': INTERVAL=0 never moves on to the next meeting; use 1 or more",
    ),
    (
        "no such day",
        [rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' "
        f"{NEVER}",
    ),
    (
        "no such day, daily",
        [rule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30' "
        f"{NEVER}",
    ),
    (
        "until before start",
        [rule("FREQ=DAILY;UNTIL=20200101T000000")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=DAILY;UNTIL=20200101T000000' {NEVER}",
    ),
    (
        "utc until before start",
        [rule("FREQ=WEEKLY;UNTIL=20260106T165959Z")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=WEEKLY;UNTIL=20260106T165959Z' "
        f"{NEVER}",
    ),
    (
        "count zero",
        [rule("FREQ=DAILY;COUNT=0")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=DAILY;COUNT=0' {NEVER}",
    ),
    (
        "setpos past the period",
        [rule("FREQ=DAILY;BYSETPOS=2")],
        f"charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=DAILY;BYSETPOS=2' {NEVER}",
    ),
    (
        "setpos past a second",
        [rule("FREQ=SECONDLY;BYSETPOS=2")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=SECONDLY;BYSETPOS=2': BYSETPOS "
        "picks nothing: each period of this rule holds 1 time, so no meeting would ever happen",
    ),
    (
        "setpos past an hour",
        [rule("FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=-3")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=-3': "
        "BYSETPOS picks nothing: each period of this rule holds 2 times, so no meeting would "
        "ever happen",
    ),
    (
        "easter",
        [rule("FREQ=YEARLY;BYEASTER=0")],
        "charter.yaml:129:12: meetings[1].rrule: rrule 'FREQ=YEARLY;BYEASTER=0': BYEASTER is "
        "not part of RFC 5545 (calendar apps cannot follow it); remove it",
    ),
    (
        "uppercase track",
        [("  feature-flag:\n", "  Feature-Flag:\n")],
        "charter.yaml:63:3: tracks.Feature-Flag: 'Feature-Flag' is not a valid id: use "
        "lowercase letters, digits, '-' and '_', starting with a letter or digit",
    ),
    (
        "track with a space",
        [("  feature-flag:\n", "  feature flag:\n")],
        "charter.yaml:63:3: tracks.feature flag: 'feature flag' is not a valid id: use "
        "lowercase letters, digits, '-' and '_', starting with a letter or digit",
    ),
    (
        "version true",
        [("version: 3  ", "version: true  ")],
        "charter.yaml:15:12: charter.version: version must be a whole number, got true",
    ),
    (
        "version as text",
        [("version: 3  ", 'version: "3"  ')],
        "charter.yaml:15:12: charter.version: version must be a whole number, got '3'",
    ),
    (
        "quorum true",
        [("    quorum: 0.5\n", "    quorum: true\n")],
        "charter.yaml:76:13: tracks.security-patch.quorum: quorum must be a number, got true",
    ),
    (
        "approval false",
        [("    approval: 0.5\n", "    approval: false\n")],
        "charter.yaml:77:15: tracks.security-patch.approval: approval must be a number, got false",
    ),
    (
        "risk scale true",
        [("scale: 5 ", "scale: true ")],
        "charter.yaml:108:12: rollout.risk.scale: scale must be a whole number, got true",
    ),
    (
        "start without time",
        [('start: "2026-01-08T15:00"', "start: 2026-01-08")],
        "charter.yaml:121:12: meetings[0].start: start 2026-01-08 is a date without a time of "
        'day; write the local date and time of the first call in quotes, e.g. "2026-01-08T15:00"',
    ),
    (
        "start without time, quoted",
        [('start: "2026-01-06T17:00"', 'start: "2026-01-06"')],
        "charter.yaml:130:12: meetings[1].start: start 2026-01-06 is a date without a time of "
        'day; write the local date and time of the first call in quotes, e.g. "2026-01-06T15:00"',
    ),
]


@pytest.mark.parametrize(("pairs", "line"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_charter_check_refuses_with_one_exact_line(pairs: list[tuple[str, str]], line: str) -> None:
    """Each mistake is the only problem, at its value (at the key for a track name)."""
    assert check_lines(mutate(*pairs)) == [line]


def test_every_problem_comes_at_once() -> None:
    """The reviewer's charter: four silent conversions become four lines, in file order."""
    text = mutate(
        ("version: 3  ", "version: true  "),
        ("    quorum: 0.5\n", "    quorum: true\n"),
        ('start: "2026-01-08T15:00"', "start: 2026-01-08"),
        ("  feature-flag:\n", "  Feature-Flag:\n"),
        rule("FREQ=WEEKLY;INTERVAL=0"),
    )
    assert [line.split(": ")[0] for line in check_lines(text)] == [
        "charter.yaml:15:12",
        "charter.yaml:63:3",
        "charter.yaml:76:13",
        "charter.yaml:121:12",
        "charter.yaml:129:12",
    ]


ACCEPTED = [
    ("whole-number share", [("    quorum: 0.5\n", "    quorum: 1\n")], "quorum", 1.0),
    ("zero share", [("    approval: 0.5\n", "    approval: 0\n")], "approval", 0.0),
    (
        "timestamp start",
        [('start: "2026-01-06T17:00"', "start: 2026-01-06 17:00:00")],
        "start",
        datetime(2026, 1, 6, 17, 0),
    ),
    (
        "leap day rule",
        [rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")],
        "rrule",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    ),
    (
        "setpos within an hour",
        [rule("FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=2")],
        "rrule",
        "FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=2",
    ),
    ("until on the start", [rule("FREQ=WEEKLY;UNTIL=20260106T170000Z")], "rrule", None),
]


@pytest.mark.parametrize(
    ("pairs", "field", "value"), [r[1:] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED]
)
def test_values_that_mean_what_they_say_still_load(
    pairs: list[tuple[str, str]], field: str, value: object
) -> None:
    """A whole number is a share (1 is the share 1.0); a YAML timestamp is a date and time."""
    charter = load_charter(mutate(*pairs), "charter.yaml").charter
    got = (
        charter.tracks["security-patch"].model_dump()
        if field in ("quorum", "approval")
        else charter.meetings[1].model_dump()
    )[field]
    assert value is None or got == value


def test_every_track_of_the_issue_form_can_be_chosen() -> None:
    """The form's track dropdown offers ids of the reference charter, and intake finds each."""
    charter = load_charter(reference_charter_text(), "charter.yaml").charter
    form = yaml.safe_load(shared_path("github", "upgrade-proposal.yml").read_text())
    dropdown = next(item for item in form["body"] if item.get("id") == "track")
    options = dropdown["attributes"]["options"]
    assert sorted(options) == sorted(charter.tracks)
    for option in options:
        fields = {"track": option, "summary": "s", "specification": "s", "rollback": "r"}
        fields |= {"testing": "t", "likelihood": "1", "impact": "1", "clients": ["aurora"]}
        fields |= {"activation": "epoch 412000"}
        result = check_intake(fields, charter, datetime(2026, 3, 1, tzinfo=UTC))
        assert not result.problems, (option, result.problems)
        assert result.proposal_fields["track"] == option


def test_an_error_kind_without_a_sentence_keeps_pydantics_words() -> None:
    """Strict numbers leave no YAML value that pydantic words on its own (``version: .inf`` is
    now no whole number); a kind a later pydantic adds still reads as a sentence on the field."""
    error: Any = {
        "type": "finite_number",
        "loc": ("charter", "version"),
        "msg": "Input should be a finite number",
        "input": float("inf"),
    }
    finding = shape_finding(error)
    assert (finding.loc, finding.message) == (
        ("charter", "version"),
        "version must be a finite number, got inf",
    )
