"""Cross-checks of a charter: each rule that ties one part of the file to another reports the
exact node that breaks it; checks skip what another problem already makes unjudgeable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from charter.load import CharterInvalid, Problem, load_charter
from charter.shape_messages import format_path
from charter.validate import check
from tests.paths import mutate


def problems_of(text: str) -> tuple[Problem, ...]:
    with pytest.raises(CharterInvalid) as caught:
        load_charter(text, "charter.yaml")
    return caught.value.problems


CROSS = [
    (
        "electorate role",
        [("electorate: [clients, coordinators]", "electorate: [clients, coordinator]")],
        "tracks.charter-amendment.electorate[1]",
        "unknown electorate 'coordinator' (did you mean 'coordinators'?): "
        "write 'clients' or a role; roles are coordinators, security-council",
        84,
        27,
    ),
    (
        "veto role",
        [("veto: [security-council]", "veto: [security-counsel]")],
        "tracks.security-patch.veto[0]",
        "unknown role 'security-counsel' (did you mean 'security-council'?)",
        78,
        12,
    ),
    (
        "override role",
        [("override_roles: [coordinators]", "override_roles: [admins]")],
        "rollout.override_roles[0]",
        "unknown role 'admins'; roles are coordinators, security-council",
        110,
        20,
    ),
    (
        "notify role",
        [
            (
                "    after: 14d\n    notify: [coordinators]",
                "    after: 14d\n    notify: [coordinators, ops]",
            )
        ],
        "escalation[1].notify[1]",
        "unknown role 'ops'",
        157,
        28,
    ),
    (
        "role called clients",
        [("  security-council: [kofi", "  clients: [zed]\n  security-council: [kofi")],
        "roles.clients",
        "a role may not be called 'clients'",
        51,
        3,
    ),
    (
        "electorate twice",
        [("electorate: [clients, coordinators]", "electorate: [clients, coordinators, clients]")],
        "tracks.charter-amendment.electorate[2]",
        "'clients' is listed twice in the electorate",
        84,
        41,
    ),
    (
        "veto outside electorate",
        [("electorate: [clients, security-council]", "electorate: [clients]")],
        "tracks.security-patch.veto[0]",
        "veto role 'security-council' is not in this track's electorate (clients)",
        78,
        12,
    ),
    (
        "no seats",
        [
            ("electorate: [clients, coordinators]", "electorate: [coordinators]"),
            ("coordinators: [ines-coord, jonas-coord]", "coordinators: []"),
        ],
        "tracks.charter-amendment.electorate",
        "this electorate gives no seats",
        84,
        17,
    ),
    (
        "client id twice",
        [("  - id: borealis", "  - id: aurora")],
        "clients[1].id",
        "duplicate client id 'aurora' (also clients[0])",
        28,
        9,
    ),
    (
        "stage id twice",
        [("    - id: canary", "    - id: staging")],
        "rollout.stages[1].id",
        "duplicate stage id 'staging' (also stages[0])",
        93,
        11,
    ),
    (
        "meeting id twice",
        [("  - id: security-sync", "  - id: core-sync")],
        "meetings[1].id",
        "duplicate meeting id 'core-sync' (also meetings[0])",
        127,
        9,
    ),
    (
        "maintainer in two clients",
        [("[emeka-cirrus]", "[emeka-cirrus, Alice-Aurora]")],
        "clients[2].maintainers[1]",
        "maintainer 'Alice-Aurora' is already listed for client 'aurora'",
        37,
        33,
    ),
    (
        "maintainer twice",
        [("[hana-eridanus]", "[hana-eridanus, HANA-eridanus]")],
        "clients[4].maintainers[1]",
        "is already listed for this client",
        47,
        34,
    ),
    (
        "announce channel",
        [("  meeting: [core-discord, upgrades-slack]", "  meeting: [core-discord, upgrade-slack]")],
        "announce.meeting[1]",
        "unknown channel 'upgrade-slack' (did you mean 'upgrades-slack'?)",
        149,
        27,
    ),
    (
        "meeting channel",
        [("[council-private]", "[council-privat]")],
        "meetings[1].announce_to[0]",
        "unknown channel 'council-privat' (did you mean 'council-private'?); channels are "
        "core-discord, council-private, operators-mail, upgrades-slack",
        135,
        19,
    ),
    (
        "two addresses",
        [("{slack: C0MERIDIAN1}", "{slack: C0MERIDIAN1, discord: '1'}")],
        "channels.upgrades-slack.slack",
        "channel 'upgrades-slack' has several addresses (discord, slack); set exactly one",
        139,
        20,
    ),
    (
        "no address",
        [("{email: operators@lists.meridian.example}", "{private: true}")],
        "channels.operators-mail",
        "channel 'operators-mail' has no address: set one of discord, slack, email, webhook",
        141,
        3,
    ),
    (
        "charter zone",
        [("timezone: UTC                #", "timezone: Mars/Olympus       #")],
        "charter.timezone",
        "unknown time zone 'Mars/Olympus'",
        16,
        13,
    ),
    (
        "meeting zone",
        [("timezone: Europe/Berlin", "timezone: Europe/Berln")],
        "meetings[0].timezone",
        "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
        122,
        15,
    ),
    (
        "zone case",
        [("timezone: UTC\n    duration: 60m", "timezone: utc\n    duration: 60m")],
        "meetings[1].timezone",
        "unknown time zone 'utc' (did you mean 'UTC'?)",
        131,
        15,
    ),
    (
        "zone folder",
        [("timezone: Europe/Berlin", "timezone: Europe")],
        "meetings[0].timezone",
        "unknown time zone 'Europe'",
        122,
        15,
    ),
    (
        "rrule",
        [("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTLY")],
        "meetings[1].rrule",
        "rrule 'FREQ=MONTLY' does not parse (invalid 'FREQ': MONTLY)",
        129,
        12,
    ),
    (
        "rrule, timestamp start",
        [
            ("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1XX"),
            ('start: "2026-01-06T17:00"', "start: 2026-01-06 17:00:00"),
        ],
        "meetings[1].rrule",
        "does not parse",
        129,
        12,
    ),
    (
        "rrule, unreadable start",
        [
            ("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTHLY;BYDAY=1TU;COUNT=x"),
            ('start: "2026-01-06T17:00"', "start: [soon]"),
        ],
        "meetings[1].rrule",
        "does not parse",
        129,
        12,
    ),
    (
        "start offset",
        [('start: "2026-01-06T17:00"', 'start: "2026-01-06T17:00Z"')],
        "meetings[1].start",
        "start is a local time in the meeting's timezone; drop the UTC offset",
        130,
        12,
    ),
    (
        "start number",
        [('start: "2026-01-06T17:00"', "start: 5")],
        "meetings[1].start",
        "start must be a local date and time such as 2026-01-08T15:00, got 5",
        130,
        12,
    ),
    (
        "stage severity",
        [("block_on_incident: sev3", "block_on_incident: sev4")],
        "rollout.stages[2].block_on_incident",
        "unknown severity 'sev4' (did you mean 'sev3'?); severities are sev1, sev2, sev3",
        104,
        26,
    ),
    (
        "pause severity",
        [("pause_on_incident: sev1", "pause_on_incident: critical")],
        "rollout.pause_on_incident",
        "unknown severity 'critical'",
        106,
        22,
    ),
]


@pytest.mark.parametrize(
    ("pairs", "path", "message", "line", "column"),
    [r[1:] for r in CROSS],
    ids=[r[0] for r in CROSS],
)
def test_cross_reference_problem_points_at_the_offending_value(
    pairs: list[tuple[str, str]], path: str, message: str, line: int, column: int
) -> None:
    """Each broken cross-reference is reported once, at the value (or key) that breaks it."""
    problems = problems_of(mutate(*pairs))
    # A mutation that breaks a meeting's start on purpose also gets that shape problem.
    ours = [p for p in problems if p.path != "meetings[1].start" or path == p.path]
    assert [(p.path, p.line, p.column) for p in ours] == [(path, line, column)], problems
    assert message in ours[0].message


def test_a_charter_without_roles_reports_every_role_reference() -> None:
    """Without a roles section, each role named anywhere is reported where it is named."""
    text = mutate(
        (
            "  coordinators: [ines-coord, jonas-coord]        # run calls, may override a gate "
            "with a written reason\n  security-council: [kofi-sec, lena-sec, mateo-sec]\n",
            "",
        ),
        ("roles:  ", "x-roles:  "),
    )
    problems = problems_of(text)
    assert [p.path for p in problems] == [
        "tracks.security-patch.electorate[1]",
        "tracks.security-patch.veto[0]",
        "tracks.charter-amendment.electorate[1]",
        "rollout.override_roles[0]",
        "escalation[0].notify[0]",
        "escalation[1].notify[0]",
    ]
    assert all("the charter defines no roles" in p.message for p in problems)


def test_custom_severities_replace_the_defaults() -> None:
    """Severities named in stages must come from ``incidents.severities`` when it is set."""
    text = mutate(("severities: [sev1, sev2, sev3]", "severities: [critical, major, sev3]"))
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [
        ("rollout.stages[1].block_on_incident", 98),
        ("rollout.pause_on_incident", 106),
    ]
    assert "severities are critical, major, sev3" in problems[0].message


# -- raw data: checks skip what is malformed -------------------------------------------------

BASE: dict[str, Any] = {
    "clients": [{"id": "a", "maintainers": ["x"]}],
    "roles": {"council": ["k"]},
    "tracks": {"t": {"electorate": ["clients", "council"], "veto": ["council"]}},
    "channels": {"c": {"slack": "C1"}},
    "announce": {"decision": ["c"]},
}

RAW = [
    ("consistent", {}, []),
    ("roles malformed", {"roles": ["council"]}, []),
    ("clients malformed", {"clients": {"a": 1}, "tracks": {"t": {"electorate": ["clients"]}}}, []),
    ("track malformed", {"tracks": {"t": "fast"}}, []),
    (
        "electorate malformed",
        {"tracks": {"t": {"electorate": "clients", "veto": ["council"]}}},
        [(("tracks", "t", "veto", 0), "not in this track's electorate (empty)")],
    ),
    ("entry not text", {"tracks": {"t": {"electorate": ["clients", 5, "council"]}}}, []),
    (
        "no channels",
        {"channels": {}},
        [(("announce", "decision", 0), "unknown channel 'c'; no channels defined")],
    ),
    ("channels malformed", {"channels": ["c"]}, []),
    ("channel malformed", {"channels": {"c": "C1"}}, []),
    ("id not text", {"clients": [{"id": 5}, {"id": 5}]}, []),
    (
        "maintainer in client without id",
        {"clients": [{"maintainers": ["x"]}, {"id": "b", "maintainers": ["X"]}]},
        [(("clients", 1, "maintainers", 0), "already listed for client 'clients[0]'")],
    ),
    (
        "severities malformed",
        {"incidents": {"severities": "sev1"}, "rollout": {"pause_on_incident": "sevX"}},
        [],
    ),
    ("zone not text", {"charter": {"timezone": 5}}, []),
    ("rrule not text", {"meetings": [{"rrule": 5, "start": "2026-01-01T10:00"}]}, []),
    (
        "aware timestamp",
        {"meetings": [{"rrule": "FREQ=DAILY", "start": datetime(2026, 1, 1, tzinfo=UTC)}]},
        [(("meetings", 0, "start"), "drop the UTC offset")],
    ),
    ("start true", {"meetings": [{"rrule": "FREQ=DAILY", "start": True}]}, []),
    # RFC 5545 wants UNTIL in UTC next to a DTSTART with a zone: it is read in the meeting's zone
    (
        "until in UTC",
        {
            "meetings": [
                {
                    "rrule": "FREQ=WEEKLY;UNTIL=20261231T235959Z",
                    "start": "2026-01-01T10:00",
                    "timezone": "Europe/Berlin",
                }
            ]
        },
        [],
    ),
    (
        "until in UTC, no zone",
        {
            "meetings": [
                {"rrule": "FREQ=WEEKLY;UNTIL=20261231T235959Z", "start": "2026-01-01T10:00"}
            ]
        },
        [],
    ),
    (
        "until in UTC, zone not text",
        {
            "meetings": [
                {
                    "rrule": "FREQ=WEEKLY;UNTIL=20261231T235959Z",
                    "start": "2026-01-01T10:00",
                    "timezone": 5,
                }
            ]
        },
        [],
    ),
    (
        "until in UTC, unknown zone",
        {
            "meetings": [
                {
                    "rrule": "FREQ=WEEKLY;UNTIL=20261231T235959Z",
                    "start": "2026-01-01T10:00",
                    "timezone": "Mars/Base",
                }
            ]
        },
        [(("meetings", 0, "timezone"), "unknown time zone 'Mars/Base'")],
    ),
    (
        "until in UTC, no such day",
        {
            "meetings": [
                {
                    "rrule": "FREQ=WEEKLY;UNTIL=20261399T235959Z",
                    "start": "2026-01-01T10:00",
                    "timezone": "Europe/Berlin",
                }
            ]
        },
        [(("meetings", 0, "rrule"), "does not parse")],
    ),
    # Whether a rule ever gives a meeting is judged from a readable start only.
    (
        "never, rule set",
        {
            "meetings": [
                {
                    "rrule": "RRULE:FREQ=DAILY\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
                    "start": "2026-01-01T10:00",
                }
            ]
        },
        [
            (
                ("meetings", 0, "rrule"),
                "gives no meeting within 400 years of its start 2026-01-01T10:00",
            )
        ],
    ),
    (
        "never, bare date start",
        {"meetings": [{"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "start": "2026-01-01"}]},
        [],
    ),
    (
        "never, date start",
        {"meetings": [{"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "start": date(2026, 1, 1)}]},
        [],
    ),
    (
        "never, unreadable start",
        {"meetings": [{"rrule": "FREQ=DAILY;COUNT=0", "start": "next week at 15:00"}]},
        [],
    ),
    (
        "interval zero, unreadable start",
        {"meetings": [{"rrule": "FREQ=WEEKLY;INTERVAL=0", "start": ["soon"]}]},
        [(("meetings", 0, "rrule"), "INTERVAL=0 never moves on to the next meeting")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_checks_judge_only_what_is_well_formed(
    change: dict[str, Any], expected: list[tuple[Any, str]]
) -> None:
    """Cross-checks read raw data; a malformed section is left to the shape check instead of
    producing follow-on errors, and the rest is still judged."""
    findings = check({**BASE, **change})
    assert [f.loc for f in findings] == [loc for loc, _ in expected], findings
    for finding, (_, message) in zip(findings, expected, strict=True):
        assert message in finding.message, format_path(finding.loc)
