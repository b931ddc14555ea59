"""Loading a charter file: the reference loads unchanged and means what its comments say;
every shape or syntax problem is reported at the exact line and column of the offending node."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml

from charter import load
from charter.load import CharterInvalid, Problem, json_schema, load_charter
from charter.model import Charter
from charter.shape_messages import format_path
from tests.paths import REPO, mutate, reference_charter_text

D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


def problems_of(text: str) -> tuple[Problem, ...]:
    with pytest.raises(CharterInvalid) as caught:
        load_charter(text, "charter.yaml")
    return caught.value.problems


@pytest.fixture(scope="module")
def reference() -> Charter:
    return load_charter(reference_charter_text(), "reference-charter.yaml").charter


# -- the reference charter ------------------------------------------------------------------

SPOT_CHECKS: list[tuple[str, Any, Any]] = [
    ("version", lambda c: c.version, 3),
    ("timezone", lambda c: c.charter.timezone, "UTC"),
    ("repository", lambda c: c.github.repository, "meridian-net/upgrades"),
    ("label", lambda c: c.github.proposal_label, "upgrade-proposal"),
    ("clients", lambda c: c.client_ids, ("aurora", "borealis", "cirrus", "dorado", "eridanus")),
    ("maintainer case", lambda c: c.client_of("Carmen-Borealis").id, "borealis"),
    ("coordinators", lambda c: c.roles_of("jonas-coord"), ("coordinators",)),
    ("council", lambda c: c.roles["security-council"], ("kofi-sec", "lena-sec", "mateo-sec")),
    ("protocol review", lambda c: c.tracks["protocol-change"].review, 7 * D),
    ("protocol voting", lambda c: c.tracks["protocol-change"].voting, 5 * D),
    (
        "protocol unanimity",
        lambda c: (c.tracks["protocol-change"].quorum, c.tracks["protocol-change"].approval),
        (1.0, 1.0),
    ),
    ("protocol confirm", lambda c: c.tracks["protocol-change"].confirm, 24 * H),
    ("activation", lambda c: c.tracks["protocol-change"].min_activation_after_decision, 21 * D),
    (
        "flag shares",
        lambda c: (c.tracks["feature-flag"].quorum, c.tracks["feature-flag"].approval),
        (0.6, 0.66),
    ),
    ("lazy consensus", lambda c: c.tracks["feature-flag"].lazy_consensus, 5 * D),
    ("no lazy on protocol", lambda c: c.tracks["protocol-change"].lazy_consensus, None),
    ("patch review", lambda c: c.tracks["security-patch"].review, timedelta(0)),
    ("patch voting", lambda c: c.tracks["security-patch"].voting, 48 * H),
    (
        "patch electorate",
        lambda c: c.tracks["security-patch"].electorate,
        ("clients", "security-council"),
    ),
    ("patch veto", lambda c: c.tracks["security-patch"].veto, ("security-council",)),
    ("patch confidential", lambda c: c.tracks["security-patch"].confidential, True),
    (
        "amendment electorate",
        lambda c: c.tracks["charter-amendment"].electorate,
        ("clients", "coordinators"),
    ),
    ("stages", lambda c: c.stage_ids, ("staging", "canary", "production")),
    ("canary soak", lambda c: c.stage("canary").soak, 72 * H),
    (
        "canary gate",
        lambda c: (c.stage("canary").require_checks, c.stage("canary").block_on_incident),
        (("interop-matrix",), "sev2"),
    ),
    (
        "production",
        lambda c: (c.stage("production").soak, c.stage("production").go_no_go_meeting),
        (14 * D, True),
    ),
    ("staging ready", lambda c: c.stage("staging").require_ready, "all-clients"),
    ("pause", lambda c: c.rollout.pause_on_incident, "sev1"),
    ("risk", lambda c: (c.rollout.risk.scale, c.rollout.risk.pause_above), (5, 15)),
    ("override", lambda c: c.rollout.override_roles, ("coordinators",)),
    ("sev1 worst", lambda c: c.incidents.at_least("sev1", "sev2"), True),
    ("incident review", lambda c: c.incidents.review_within, 5 * D),
    ("core sync start", lambda c: c.meeting("core-sync").start, datetime(2026, 1, 8, 15, 0)),
    ("core sync zone", lambda c: c.meeting("core-sync").timezone, "Europe/Berlin"),
    (
        "core sync times",
        lambda c: (
            c.meeting("core-sync").duration,
            c.meeting("core-sync").agenda_before,
            c.meeting("core-sync").reminders,
        ),
        (90 * M, 48 * H, (24 * H, H)),
    ),
    ("council call", lambda c: c.meeting("security-sync").announce_to, ("council-private",)),
    (
        "private channel",
        lambda c: (c.channels["council-private"].platform, c.channels["council-private"].private),
        ("slack", True),
    ),
    ("discord id", lambda c: c.channels["core-discord"].address, "1180000000000000001"),
    (
        "decision route",
        lambda c: c.announce["decision"],
        ("core-discord", "upgrades-slack", "operators-mail"),
    ),
    ("votes unannounced", lambda c: "vote" in c.announce, False),
    (
        "escalation",
        lambda c: [(e.when, e.after, e.notify) for e in c.escalation],
        [
            ("no-maintainer-response", 3 * D, ("coordinators",)),
            ("accepted-without-rollout", 14 * D, ("coordinators",)),
        ],
    ),
]


@pytest.mark.parametrize(("what", "read", "expected"), SPOT_CHECKS, ids=[s[0] for s in SPOT_CHECKS])
def test_reference_charter_means_what_its_comments_say(
    reference: Charter, what: str, read: Any, expected: Any
) -> None:
    """The reference charter loads unchanged, and each commented rule has the stated value."""
    assert read(reference) == expected


def test_loaded_charter_records_text_source_and_hash() -> None:
    """A loaded charter keeps its exact text, its source name and the SHA-256 of its bytes."""
    text = reference_charter_text()
    loaded = load_charter(text, "ref.yaml")
    assert loaded.text == text
    assert loaded.source == "ref.yaml"
    assert loaded.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert load_charter(text + "\n").sha256 != loaded.sha256


def test_problem_prints_as_source_line_column_path_message() -> None:
    """A problem prints as ``source:line:column: path: message``, like a compiler's."""
    problem = Problem("c.yaml", 3, 7, "tracks.x.quorum", "bad")
    assert str(problem) == "c.yaml:3:7: tracks.x.quorum: bad"
    assert str(CharterInvalid((problem, problem))) == f"{problem}\n{problem}"


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        ((), "(charter)"),
        (("clients", 2, "id"), "clients[2].id"),
        (("tracks", "feature-flag", "approval"), "tracks.feature-flag.approval"),
        (("meetings", 0, "reminders", 1), "meetings[0].reminders[1]"),
    ],
)
def test_paths_name_keys_with_dots_and_items_with_brackets(loc: Any, path: str) -> None:
    """Paths read like the file: mapping keys joined by dots, list items in brackets."""
    assert format_path(loc) == path


# -- shape problems, one per mutation of the reference --------------------------------------

SHAPE = [
    (
        "share",
        [("approval: 0.66", "approval: 1.5")],
        "tracks.feature-flag.approval",
        "approval must be a share between 0 and 1, got 1.5",
        69,
        15,
    ),
    (
        "nan share",
        [("quorum: 0.6", "quorum: .nan")],
        "tracks.feature-flag.quorum",
        "quorum must be a share between 0 and 1, got nan",
        68,
        13,
    ),
    (
        "missing field",
        [("    voting: 3d\n", "")],
        "tracks.feature-flag.voting",
        "missing required field 'voting'",
        63,
        3,
    ),
    (
        "missing in list item",
        [("    duration: 60m\n", "")],
        "meetings[1].duration",
        "missing required field 'duration'",
        127,
        5,
    ),
    (
        "missing section",
        [
            (
                "github:\n  repository: meridian-net/upgrades",
                "x-github:\n  repository: meridian-net/upgrades",
            )
        ],
        "github",
        "missing required field 'github'",
        13,
        1,
    ),
    (
        "unknown field",
        [("    voting: 3d\n", "    voting: 3d\n    votng: 3d\n")],
        "tracks.feature-flag.votng",
        "unknown field 'votng' (did you mean 'voting'?)",
        67,
        5,
    ),
    (
        "unknown field, no guess",
        [("    lazy_consensus: 5d ", "    colour: blue\n    lazy_consensus: 5d ")],
        "tracks.feature-flag.colour",
        "unknown field 'colour'; fields here are description, review, voting",
        70,
        5,
    ),
    (
        "unknown section",
        [("\nincidents:\n", "\nincident:\n")],
        "incident",
        "unknown field 'incident' (did you mean 'incidents'?)",
        112,
        1,
    ),
    (
        "not a number",
        [("version: 3 ", "version: three ")],
        "charter.version",
        "version must be a whole number, got 'three'",
        15,
        12,
    ),
    (
        "fraction",
        [("version: 3 ", "version: 3.5 ")],
        "charter.version",
        "version must be a whole number, got 3.5",
        15,
        12,
    ),
    (
        "lower bound",
        [("version: 3 ", "version: 0 ")],
        "charter.version",
        "version must be at least 1, got 0",
        15,
        12,
    ),
    (
        "infinite",
        [("version: 3 ", "version: .inf ")],
        "charter.version",
        "version must be a whole number, got inf",
        15,
        12,
    ),
    (
        "int range",
        [("scale: 5 ", "scale: 12 ")],
        "rollout.risk.scale",
        "scale must be a whole number between 1 and 10, got 12",
        108,
        12,
    ),
    (
        "optional bound",
        [("pause_above: 15", "pause_above: -1")],
        "rollout.risk.pause_above",
        "pause_above must be at least 0, got -1",
        109,
        18,
    ),
    (
        "float",
        [("quorum: 0.6", "quorum: most")],
        "tracks.feature-flag.quorum",
        "quorum must be a number, got 'most'",
        68,
        13,
    ),
    (
        "bool",
        [("confidential: true", "confidential: maybe")],
        "tracks.security-patch.confidential",
        "confidential must be true or false, got 'maybe'",
        79,
        19,
    ),
    (
        "null text",
        [("  name: Meridian network upgrade charter\n", "  name:\n")],
        "charter.name",
        "name must be text, got nothing",
        14,
        8,
    ),
    (
        "number for text",
        [('{discord: "1180000000000000001"}', "{discord: 1180000000000000001}")],
        "channels.core-discord.discord",
        "discord must be text, got 1180000000000000001 (put it in quotes)",
        138,
        27,
    ),
    (
        "list for text",
        [("title: Core client sync", "title: [Core]")],
        "meetings[0].title",
        "title must be text, got a list",
        119,
        12,
    ),
    (
        "mapping for text",
        [("name: Cirrus", "name: {x: 1}")],
        "clients[2].name",
        "name must be text, got a mapping",
        34,
        11,
    ),
    (
        "bool for text",
        [("language: Go", "language: yes")],
        "clients[1].language",
        "language must be text, got true",
        30,
        15,
    ),
    (
        "text for list",
        [("maintainers: [hana-eridanus]", "maintainers: hana-eridanus")],
        "clients[4].maintainers",
        "maintainers must be a list, got 'hana-eridanus' (write [hana-eridanus])",
        47,
        18,
    ),
    (
        "list for mapping",
        [("roles:                         #", "roles: []\nx-roles:                         #")],
        "roles",
        "roles must be a mapping (name: value lines), got a list",
        49,
        8,
    ),
    (
        "text for section",
        [("\nincidents:\n", "\nincidents: none\nx-incidents:\n")],
        "incidents",
        "incidents must be a mapping (field: value lines), got 'none'",
        112,
        12,
    ),
    (
        "one literal",
        [("require_ready: all-clients          #", "require_ready: some          #")],
        "rollout.stages[0].require_ready",
        "require_ready must be 'all-clients', got 'some'",
        92,
        22,
    ),
    (
        "literal guess",
        [("when: no-maintainer-response", "when: no-maintainer-respons")],
        "escalation[0].when",
        "got 'no-maintainer-respons' (did you mean 'no-maintainer-response'?)",
        152,
        11,
    ),
    (
        "datetime",
        [('start: "2026-01-06T17:00"', 'start: "tomorrow"')],
        "meetings[1].start",
        "start must be a date and time such as 2026-01-08T15:00, got 'tomorrow'",
        130,
        12,
    ),
    (
        "id",
        [("  - id: aurora", "  - id: Aurora")],
        "clients[0].id",
        "'Aurora' is not a valid id: use lowercase letters",
        23,
        9,
    ),
    (
        "repository",
        [("repository: meridian-net/upgrades", "repository: upgrades")],
        "github.repository",
        "'upgrades' is not a GitHub repository: write owner/name",
        19,
        15,
    ),
    (
        "duration",
        [("soak: 72h", "soak: 3 days")],
        "rollout.stages[1].soak",
        "'3 days' is not a duration; write <number><unit>",
        95,
        13,
    ),
    (
        "duration item",
        [("reminders: [1h]", "reminders: [1h, soon]")],
        "meetings[1].reminders[1]",
        "'soon' is not a duration",
        134,
        21,
    ),
    (
        "duration without unit",
        [("lazy_consensus: 5d", "lazy_consensus: 5")],
        "tracks.feature-flag.lazy_consensus",
        "5 has no unit; write e.g. 5m, 5h or 5d",
        70,
        21,
    ),
    (
        "announce kind",
        [("  decision:", "  decisions:")],
        "announce.decisions",
        "unknown announcement kind 'decisions' (did you mean 'decision'?); use one of",
        146,
        3,
    ),
    (
        "number key",
        [("  coordinators: [ines", "  1: [x]\n  coordinators: [ines")],
        "roles[1]",
        "the key 1 must be text",
        50,
        3,
    ),
    (
        "duplicate key",
        [("name: Aurora", "name: Aurora\n    name: Aur")],
        "clients[0].name",
        "key 'name' is written twice (first at line 24); YAML keeps only the last one",
        25,
        5,
    ),
]


@pytest.mark.parametrize(
    ("pairs", "path", "message", "line", "column"),
    [r[1:] for r in SHAPE],
    ids=[r[0] for r in SHAPE],
)
def test_shape_problem_points_at_the_offending_node(
    pairs: list[tuple[str, str]], path: str, message: str, line: int, column: int
) -> None:
    """Each shape mistake is the only problem, in plain words, at the node that is wrong
    (the key for unknown or duplicate keys, the parent's key for a missing field)."""
    problems = problems_of(mutate(*pairs))
    assert [(p.path, p.line, p.column) for p in problems] == [(path, line, column)], problems
    assert message in problems[0].message
    assert "Input should" not in problems[0].message  # pydantic's wording is translated


# -- lists that may not be empty ----------------------------------------------------------------

EMPTY = [
    ("stages", ("rollout", "stages"), "rollout.stages", "at least one stage"),
    ("clients", ("clients",), "clients", "at least one client"),
    ("tracks", ("tracks",), "tracks", "at least one track"),
    (
        "electorate",
        ("tracks", "feature-flag", "electorate"),
        "tracks.feature-flag.electorate",
        "at least one entry",
    ),
    ("notify", ("escalation", 0, "notify"), "escalation[0].notify", "at least one role"),
]


@pytest.mark.parametrize(
    ("loc", "path", "needs"), [r[1:] for r in EMPTY], ids=[r[0] for r in EMPTY]
)
def test_an_empty_list_that_the_rules_step_through_is_refused_at_its_value(
    loc: tuple[str | int, ...], path: str, needs: str
) -> None:
    """Stages, clients, tracks, an electorate and an escalation's notify are required and hold
    one entry or more: the rules take a rollout's first stage, move one or more clients, give
    every proposal a track, need seats to vote and someone to tell. Said once, at the value."""
    data = yaml.safe_load(reference_charter_text())
    parent = data
    for part in loc[:-1]:
        parent = parent[part]
    parent[loc[-1]] = {} if loc[-1] == "tracks" else []
    text = yaml.safe_dump(data, sort_keys=False)
    found = problems_of(text)
    [empty] = [p for p in found if p.path == path]
    assert f"is empty; it must list {needs}" in empty.message
    row = text.splitlines()[empty.line - 1]
    assert row[empty.column - 1 :].startswith("[]" if loc[-1] != "tracks" else "{}")
    assert row.strip().startswith(f"{loc[-1]}:")


@pytest.mark.parametrize("loc", [r[1] for r in EMPTY], ids=[r[0] for r in EMPTY])
def test_a_kept_version_with_an_empty_list_still_loads(loc: tuple[str | int, ...]) -> None:
    """A version the bot kept is read as it was adopted, maybe before lists needed an entry."""
    data = yaml.safe_load(reference_charter_text())
    data["escalation"] = [{"when": "no-maintainer-response", "after": "3d", "notify": []}]
    parent = data
    for part in loc[:-1]:
        parent = parent[part]
    parent[loc[-1]] = {} if loc[-1] == "tracks" else []
    if loc[-1] == "clients":  # 'clients' in an electorate would then give no seats
        for track in data["tracks"].values():
            track["electorate"] = [e for e in track["electorate"] if e != "clients"] or [
                "coordinators"
            ]
    text = yaml.safe_dump(data, sort_keys=False)
    assert problems_of(text)  # refused as a new charter
    assert load_charter(text, kept=True).charter.version == data["charter"]["version"]


# -- YAML that cannot be read ---------------------------------------------------------------

SYNTAX = [
    ("mapping in value", "a: b: c\n", "(yaml)", "mapping values are not allowed here", 1, 5),
    ("tab", "charter:\n\tname: x\n", "(yaml)", "indent with spaces, not tabs", 2, 1),
    ("open flow", "a: [1, 2\nb: 3\n", "(yaml)", "(while parsing a flow sequence at line 1)", 2, 2),
    ("two documents", "a: 1\n---\nb: 2\n", "(yaml)", "found another document", 2, 1),
    (
        "python tag",
        "a: !!python/object:os.system x\n",
        "(yaml)",
        "could not determine a constructor for the tag",
        1,
        4,
    ),
    (
        "unhashable key",
        "? [a]\n: b\n",
        "(yaml)",
        "found unhashable key (while constructing a mapping at line 1)",
        1,
        3,
    ),
    (
        "control character",
        "a: b\nc: \x01\n",
        "(yaml)",
        "character U+0001 is not allowed in a YAML file",
        2,
        4,
    ),
    ("undefined alias", "a: *nope\n", "(yaml)", "found undefined alias", 1, 4),
    ("empty", "", "(charter)", "the charter is empty", 1, 1),
    ("only comments", "# nothing yet\n", "(charter)", "the charter is empty", 1, 1),
    (
        "a list",
        "- charter\n",
        "(charter)",
        "the charter is a list, not a mapping of sections",
        1,
        1,
    ),
    ("a word", "\n\ncharter\n", "(charter)", "the charter is 'charter', not a mapping", 3, 1),
]


@pytest.mark.parametrize(
    ("text", "path", "message", "line", "column"),
    [r[1:] for r in SYNTAX],
    ids=[r[0] for r in SYNTAX],
)
def test_unreadable_yaml_is_one_problem_at_the_error(
    text: str, path: str, message: str, line: int, column: int
) -> None:
    """YAML that cannot be read, or that is not a mapping, is one problem at its position."""
    problems = problems_of(text)
    assert [(p.path, p.line, p.column) for p in problems] == [(path, line, column)], problems
    assert message in problems[0].message


def test_many_problems_are_reported_at_once_in_file_order() -> None:
    """Shape and cross-reference problems all come back together, sorted by position."""
    text = mutate(
        ("version: 3 ", "version: three "),
        ("  - id: borealis", "  - id: aurora"),
        ("    voting: 3d\n", "    votng: 3d\n"),
        ("electorate: [clients, coordinators]", "electorate: [clients, coordinator]"),
        ("soak: 72h", "soak: 3 days"),
        ("timezone: Europe/Berlin", "timezone: Europe/Berln"),
        ("FREQ=MONTHLY;BYDAY=1TU", "FREQ=MONTLY"),
        ("{email: operators@lists.meridian.example}", "{}"),
        ("  meeting: [core-discord, upgrades-slack]", "  meeting: [core-discord, upgrade-slack]"),
    )
    problems = problems_of(text)
    assert [p.path for p in problems] == [
        "charter.version",
        "clients[1].id",
        "tracks.feature-flag.voting",
        "tracks.feature-flag.votng",
        "tracks.charter-amendment.electorate[1]",
        "rollout.stages[1].soak",
        "meetings[0].timezone",
        "meetings[1].rrule",
        "channels.operators-mail",
        "announce.meeting[1]",
    ]
    assert [(p.line, p.column) for p in problems] == sorted((p.line, p.column) for p in problems)
    assert all(p.source == "charter.yaml" for p in problems)


def test_anchors_under_x_keys_may_be_merged_and_overridden() -> None:
    """Top-level ``x-`` keys are ignored, so a track can merge shared values from an anchor
    and override one of them without a duplicate-key problem."""
    text = mutate(
        ("tracks:  ", "x-standard: &standard {review: 3d, voting: 7d}\ntracks:  "),
        ("    review: 7d\n    voting: 7d\n", "    <<: *standard\n    review: 5d\n"),
    )
    track = load_charter(text).charter.tracks["charter-amendment"]
    assert (track.review, track.voting) == (5 * D, 7 * D)


def test_recursive_alias_is_reported_not_followed_forever() -> None:
    """A self-referencing alias does not hang the loader; the unknown key is reported."""
    problems = problems_of(mutate(("\nincidents:\n", "\nloop: &loop [*loop]\nincidents:\n")))
    assert [(p.path, p.line, p.column) for p in problems] == [("loop", 112, 1)]


def _nested_aliases(levels: int, *, merge: bool = False) -> str:
    """``levels`` anchors, each holding nine aliases of the one before (a "billion laughs"):
    a few hundred bytes that expand to 9**levels values; with ``merge`` the aliases are merged
    mappings (``<<: [*a, …]``), which PyYAML copies into each mapping as it builds them."""
    first = ", ".join(f"k{i}: x" for i in range(9)) if merge else ", ".join(["x"] * 9)
    lines = [f"a0: &a0 {{{first}}}" if merge else f"a0: &a0 [{first}]"]
    for n in range(1, levels):
        aliases = ", ".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} {{<<: [{aliases}]}}" if merge else f"a{n}: &a{n} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(20)  # unbounded, the 8-level file took minutes and gigabytes
@pytest.mark.parametrize(
    ("levels", "merge", "column"),
    [(5, False, 5), (8, False, 5), (8, True, 5)],
    ids=["5 levels", "8 levels", "8 levels of merge keys"],
)
def test_aliases_expanding_past_the_limit_are_refused_at_their_anchor(
    levels: int, merge: bool, column: int
) -> None:
    """Nested aliases are refused, fast, as one problem at the anchor repeated too often (the
    fifth anchor, the first whose nine aliases pass the limit), before anything is built."""
    started = time.perf_counter()
    problems = problems_of(_nested_aliases(levels, merge=merge))
    assert time.perf_counter() - started < 1.0
    assert [(p.path, p.line, p.column) for p in problems] == [("(yaml)", 4, column)]
    assert problems[0].message.startswith(
        f"too many aliased nodes (limit {load.EXPANDED_LIMIT}): each alias of this anchor"
    )


def test_aliases_within_the_limit_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit counts what the walk would visit: exactly at it, the document is judged."""
    a0, a1, a2 = 1 + 9, 1 + 9 * 10, 1 + 9 * 91  # a list of nine of the one before
    monkeypatch.setattr(load, "EXPANDED_LIMIT", 1 + 3 + a0 + a1 + a2)  # + the root, three keys
    problems = problems_of(_nested_aliases(3))
    assert {p.path for p in problems} >= {"a0", "a1", "a2", "charter"}
    monkeypatch.setattr(load, "EXPANDED_LIMIT", load.EXPANDED_LIMIT - 1)
    assert [(p.path, p.line) for p in problems_of(_nested_aliases(3))] == [("(yaml)", 2)]


def test_a_document_past_the_limit_without_aliases_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A document simply that large is refused at the value where the count passes the limit."""
    monkeypatch.setattr(load, "EXPANDED_LIMIT", 10)
    problems = problems_of("charter:\n  name: x\nclients: [a, b, c, d, e, f]\n")
    assert [(p.path, p.line, p.column) for p in problems] == [("(yaml)", 3, 20)]  # d, the 11th
    assert problems[0].message.startswith("too many nodes (limit 10): the charter holds more")


# -- JSON Schema --------------------------------------------------------------------------------


def test_committed_schema_equals_the_generated_one() -> None:
    """charter/schema/charter.schema.json is the schema generated from the model."""
    committed = json.loads((REPO / "charter" / "schema" / "charter.schema.json").read_text("utf-8"))
    assert committed == json_schema(), (
        "charter/schema/charter.schema.json is stale; regenerate it with "
        "`charterbot charter schema > charter/schema/charter.schema.json`"
    )


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    models = {"Charter": schema, **schema["$defs"]}
    return [(m, f, p) for m, model in models.items() for f, p in model["properties"].items()]


def test_schema_describes_every_field_for_editors() -> None:
    """Every model and field in the schema has a description, and the document a title."""
    schema = json_schema()
    assert schema["title"] == "charterbot upgrade charter"
    assert schema["$schema"].endswith("2020-12/schema")
    assert all(model.get("description") for model in schema["$defs"].values())
    assert [(m, f) for m, f, p in _properties(schema) if not p.get("description")] == []


@pytest.mark.parametrize(
    ("model", "field", "expected"),
    [
        ("Track", "review", {"type": "string", "pattern": r"^\d+[smhdw](\d+[smhdw])*$"}),
        ("Meeting", "start", {"type": "string"}),
        ("Track", "quorum", {"type": "number", "minimum": 0.0, "maximum": 1.0}),
    ],
)
def test_schema_writes_values_as_charter_files_do(model: str, field: str, expected: Any) -> None:
    """Durations are ``<number><unit>`` strings and starts are local times, not ISO 8601."""
    prop = json_schema()["$defs"][model]["properties"][field]
    assert expected.items() <= prop.items()
    assert "format" not in prop
    assert "36h" in json_schema()["$defs"]["Track"]["properties"]["confirm"]["description"]


def test_schema_asks_for_one_entry_where_the_check_does() -> None:
    """Editors flag an empty list the rules step through as ``charter check`` does."""
    schema = json_schema()
    assert schema["$defs"]["RolloutConf"]["properties"]["stages"]["minItems"] == 1
    assert schema["$defs"]["Track"]["properties"]["electorate"]["minItems"] == 1
    assert schema["$defs"]["Escalation"]["properties"]["notify"]["minItems"] == 1
    assert schema["properties"]["clients"]["minItems"] == 1
    assert schema["properties"]["tracks"]["minProperties"] == 1
